"""The public endpoints against the running services: Idempotency-Key on
public submissions, the public API's contact rules (the web form's), and
Open311 bodies decoded by their charset. Each refusal stores nothing."""

from __future__ import annotations

import uuid
from urllib.parse import quote, urlencode

import asyncpg
import httpx
import pytest

from tousu.services.gateway.open311 import keys

PUBLIC = "/api/v1/public/complaints"
V2 = "/open311/v2"
WATER = {
    "complainant": {"name": "王五", "phone": "13911112222"},
    "subject": "停水未通知",
    "description": "小区连续两天停水，供水公司未提前公告。",
}
STREETLIGHT = "幸福里小区路灯坏了三天，夜里一片漆黑。"


async def received(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(
        "SELECT stream_id, data ->> 'description' AS description FROM events "
        "WHERE type = 'ComplaintReceived' ORDER BY global_position"
    )
    return rows


@pytest.fixture
async def api_key(database_url: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        return (await keys.add_key(conn, "street-app")).key
    finally:
        await conn.close()


async def test_public_submissions(
    gateway: httpx.AsyncClient, pool: asyncpg.Pool, api_key: str
) -> None:
    # One test, two parts: the running services take a while to start.
    await the_public_api_checks_contacts_and_honours_the_idempotency_key(gateway, pool)
    await open311_bodies_are_read_in_their_charset(gateway, pool, api_key)


async def the_public_api_checks_contacts_and_honours_the_idempotency_key(
    gateway: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # The web form refuses these; so does the API now, naming the field.
    for contact, field in (
        ({"phone": "abc"}, "body.complainant.phone"),
        ({"phone": "12"}, "body.complainant.phone"),
        ({"email": "not-an-address"}, "body.complainant.email"),
    ):
        refused = await gateway.post(PUBLIC, json={**WATER, "complainant": contact})
        assert refused.status_code == 422, refused.text
        assert field in [e["field"] for e in refused.json()["errors"]], refused.text

    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await gateway.post(PUBLIC, json=WATER, headers=key)
    assert first.status_code == 201, first.text
    filed = first.json()
    assert filed["access_code"] and filed["repeated"] is False
    # The same body again (a retry after a lost answer): the same complaint.
    again = await gateway.post(PUBLIC, json=dict(reversed(WATER.items())), headers=key)
    assert again.status_code == 201, again.text
    repeat = again.json()
    assert (repeat["tracking_no"], repeat["complaint_id"]) == (
        filed["tracking_no"],
        filed["complaint_id"],
    )
    assert repeat["repeated"] is True and repeat["access_code"] is None
    # The same key with another body: refused, naming the header.
    other = await gateway.post(PUBLIC, json={**WATER, "subject": "另一件事"}, headers=key)
    assert other.status_code == 422, other.text
    assert other.json()["code"] == "idempotency_key_reused"
    assert [e["field"] for e in other.json()["errors"]] == ["header.Idempotency-Key"]
    # Without a key, each post is a complaint of its own.
    assert (await gateway.post(PUBLIC, json=WATER)).status_code == 201
    assert len(await received(pool)) == 2
    # The first answer's code still opens the case.
    seen = await gateway.get(
        f"{PUBLIC}/{filed['tracking_no']}", params={"code": filed["access_code"]}
    )
    assert seen.status_code == 200, seen.text


async def open311_bodies_are_read_in_their_charset(
    gateway: httpx.AsyncClient, pool: asyncpg.Pool, api_key: str
) -> None:
    fields = {
        "api_key": api_key,
        "service_code": "water_repair",
        "address_string": "幸福里小区5栋",
        "description": STREETLIGHT,
    }
    form = "application/x-www-form-urlencoded"
    # What `curl -d description=…` sends: the text's raw UTF-8 bytes, no charset.
    raw = "&".join(f"{k}={v}" for k, v in fields.items()).encode()
    posted = await gateway.post(f"{V2}/requests.json", content=raw, headers={"Content-Type": form})
    assert posted.status_code == 201, posted.text
    # Percent-escaped in GB 18030, with the charset named.
    gbk = urlencode({**fields, "description": "路灯不亮"}, encoding="gb18030")
    declared = {"Content-Type": f"{form}; charset=GB18030"}
    assert (
        await gateway.post(f"{V2}/requests.json", content=gbk, headers=declared)
    ).status_code == 201
    assert [r["description"] for r in await received(pool)][-2:] == [STREETLIGHT, "路灯不亮"]

    # Bytes that are not UTF-8 (GBK sent without saying so), or an unknown charset: refused.
    wrong = f"api_key={api_key}&service_code=water_repair&description=".encode() + "路灯".encode(
        "gbk"
    )
    undecodable = await gateway.post(
        f"{V2}/requests.json", content=wrong, headers={"Content-Type": form}
    )
    assert undecodable.status_code == 400, undecodable.text
    assert undecodable.json() == [
        {"code": 400, "description": "the request body is not valid utf-8"}
    ]
    unknown = {"Content-Type": f"{form}; charset=klingon"}
    assert (
        await gateway.post(f"{V2}/requests.json", content=raw, headers=unknown)
    ).status_code == 400
    assert len(await received(pool)) == 4

    # An Idempotency-Key makes a resend the same request.
    key = {"Content-Type": form, "Idempotency-Key": "street-app-0001"}
    body = urlencode({**fields, "description": "井盖缺失"}, quote_via=quote)
    first = await gateway.post(f"{V2}/requests.json", content=body, headers=key)
    again = await gateway.post(f"{V2}/requests.json", content=body, headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json()[0]["service_request_id"] == again.json()[0]["service_request_id"]
    assert again.json()[0]["access_code"] is None
    other = urlencode({**fields, "description": "另一处井盖"})
    reused = await gateway.post(f"{V2}/requests.json", content=other, headers=key)
    assert reused.status_code == 400 and "Idempotency-Key" in reused.text, reused.text
    assert len(await received(pool)) == 5
