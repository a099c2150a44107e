"""The staff case page's evidence fields (the gateway in-process, real
PostgreSQL, files in the test's data folder): the timeline shows a step's
files; a supervisor's 督办 form takes files; a refused file, too many files,
or another field's error send nothing and store nothing, each said at the
file field with what was typed kept. (A handler's evidence that goes
through, shared with the complainant: tests/browser/test_handler_evidence.py.)"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests import attachment_files as files
from tests.integration.test_web_files import file_case
from tests.web_kit import add_user, gateway_client, hidden, sign_in
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as c:
        yield c


def blobs(settings: Settings) -> list[Path]:
    return sorted(p for p in (settings.data_dir / "attachments").rglob("*") if p.is_file())


async def test_a_supervision_notice_s_files_come_back_at_their_field(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore, settings: Settings
) -> None:
    filed = await file_case(store, settings, "water", "13700000003")
    await add_user(pool, "sup-wang", "supervisor")
    await sign_in(client, "sup-wang")
    page = await client.get(f"/staff/cases/{filed.complaint_id}")
    assert page.status_code == 200
    form = re.search(r'<form[^>]*action="[^"]*/supervise"[^>]*>', page.text)
    assert form is not None and 'enctype="multipart/form-data"' in form.group(0)
    assert 'id="supervise-evidence" name="evidence" multiple' in page.text
    assert 'name="share_with_complainant"' in page.text
    # The timeline shows the complaint's own files: the photo's thumbnail, the letter's link.
    steps = page.text[page.text.index('id="timeline"') :]
    base = f"/staff/cases/{filed.complaint_id}/files"
    assert f'<img src="{base}/{filed.photo.sha256}/thumb" alt="泵房.jpg"' in steps
    assert f'<a href="{base}/{filed.document.sha256}"><span>letter.pdf</span></a>' in steps
    before = blobs(settings)
    assert before  # the citizen's photo and letter

    async def send(
        note: str, chosen: list[tuple[str, bytes]], respond_by: str = ""
    ) -> httpx.Response:
        fields = {
            "csrf_token": hidden(page.text, "csrf_token"),
            "note": note,
            "respond_by": respond_by,
            "share_with_complainant": "1",
        }
        parts = [("evidence", (name, data, "application/octet-stream")) for name, data in chosen]
        return await client.post(
            f"/staff/cases/{filed.complaint_id}/supervise", data=fields, files=parts
        )

    # A file that is not what its name says.
    refused = await send("逾期未回复，请说明", [("通知.pdf", files.pdf(javascript=True))])
    assert refused.status_code == 422
    message = re.search(r'id="supervise-evidence-error">(.*?)</p>', refused.text, re.S)
    assert message is not None and "JavaScript" in message.group(1)
    # In the page's language, as the public form and the desk say it.
    assert "含有JavaScript 脚本的 PDF" in message.group(1)
    assert "is a PDF with" not in message.group(1)
    assert "逾期未回复，请说明" in refused.text
    assert (
        'id="supervise-share_with_complainant" name="share_with_complainant" value="1" checked'
        in (refused.text)
    )
    # Too many files: none looked at.
    many = await send("逾期未回复，请说明", [(f"{i}.png", files.png()) for i in range(6)])
    assert many.status_code == 422
    assert "现为 6 个" in many.text
    # A good file, but the date is not one: nothing stored, choose it again.
    bad_date = await send("逾期未回复，请说明", [("督办函.pdf", files.pdf())], "下周")
    assert bad_date.status_code == 422
    assert 'id="supervise-respond_by-error"' in bad_date.text
    assert "请重新选择" in bad_date.text
    assert blobs(settings) == before
    # Nothing was sent: the case has no supervision notice.
    types = await pool.fetch(
        "SELECT type FROM events WHERE stream_id = $1", f"complaint-{filed.complaint_id}"
    )
    assert "SupervisionRaised" not in {r["type"] for r in types}
