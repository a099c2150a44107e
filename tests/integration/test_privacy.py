"""Personal data: sealed in the event store, revealed, masked or logged by
who looks, and erased by destroying the key while every KPI stays the same."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import httpx
import pytest

from tests.domain_kit import HANDLER, OPERATOR, ReplayExecutor, as_it_happens
from tests.helpers import project_everything, tousu
from tests.integration.test_notice_pdf_api import text_of
from tests.lifecycle import Headers, staff_tokens
from tests.web_kit import add_user, gateway_client, sign_in
from tousu.services.gateway.auth import StaffRole
from tousu.services.metrics.projections import PROJECTIONS
from tousu.services.metrics.projections.rebuild import rebuild_all
from tousu.shared.application.context_source import ContextSource
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.state import replay
from tousu.shared.events import complaint_stream
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.intake.identifiers import hash_access_code, new_access_code, new_tracking_no
from tousu.shared.keys import access_code_key
from tousu.shared.privacy.crypto import MASTER_KEY_ENV, SealError, master_key
from tousu.shared.privacy.reveal import reveal_history
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

PERSON = Complainant(
    name="王五",
    phone="13712345678",
    email="wang.wu@example.com",
    address="北京市东城区东华门大街1号",
    id_number="11010519491231002X",
)
PLAIN = [PERSON.name, PERSON.phone, PERSON.email, PERSON.address, PERSON.id_number]


@dataclass(frozen=True)
class Filed:
    complaint_id: uuid.UUID
    tracking_no: str


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 9, day, hour, tzinfo=TZ)


async def file(store: PostgresEventStore, settings: Settings, who: Complainant) -> Filed:
    """Received, accepted (a notice), routed to water and claimed by h-zhao."""
    render = ContextSource.for_settings(settings).render
    executor = ReplayExecutor(store, as_it_happens(render=render))
    cid, tracking_no = uuid.uuid4(), new_tracking_no(at(14))
    await executor.execute(
        cid,
        c.SubmitComplaint(
            actor=OPERATOR,
            occurred_at=at(14),
            channel=Channel.PHONE,
            tracking_no=tracking_no,
            access_code_hash=hash_access_code(new_access_code(), access_code_key(settings)),
            complainant=who,
            subject="工地夜间施工噪音",
            description="夜间施工，影响休息",
        ),
    )
    await store.pool.execute(
        "INSERT INTO tracking_numbers (tracking_no, complaint_id) VALUES ($1, $2)",
        tracking_no,
        cid,
    )
    for when, command, actor, fields in [
        (at(15), c.AcceptComplaint, OPERATOR, {"category": "service_quality"}),
        (at(15, 10), c.RouteComplaint, OPERATOR, {"department": "water"}),
        (at(15, 11), c.ClaimCase, HANDLER, {}),
    ]:
        await executor.execute(cid, command(actor=actor, occurred_at=when, **fields))
    return Filed(cid, tracking_no)


@pytest.fixture
async def filed(store: PostgresEventStore, settings: Settings) -> Filed:
    return await file(store, settings, PERSON)


@pytest.fixture
async def staff(database_url: str) -> dict[str, Headers]:
    people: list[tuple[str, StaffRole, str | None]] = [
        ("op-li", "operator", None),
        ("h-zhao", "handler", "water"),  # the case's handler
        ("h-wu", "handler", "water"),
        ("dh-qian", "dept_head", "water"),
        ("sup-wang", "supervisor", None),
    ]
    return await staff_tokens(database_url, people)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as c:
        yield c


async def stored_text(pool: asyncpg.Pool, complaint_id: uuid.UUID) -> str:
    rows = await pool.fetch(
        "SELECT data::text FROM events WHERE stream_id = $1 ORDER BY version",
        complaint_stream(complaint_id),
    )
    return "\n".join(r["data"] for r in rows)


async def test_the_store_holds_ciphertext_and_reads_back_plain(
    store: PostgresEventStore, settings: Settings, filed: Filed
) -> None:
    text = await stored_text(store.pool, filed.complaint_id)
    assert "ComplaintReceived" not in text and '"sealed"' in text
    assert [p for p in PLAIN if p and p in text] == []
    history = await store.read_stream(complaint_stream(filed.complaint_id))
    sealed = replay(history).complainant
    assert sealed is not None and sealed.name is None and sealed.key is not None
    who = replay(await reveal_history(store.pool, history)).complainant
    assert who is not None
    assert (who.name, who.phone, who.email, who.address, who.id_number) == tuple(PLAIN)
    # The same phone number is the same complainant: one key for both complaints.
    again = await file(store, settings, Complainant(name="王五", phone=PERSON.phone))
    history2 = await store.read_stream(complaint_stream(again.complaint_id))
    assert replay(history2).complainant.key == sealed.key  # type: ignore[union-attr]
    assert await store.pool.fetchval("SELECT count(*) FROM complainant_keys") == 1


async def test_roles_without_need_see_masked_data_and_full_views_are_logged(
    client: httpx.AsyncClient, store: PostgresEventStore, staff: dict[str, Headers], filed: Filed
) -> None:
    url = f"/api/v1/complaints/{filed.complaint_id}"
    seen = {}
    for who, headers in staff.items():
        got = await client.get(url, headers=headers)
        assert got.status_code == 200, got.text
        seen[who] = got.json()
    for who in ("op-li", "h-zhao"):
        person = seen[who]["complainant"]
        assert (person["name"], person["phone"], person["id_number"]) == (
            "王五",
            PERSON.phone,
            PERSON.id_number,
        )
    for who in ("h-wu", "dh-qian", "sup-wang"):
        person = seen[who]["complainant"]
        assert (person["name"], person["phone"]) == ("王*", "137****5678"), who
        assert person["email"] == "w***@example.com" and person["address"] is None
        assert person["id_number"] is None
        body = json.dumps(seen[who], ensure_ascii=False)
        assert [p for p in PLAIN if p and p in body] == [], who
    listed = await client.get("/api/v1/complaints", headers=staff["sup-wang"])
    assert listed.status_code == 200 and "5678" not in listed.text
    views = await store.pool.fetch(
        "SELECT viewer, role, complaint_id, view FROM personal_data_views ORDER BY id"
    )
    assert [tuple(r) for r in views] == [
        ("op-li", "operator", filed.complaint_id, "api_case"),
        ("h-zhao", "handler", filed.complaint_id, "api_case"),
    ]
    # A view is not an event: the case's version did not move.
    assert {s["version"] for s in seen.values()} == {4}
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await store.pool.execute("DELETE FROM personal_data_views")


async def test_erasure_makes_the_data_unreadable_and_keeps_the_kpis(
    client: httpx.AsyncClient,
    store: PostgresEventStore,
    staff: dict[str, Headers],
    filed: Filed,
    settings: Settings,
    child_env: dict[str, str],
) -> None:
    other = await file(store, settings, Complainant(name="赵六", phone="13900001111"))
    await project_everything(store)
    kpis = "/api/v1/kpis?from=2026-09-01&to=2026-10-01&as_of=2027-06-01"
    before = (await client.get(kpis, headers=staff["sup-wang"])).json()
    stored_before = await stored_text(store.pool, filed.complaint_id)
    await add_user(store.pool, "op-zhou", "operator")
    assert (await sign_in(client, "op-zhou")).status_code == 303
    page = f"/staff/cases/{filed.complaint_id}"
    assert PERSON.phone in (await client.get(page)).text
    views = "SELECT viewer, complaint_id, view FROM personal_data_views ORDER BY id"
    assert [tuple(r) for r in await store.pool.fetch(views)] == [
        ("op-zhou", filed.complaint_id, "web_case")
    ]

    code, out, err = await tousu(
        child_env, "privacy", "erase", filed.tracking_no, "--yes", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["erased"] == 1 and filed.tracking_no in err

    assert await stored_text(store.pool, filed.complaint_id) == stored_before  # events unchanged
    case = (
        await client.get(f"/api/v1/complaints/{filed.complaint_id}", headers=staff["op-li"])
    ).json()
    assert case["complainant"]["erased"] is True
    html = (await client.get(page)).text
    assert "个人信息已删除" in html and PERSON.phone not in html
    assert [p for p in PLAIN if p and p in json.dumps(case, ensure_ascii=False)] == []
    notices = (
        await client.get(f"/api/v1/complaints/{filed.complaint_id}/notices", headers=staff["op-li"])
    ).json()
    pdf = await client.get(notices[0]["pdf_url"], headers=staff["op-li"])
    assert pdf.status_code == 200
    if (text := text_of(pdf.content)) is not None:
        flat = "".join(text.split())
        assert "王五" not in flat
        assert "您好：" in flat  # the salutation without a name
    code, out, err = await tousu(child_env, "complaint", "show", filed.tracking_no, "--json")
    assert code == 0, err
    assert json.loads(out)["complainant_erased"] is True
    # The other complainant is untouched.
    kept = (
        await client.get(f"/api/v1/complaints/{other.complaint_id}", headers=staff["op-li"])
    ).json()
    assert kept["complainant"]["name"] == "赵六"
    # Only what still shows personal data counts as a view of it.
    assert [tuple(r) for r in await store.pool.fetch(views)] == [
        ("op-zhou", filed.complaint_id, "web_case"),
        ("op-li", other.complaint_id, "api_case"),
    ]

    # KPIs the same, also computed afresh from the events after the erasure.
    assert (await client.get(kpis, headers=staff["sup-wang"])).json() == before
    async with store.pool.acquire() as conn:
        await rebuild_all(conn, store, PROJECTIONS, WorkdayCalendar, workers=1)
    assert (await client.get(kpis, headers=staff["sup-wang"])).json() == before


async def test_with_a_master_key_the_database_alone_opens_nothing(
    store: PostgresEventStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, "a master key for this test only")
    master_key.cache_clear()
    try:
        filed = await file(store, settings, PERSON)
        assert await store.pool.fetchval("SELECT bool_and(wrapped) FROM complainant_keys")
        history = await store.read_stream(complaint_stream(filed.complaint_id))
        who = replay(await reveal_history(store.pool, history)).complainant
        assert who is not None and who.phone == PERSON.phone
        monkeypatch.delenv(MASTER_KEY_ENV)
        master_key.cache_clear()
        with pytest.raises(SealError, match=MASTER_KEY_ENV):
            await reveal_history(store.pool, history)
    finally:
        master_key.cache_clear()
