"""Serving a case's files (docs/attachments.md, "Who sees what"): staff under
the case page's role and department rules, the complainant with the tracking
page's session (their own files and those shared with them), never another
case's; the headers of shared/attachments/serving.py. Real PostgreSQL, the
gateway in-process, files in the test's data folder."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from PIL import Image

from tests.attachment_files import pdf, photo_with_gps
from tests.domain_kit import OPERATOR, ReplayExecutor
from tests.helpers import project_everything
from tests.web_kit import add_user, gateway_client, hidden, sign_in
from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.limits import AttachmentLimits
from tousu.shared.attachments.owners import owner_for_contact
from tousu.shared.attachments.store import store_for
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext
from tousu.shared.events import utcnow
from tousu.shared.events.types import Channel, Complainant, FileRef
from tousu.shared.intake.identifiers import hash_access_code, new_access_code, new_tracking_no
from tousu.shared.keys import access_code_key
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
