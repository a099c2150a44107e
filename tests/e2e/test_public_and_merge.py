"""The public's side over HTTP (filing on the web, following the case with the
tracking number and code, the follow-up survey), operator registration, and
merging duplicates: every service a process, the gateway in-process."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.e2e.kit import Headers, Staff, days_ago
from tousu.shared.settings import Settings

PUBLIC = "/api/v1/public/complaints"
STAFF_IDS = ("op-li", "h-zhao", "sup-wang")
WATER = {
    "complainant": {"name": "王五", "phone": "13911112222"},
    "subject": "停水未通知",
    "description": "小区连续两天停水，供水公司未提前公告。<script>alert(1)</script>",
}


async def lookup(
    gateway: httpx.AsyncClient, tracking_no: str, code: str | None, **headers: str
) -> httpx.Response:
    params = {"code": code} if code is not None else {}
    return await gateway.get(f"{PUBLIC}/{tracking_no}", params=params, headers=headers)


async def follow_up(
    gateway: httpx.AsyncClient, tracking_no: str, code: str, satisfaction: str
) -> httpx.Response:
    return await gateway.post(
        f"{PUBLIC}/{tracking_no}/follow-up",
        params={"code": code},
        json={"satisfaction": satisfaction, "comment": "还需改进"},
    )


def no_staff_in(response: httpx.Response) -> None:
    for staff_id in STAFF_IDS:
        assert staff_id not in response.text, staff_id


async def test_the_public_files_follows_and_answers_the_follow_up(
    gateway: httpx.AsyncClient, staff: dict[str, Headers]
) -> None:
    people = Staff(gateway, staff)
    filed = await gateway.post(PUBLIC, json=WATER)
    assert filed.status_code == 201, filed.text
    body = filed.json()
    tracking_no, code, complaint_id = body["tracking_no"], body["access_code"], body["complaint_id"]
    assert code and body["status"] == "received" and body["acceptance_due"]

    seen = await lookup(gateway, tracking_no, code, **{"Accept-Language": "en"})
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert (view["status"], view["status_label"]) == ("received", "received")
    assert view["status_labels"] == {"zh": "待受理", "en": "received"}
    assert view["deadlines"]["acceptance_due"]["due_at"]
    assert [e["type"] for e in view["timeline"]] == ["ComplaintReceived"]

    # Every miss is the same 404: nothing tells a guesser the number exists.
    misses = [
        await lookup(gateway, tracking_no, "WRONGCODE"),
        await lookup(gateway, tracking_no, None),
        await lookup(gateway, "TS0000-0000-00", code),
        await lookup(gateway, "no-such-thing", code),
    ]
    assert {m.status_code for m in misses} == {404}
    assert len({(m.json()["code"], m.json()["detail"]) for m in misses}) == 1

    # The case goes where the rules send it; its handler works it over HTTP.
    assert await people.accept_and_await_routing(complaint_id) == "water"
    assert await people.ok(complaint_id, "claim", "h-zhao") == "claimed"
    findings = {"findings": "内部：管网抢修未公告，值班员失职"}
    assert await people.ok(complaint_id, "investigation", "h-zhao", findings) == "in_handling"
    await people.resolve_and_feed_back(complaint_id, "已恢复供水")

    fed_back = await lookup(gateway, tracking_no, code)
    view = fed_back.json()
    assert (view["status"], view["awaiting_follow_up"]) == ("fed_back", True)
    assert [r["result"] for r in view["resolutions"]] == ["已恢复供水"]
    assert view["deadlines"]["feedback_due"] and view["deadlines"]["promised_feedback_due"]
    assert {n["type"] for n in view["notices"]} >= {"ComplaintAccepted"}
    assert "值班员失职" not in fed_back.text  # investigation findings are staff-only
    no_staff_in(fed_back)

    reopened = await follow_up(gateway, tracking_no, code, "dissatisfied")
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "reopened"
    again = await follow_up(gateway, tracking_no, code, "satisfied")
    assert again.status_code == 409, again.text
    assert (await follow_up(gateway, tracking_no, "WRONGCODE", "satisfied")).status_code == 404

    await people.resolve_and_feed_back(complaint_id, "已赔偿并致歉")
    closed = await follow_up(gateway, tracking_no, code, "satisfied")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"

    final = await lookup(gateway, tracking_no, code)
    view = final.json()
    assert (view["status"], view["round"]) == ("closed", 2)
    assert [r["round"] for r in view["resolutions"]] == [1, 2]
    types = [e["type"] for e in view["timeline"]]
    assert types[-1] == "ComplaintClosed" and "ComplaintReopened" in types
    assert set(view["timeline"][0]) == {"type", "label", "occurred_at"}
    no_staff_in(final)

    # Markup is kept as the text it is: stored and returned verbatim, as JSON.
    case = await people.case(complaint_id)
    assert case["timeline"][0]["data"]["description"] == WATER["description"]


async def test_commitments_are_public(gateway: httpx.AsyncClient) -> None:
    zh = await gateway.get("/api/v1/public/commitments")
    en = await gateway.get("/api/v1/public/commitments", params={"lang": "en"})
    assert zh.status_code == en.status_code == 200, en.text
    assert (zh.json()["lang"], en.json()["lang"]) == ("zh-CN", "en")
    assert zh.json()["items"]


async def test_operator_registers_a_phone_complaint(
    gateway: httpx.AsyncClient, staff: dict[str, Headers]
) -> None:
    people = Staff(gateway, staff)
    received = days_ago(2, hour=9)  # typed in later: within the 30 days an operator may
    call = {
        "channel": "phone",
        "received_at": received.isoformat(),
        "complainant": {"name": "赵六"},
        "subject": "窗口态度差",
        "description": "办事窗口工作人员态度恶劣。",
    }
    missing = await people.register(call)
    assert missing.status_code == 422, missing.text
    assert [e["field"] for e in missing.json()["errors"]] == ["body.complainant.phone"]
    # Open311 clients file for themselves; staff do not register on their behalf.
    open311 = await people.register({**call, "channel": "open311"})
    assert [e["field"] for e in open311.json()["errors"]] == ["body.channel"]
    assert (await people.register(call, who="h-zhao")).status_code == 403

    call["complainant"] = {"name": "赵六", "phone": "13900001111"}
    registered = await people.register(call)
    assert registered.status_code == 201, registered.text
    body = registered.json()
    assert body["tracking_no"].startswith(f"TS{received:%y%m}") and body["access_code"]
    assert body["status"] == "received"
    case = await people.case(body["complaint_id"])
    assert case["channel"] == "phone"
    assert datetime.fromisoformat(case["received_at"]) == received
    assert case["timeline"][0]["actor"]["id"] == "op-li"


async def test_merge_and_unmerge(gateway: httpx.AsyncClient, staff: dict[str, Headers]) -> None:
    people = Staff(gateway, staff)
    ids = []
    for _ in range(2):
        response = await people.register({**WATER, "channel": "phone"})
        assert response.status_code == 201, response.text
        ids.append(response.json()["complaint_id"])
    primary, duplicate = ids
    assert [d["complaint_id"] for d in response.json()["duplicates"]] == [primary]

    path = f"/api/v1/complaints/{duplicate}/merge"
    merged = await gateway.post(path, json={"duplicate_of": primary}, headers=staff["op-li"])
    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "merged"
    assert (await people.case(duplicate))["merged_into"] == primary
    assert (await people.case(primary))["duplicates"] == [duplicate]
    twice = await gateway.post(path, json={"duplicate_of": primary}, headers=staff["op-li"])
    assert twice.status_code == 409, twice.text
    assert (await gateway.delete(path, headers=staff["h-zhao"])).status_code == 403

    unmerged = await gateway.delete(path, headers=staff["op-li"])
    assert unmerged.status_code == 200, unmerged.text
    assert unmerged.json()["status"] == "received"
    assert (await people.case(duplicate))["merged_into"] is None
    assert (await people.case(primary))["duplicates"] == []
    assert (await gateway.delete(path, headers=staff["op-li"])).status_code == 409

    # A closed complaint is no one's duplicate.
    assert await people.accept_and_await_routing(primary) == "water"
    assert await people.ok(primary, "claim", "h-zhao") == "claimed"
    await people.resolve_and_feed_back(primary, "已恢复供水")
    assert await people.ok(primary, "follow-up", "op-li", {"satisfaction": "satisfied"}) == (
        "closed"
    )
    closed = await gateway.post(
        f"/api/v1/complaints/{primary}/merge",
        json={"duplicate_of": duplicate},
        headers=staff["op-li"],
    )
    assert closed.status_code == 409, closed.text
    assert closed.json()["current_state"] == "closed"


async def test_asyncapi_lists_the_command_subjects(
    gateway: httpx.AsyncClient, settings: Settings
) -> None:
    response = await gateway.get("/asyncapi")
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["asyncapi"].startswith("3.")
    addresses = {channel["address"] for channel in doc["channels"].values()}
    naming = settings.naming
    assert {
        naming.command("routing", "claim"),
        naming.command("intake", "submit"),
        naming.command("intake", "merge"),
        naming.command("followup", "follow-up"),
    } <= addresses
    routing = await gateway.get("/asyncapi/routing")
    assert routing.status_code == 200, routing.text
    assert naming.command("intake", "submit") not in routing.text
    assert (await gateway.get("/asyncapi/nobody")).status_code == 404
    page = await gateway.get("/asyncapi.html")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
