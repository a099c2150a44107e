"""The staff pages' re-handling forms against the running services: the
follow-up visit recorded by staff (dissatisfied reopens, satisfied closes),
supervision reopening a closed case, and undoing a merge made by mistake.
Every service a process, the gateway in-process."""

from __future__ import annotations

import asyncpg
import httpx

from tests.e2e.kit import Headers, Staff
from tests.web_kit import add_user, gateway_client, hidden, sign_in
from tousu.shared.settings import Settings

COMPLAINT = {
    "channel": "phone",
    "complainant": {"name": "王五", "phone": "13911112222"},
    "subject": "停水未通知",
    "description": "小区连续两天停水，供水公司未提前公告。",
}


async def post_form(
    web: httpx.AsyncClient, complaint_id: str, action: str, fields: dict[str, str]
) -> httpx.Response:
    """Opens the case page and sends the action's form from it, as a browser would."""
    page = await web.get(f"/staff/cases/{complaint_id}", params={"lang": "zh-CN"})
    assert page.status_code == 200, page.text
    assert f'action="/staff/cases/{complaint_id}/{action}"' in page.text, action
    data = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "idempotency_key": hidden(page.text, "idempotency_key"),
        **fields,
    }
    return await web.post(f"/staff/cases/{complaint_id}/{action}", data=data)


async def test_follow_up_reopen_and_unmerge_on_the_staff_pages(
    gateway: httpx.AsyncClient, staff: dict[str, Headers], settings: Settings, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await add_user(conn, "sup-zhou", "supervisor")
        await add_user(conn, "op-sun", "operator")
    finally:
        await conn.close()
    people = Staff(gateway, staff)
    registered = await people.register(COMPLAINT)
    assert registered.status_code == 201, registered.text
    complaint_id = registered.json()["complaint_id"]
    assert await people.accept_and_await_routing(complaint_id) == "water"
    assert await people.ok(complaint_id, "claim", "h-zhao") == "claimed"
    await people.resolve_and_feed_back(complaint_id, "已恢复供水")

    async with gateway_client(settings) as web:
        assert (await sign_in(web, "op-sun")).status_code == 303
        # The follow-up visit: no answer chosen is shown at the field.
        missing = await post_form(web, complaint_id, "follow-up", {"comment": "电话回访"})
        assert missing.status_code == 422, missing.text
        assert 'id="follow-up-satisfaction-error"' in missing.text
        assert 'value="电话回访"' not in missing.text and "电话回访</textarea>" in missing.text
        # An operator may not reopen: the form is not offered.
        page = await web.get(f"/staff/cases/{complaint_id}")
        assert "/reopen" not in page.text and "联系不上" in page.text

        dissatisfied = await post_form(
            web, complaint_id, "follow-up", {"satisfaction": "dissatisfied", "comment": "仍未公告"}
        )
        assert dissatisfied.status_code == 303, dissatisfied.text
        case = await people.case(complaint_id)
        assert (case["status"], case["round"]) == ("reopened", 2)
        reopened = await web.get(f"/staff/cases/{complaint_id}", params={"lang": "zh-CN"})
        assert "回访结果已登记" in reopened.text
        assert "不满意" in reopened.text and ">dissatisfied<" not in reopened.text

        await people.resolve_and_feed_back(complaint_id, "已张贴公告并致歉")
        satisfied = await post_form(web, complaint_id, "follow-up", {"satisfaction": "satisfied"})
        assert satisfied.status_code == 303, satisfied.text
        assert (await people.case(complaint_id))["status"] == "closed"

    async with gateway_client(settings) as web:
        assert (await sign_in(web, "sup-zhou")).status_code == 303
        # Supervision reopens a closed case; the reason is required.
        no_reason = await post_form(web, complaint_id, "reopen", {"reason": " "})
        assert no_reason.status_code == 422 and 'id="reopen-reason-error"' in no_reason.text
        reopen = await post_form(web, complaint_id, "reopen", {"reason": "复查发现公告仍缺失"})
        assert reopen.status_code == 303, reopen.text
        case = await people.case(complaint_id)
        assert (case["status"], case["round"]) == ("reopened", 3)

        # A duplicate merged by mistake is taken out again.
        ids = []
        for _ in range(2):
            response = await people.register(COMPLAINT)
            assert response.status_code == 201, response.text
            ids.append(response.json()["complaint_id"])
        primary, duplicate = ids
        merged = await gateway.post(
            f"/api/v1/complaints/{duplicate}/merge",
            json={"duplicate_of": primary},
            headers=staff["op-li"],
        )
        assert merged.status_code == 200, merged.text
        unmerged = await post_form(web, duplicate, "unmerge", {})
        assert unmerged.status_code == 303, unmerged.text
        assert (await people.case(duplicate))["status"] == "received"
        assert (await people.case(primary))["duplicates"] == []
        # The page no longer offers it, and a stale form is refused with the state.
        again = await web.get(f"/staff/cases/{duplicate}")
        assert "/unmerge" not in again.text
        stale = await web.post(
            f"/staff/cases/{duplicate}/unmerge",
            data={"csrf_token": hidden(again.text, "csrf_token"), "idempotency_key": "k2"},
        )
        assert stale.status_code == 409 and "待受理" in stale.text
