"""The monthly report counts cases with evidence: from the events, through
metrics' kpi_facts projection (a file on any step), into the workbook."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest
from openpyxl import load_workbook

from tests.domain_kit import OPERATOR
from tests.helpers import project_everything
from tests.integration.test_attachments import at, executor_for, file_with_evidence
from tousu.services.metrics.kpis import PgKpiSource
from tousu.services.metrics.report.monthly import monthly_report
from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.limits import AttachmentLimits
from tousu.shared.attachments.store import LocalStore
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.intake.identifiers import new_tracking_no
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


@pytest.fixture
async def attachments(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Attachments]:
    yield Attachments(LocalStore(settings.data_dir / "attachments"), pool, AttachmentLimits())


async def test_the_monthly_report_counts_cases_with_evidence(
    store: PostgresEventStore, attachments: Attachments, tmp_path: Path
) -> None:
    # One case with a photo and an investigation report; one with no file.
    await file_with_evidence(store, attachments)
    plain = c.SubmitComplaint(
        actor=OPERATOR,
        occurred_at=at(16),
        channel=Channel.PHONE,
        tracking_no=new_tracking_no(at(16)),
        complainant=Complainant(anonymous=True),
        subject="噪音",
        description="夜间施工",
    )
    await executor_for(store, attachments, plain).execute(uuid.uuid4(), plain)
    await project_everything(store)
    source = PgKpiSource(store.pool)
    as_of = datetime(2026, 10, 5, 12, tzinfo=TZ)
    september = (at(1), datetime(2026, 10, 1, tzinfo=TZ))
    [total] = await source.kpis(start=september[0], end=september[1], as_of=as_of, group_by=None)
    assert (total.received, total.with_evidence) == (2, 1)
    # Counted from when the file came, as every figure is: before the photo's
    # complaint was filed, nothing.
    [early] = await source.kpis(
        start=september[0], end=september[1], as_of=at(14, 8), group_by=None
    )
    assert early.with_evidence == 0

    files = await monthly_report("2026-09", source, tmp_path, as_of=as_of)
    summary = load_workbook(files.workbook)["总览"]
    headers = [cell.value for cell in summary[2]]
    row = dict(zip(headers, next(summary.iter_rows(min_row=3, values_only=True)), strict=True))
    assert (row["投诉量"], row["有附件证据"]) == (2, 1)
    english = await monthly_report("2026-09", source, tmp_path / "en", language="en", as_of=as_of)
    headers_en = [cell.value for cell in load_workbook(english.workbook)["Summary"][2]]
    assert "With evidence" in headers_en
