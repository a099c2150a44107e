"""Serving a case's files (docs/attachments.md, "Who sees what"): staff under
the case page's role and department rules, the complainant with the tracking
page's session (their own files and those shared with them), never another
case's; the headers of shared/attachments/serving.py. Real PostgreSQL, the
gateway in-process, files in the test's data folder."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from faststream.nats import NatsBroker
from PIL import Image

from tests import attachment_files as files
from tests.attachment_files import pdf, photo_with_gps
from tests.domain_kit import HANDLER, OPERATOR, ReplayExecutor
from tests.helpers import project_everything
from tests.web_kit import add_user, gateway_client, hidden, sign_in
from tousu.services.gateway.web.staff.intake import local_input
from tousu.services.intake import endpoints
from tousu.services.intake.intake import Intake
from tousu.shared.application.context_source import ContextSource
from tousu.shared.application.credentials import credential_key
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.application.nats_commands import register_requests
from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.limits import AttachmentLimits
from tousu.shared.attachments.owners import owner_for_contact, owner_of_case
from tousu.shared.attachments.store import store_for
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext
from tousu.shared.events import utcnow
from tousu.shared.events.types import Channel, Complainant, FileRef
from tousu.shared.intake.identifiers import hash_access_code, new_access_code, new_tracking_no
from tousu.shared.keys import access_code_key
from tousu.shared.privacy.erase import erase, find
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


@dataclass(frozen=True)
class Filed:
    complaint_id: uuid.UUID
    tracking_no: str
    code: str
    photo: FileRef
    document: FileRef


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as c:
        yield c


async def file_case(
    store: PostgresEventStore, settings: Settings, department: str, phone: str
) -> Filed:
    """A web complaint with a GPS photo and a PDF, routed to ``department``."""
    attachments = Attachments(store_for(settings), store.pool, AttachmentLimits())
    owner = await owner_for_contact(store.pool, phone, None)
    photo = await attachments.add(owner, photo_with_gps(320, 240), "泵房.jpg")
    document = await attachments.add(owner, pdf(), "letter.pdf")
    executor = ReplayExecutor(
        store,
        lambda: DecisionContext(calendar=WorkdayCalendar(), now=utcnow()),
        attachments=attachments,
    )
    now = utcnow()
    cid, tracking_no, code = uuid.uuid4(), new_tracking_no(now), new_access_code()
    await executor.execute(
        cid,
        c.SubmitComplaint(
            actor=OPERATOR,
            occurred_at=now,
            channel=Channel.WEB,
            tracking_no=tracking_no,
            access_code_hash=hash_access_code(code, access_code_key(settings)),
            complainant=Complainant(name="王五", phone=phone),
            subject="泵房漏水",
            description="泵房漏水，照片附上",
            attachments=[photo, document],
        ),
    )
    await executor.execute(
        cid, c.AcceptComplaint(actor=OPERATOR, occurred_at=now, category="service_quality")
    )
    await executor.execute(
        cid, c.RouteComplaint(actor=OPERATOR, occurred_at=now, department=department)
    )
    await store.pool.execute(
        "INSERT INTO tracking_numbers (tracking_no, complaint_id) VALUES ($1, $2)",
        tracking_no,
        cid,
    )
    return Filed(cid, tracking_no, code, photo, document)


def assert_no_exif(content: bytes) -> None:
    image = Image.open(io.BytesIO(content))
    assert image.format == "JPEG"
    assert not image.getexif() and "exif" not in image.info


async def test_staff_see_their_departments_files_only(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore, settings: Settings
) -> None:
    water = await file_case(store, settings, "water", "13700000001")
    transport = await file_case(store, settings, "transport", "13700000002")
    await project_everything(store)
    await add_user(pool, "h-zhao", "handler", "water")
    await sign_in(client, "h-zhao")

    base = f"/staff/cases/{water.complaint_id}/files"
    photo = await client.get(f"{base}/{water.photo.sha256}")
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"
    assert photo.headers["x-content-type-options"] == "nosniff"
    assert photo.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in photo.headers["content-security-policy"]
    assert_no_exif(photo.content)
    # A complainant's file is personal data: the full view is logged.
    logged = await pool.fetch(
        "SELECT viewer, complaint_id FROM personal_data_views WHERE view = 'web_file'"
    )
    assert [(r["viewer"], r["complaint_id"]) for r in logged] == [("h-zhao", water.complaint_id)]
    thumb = await client.get(f"{base}/{water.photo.sha256}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size[0] <= 320
    document = await client.get(f"{base}/{water.document.sha256}")
    assert document.status_code == 200 and document.content.startswith(b"%PDF")
    assert document.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''letter.pdf" in document.headers["content-disposition"]
    # A PDF has no thumbnail.
    assert (await client.get(f"{base}/{water.document.sha256}/thumb")).status_code == 404

    # Another department's case: as its page, 404; nor its file under our case.
    other = f"/staff/cases/{transport.complaint_id}/files/{transport.photo.sha256}"
    assert (await client.get(other)).status_code == 404
    assert (await client.get(f"{base}/{transport.photo.sha256}")).status_code == 404
    assert (await client.get(f"{base}/{'0' * 64}")).status_code == 404

    # Signed out: sign in first, nothing served.
    client.cookies.clear()
    signed_out = await client.get(f"{base}/{water.photo.sha256}")
    assert signed_out.status_code == 303 and not signed_out.content.startswith(b"\xff\xd8")


async def track(client: httpx.AsyncClient, filed: Filed) -> None:
    form = await client.get("/track")
    found = await client.post(
        "/track",
        data={
            "csrf_token": hidden(form.text, "csrf_token"),
            "tracking_no": filed.tracking_no,
            "code": filed.code,
        },
    )
    assert found.status_code == 303, found.text


async def test_the_complainant_sees_their_files_and_no_other_case_s(
    client: httpx.AsyncClient, store: PostgresEventStore, settings: Settings
) -> None:
    mine = await file_case(store, settings, "water", "13700000003")
    theirs = await file_case(store, settings, "water", "13700000004")
    # Without the tracking session: nothing.
    assert (await client.get(f"/track/files/{mine.photo.sha256}")).status_code == 404

    await track(client, mine)
    page = await client.get("/track/case")
    assert page.status_code == 200
    # Thumbnails of the citizen's files, each a link to the file.
    assert f'href="/track/files/{mine.photo.sha256}"' in page.text
    assert f'src="/track/files/{mine.photo.sha256}/thumb"' in page.text
    assert f'href="/track/files/{mine.document.sha256}"' in page.text
    assert theirs.photo.sha256 not in page.text

    photo = await client.get(f"/track/files/{mine.photo.sha256}")
    assert photo.status_code == 200 and photo.headers["x-content-type-options"] == "nosniff"
    assert_no_exif(photo.content)
    thumb = await client.get(f"/track/files/{mine.photo.sha256}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    # Another case's file, known by its hash: never served on this session.
    assert (await client.get(f"/track/files/{theirs.photo.sha256}")).status_code == 404
    assert (await client.get(f"/track/files/{theirs.photo.sha256}/thumb")).status_code == 404


# -- the public form's files -------------------------------------------------------------


async def stored_blobs(settings: Settings) -> list[Path]:
    root = settings.data_dir / "attachments"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def small_files(settings: Settings) -> Settings:
    section = settings.attachments.model_copy(update={"max_bytes": 100_000})
    return settings.model_copy(update={"attachments": section})


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (files.HTML_AS_JPG, "cat.jpg", "is HTML"),
        (files.SVG_WITH_SCRIPT, "logo.svg", "SVG image, which can carry scripts"),
        (files.pdf(javascript=True), "notice.pdf", "a PDF with JavaScript"),
        (files.zip_bomb(40 << 20), "report.docx", "zip bomb"),
        (files.photo_with_gps(640, 480), "huge.jpg", "per file"),
    ],
)
async def test_each_refused_file_is_named_at_the_field_and_nothing_is_stored(
    settings: Settings, data: bytes, name: str, reason: str
) -> None:
    async with gateway_client(small_files(settings)) as client:
        page = await client.get("/complaints/new", params={"lang": "en"})
        assert 'enctype="multipart/form-data"' in page.text
        assert 'accept="image/*,application/pdf"' in page.text
        assert 'capture="environment"' in page.text
        fields = {
            "csrf_token": hidden(page.text, "csrf_token"),
            "form_id": hidden(page.text, "form_id"),
            "subject": "水泵漏水",
            "description": "泵房漏水三天",
            "phone": "13700000009",
        }
        good = files.photo_with_gps(64, 48)
        refused = await client.post(
            "/complaints/new",
            data=fields,
            files=[("attachments", ("pump.jpg", good)), ("attachments", (name, data))],
        )
    assert refused.status_code == 422
    html = refused.text
    message = html.split('id="attachments-error"')[1][:600]
    assert reason in message and "Not accepted" in message
    assert 'href="#attachments"' in html  # the summary links to the field
    # What the citizen typed is kept; the accepted photo was not stored either.
    assert 'value="水泵漏水"' in html and "泵房漏水三天</textarea>" in html
    assert await stored_blobs(settings) == []


async def test_too_many_files_and_a_text_error_store_nothing(settings: Settings) -> None:
    async with gateway_client(settings) as client:
        page = await client.get("/complaints/new", params={"lang": "en"})
        fields = {
            "csrf_token": hidden(page.text, "csrf_token"),
            "form_id": hidden(page.text, "form_id"),
            "subject": "水泵漏水",
            "description": "泵房漏水三天",
            "phone": "13700000009",
        }
        photo = files.photo_with_gps(64, 48)
        many = [("attachments", (f"p{i}.jpg", photo)) for i in range(6)]
        too_many = await client.post("/complaints/new", data=fields, files=many)
        assert too_many.status_code == 422
        assert "at most 5 files (now 6)" in too_many.text.split('id="attachments-error"')[1]
        # Good files, but the subject missing: nothing stored, and asked again.
        no_subject = await client.post(
            "/complaints/new",
            data={**fields, "subject": ""},
            files=[("attachments", ("pump.jpg", photo))],
        )
    assert no_subject.status_code == 422
    assert "choose them again" in no_subject.text.split('id="attachments-error"')[1][:400]
    assert await stored_blobs(settings) == []


# -- the staff desk: a letter registered with its scan ----------------------------------


@pytest.fixture
async def intake(settings: Settings, store: PostgresEventStore) -> AsyncIterator[None]:
    """intake's submit over NATS, its executor asking the deployment's store."""
    executor = CommandExecutor(
        store,
        ContextSource.for_settings(settings),
        attachments=Attachments.for_settings(settings, store.pool),
    )
    desk = Intake(store, executor, access_code_key=access_code_key(settings))
    broker = NatsBroker(str(settings.nats_url))
    requests = {"submit": endpoints.submit(desk)}
    register_requests(broker, settings.naming, "intake", requests, key=credential_key(settings))
    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


async def test_an_operator_registers_a_letter_with_its_scan(
    client: httpx.AsyncClient, intake: None, store: PostgresEventStore, settings: Settings
) -> None:
    await add_user(store.pool, "op-li", "operator")
    assert (await sign_in(client, "op-li")).status_code == 303
    page = await client.get("/staff/intake/new")
    assert 'enctype="multipart/form-data"' in page.text and 'name="attachments"' in page.text
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "form_id": hidden(page.text, "form_id"),
        "channel": "letter",
        "received_at": local_input(utcnow() - timedelta(days=1)),
        "name": "周红",
        # Written as people write it: the key is found from the normalised number.
        "phone": "138-0013-8000",
        "address": "某市东城区和平路 12 号",
        "subject": "社区服务站长期无人值守",
        "description": "多次前往社区服务站办事均无人接待。",
    }
    scan = files.photo_with_gps(400, 560)
    done = await client.post(
        "/staff/intake/new",
        data=form,
        files=[
            ("attachments", ("来信扫描.jpg", scan)),
            ("attachments", ("信封.pdf", files.pdf())),
        ],
    )
    assert done.status_code == 200, done.text
    assert 'id="access-code"' in done.text
    row = await store.pool.fetchrow(
        "SELECT stream_id, data FROM events WHERE type = 'ComplaintReceived'"
    )
    data = row["data"] if isinstance(row["data"], dict) else json.loads(row["data"])
    refs = [FileRef.model_validate(f) for f in data["attachments"]]
    assert [r.name for r in refs] == ["来信扫描.jpg", "信封.pdf"]
    # Sealed with the complainant's key, as their personal fields are.
    assert {str(r.owner) for r in refs} == {data["complainant"]["key"]}
    complaint_id = row["stream_id"].split("-", 1)[1]
    served = await client.get(f"/staff/cases/{complaint_id}/files/{refs[0].sha256}")
    assert served.status_code == 200
    assert_no_exif(served.content)


async def test_the_form_takes_a_phone_photo_larger_than_a_plain_request(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    photo = files.photo_with_gps()  # 1600 × 1200, as a phone sends it
    assert len(photo) > settings.max_request_bytes
    page = await client.get("/complaints/new")
    fields = {"csrf_token": hidden(page.text, "csrf_token"), "description": "泵房漏水"}
    # Read and checked (not refused as too large): only the subject is missing.
    sent = await client.post(
        "/complaints/new", data=fields, files=[("attachments", ("pump.jpg", photo))]
    )
    assert sent.status_code == 422 and 'id="subject-error"' in sent.text
    # A plain form the size of a photo is still refused.
    padded = await client.post("/track", data={"tracking_no": "x" * len(photo), "code": "x"})
    assert padded.status_code == 413


async def test_the_complainant_sees_what_the_department_shared_and_nothing_else(
    client: httpx.AsyncClient, store: PostgresEventStore, settings: Settings
) -> None:
    filed = await file_case(store, settings, "water", "13700000005")
    attachments = Attachments(store_for(settings), store.pool, AttachmentLimits())
    owner = await owner_of_case(store.pool, filed.complaint_id)
    shared = await attachments.add(
        owner, files.photo_with_gps(200, 150), "维修后.jpg", shared_with_complainant=True
    )
    # Not the citizen's own letter.pdf (the same bytes would be the same file).
    internal = await attachments.add(owner, files.docx(), "内部记录.docx")
    executor = ReplayExecutor(
        store,
        lambda: DecisionContext(calendar=WorkdayCalendar(), now=utcnow()),
        attachments=attachments,
    )
    await executor.execute(filed.complaint_id, c.ClaimCase(actor=HANDLER, occurred_at=utcnow()))
    await executor.execute(
        filed.complaint_id,
        c.RecordInvestigation(
            actor=HANDLER,
            occurred_at=utcnow(),
            findings="泵房阀门老化，已更换",
            attachments=[shared, internal],
        ),
    )

    await track(client, filed)
    page = await client.get("/track/case")
    assert f'src="/track/files/{shared.sha256}/thumb"' in page.text
    assert internal.sha256 not in page.text
    served = await client.get(f"/track/files/{shared.sha256}")
    assert served.status_code == 200
    assert_no_exif(served.content)
    assert (await client.get(f"/track/files/{internal.sha256}")).status_code == 404


async def test_after_erasure_nobody_is_served_the_files(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore, settings: Settings
) -> None:
    filed = await file_case(store, settings, "water", "13700000006")
    await project_everything(store)
    await add_user(pool, "h-zhao", "handler", "water")
    await sign_in(client, "h-zhao")
    url = f"/staff/cases/{filed.complaint_id}/files/{filed.photo.sha256}"
    assert (await client.get(url)).status_code == 200
    async with pool.acquire() as conn, conn.transaction():
        await erase(conn, await find(conn, filed.tracking_no), by="admin")
    for path in (url, f"{url}/thumb"):
        gone = await client.get(path)
        assert gone.status_code == 404 and not gone.content.startswith(b"\xff\xd8")
    client.cookies.clear()
    await track(client, filed)
    assert (await client.get(f"/track/files/{filed.photo.sha256}")).status_code == 404


@pytest.mark.parametrize(
    ("lang", "data", "name", "reason"),
    [
        ("zh", files.SVG_WITH_SCRIPT, "logo.svg", "文件类型不支持：logo.svg 是 SVG 图片"),
        ("zh", files.pdf(javascript=True), "notice.pdf", "含有JavaScript 脚本的 PDF"),
        ("zh", files.photo_with_gps(640, 480), "huge.jpg", "文件过大：huge.jpg 为"),
        ("en", files.SVG_WITH_SCRIPT, "logo.svg", "logo.svg is an SVG image"),
        ("en", files.photo_with_gps(640, 480), "huge.jpg", "per file"),
    ],
)
async def test_a_refused_file_is_explained_in_the_pages_language(
    settings: Settings, lang: str, data: bytes, name: str, reason: str
) -> None:
    async with gateway_client(small_files(settings)) as client:
        page = await client.get("/complaints/new", params={"lang": lang})
        fields = {
            "csrf_token": hidden(page.text, "csrf_token"),
            "form_id": hidden(page.text, "form_id"),
            "subject": "水泵漏水",
            "description": "泵房漏水三天",
            "phone": "13700000009",
        }
        refused = await client.post(
            "/complaints/new", data=fields, files=[("attachments", (name, data))]
        )
    assert refused.status_code == 422
    message = refused.text.split('id="attachments-error"')[1][:600]
    assert reason in message
    # The other language's words are not there (the reason is not left in English).
    if lang == "zh":
        assert "not accepted" not in message.lower() and "per file" not in message
    else:
        assert "文件" not in message


async def test_the_staff_desk_explains_a_refused_scan_in_chinese(
    client: httpx.AsyncClient, store: PostgresEventStore
) -> None:
    await add_user(store.pool, "op-wu", "operator")
    assert (await sign_in(client, "op-wu")).status_code == 303
    page = await client.get("/staff/intake/new", params={"lang": "zh"})
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "form_id": hidden(page.text, "form_id"),
        "channel": "letter",
        "received_at": local_input(utcnow() - timedelta(days=1)),
        "name": "周红",
        "phone": "13800138000",
        "subject": "社区服务站长期无人值守",
        "description": "多次前往社区服务站办事均无人接待。",
    }
    refused = await client.post(
        "/staff/intake/new", data=form, files=[("attachments", ("来信.html", files.HTML_AS_JPG))]
    )
    assert refused.status_code == 422, refused.text[:300]
    message = refused.text.split('id="attachments-error"')[1][:600]
    assert "文件类型不支持：来信.html 是网页（HTML）文件" in message
    assert "not accepted" not in message.lower()
