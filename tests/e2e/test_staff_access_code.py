"""A complaint an operator registers on the staff pages, against the running
services: the access code shown once (never again, stored nowhere in plain),
the receipt (回执) PDF printed with it, the code sent on the complainant's
chosen channel through the outbox (sealed), the code opening the public
tracking page and the survey; the acceptance preview byte for byte the
notice sent; a supervisor's reprint the document sent (not masked, logged);
the filed page's promise the register's for the item."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from datetime import timedelta

import asyncpg
import httpx
import pytest

from tests.e2e.kit import Headers, Staff
from tests.helpers import eventually
from tests.web_kit import add_user, gateway_client, hidden, sign_in
from tousu.services.followup.notices import NoticeChannel, NoticeKind, list_notifications
from tousu.services.followup.notices.model import ACCESS_CODE_SLOT
from tousu.services.gateway.web.staff.intake import local_input
from tousu.shared.events import utcnow
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.settings import Settings

EMAIL = "wangfang@example.cn"


def pdftotext(pdf: bytes) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    done = subprocess.run([tool, "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True)
    assert done.returncode == 0, done.stderr
    return re.sub(r"\s+", "", done.stdout.decode("utf-8"))


def shown(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">(.*?)</', page, re.S)
    assert found, element_id
    return html.unescape(found.group(1))


async def test_a_phone_complaint_gets_its_code_once_on_the_page_the_receipt_and_the_channel(
    gateway: httpx.AsyncClient, staff: dict[str, Headers], settings: Settings, database_url: str
) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    assert pool is not None
    try:
        await add_user(pool, "op-sun", "operator")
        await add_user(pool, "sup-zhou", "supervisor")
        async with gateway_client(settings) as desk, gateway_client(settings) as citizen:
            assert (await sign_in(desk, "op-sun")).status_code == 303
            new = await desk.get("/staff/intake/new", params={"lang": "zh-CN"})
            assert 'name="preferred_channel"' in new.text and "答复方式" in new.text
            form = {
                "csrf_token": hidden(new.text, "csrf_token"),
                "form_id": hidden(new.text, "form_id"),
                "channel": "phone",
                "received_at": local_input(utcnow() - timedelta(minutes=5)),
                "name": "王芳",
                "phone": "13812345678",
                "email": EMAIL,
                "preferred_channel": "web",  # 电子邮件
                "subject": "水管爆裂无人维修",
                "description": "小区主水管爆裂两天，报修后无人处理。",
                "service_item": "water_repair",
            }
            page = await desk.post("/staff/intake/new", data=form)
            assert page.status_code == 200, page.text
            assert "no-store" in page.headers["cache-control"]
            tracking_no, code = shown(page.text, "tracking-no"), shown(page.text, "access-code")
            assert hidden(page.text, "access_code") == code
            receipt_action = re.search(r'action="/staff/intake/([0-9a-f-]{36})/receipt"', page.text)
            assert receipt_action
            cid = receipt_action.group(1)
            assert "电子邮件" in page.text  # the reply channel, as chosen

            # The code (and the name) stored nowhere in plain.
            for secret in (code, "王芳"):
                for table, column in (("events", "data::text"), ("notifications", "body")):
                    found = await pool.fetchval(
                        f"SELECT count(*) FROM {table} WHERE {column} LIKE '%' || $1 || '%'",
                        secret,
                    )
                    assert found == 0, (table, secret)
            assert (
                await pool.fetchval(
                    "SELECT count(*) FROM notifications WHERE sealed_contact LIKE '%' || $1 || '%'",
                    code,
                )
                == 0
            )

            # The code notice: on the chosen channel (e-mail), not the caller's phone.
            notices = await list_notifications(pool, tracking_no=tracking_no)
            [by_mail] = [n for n in notices if n.kind == NoticeKind.ACCESS_CODE]
            assert by_mail.channel == NoticeChannel.EMAIL and by_mail.recipient == EMAIL
            assert ACCESS_CODE_SLOT in by_mail.body and code not in by_mail.body
            assert f"查询码：{code}" in by_mail.sendable().body
            assert by_mail.sendable().body.startswith("尊敬的王芳：")

            # The receipt: printed from the code the page carries, checked.
            receipt_form = {"csrf_token": hidden(page.text, "csrf_token"), "access_code": code}
            pdf = await desk.post(f"/staff/intake/{cid}/receipt", data=receipt_form)
            assert pdf.status_code == 200, pdf.text
            assert pdf.headers["content-type"] == "application/pdf"
            text = pdftotext(pdf.content)
            limits = CommitmentRegister.load().limits_for("water_repair")
            assert limits.feedback_days == 5  # not the default 15
            for part in (
                "投诉登记回执",
                f"受理编号：{tracking_no}",
                f"查询码：{code}",
                "服务事项：供水维修",
                "答复方式：电子邮件",
                f"{limits.acceptance_days}个工作日内",
                f"受理后{limits.feedback_days}个工作日内",  # the register's for the item
                f"{limits.follow_up_days}个工作日内对您进行回访",
            ):
                assert part in text, part
            wrong = await desk.post(
                f"/staff/intake/{cid}/receipt", data={**receipt_form, "access_code": "WRONG"}
            )
            assert wrong.status_code == 404

            # The same form again: the same complaint, and no code shown again.
            again = await desk.post("/staff/intake/new", data=form)
            assert again.status_code == 200, again.text
            assert tracking_no in again.text and code not in again.text
            assert 'id="access-code"' not in again.text

            # The complainant looks the case up with the code.
            track = await citizen.get("/track")
            looked_up = await citizen.post(
                "/track",
                data={
                    "csrf_token": hidden(track.text, "csrf_token"),
                    "tracking_no": tracking_no,
                    "code": code,
                },
            )
            assert looked_up.status_code == 303, looked_up.text
            case_page = await citizen.get(looked_up.headers["location"])
            assert case_page.status_code == 200 and tracking_no in case_page.text

            # The acceptance preview is the notice sent, byte for byte.
            verify = await desk.get(f"/staff/intake/{cid}")
            decision = {"csrf_token": hidden(verify.text, "csrf_token"), "kind": "service_quality"}
            preview = await desk.post(f"/staff/intake/{cid}/preview", data=decision)
            assert preview.status_code == 200, preview.text
            previewed = shown(preview.text, "accept-preview")
            assert "尊敬的王芳：" in previewed
            accept_form = {**decision, "form_id": hidden(preview.text, "form_id")}
            accepted = await desk.post(f"/staff/intake/{cid}/accept", data=accept_form)
            assert accepted.status_code == 303, accepted.text

            async def acceptance_mail() -> bool:
                found = await list_notifications(pool, tracking_no=tracking_no)
                return any(
                    n.kind == NoticeKind.ACCEPTANCE and n.channel == NoticeChannel.EMAIL
                    for n in found
                )

            await eventually(acceptance_mail, "the acceptance notice in the outbox", 30)
            [sent] = [
                n
                for n in await list_notifications(pool, tracking_no=tracking_no)
                if n.kind == NoticeKind.ACCEPTANCE and n.channel == NoticeChannel.EMAIL
            ]
            assert f"{sent.title}\n\n{sent.sendable().body}" == previewed

            # Handled to the end; the complainant answers the survey with the code.
            people = Staff(gateway, staff)

            async def routed() -> bool:
                return bool((await people.case(cid))["status"] == "routed")

            await eventually(routed, "routing by the rules", 30)
            assert await people.ok(cid, "claim", "h-zhao") == "claimed"
            await people.resolve_and_feed_back(cid, "已修复主水管")
            case_page = await citizen.get("/track/case")
            assert case_page.status_code == 200
            survey = await citizen.post(
                "/track/follow-up",
                data={
                    "csrf_token": hidden(case_page.text, "csrf_token"),
                    "satisfaction": "satisfied",
                    "comment": "修得很快",
                },
            )
            assert survey.status_code == 303, survey.text
            assert survey.headers["location"].endswith("survey=thanks")

            # A supervisor's reprint is the notice sent: the name in full, the view logged.
            notices_api = await gateway.get(
                f"/api/v1/complaints/{cid}/notices", headers=staff["sup-wang"]
            )
            acceptance = next(n for n in notices_api.json() if n["kind"] == "acceptance")
            async with gateway_client(settings) as supervisor:
                assert (await sign_in(supervisor, "sup-zhou")).status_code == 303
                reprint = await supervisor.get(f"/staff/cases/{cid}/notices/{acceptance['id']}.pdf")
                assert reprint.status_code == 200, reprint.text
                assert "尊敬的王芳：" in pdftotext(reprint.content)
            logged = await pool.fetchval(
                "SELECT count(*) FROM personal_data_views WHERE viewer = 'sup-zhou'"
                " AND view = 'web_notice_pdf'"
            )
            assert logged == 1
    finally:
        await pool.close()
