"""The notices of a case as PDF over HTTP: for staff who may see the case, and
for the complainant with the tracking number and access code."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest

from tests.domain_kit import (
    HANDLER,
    OPERATOR,
    SUPERVISOR,
    ReplayExecutor,
    as_it_happens,
)
from tests.lifecycle import Headers, staff_tokens
from tousu.services.gateway.app import create_app
from tousu.services.gateway.auth import StaffRole
from tousu.shared.application.context_source import ContextSource
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.intake.identifiers import hash_access_code, new_access_code, new_tracking_no
from tousu.shared.keys import access_code_key
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


@dataclass(frozen=True)
class Filed:
    complaint_id: uuid.UUID
    tracking_no: str
    code: str


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 9, day, hour, tzinfo=TZ)


@pytest.fixture
async def filed(store: PostgresEventStore, settings: Settings) -> Filed:
    """Accepted, extended, resolved and fed back, with the deployment's notice texts."""
    render = ContextSource.for_settings(settings).render
    executor = ReplayExecutor(store, as_it_happens(render=render))
    cid = uuid.uuid4()
    tracking_no = new_tracking_no(at(14))
    code = new_access_code()
    await executor.execute(
        cid,
        c.SubmitComplaint(
            actor=OPERATOR,
            occurred_at=at(14),
            channel=Channel.PHONE,
            tracking_no=tracking_no,
            access_code_hash=hash_access_code(code, access_code_key(settings)),
            complainant=Complainant(name="王五", phone="13700000000"),
            subject="工地夜间施工噪音",
            description="夜间施工，影响休息",
        ),
    )
    await store.pool.execute(
        "INSERT INTO tracking_numbers (tracking_no, complaint_id) VALUES ($1, $2)",
        tracking_no,
        cid,
    )
    steps: list[tuple[datetime, type[c.Command], object, dict[str, object]]] = [
        (at(15), c.AcceptComplaint, OPERATOR, {"category": "service_quality"}),
        (at(15, 10), c.RouteComplaint, OPERATOR, {"department": "water"}),
        (at(15, 11), c.ClaimCase, HANDLER, {}),
        (at(22), c.RequestExtension, HANDLER, {"working_days": 5, "reason": "需要现场勘查"}),
        (at(22, 10), c.DecideExtension, SUPERVISOR, {"approved": True, "reason": "需要现场勘查"}),
        (at(29), c.RecordInvestigation, HANDLER, {"findings": "夜间施工属实"}),
        (at(29), c.ProposePlan, HANDLER, {"measures": [{"measure": "停工", "owner": "h"}]}),
        (at(29), c.RecordConsultation, HANDLER, {"agrees": True}),
        (at(29), c.ResolveComplaint, HANDLER, {"result": "已责令停止夜间施工", "basis": "规定"}),
        (at(29, 10), c.SendFeedback, HANDLER, {}),
    ]
    for when, command, actor, fields in steps:
        await executor.execute(cid, command(actor=actor, occurred_at=when, **fields))
    return Filed(cid, tracking_no, code)


@pytest.fixture
async def staff(database_url: str) -> dict[str, Headers]:
    people: list[tuple[str, StaffRole, str | None]] = [
        ("op-li", "operator", None),
        ("h-zhao", "handler", "water"),
        ("h-sun", "handler", "transport"),
    ]
    return await staff_tokens(database_url, people)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as c:
            yield c


def text_of(pdf: bytes) -> str | None:
    """The PDF's text, or None where poppler-utils is not installed."""
    tool = shutil.which("pdftotext")
    if tool is None:
        return None
    done = subprocess.run([tool, "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode("utf-8")


async def test_staff_list_and_download_each_notice(
    client: httpx.AsyncClient, staff: dict[str, Headers], filed: Filed
) -> None:
    listed = await client.get(
        f"/api/v1/complaints/{filed.complaint_id}/notices", headers=staff["op-li"]
    )
    assert listed.status_code == 200, listed.text
    notices = listed.json()
    assert [n["kind"] for n in notices] == ["acceptance", "extension", "feedback"]
    assert [n["title"] for n in notices] == ["受理告知书", "延期告知书", "处理结果反馈"]
    for notice in notices:
        assert notice["pdf_url"] == (
            f"/api/v1/complaints/{filed.complaint_id}/notices/{notice['id']}.pdf"
        )
        for who in ("op-li", "h-zhao"):
            got = await client.get(notice["pdf_url"], headers=staff[who])
            assert got.status_code == 200, got.text
            assert got.headers["content-type"] == "application/pdf"
            assert got.headers["content-disposition"] == (
                f'attachment; filename="{filed.tracking_no}-{notice["kind"]}.pdf"'
            )
            assert got.content.startswith(b"%PDF-")
        text = text_of(got.content)
        if text is not None:
            flat = "".join(text.split())
            assert notice["title"] in flat and filed.tracking_no in flat
            assert "尊敬的王五：" in flat and notice["id"] in flat
    feedback = text_of((await client.get(notices[2]["pdf_url"], headers=staff["op-li"])).content)
    if feedback is not None:
        assert "已责令停止夜间施工" in feedback


async def test_another_department_and_unknown_notices_are_404(
    client: httpx.AsyncClient, staff: dict[str, Headers], filed: Filed
) -> None:
    base = f"/api/v1/complaints/{filed.complaint_id}/notices"
    notices = (await client.get(base, headers=staff["op-li"])).json()
    other = staff["h-sun"]
    assert (await client.get(base, headers=other)).status_code == 404
    assert (await client.get(notices[0]["pdf_url"], headers=other)).status_code == 404
    unknown = await client.get(f"{base}/{uuid.uuid4()}.pdf", headers=staff["op-li"])
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "notice_not_found"
    assert (await client.get(notices[0]["pdf_url"])).status_code == 401


async def test_the_public_downloads_with_the_code(
    client: httpx.AsyncClient, staff: dict[str, Headers], filed: Filed
) -> None:
    lookup = await client.get(
        f"/api/v1/public/complaints/{filed.tracking_no}", params={"code": filed.code}
    )
    assert lookup.status_code == 200, lookup.text
    view = lookup.json()
    urls = [n["pdf_url"] for n in view["notices"] if n["pdf_url"]]
    urls += [r["pdf_url"] for r in view["resolutions"]]
    staff_list = (
        await client.get(f"/api/v1/complaints/{filed.complaint_id}/notices", headers=staff["op-li"])
    ).json()
    ids = [n["id"] for n in staff_list]
    prefix = f"/api/v1/public/complaints/{filed.tracking_no}/notices/"
    assert urls == [f"{prefix}{notice_id}.pdf" for notice_id in ids]
    for url, notice in zip(urls, staff_list, strict=True):
        got = await client.get(url, params={"code": filed.code})
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["cache-control"] == "private, no-store"
        # The same document as staff print: a reprint matches.
        printed = await client.get(notice["pdf_url"], headers=staff["op-li"])
        assert got.content == printed.content

    wrong = await client.get(urls[0], params={"code": "WRONG123"})
    missing = await client.get(urls[0])
    unknown_no = await client.get(
        urls[0].replace(filed.tracking_no, new_tracking_no(at(14))), params={"code": filed.code}
    )
    for refused in (wrong, missing, unknown_no):
        assert refused.status_code == 404
        assert refused.json()["code"] == "complaint_not_found"
    no_notice = await client.get(f"{prefix}{uuid.uuid4()}.pdf", params={"code": filed.code})
    assert no_notice.status_code == 404
