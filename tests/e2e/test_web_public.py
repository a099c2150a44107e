"""The public web pages against the running services: file a complaint on the
form, look it up with the number and code, answer the survey; markup in the
complaint stays text. Every service a process, the gateway in-process."""

from __future__ import annotations

import re

import httpx

from tests.e2e.kit import Headers, Staff
from tests.web_kit import hidden
from tousu.shared.store.postgres import PostgresEventStore

SCRIPT = "<script>alert(1)</script>"


def shown(html: str, css_class: str, label: str) -> str:
    """The value of a receipt row (``<dt>label</dt><dd class=…>value</dd>``)."""
    found = re.search(rf"<dt>{label}</dt><dd class=\"{css_class}\">([^<]+)</dd>", html)
    assert found, label
    return found.group(1)


async def file_on_the_form(gateway: httpx.AsyncClient) -> tuple[str, str]:
    form = await gateway.get("/complaints/new")
    filed = await gateway.post(
        "/complaints/new",
        data={
            "csrf_token": hidden(form.text, "csrf_token"),
            "form_id": hidden(form.text, "form_id"),
            "name": "王五",
            "phone": "139 1111 2222",
            "subject": "停水未通知",
            "description": f"小区连续两天停水，供水公司未提前公告。{SCRIPT}",
            "happened_at": "2026-01-05T08:30",
            "kind": "service_result/below_standard",
            "preferred_channel": "phone",
        },
    )
    assert filed.status_code == 303, filed.text
    assert filed.headers["location"] == "/complaints/filed"
    receipt = await gateway.get("/complaints/filed")
    assert receipt.status_code == 200
    assert receipt.headers["cache-control"] == "no-store"
    tracking_no = shown(receipt.text, "code", "受理编号")
    code = shown(receipt.text, "code", "查询码")
    assert re.fullmatch(r"TS\d{4}-\d{5}-\d{5}", tracking_no) and len(code) == 8
    assert "受理期限" in receipt.text and "前（含当日）" in receipt.text
    # Shown again on a reload (and in English), from the short-lived cookie.
    english = await gateway.get("/complaints/filed", params={"lang": "en"})
    assert tracking_no in english.text and code in english.text and "Access code" in english.text
    return tracking_no, code


async def open_case(gateway: httpx.AsyncClient, tracking_no: str, code: str) -> httpx.Response:
    form = await gateway.get("/track")
    found = await gateway.post(
        "/track",
        data={
            "csrf_token": hidden(form.text, "csrf_token"),
            "tracking_no": tracking_no,
            "code": code,
        },
    )
    assert found.status_code == 303, found.text
    # Neither the code nor the case id travels in the URL.
    assert found.headers["location"] == "/track/case"
    return await gateway.get("/track/case", params={"lang": "zh-CN"})


async def test_file_track_and_answer_the_survey_on_the_web(
    gateway: httpx.AsyncClient, staff: dict[str, Headers], store: PostgresEventStore
) -> None:
    tracking_no, code = await file_on_the_form(gateway)

    case = await open_case(gateway, tracking_no, code)
    assert case.status_code == 200, case.text
    assert case.headers["cache-control"] == "no-store"
    assert tracking_no in case.text and code not in case.text
    assert 'class="status status-received">待受理<' in case.text
    assert "受理期限" in case.text and "登记投诉" in case.text
    # The complaint's markup is shown as the text it is, never run.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in case.text
    assert SCRIPT not in case.text

    wrong = await gateway.get("/track")
    miss = await gateway.post(
        "/track",
        data={
            "csrf_token": hidden(wrong.text, "csrf_token"),
            "tracking_no": tracking_no,
            "code": "WRONG234",
        },
    )
    assert miss.status_code == 404 and "未找到该投诉" in miss.text

    # Staff handle it; the case page then asks for the complainant's opinion.
    complaint_id = await store.pool.fetchval(
        "SELECT complaint_id FROM tracking_numbers WHERE tracking_no = $1", tracking_no
    )
    people = Staff(gateway, staff)
    assert await people.accept_and_await_routing(str(complaint_id)) == "water"
    assert await people.ok(str(complaint_id), "claim", "h-zhao") == "claimed"
    await people.resolve_and_feed_back(str(complaint_id), f"已恢复供水{SCRIPT}")

    fed_back = await gateway.get("/track/case", params={"lang": "en"})
    assert "Are you satisfied with the result?" in fed_back.text
    assert "&lt;script&gt;" in fed_back.text and SCRIPT not in fed_back.text
    token = hidden(fed_back.text, "csrf_token")
    unanswered = await gateway.post("/track/follow-up", data={"csrf_token": token})
    assert unanswered.status_code == 422 and 'id="satisfaction-error"' in unanswered.text

    answered = await gateway.post(
        "/track/follow-up",
        data={"csrf_token": token, "satisfaction": "satisfied", "comment": "谢谢"},
    )
    assert answered.status_code == 303, answered.text
    assert answered.headers["location"] == "/track/case?survey=thanks"
    closed = await gateway.get(answered.headers["location"] + "&lang=zh-CN")
    assert "感谢您的评价" in closed.text and ">已办结<" in closed.text
    assert "您对处理结果是否满意" not in closed.text

    # Closing the case page forgets it in this browser.
    await gateway.post("/track/close", data={"csrf_token": token})
    assert (await gateway.get("/track/case")).status_code == 303


async def test_sending_the_same_form_twice_files_one_complaint(
    gateway: httpx.AsyncClient, store: PostgresEventStore
) -> None:
    form = await gateway.get("/complaints/new", params={"lang": "en"})
    data = {
        "csrf_token": hidden(form.text, "csrf_token"),
        "form_id": hidden(form.text, "form_id"),
        "subject": "Rude staff at counter 3",
        "description": "I was shouted at.",
        "anonymous": "1",
        "service_item": "water_repair",  # the register promises the result in 5 days
    }
    first = await gateway.post("/complaints/new", data=data)
    assert first.status_code == 303, first.text
    number = shown((await gateway.get("/complaints/filed")).text, "code", "Tracking number")
    again = await gateway.post("/complaints/new", data=data)
    assert again.status_code == 303
    repeat = (await gateway.get("/complaints/filed")).text
    assert shown(repeat, "code", "Tracking number") == number
    assert "already been sent" in repeat and "Access code" not in repeat
    # The promise is the register's for the item, not the default 15 days.
    assert "receive the result within 5 working days" in repeat, repeat
    count = await store.pool.fetchval("SELECT count(*) FROM tracking_numbers")
    assert count == 1
