"""Attachments on real files and real PostgreSQL: the store's contract on
every backend (the data folder always; S3 through moto's server when the
package is installed), a phone photo stored without its EXIF, the refusals
storing nothing, erasure making a file unreadable with the KPIs unchanged,
the sweep, and `tousu audit verify` checking each referenced file."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import stat
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from PIL import Image

from tests import attachment_files as files
from tests.domain_kit import HANDLER, OPERATOR, ReplayExecutor
from tests.helpers import project_everything, tousu
from tousu.services.metrics.kpis import PgKpiSource
from tousu.shared.attachments.audit import verify_files
from tousu.shared.attachments.checks import Refused
from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.limits import AttachmentLimits
from tousu.shared.attachments.owners import owner_for_contact, owner_of_case
from tousu.shared.attachments.sealing import Unreadable
from tousu.shared.attachments.store import BlobStore, LocalStore, S3Store, blob_name
from tousu.shared.attachments.sweep import sweep
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.domain.errors import InvalidCommand
from tousu.shared.events import utcnow
from tousu.shared.events.types import Channel, Complainant, FileRef
from tousu.shared.intake.identifiers import new_tracking_no
from tousu.shared.privacy.erase import erase, find
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

PERSON = Complainant(name="李四", phone="13612345678")
NAME = f"{uuid.uuid4()}/{'ab' * 32}"


# -- the store's contract, on every backend ---------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = _free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _s3(endpoint: str) -> S3Store:
    import boto3  # type: ignore[import-untyped]

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = f"tousu-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Store(client, bucket, "attachments/")


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalStore(tmp_path / "var" / "attachments")
    return _s3(request.getfixturevalue("s3_endpoint"))


async def test_a_blob_put_is_read_back_whole_and_replaced_whole(blobs: BlobStore) -> None:
    assert await blobs.get(NAME) is None
    assert not await blobs.exists(NAME)
    await blobs.put(NAME, b"first version, longer than the second")
    await blobs.put(NAME, b"second")
    assert await blobs.get(NAME) == b"second"
    assert await blobs.exists(NAME)
    listed = [b async for b in blobs.listing()]
    assert [(b.name, b.size) for b in listed] == [(NAME, 6)]
    assert abs((listed[0].modified_at - utcnow()).total_seconds()) < 60


async def test_a_deleted_blob_is_gone_and_deleting_twice_is_no_error(blobs: BlobStore) -> None:
    await blobs.put(NAME, b"x")
    await blobs.delete(NAME)
    await blobs.delete(NAME)
    assert await blobs.get(NAME) is None
    assert [b async for b in blobs.listing()] == []


@pytest.mark.parametrize("bad", ["../etc/passwd", "owner/" + "g" * 64, "a/b/c", ""])
async def test_names_that_are_not_blob_names_are_refused(blobs: BlobStore, bad: str) -> None:
    with pytest.raises(ValueError, match="not a blob name"):
        await blobs.put(bad, b"x")


async def test_local_files_are_the_owners_alone(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "var" / "attachments")
    await store.put(NAME, b"sealed")
    (path,) = (tmp_path / "var" / "attachments").rglob("abab*")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in [path.parent, path.parent.parent, store.root]:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert store.leftovers() == []


# -- adding, reading, refusing ---------------------------------------------------------
@pytest.fixture
async def attachments(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Attachments]:
    yield Attachments(LocalStore(settings.data_dir / "attachments"), pool, AttachmentLimits())


async def stored_bytes(store: BlobStore) -> list[bytes]:
    return [await store.get(b.name) or b"" async for b in store.listing()]


async def test_a_photo_with_gps_is_stored_sealed_and_read_back_without_exif(
    attachments: Attachments, pool: asyncpg.Pool
) -> None:
    owner = await owner_for_contact(pool, PERSON.phone, None)
    sent = files.photo_with_gps(1200, 900)
    ref = await attachments.add(owner, sent, "IMG_2041.JPG", field="photos")
    assert (ref.media_type, ref.name, ref.owner, ref.thumbnail) == (
        "image/jpeg",
        "IMG_2041.jpg",
        owner,
        True,
    )
    # What the store holds is neither the photo nor anything of its EXIF.
    for blob in await stored_bytes(attachments.store):
        assert (
            not blob.startswith(b"\xff\xd8") and b"PhoneMaker" not in blob and b"Exif" not in blob
        )
    kept = await attachments.read(ref)
    assert hashlib.sha256(kept).hexdigest() == ref.sha256 and len(kept) == ref.size
    with Image.open(io.BytesIO(kept)) as image:
        assert image.size == (1200, 900)
        assert not image.getexif() and not image.getexif().get_ifd(0x8825)
    with Image.open(io.BytesIO(await attachments.read(ref, thumbnail=True))) as thumb:
        assert max(thumb.size) == 320 and not thumb.getexif()


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (files.HTML_AS_JPG, "cat.jpg", "is HTML"),
        (files.SVG_WITH_SCRIPT, "logo.svg", "SVG image, which can carry scripts"),
        (files.pdf(javascript=True), "notice.pdf", "a PDF with JavaScript"),
        (files.zip_bomb(), "report.docx", "zip bomb"),
        (files.photo_with_gps(), "huge.jpg", "per file"),
    ],
)
async def test_each_refusal_gives_its_reason_and_stores_nothing(
    attachments: Attachments, data: bytes, name: str, reason: str
) -> None:
    small = replace(attachments, limits=AttachmentLimits(max_bytes=400_000))
    with pytest.raises(Refused) as refused:
        await small.add(None, data, name, field="evidence")
    assert refused.value.field == "evidence" and reason in refused.value.reason
    assert await stored_bytes(attachments.store) == []
    assert isinstance(attachments.store, LocalStore) and attachments.store.leftovers() == []


# -- a case with files, erased -----------------------------------------------------------
def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 9, day, hour, tzinfo=TZ)


async def file_with_evidence(
    store: PostgresEventStore, attachments: Attachments
) -> tuple[uuid.UUID, str, FileRef, FileRef]:
    """A complaint filed with a photo; the handler adds a PDF to the investigation."""
    owner = await owner_for_contact(store.pool, PERSON.phone, None)
    photo = await attachments.add(owner, files.photo_with_gps(640, 480), "现场.jpg")
    submit = c.SubmitComplaint(
        actor=OPERATOR,
        occurred_at=at(14),
        channel=Channel.WALK_IN,
        tracking_no=new_tracking_no(at(14)),
        complainant=PERSON,
        subject="路灯不亮",
        description="小区门口路灯坏了一个月",
        attachments=[photo],
    )
    cid = uuid.uuid4()
    await executor_for(store, attachments, submit).execute(cid, submit)
    await store.pool.execute(
        "INSERT INTO tracking_numbers (tracking_no, complaint_id) VALUES ($1, $2)",
        submit.tracking_no,
        cid,
    )
    for when, command, actor, fields in [
        (at(14, 10), c.AcceptComplaint, OPERATOR, {"category": "service_quality"}),
        (at(14, 11), c.RouteComplaint, OPERATOR, {"department": "water"}),
        (at(14, 12), c.ClaimCase, HANDLER, {}),
    ]:
        cmd = command(actor=actor, occurred_at=when, **fields)
        await executor_for(store, attachments, cmd).execute(cid, cmd)
    assert await owner_of_case(store.pool, cid) == owner
    report = await attachments.add(await owner_of_case(store.pool, cid), files.pdf(), "检测.pdf")
    investigate = c.RecordInvestigation(
        actor=HANDLER, occurred_at=at(15), findings="灯具损坏", attachments=[report]
    )
    await executor_for(store, attachments, investigate).execute(cid, investigate)
    return cid, submit.tracking_no, photo, report


def executor_for(
    store: PostgresEventStore, attachments: Attachments | None, command: c.Command
) -> ReplayExecutor:
    """An executor that asks ``attachments`` for the files a command names."""
    return ReplayExecutor(store, attachments=attachments)


async def test_a_command_naming_a_file_not_stored_is_refused(
    store: PostgresEventStore, attachments: Attachments
) -> None:
    never_stored = FileRef(sha256="cd" * 32, size=10, media_type="image/png", name="x.png")
    submit = c.SubmitComplaint(
        actor=OPERATOR,
        occurred_at=at(14),
        channel=Channel.PHONE,
        tracking_no=new_tracking_no(at(14)),
        complainant=Complainant(anonymous=True),
        subject="噪音",
        description="夜间施工",
        attachments=[never_stored],
    )
    with pytest.raises(InvalidCommand, match=r"x\.png: no such file in the attachment store"):
        await executor_for(store, attachments, submit).execute(uuid.uuid4(), submit)
    assert await store.pool.fetchval("SELECT count(*) FROM events") == 0


async def test_an_executor_without_a_store_refuses_files(
    store: PostgresEventStore, attachments: Attachments
) -> None:
    stored = await attachments.add(None, files.png(), "a.png")
    submit = c.SubmitComplaint(
        actor=OPERATOR,
        occurred_at=at(14),
        channel=Channel.PHONE,
        tracking_no=new_tracking_no(at(14)),
        complainant=Complainant(anonymous=True),
        subject="噪音",
        description="夜间施工",
        attachments=[stored],
    )
    with pytest.raises(InvalidCommand, match="files are not taken here"):
        await executor_for(store, None, submit).execute(uuid.uuid4(), submit)


async def kpis(store: PostgresEventStore) -> list[object]:
    await project_everything(store)
    rows = await PgKpiSource(store.pool).kpis(
        start=at(1), end=datetime(2026, 10, 1, tzinfo=TZ), as_of=at(30), group_by=None
    )
    return [r for r in rows]


async def test_erasure_makes_the_files_unreadable_and_keeps_the_kpis(
    store: PostgresEventStore, attachments: Attachments, child_env: dict[str, str]
) -> None:
    _cid, tracking_no, photo, report = await file_with_evidence(store, attachments)
    assert (await verify_files(attachments)).verified == 2
    before = await kpis(store)
    code, _out, err = await tousu(child_env, "privacy", "erase", tracking_no, "--yes", "--json")
    assert code == 0, err
    for ref in (photo, report):
        with pytest.raises(Unreadable, match="erased"):
            await attachments.read(ref)
    assert await kpis(store) == before
    after = await verify_files(attachments)
    assert (after.verified, after.erased, after.problems) == (0, 2, [])


async def test_erasure_reaches_files_of_a_complainant_without_phone_or_email(
    store: PostgresEventStore, attachments: Attachments
) -> None:
    owner = await owner_for_contact(store.pool, None, None)
    photo = await attachments.add(owner, files.png(), "a.png")
    submit = c.SubmitComplaint(
        actor=OPERATOR,
        occurred_at=at(14),
        channel=Channel.LETTER,
        tracking_no=new_tracking_no(at(14)),
        complainant=Complainant(name="无名氏"),
        subject="信件",
        description="来信反映",
        attachments=[photo],
    )
    cid = uuid.uuid4()
    await executor_for(store, attachments, submit).execute(cid, submit)
    async with store.pool.acquire() as conn:
        found = await find(conn, str(cid))
        assert owner in {f.complainant_id for f in found}
        await erase(conn, found, "admin")
    with pytest.raises(Unreadable):
        await attachments.read(photo)


# -- sweep and audit ---------------------------------------------------------------------
async def test_the_sweep_removes_only_old_unreferenced_files(
    store: PostgresEventStore, attachments: Attachments
) -> None:
    _cid, _no, photo, report = await file_with_evidence(store, attachments)
    orphan = await attachments.add(None, files.docx(), "failed upload.docx")
    now = utcnow()
    young = await sweep(store.pool, attachments.store, grace=timedelta(hours=1), now=now)
    assert young.removed == []
    later = now + timedelta(hours=2)
    swept = await sweep(store.pool, attachments.store, grace=timedelta(hours=1), now=later)
    assert swept.removed == [blob_name(None, orphan.sha256)]
    assert swept.kept == 3  # the photo, its thumbnail, the PDF
    for ref in (photo, report):
        assert await attachments.read(ref)


async def test_audit_verify_finds_a_missing_and_an_altered_file(
    store: PostgresEventStore, attachments: Attachments, child_env: dict[str, str]
) -> None:
    _cid, _no, photo, report = await file_with_evidence(store, attachments)
    code, out, err = await tousu(child_env, "audit", "verify", "--json")
    assert code == 0, out + err
    assert json.loads(out)["attachments"] == {"verified": 2, "erased": 0, "problems": []}
    await attachments.store.delete(blob_name(report.owner, report.sha256))
    main = blob_name(photo.owner, photo.sha256)
    box = bytearray(await attachments.store.get(main) or b"")
    box[-1] ^= 1
    await attachments.store.put(main, bytes(box))
    code, out, err = await tousu(child_env, "audit", "verify", "--json")
    assert code == 1
    problems = json.loads(out)["attachments"]["problems"]
    assert sorted(p["name"] for p in problems) == ["检测.pdf", "现场.jpg"]
    assert any("not in the attachment store" in p["reason"] for p in problems)
    assert any("does not open" in p["reason"] for p in problems)


async def test_the_sweep_command_lists_then_removes_an_orphan(
    store: PostgresEventStore, attachments: Attachments, child_env: dict[str, str]
) -> None:
    _cid, _no, photo, _report = await file_with_evidence(store, attachments)
    orphan = await attachments.add(None, files.docx(), "failed upload.docx")
    orphan_blob = blob_name(None, orphan.sha256)
    code, out, err = await tousu(child_env, "attachments", "sweep")
    assert code == 0, err
    assert "removed 0 unreferenced files" in out  # younger than the default 24 hours
    code, out, err = await tousu(
        child_env, "attachments", "sweep", "--grace-hours", "0", "--dry-run"
    )
    assert code == 0, err
    assert f"would remove {orphan_blob}" in out and await attachments.store.exists(orphan_blob)
    code, out, err = await tousu(child_env, "attachments", "sweep", "--grace-hours", "0")
    assert code == 0, err
    assert f"removed {orphan_blob}" in out and "removed 1 unreferenced files" in out
    assert not await attachments.store.exists(orphan_blob)
    assert await attachments.read(photo)
