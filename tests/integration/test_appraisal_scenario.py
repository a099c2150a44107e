"""The appraisal of a scripted month (tests/appraisal_scenario.py) against
figures worked out by hand, line by line, by department and by person; and a
second scheme version with one weight changed, whose ranking was also worked
out by hand."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from tests.appraisal_scenario import SCRIPTS, SETTLED, record_quality
from tests.helpers import project_everything, tousu
from tests.infra import Servers, new_database
from tests.kpi_scenario import drive
from tests.lifecycle import staff_tokens
from tousu.services.gateway.app import create_app
from tousu.services.gateway.auth import StaffRole
from tousu.services.gateway.web.staff.appraisal import Appraiser
from tousu.services.metrics.appraisal.views import Appraisal, UnitScore, appraisal
from tousu.services.metrics.views import monthly_report
from tousu.shared.events import utcnow
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


@pytest.fixture(scope="module")
async def month_url(servers: Servers, template_database: str) -> AsyncIterator[str]:
    """A database holding the scripted month, projected."""
    async with new_database(servers, template=template_database) as url:
        store = await PostgresEventStore.connect(url)
        try:
            await drive(store, SCRIPTS)
            await record_quality(store, Settings(database_url=url, nats_url=servers.nats_url))
            await project_everything(store)
        finally:
            await store.close()
        yield url


@pytest.fixture(scope="module")
async def month(month_url: str) -> AsyncIterator[PostgresEventStore]:
    store = await PostgresEventStore.connect(month_url)
    try:
        yield store
    finally:
        await store.close()


def as_of() -> datetime:
    # After every scripted fact, and after the test stored them.
    return max(utcnow(), SETTLED)


def dump(unit: UnitScore) -> tuple[object, ...]:
    """(rank, key, [(n, d, points) per line], earned, base, [(count, points) per
    deduction], score)"""
    lines = [(int(ln.ratio.numerator), int(ln.ratio.denominator), ln.points) for ln in unit.lines]
    deductions = [(d.count, d.points) for d in unit.deductions]
    return (unit.rank, unit.key, lines, unit.earned, unit.base, deductions, unit.score)


N = None
# Lines in the order 受理及时率, 及时率, 办结率, 满意率, 质量检查得分 (weights
# 10, 30, 25, 25, 10 in the packaged version 1); deductions in the order 补录
# (0.5 each), 退单 (1), 督办 (1), overdue improvement items (2). A unit with
# no inspection review (or no 满意率) is rescaled from the weights with values
# (90, or 65) to 100; water and housing were reviewed (A01 70, A08 100).
BY_DEPARTMENT = [
    # transport: 10 + 30 + 25 + 25 = 90, no review → 90 × 100/90 = 100.00
    (1, "transport",
     [(3, 3, D("10.00")), (3, 3, D("30.00")), (3, 3, D("25.00")), (2, 2, D("25.00")), (0, 0, N)],
     D("90.00"), D("100.00"), [(0, 0), (0, 0), (0, 0), (0, 0)], D("100.00")),
    # housing: 10 + 30 × 3/4 = 22.50 + 25 × 3/4 = 18.75 + 25 + 10 × 100/100 = 86.25
    # − 0.50 (A11 补录) − 2.00 (A10 overdue and manual 督办; the warning not) = 83.75
    (2, "housing",
     [(4, 4, D("10.00")), (3, 4, D("22.50")), (3, 4, D("18.75")), (3, 3, D("25.00")),
      (100, 100, D("10.00"))],
     D("86.25"), D("86.25"), [(1, D("0.50")), (0, 0), (2, D("2.00")), (0, 0)], D("83.75")),
    # health: 10 + 15 + 25 = 50, no 满意率, no review → 50 × 100/65 = 76.9231 → 76.92
    (3, "health",
     [(2, 2, D("10.00")), (1, 2, D("15.00")), (2, 2, D("25.00")), (0, 0, N), (0, 0, N)],
     D("50.00"), D("76.92"), [(0, 0), (0, 0), (0, 0), (0, 0)], D("76.92")),
    # water: 7.50 + 15.00 + 12.50 + 25 × 2/3 = 16.6667 → 16.67 + 10 × 70/100 = 7.00
    # = 58.67; − 0.50 (A02 补录) − 1 (A05 退单) − 2 (A04 overdue, A01 inspection
    # 督办) − 2 (A14's improvement, due 10-12, never closed) = 53.17
    (4, "water",
     [(3, 4, D("7.50")), (2, 4, D("15.00")), (2, 4, D("12.50")), (2, 3, D("16.67")),
      (70, 100, D("7.00"))],
     D("58.67"), D("58.67"), [(1, D("0.50")), (1, D("1.00")), (2, D("2.00")), (1, D("2.00"))],
     D("53.17")),
]  # fmt: skip

BY_PERSON = [
    # h-sun 100.00 (rescaled from 90) and h-zhou 100.00 (every weight has a
    # value), nothing deducted from either, 及时率 1 both: by key.
    (1, "h-sun",
     [(3, 3, D("10.00")), (3, 3, D("30.00")), (3, 3, D("25.00")), (2, 2, D("25.00")), (0, 0, N)],
     D("90.00"), D("100.00"), [(0, 0), (0, 0), (0, 0), (0, 0)], D("100.00")),
    (2, "h-zhou",
     [(2, 2, D("10.00")), (2, 2, D("30.00")), (2, 2, D("25.00")), (2, 2, D("25.00")),
      (100, 100, D("10.00"))],
     D("100.00"), D("100.00"), [(0, 0), (0, 0), (0, 0), (0, 0)], D("100.00")),
    # h-zhao (A01, A02): 10 + 15 + 25 + 25 + 7 = 82.00; − 0.50 − 1 (A05) − 1 (A01) = 79.50
    (3, "h-zhao",
     [(2, 2, D("10.00")), (1, 2, D("15.00")), (2, 2, D("25.00")), (2, 2, D("25.00")),
      (70, 100, D("7.00"))],
     D("82.00"), D("82.00"), [(1, D("0.50")), (1, D("1.00")), (1, D("1.00")), (0, 0)],
     D("79.50")),
    (4, "h-zheng",
     [(2, 2, D("10.00")), (1, 2, D("15.00")), (2, 2, D("25.00")), (0, 0, N), (0, 0, N)],
     D("50.00"), D("76.92"), [(0, 0), (0, 0), (0, 0), (0, 0)], D("76.92")),
    # h-wu (A10, A11): 10 + 15 + 12.50 + 25 = 62.50 → 69.4444 → 69.44; − 0.50 − 2 = 66.94
    (5, "h-wu",
     [(2, 2, D("10.00")), (1, 2, D("15.00")), (1, 2, D("12.50")), (1, 1, D("25.00")), (0, 0, N)],
     D("62.50"), D("69.44"), [(1, D("0.50")), (0, 0), (2, D("2.00")), (0, 0)], D("66.94")),
    # h-lin (A03, A04): 5 + 15 + 0 + 0 = 20 → 22.2222 → 22.22; − 1 (A04) − 2 (A14) = 19.22
    (6, "h-lin",
     [(1, 2, D("5.00")), (1, 2, D("15.00")), (0, 2, D("0.00")), (0, 1, D("0.00")), (0, 0, N)],
     D("20.00"), D("22.22"), [(0, 0), (0, 0), (1, D("1.00")), (1, D("2.00"))], D("19.22")),
]  # fmt: skip


async def test_departments_line_by_line(month: PostgresEventStore) -> None:
    result = await appraisal(month.pool, "2026-10", as_of(), by="department")
    assert result.version.version == 1
    assert [dump(u) for u in result.units] == BY_DEPARTMENT
    # 表彰: the top 3 scoring 90 or more; 批评和问责: under 60, and the bottom one.
    assert result.result.commend == ("transport",)
    assert result.result.account == ("water",)


async def test_people_line_by_line(month: PostgresEventStore) -> None:
    result = await appraisal(month.pool, "2026-10", as_of(), by="person")
    assert [dump(u) for u in result.units] == BY_PERSON
    assert {u.key: u.department for u in result.units} == {
        "h-sun": "transport",
        "h-zhou": "housing",
        "h-zhao": "water",
        "h-zheng": "health",
        "h-wu": "housing",
        "h-lin": "water",
    }
    assert result.result.commend == ("h-sun", "h-zhou")
    assert result.result.account == ("h-lin",)


SCHEME_FILE = (
    Path(__file__).parents[2] / "services/metrics/appraisal/data/appraisal.yaml"
).read_text(encoding="utf-8")


def with_version_2(closure_rate: int) -> str:
    """The packaged scheme and a version 2 from October 2026 with 办结率's
    weight changed, all else equal."""
    start = SCHEME_FILE.index("  - version: 1")
    v1 = SCHEME_FILE[start:]
    v2 = (
        v1.replace("version: 1", "version: 2")
        .replace("effective_from: 2026-01-01", "effective_from: 2026-10-01")
        .replace("closure_rate: 25", f"closure_rate: {closure_rate}")
    )
    return SCHEME_FILE + v2


async def test_one_weight_changed_reorders_as_worked_out(
    month: PostgresEventStore, tmp_path: Path
) -> None:
    path = tmp_path / "appraisal.yaml"
    path.write_text(with_version_2(closure_rate=45), encoding="utf-8")
    result: Appraisal = await appraisal(month.pool, "2026-10", as_of(), scheme=path)
    assert result.version.version == 2 and result.source == str(path)
    # Weights 10, 30, 45, 25, 10 = 120; without inspection 110 (85 without 满意率).
    # transport: 10 + 30 + 45 + 25 = 110 → 120.00
    # health: 10 + 15 + 45 = 70 → 70 × 120/85 = 98.8235 → 98.82
    # housing: 10 + 22.50 + 33.75 + 25 + 10 = 101.25 − 2.50 = 98.75: now below health
    # water: 7.50 + 15 + 22.50 + 16.67 + 7 = 68.67 − 5.50 = 63.17
    assert [(u.rank, u.key, u.base, u.score) for u in result.units] == [
        (1, "transport", D("120.00"), D("120.00")),
        (2, "health", D("98.82"), D("98.82")),
        (3, "housing", D("101.25"), D("98.75")),
        (4, "water", D("68.67"), D("63.17")),
    ]
    # All three ahead score 90 or more; water is the bottom one.
    assert result.result.commend == ("transport", "health", "housing")
    assert result.result.account == ("water",)
    # September (A14 alone) is still under version 1.
    september = await appraisal(month.pool, "2026-09", as_of(), scheme=path)
    assert september.version.version == 1
    assert [u.key for u in september.units] == ["water"]


async def test_as_of_an_earlier_instant(month: PostgresEventStore) -> None:
    """As of Fri 2026-10-30 18:00 only what had happened by then counts: no
    督办 yet, A02's and A04's feedback not yet due, no inspection review and
    no improvement item on record yet (both were recorded later)."""
    at = datetime(2026, 10, 30, 18, 0, tzinfo=SETTLED.tzinfo)
    result = await appraisal(month.pool, "2026-10", at, by="department")
    water = result.result.unit("water")
    assert water is not None
    # Water: 受理 A01, A02 on time, A03 late, A04 on time: 3/4; fed back by
    # then: A01 only (on time): 及时率 1/1, 办结率 1/1; A01 satisfied: 1/1.
    assert [(int(ln.ratio.numerator), int(ln.ratio.denominator)) for ln in water.lines] == [
        (3, 4), (1, 1), (1, 1), (1, 1), (0, 0)
    ]  # fmt: skip
    assert [d.count for d in water.deductions] == [1, 1, 0, 0]


async def test_the_command_line(month_url: str, child_env: dict[str, str]) -> None:
    env = child_env | {"TOUSU_DATABASE_URL": month_url}
    when = ("--as-of", as_of().isoformat())
    code, out, err = await tousu(env, "appraisal", "2026-10", *when)
    assert code == 0, err
    rows = [line for line in out.splitlines() if "water" in line or "transport" in line]
    assert "100.00" in rows[0] and "表彰" in rows[0]
    assert "53.17" in rows[1] and "批评和问责" in rows[1]
    assert "考核方案第 1 版" in out
    code, out, err = await tousu(env, "appraisal", "2026-10", *when, "--explain", "water")
    assert code == 0, err
    assert out.splitlines()[:12] == [
        "water — 排名 4/4, 得分 53.17",
        "  受理及时率: 3/4 = 75.00% × 10 = 7.50",
        "  及时率: 2/4 = 50.00% × 30 = 15.00",
        "  办结率: 2/4 = 50.00% × 25 = 12.50",
        "  满意率: 2/3 = 66.67% × 25 = 16.67",
        "  质量检查得分: 均分 70（1 件） = 70.00% × 10 = 7.00",
        "  小计 58.67",
        "  − 补录: 1 × 0.50 = 0.50",
        "  − 退单: 1 × 1.00 = 1.00",
        "  − 督办: 2 × 1.00 = 2.00",
        "  − 整改超期: 1 × 2.00 = 2.00",
        "  总分 58.67 − 5.50 = 53.17",
    ]
    code, out, err = await tousu(
        env, "appraisal", "2026-10", *when, "--by", "person", "--format", "json"
    )
    assert code == 0, err
    body = json.loads(out)
    assert [(u["unit"], u["score"]) for u in body["units"]][:2] == [
        ("h-sun", 100.0),
        ("h-zhou", 100.0),
    ]
    assert body["commend"] == ["h-sun", "h-zhou"] and body["account"] == ["h-lin"]
    code, _, err = await tousu(env, "appraisal", "2026-13")
    assert code == 2 and "2026-13" in err


async def test_the_dashboard_panel_is_last_months(
    month: PostgresEventStore, settings: Settings
) -> None:
    """In November the supervisor's dashboard shows October: the best three
    departments and the one after them, each with its score."""
    in_november = datetime(2026, 11, 20, 12, 0, tzinfo=SETTLED.tzinfo)
    panel = (await Appraiser(settings).panel(month.pool, in_november, "zh"))["appraisal_panel"]
    assert panel["period"] == "2026-10" and panel["href"] == "/staff/appraisal?period=2026-10"
    assert [(u.key, u.rank, u.score) for u in panel["top"]] == [
        ("transport", 1, "100.00"),
        ("housing", 2, "82.22"),
        ("health", 3, "76.92"),
    ]
    assert [(u.key, u.score, u.accountable) for u in panel["bottom"]] == [("water", "54.91", True)]


async def test_the_monthly_workbook_has_the_appraisal(
    month: PostgresEventStore, tmp_path: Path
) -> None:
    files = await monthly_report("2026-10", month.pool, tmp_path, language="zh-CN")
    book = load_workbook(files.workbook)
    ws = book["考核"]
    rows = list(ws.iter_rows(values_only=True))
    ranking = [r[:8] for r in rows if r[1] in ("transport", "housing", "health", "water")][:4]
    assert ranking == [
        (1, "transport", None, 100.0, 100.0, 0.0, 3, "表彰"),
        (2, "housing", None, 83.75, 86.25, 2.5, 4, None),
        (3, "health", None, 76.92, 76.92, 0.0, 2, None),
        (4, "water", None, 53.17, 58.67, 5.5, 4, "批评和问责"),
    ]
    people = [r[:4] for r in rows if isinstance(r[1], str) and r[1].startswith("h-")][:6]
    assert [(p[1], p[2], p[3]) for p in people] == [
        ("h-sun", "transport", 100.0),
        ("h-zhou", "housing", 100.0),
        ("h-zhao", "water", 79.5),
        ("h-zheng", "health", 76.92),
        ("h-wu", "housing", 66.94),
        ("h-lin", "water", 19.22),
    ]
    # Water's calculation, line by line.
    start = rows.index(next(r for r in rows if r[:2] == ("部门 4", "water")))
    assert [r[:5] for r in rows[start + 2 : start + 13]] == [
        ("受理及时率", "3/4", 0.75, 10, 7.5),
        ("及时率", "2/4", 0.5, 30, 15.0),
        ("办结率", "2/4", 0.5, 25, 12.5),
        ("满意率", "2/3", pytest.approx(2 / 3), 25, 16.67),
        ("质量检查得分", "均分 70（1 件）", 0.7, 10, 7.0),
        ("指标得分小计", None, None, None, 58.67),
        ("− 补录", "1 × 0.50", None, None, -0.5),
        ("− 退单", "1 × 1.00", None, None, -1.0),
        ("− 督办", "2 × 1.00", None, None, -2.0),
        ("− 整改超期", "1 × 2.00", None, None, -2.0),
        ("总分", None, None, None, 53.17),
    ]
    # Health has no 满意率 and no review: rescaled.
    start = rows.index(next(r for r in rows if r[:2] == ("部门 3", "health")))
    assert rows[start + 8][:5] == ("按满分折算（× 100 ÷ 65）", None, None, None, 76.92)


async def test_the_api(month_url: str, settings: Settings) -> None:
    people: list[tuple[str, StaffRole, str | None]] = [
        ("sup-wang", "supervisor", None),
        ("dh-zhao", "dept_head", "water"),
        ("h-qian", "handler", "water"),
    ]
    staff = await staff_tokens(month_url, people)
    app = create_app(settings.model_copy(update={"database_url": month_url}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            query = {"period": "2026-10", "as_of": as_of().isoformat()}
            answer = await client.get("/api/v1/appraisal", params=query, headers=staff["sup-wang"])
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["scheme"]["version"] == 1 and body["by"] == "department"
            assert [(u["unit"], u["rank"], u["score"]) for u in body["units"]] == [
                ("transport", 1, 100.0),
                ("housing", 2, 83.75),
                ("health", 3, 76.92),
                ("water", 4, 53.17),
            ]
            water = body["units"][3]
            lines = [(ln["numerator"], ln["denominator"], ln["points"]) for ln in water["lines"]]
            assert lines == [(3, 4, 7.5), (2, 4, 15.0), (2, 4, 12.5), (2, 3, 16.67), (70, 100, 7.0)]
            assert (water["earned"], water["base"], water["deducted"]) == (58.67, 58.67, 5.5)
            assert water["lines"][4]["reviews"] == 1
            assert body["commend"] == ["transport"] and body["account"] == ["water"]

            # The head of water: water's people, ranked among everyone.
            mine = await client.get(
                "/api/v1/appraisal", params=query | {"by": "person"}, headers=staff["dh-zhao"]
            )
            assert mine.status_code == 200, mine.text
            assert mine.json()["department"] == "water"
            assert [(u["unit"], u["rank"]) for u in mine.json()["units"]] == [
                ("h-zhao", 3),
                ("h-lin", 6),
            ]
            assert mine.json()["account"] == ["h-lin"]

            handler = await client.get("/api/v1/appraisal", params=query, headers=staff["h-qian"])
            assert handler.status_code == 403
            bad = await client.get(
                "/api/v1/appraisal", params={"period": "2026-Q5"}, headers=staff["sup-wang"]
            )
            assert bad.status_code == 422
            assert bad.json()["errors"][0]["field"] == "query.period"
            early = await client.get(
                "/api/v1/appraisal", params={"period": "2025-12"}, headers=staff["sup-wang"]
            )
            assert early.status_code == 422 and early.json()["errors"][0]["type"] == "no_scheme"


async def test_the_api_reads_the_operators_scheme_file(
    month_url: str, settings: Settings, tmp_path: Path
) -> None:
    """settings.quality.appraisal_scheme replaces the packaged scheme: with
    version 2 of the weight change in it, health overtakes housing."""
    path = tmp_path / "appraisal.yaml"
    path.write_text(with_version_2(closure_rate=45), encoding="utf-8")
    staff = await staff_tokens(month_url, [("sup-li", "supervisor", None)])
    quality = settings.quality.model_copy(update={"appraisal_scheme": path})
    app = create_app(settings.model_copy(update={"database_url": month_url, "quality": quality}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            query = {"period": "2026-10", "as_of": as_of().isoformat()}
            answer = await client.get("/api/v1/appraisal", params=query, headers=staff["sup-li"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["scheme"]["version"], body["scheme"]["source"]) == (2, str(path))
    assert [(u["unit"], u["score"]) for u in body["units"]] == [
        ("transport", 120.0),
        ("health", 98.82),
        ("housing", 98.75),
        ("water", 63.17),
    ]
