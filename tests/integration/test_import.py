"""`tousu import` (tousu/importer/): an old system's 10,000 complaints, bad
rows mixed in, from an XLSX and then, the same rows, from a CSV. Each bad row
is reported by number, old id and field, and nothing of it is stored; a
second run, from either file, adds nothing;
the KPIs of the imported months, from the metrics service's projection and
query, equal those worked out from the file by a separate small function
(``file_kpis``) that reads the file on its own, with chinese-calendar for
working days."""

from __future__ import annotations

import asyncio
import csv
import random
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import openpyxl
import pytest

from tests.helpers import eventually, tousu
from tousu.cli.import_cmds import REFUSED_ROWS, import_file
from tousu.importer.mapping import Mapping
from tousu.importer.records import complaint_id_of
from tousu.services.gateway.auth.repository import create_user
from tousu.services.metrics.kpis import PgKpiSource
from tousu.shared.domain.imports import IMPORT_WINDOW
from tousu.shared.events import utcnow
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
SOURCE = "旧投诉系统"
ADMIN = "admin-import"
MONTHS = (datetime(2025, 3, 1, tzinfo=SHANGHAI), datetime(2025, 6, 1, tzinfo=SHANGHAI))
HEADER = [
    "工单编号", "来源", "受理时间", "标题", "内容", "姓名", "电话", "地址", "类别",
    "承办单位", "状态", "受理日期", "转办日期", "反馈日期", "办理结果", "回访日期", "满意度",
]  # fmt: skip
MAPPING = f"""
source: {SOURCE}
columns:
  external_id: 工单编号
  channel: 来源
  received_at: 受理时间
  subject: 标题
  description: 内容
  complainant_name: 姓名
  complainant_phone: 电话
  complainant_address: 地址
  category: 类别
  department: 承办单位
  status: 状态
  accepted_at: 受理日期
  routed_at: 转办日期
  fed_back_at: 反馈日期
  result: 办理结果
  closed_at: 回访日期
  satisfaction: 满意度
values:
  channel: {{电话: phone, 网站: web, 微信: wechat, 来信: letter, 来访: walk_in}}
  category: {{A01: service_quality, A02: service_result, A03: misconduct, A04: service_environment}}
  department: {{SW: water, JT: transport, CG: urban_management, SC: market_regulation}}
  status: {{待受理: received, 已受理: accepted, 不予受理: rejected, 已转办: routed,
           已反馈: fed_back, 已办结: closed}}
  satisfaction: {{满意: satisfied, 基本满意: basically_satisfied, 不满意: dissatisfied,
                 联系不上: unreachable}}
"""
DEPARTMENTS = {
    "SW": "water",
    "JT": "transport",
    "CG": "urban_management",
    "SC": "market_regulation",
}
FMT = "%Y-%m-%d %H:%M"


# -- the old system's export, made up deterministically ---------------------------
@dataclass(frozen=True)
class Bad:
    row: int
    old_id: str
    field: str


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, dt_time(rng.randint(8, 17), rng.randint(0, 59)), SHANGHAI)


def _later(start: datetime, days: float, rng: random.Random) -> datetime:
    at = start + timedelta(days=days, minutes=rng.randint(1, 600))
    return max(at, start + timedelta(minutes=1))


def generate(n: int, seed: int) -> tuple[list[list[str]], list[Bad]]:
    """``n`` rows of the old system, about 1 in 40 bad in one of five ways."""
    rng = random.Random(seed)
    span = (MONTHS[1] - MONTHS[0]).days
    rows: list[list[str]] = []
    bad: list[Bad] = []
    for i in range(n):
        old_id = f"GD{seed:02d}{i:06d}"
        received = _at(MONTHS[0].date() + timedelta(days=rng.randrange(span)), rng)
        accepted = _later(received, rng.choice((0, 0.5, 1, 1, 2, 3, 5)), rng)
        routed = _later(accepted, 0.1, rng)
        fed_back = _later(accepted, rng.choice((3, 7, 12, 18, 20, 25)), rng)
        closed = _later(fed_back, rng.uniform(1, 4), rng)
        status = rng.choices(
            ("已办结", "已反馈", "已转办", "已受理", "不予受理", "待受理"),
            weights=(60, 15, 10, 5, 5, 5),
        )[0]
        satisfaction = ""
        if status == "已办结":
            satisfaction = rng.choice(("满意", "满意", "基本满意"))
        elif status == "已反馈":
            satisfaction = rng.choice(("", "不满意", "联系不上"))
        dept = rng.choice(list(DEPARTMENTS))
        row = {
            "工单编号": old_id,
            "来源": rng.choice(("电话", "网站", "微信", "来信", "来访")),
            "受理时间": received.strftime(FMT),
            "标题": rng.choice(("停水未通知", "窗口态度差", "路灯不亮", "收费不合理")),
            "内容": f"第{i}号投诉：反映的问题需要处理。",
            "姓名": "张三",
            "电话": f"138{i:08d}",
            "地址": "人民路1号",
            "类别": rng.choice(("A01", "A02", "A03", "A04")),
            "承办单位": dept if status not in ("待受理", "已受理", "不予受理") else "",
            "状态": status,
            "受理日期": accepted.strftime(FMT) if status != "待受理" else "",
            "转办日期": routed.strftime(FMT) if status in ("已转办", "已反馈", "已办结") else "",
            "反馈日期": fed_back.strftime(FMT) if status in ("已反馈", "已办结") else "",
            "办理结果": "已处理完毕并答复" if status != "待受理" else "",
            "回访日期": closed.strftime(FMT) if satisfaction else "",
            "满意度": satisfaction,
        }
        number = len(rows) + 2  # the header is row 1
        if i % 40 == 7:
            kind = (i // 40) % 5
            if kind == 0:
                row["标题"] = ""
                bad.append(Bad(number, old_id, "subject"))
            elif kind == 1 and row["承办单位"]:
                row["承办单位"] = "XX"  # no such department, and not mapped
                bad.append(Bad(number, old_id, "department"))
            elif kind == 2 and row["反馈日期"]:
                row["反馈日期"] = (received - timedelta(days=2)).strftime(FMT)
                bad.append(Bad(number, old_id, "fed_back_at"))
            elif kind == 3 and rows:
                row["工单编号"] = old_id = rows[-1][0]  # the row before's id again
                bad.append(Bad(number, old_id, "external_id"))
            elif kind == 4:
                row["受理时间"] = "三月五日"
                bad.append(Bad(number, old_id, "received_at"))
        rows.append([row[h] for h in HEADER])
    return rows, bad


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("工单")
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def read_back(path: Path) -> Iterator[dict[str, str]]:
    """The file's rows, read with nothing of tousu."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from csv.DictReader(handle)
        return
    book = openpyxl.load_workbook(path, read_only=True)
    cells = book.worksheets[0].iter_rows(values_only=True)
    header = [str(v) for v in next(cells)]
    for values in cells:
        yield {h: "" if v is None else str(v) for h, v in zip(header, values, strict=False)}
    book.close()


# -- the KPIs worked out from the file, apart from tousu -------------------------
def _due(start: datetime, days: int) -> datetime:
    """The end of the ``days``-th working day after ``start``'s day."""
    day = start.astimezone(SHANGHAI).date()
    while days:
        day += timedelta(days=1)
        days -= chinese_calendar.is_workday(day)
    return datetime.combine(day, dt_time.max, SHANGHAI)


Pair = tuple[int, int]


def file_kpis(path: Path, refused_rows: set[int]) -> dict[str | None, dict[str, object]]:
    """Per department (None: not routed): received, and the four rates as
    (numerator, denominator), for the rows not refused. All the old cases'
    deadlines have passed: every decided or undecided case counts."""
    groups: dict[str | None, dict[str, list[int]]] = defaultdict(
        lambda: (
            {k: [0, 0] for k in ("acceptance", "feedback", "closure", "satisfaction")}
            | {"received": [0]}
        )
    )

    def when(text: str) -> datetime | None:
        return datetime.strptime(text, FMT).replace(tzinfo=SHANGHAI) if text else None

    for number, row in enumerate(read_back(path), start=2):
        if number in refused_rows:
            continue
        status, dept = row["状态"], DEPARTMENTS.get(row["承办单位"])
        g = groups[dept]
        g["received"][0] += 1
        received, accepted = when(row["受理时间"]), when(row["受理日期"])
        assert received is not None
        g["acceptance"][1] += 1
        if accepted is not None and accepted <= _due(received, 2):
            g["acceptance"][0] += 1
        if accepted is None or status == "不予受理":
            continue
        fed_back = when(row["反馈日期"])
        g["feedback"][1] += 1
        g["closure"][1] += 1
        if fed_back is not None and fed_back <= _due(accepted, 15):
            g["feedback"][0] += 1
        if fed_back is not None and row["满意度"] != "不满意":
            g["closure"][0] += 1
        if row["满意度"] in ("满意", "基本满意", "不满意"):
            g["satisfaction"][1] += 1
            g["satisfaction"][0] += row["满意度"] != "不满意"
    return {
        k: {name: tuple(v) if len(v) == 2 else v[0] for name, v in g.items()}
        | {"imported": g["received"][0]}
        for k, g in groups.items()
    }


async def project(store: PostgresEventStore) -> None:
    """The kpi_facts projection built from the store as ``tousu projections
    rebuild`` builds it: 10,000 histories at once, not as a live tail."""
    from tousu.services.metrics.projections import PROJECTIONS
    from tousu.services.metrics.projections.live import ProjectionRunner
    from tousu.services.metrics.projections.rebuild import rebuild_all
    from tousu.shared.calendar import WorkdayCalendar

    calendar = WorkdayCalendar()
    chosen = [p for p in PROJECTIONS if p.name == "kpi_facts"]
    runner = ProjectionRunner(store, chosen, lambda: calendar)
    await runner.prepare()
    async with store.pool.acquire() as conn:
        await rebuild_all(conn, store, chosen, lambda: calendar, workers=1)

    async def caught_up() -> bool:
        # The rebuild reads below every transaction still open on the server
        # (other tests' too): the live tail takes what it could not see yet.
        await runner.step(chosen[0])
        head = await store.pool.fetchval(
            "SELECT global_position FROM events ORDER BY tx_id DESC, global_position DESC LIMIT 1"
        )
        position = await store.pool.fetchval(
            "SELECT position FROM projection_state WHERE name = 'kpi_facts'"
        )
        return bool(position == head)

    await eventually(caught_up, "kpi_facts to take every imported event", timeout=60)


async def tousu_kpis(store: PostgresEventStore) -> dict[str | None, dict[str, object]]:
    await project(store)
    rows = await PgKpiSource(store.pool).kpis(
        start=MONTHS[0], end=MONTHS[1], as_of=utcnow(), group_by="department"
    )
    return {
        r.group: {
            "received": r.received,
            "acceptance": (r.acceptance_timeliness.numerator, r.acceptance_timeliness.denominator),
            "feedback": (r.feedback_timeliness.numerator, r.feedback_timeliness.denominator),
            "closure": (r.closure_rate.numerator, r.closure_rate.denominator),
            "satisfaction": (r.satisfaction_rate.numerator, r.satisfaction_rate.denominator),
            # Every complaint of these months came by the import, and says so.
            "imported": r.imported,
        }
        for r in rows
    }


# -- the tests ---------------------------------------------------------------------
@pytest.fixture
def mapping(tmp_path: Path) -> Mapping:
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING, encoding="utf-8")
    return Mapping.load(path)


@pytest.fixture
async def admin(store: PostgresEventStore, settings: Settings) -> str:
    """An administrator account; ``settings``: the test's data folder (the
    privacy key that seals the complainants' details)."""
    await create_user(store.pool, ADMIN, role="admin", password_hash="!")
    return ADMIN


async def stored_complaints(store: PostgresEventStore) -> int:
    count: int = await store.pool.fetchval(
        "SELECT count(*) FROM events WHERE type = 'ComplaintReceived'"
    )
    return count


async def test_ten_thousand_rows_from_an_xlsx_then_the_csv_of_them_then_the_kpis(
    tmp_path: Path,
    mapping: Mapping,
    store: PostgresEventStore,
    database_url: str,
    admin: str,
) -> None:
    """The same 10,000 rows, bad ones mixed in, as an XLSX and as a CSV: the
    XLSX imported; then the CSV of the same rows and the XLSX again add
    nothing (idempotent on the old id, whatever the file's format); then the
    KPIs of the imported months. One import of 10,000 rows, not two: the
    suite's time."""
    n = 10_000
    rows, bad = generate(n, seed=1)
    xlsx = write_xlsx(tmp_path / "old.xlsx", rows)
    csv_file = write_csv(tmp_path / "old.csv", rows)
    refused = {(b.row, b.old_id, b.field) for b in bad}

    summary = await import_file(xlsx, mapping, url=database_url, username=admin)
    print(f"\nxlsx: {n} rows in {summary.seconds:.1f} s = {summary.rows_per_second:.0f} rows/s")
    # Each bad row reported, by number, old id and field; no other refused.
    assert {(r.row, r.old_id, r.field) for r in summary.refused} == refused
    assert (summary.read, summary.imported) == (n, n - len(bad))
    # ... and nothing of them stored (a duplicate's id is its first row's).
    assert await stored_complaints(store) == summary.imported
    for b in bad:
        if b.field != "external_id":
            assert not await store.read_stream(f"complaint-{complaint_id_of(SOURCE, b.old_id)}")

    # The same rows again, from the CSV and from the XLSX: nothing new, the
    # bad rows refused again, each as before.
    for again_from in (csv_file, xlsx):
        again = await import_file(again_from, mapping, url=database_url, username=admin)
        print(
            f"{again_from.suffix[1:]} again: {again.seconds:.1f} s,"
            f" {again.rows_per_second:.0f} rows/s"
        )
        assert (again.read, again.imported, again.already) == (n, 0, summary.imported)
        assert {(r.row, r.old_id, r.field) for r in again.refused} == refused
    assert await stored_complaints(store) == summary.imported

    # The separate calculation reads the file as it is: both say the same.
    refused_rows = {b.row for b in bad}
    expected = file_kpis(xlsx, refused_rows)
    assert file_kpis(csv_file, refused_rows) == expected
    assert await tousu_kpis(store) == expected


async def test_an_imported_case_is_marked_in_its_history_with_its_real_dates(
    tmp_path: Path, mapping: Mapping, store: PostgresEventStore, database_url: str, admin: str
) -> None:
    rows, _ = generate(40, seed=3)
    closed = next(r for r in rows if r[HEADER.index("状态")] == "已办结")
    path = write_csv(tmp_path / "one.csv", [closed])
    summary = await import_file(path, mapping, url=database_url, username=admin)
    assert summary.imported == 1
    history = await store.read_stream(f"complaint-{complaint_id_of(SOURCE, closed[0])}")
    steps = [e for e in history if e.type != "LateEntryRecorded"]
    marks = [e for e in history if e.type == "LateEntryRecorded"]
    assert [e.type for e in steps] == [
        "ComplaintReceived",
        "ComplaintAccepted",
        "ComplaintRouted",
        "ComplaintResolved",
        "ResultFeedbackSent",
        "FollowUpScheduled",
        "ComplaintFollowedUp",
        "ComplaintClosed",
    ]
    received = datetime.strptime(closed[HEADER.index("受理时间")], FMT).replace(tzinfo=SHANGHAI)
    assert steps[0].occurred_at == received
    assert all(e.actor.id == admin and e.actor.role == "admin" for e in history)
    assert {(m.data["window"], m.data["reason"], m.data["approved_by"]) for m in marks} == {
        (IMPORT_WINDOW, f"导入：{SOURCE} {closed[0]}", admin)
    }
    assert sum(len(m.data["events"]) for m in marks) == len(steps)


async def test_only_an_administrator_imports(
    tmp_path: Path,
    mapping: Mapping,
    store: PostgresEventStore,
    database_url: str,
    settings: Settings,
) -> None:
    await create_user(store.pool, "op-li", role="operator", password_hash="!")
    path = write_csv(tmp_path / "few.csv", generate(5, seed=4)[0])
    with pytest.raises(PermissionError):
        await import_file(path, mapping, url=database_url, username="op-li")
    assert await stored_complaints(store) == 0


async def test_the_command_line_dry_run_report_and_second_run(
    tmp_path: Path, child_env: dict[str, str], store: PostgresEventStore
) -> None:
    await create_user(store.pool, ADMIN, role="admin", password_hash="!")
    rows, bad = generate(200, seed=5)
    path = write_csv(tmp_path / "old.csv", rows)
    (tmp_path / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    report = tmp_path / "refused.csv"
    args = ("import", str(path), "--mapping", str(tmp_path / "mapping.yaml"), "--as", ADMIN)

    code, out, err = await tousu(child_env, *args, "--dry-run", "--report", str(report))
    assert code == REFUSED_ROWS, err  # some rows refused, the rest imported
    assert "试运行" in out and await stored_complaints(store) == 0
    with report.open(encoding="utf-8-sig") as handle:
        listed = [(int(r["row"]), r["external_id"], r["field"]) for r in csv.DictReader(handle)]
    assert listed == [(b.row, b.old_id, b.field) for b in bad]
    assert f"row {bad[0].row} ({bad[0].old_id}): {bad[0].field}" in err

    code, out, err = await tousu(child_env, *args)
    assert code == REFUSED_ROWS, err  # some rows refused, the rest imported
    assert re.search(rf"已导入 imported\s*│\s*{200 - len(bad)}\b", out), out
    assert await stored_complaints(store) == 200 - len(bad)

    code, out, err = await tousu(child_env, *args)
    assert code == REFUSED_ROWS, err  # some rows refused, the rest imported
    assert re.search(rf"已存在 already there\s*│\s*{200 - len(bad)}\b", out), out
    assert f"nothing new: {200 - len(bad)} rows were imported before" in out
    assert await stored_complaints(store) == 200 - len(bad)

    # A file none of whose rows is refused exits 0 (here: all there already).
    refused_rows = {b.row for b in bad}
    good = [r for number, r in enumerate(rows, start=2) if number not in refused_rows]
    clean = write_csv(tmp_path / "clean.csv", good)
    code, out, err = await tousu(child_env, "import", str(clean), *args[2:])
    assert code == 0, err
    assert f"nothing new: {len(good)} rows were imported before" in out

    # `tousu complaint show` reads each imported step as imported.
    first = str(complaint_id_of(SOURCE, rows[0][0]))
    code, out, err = await tousu(child_env, "complaint", "show", first)
    assert code == 0, err
    assert "（导入）" in out and "（补录）" not in out and f"导入：{SOURCE} {rows[0][0]}" in out


def test_generated_ids_are_stable() -> None:
    """The complaint of an old id is the same in every run (idempotency rests on it)."""
    assert complaint_id_of(SOURCE, "GD1") == complaint_id_of(SOURCE, "GD1")
    assert complaint_id_of(SOURCE, "GD1") != complaint_id_of("其他系统", "GD1")
    assert isinstance(complaint_id_of(SOURCE, "GD1"), uuid.UUID)


def test_the_progress_bar_counts_an_xlsx_without_stated_dimensions(tmp_path: Path) -> None:
    """A sheet written by a streaming writer (as ``write_xlsx``, openpyxl's
    write-only mode) states no dimensions: its rows are counted instead."""
    from tousu.importer.rows import count_rows

    rows = generate(30, seed=9)[0]
    assert count_rows(write_xlsx(tmp_path / "old.xlsx", rows)) == 30
    assert count_rows(write_csv(tmp_path / "old.csv", rows)) == 30
    book = openpyxl.Workbook()  # a normal workbook states them: read, not counted
    for row in [HEADER, *rows]:
        book.active.append(row)
    book.save(tmp_path / "stated.xlsx")
    assert count_rows(tmp_path / "stated.xlsx") == 30


async def test_imported_history_sends_no_notices(
    tmp_path: Path, mapping: Mapping, store: PostgresEventStore, database_url: str, admin: str
) -> None:
    """The old system told its complainants at the time: the notifier, given
    every imported event, puts nothing in the outbox (no acceptance notice,
    result or survey years on)."""
    from tousu.services.followup.notifier import notifier
    from tousu.shared.domain.context import plain_notice

    rows, _ = generate(40, seed=6)
    path = write_csv(tmp_path / "few.csv", rows)
    summary = await import_file(path, mapping, url=database_url, username=admin)
    assert summary.imported > 20
    consumer = notifier(plain_notice)
    handled = 0
    for row in rows:
        for envelope in await store.read_stream(f"complaint-{complaint_id_of(SOURCE, row[0])}"):
            async with store.unit_of_work() as uow:
                await consumer.handle(envelope, uow)
            handled += envelope.type in ("ComplaintAccepted", "ResultFeedbackSent")
    assert handled > 20
    assert await store.pool.fetchval("SELECT count(*) FROM notifications") == 0


async def test_the_staff_case_page_shows_each_imported_step_as_imported(
    tmp_path: Path,
    mapping: Mapping,
    store: PostgresEventStore,
    database_url: str,
    admin: str,
    settings: Settings,
) -> None:
    """The case page's timeline: each step of an imported case tagged 导入
    (not 补录), with the reason naming the old system and its id."""
    from tests.web_kit import add_user, gateway_client, sign_in
    from tousu.services.gateway.auth.repository import issue_token

    rows, _ = generate(40, seed=3)
    closed = next(r for r in rows if r[HEADER.index("状态")] == "已办结")
    path = write_csv(tmp_path / "one.csv", [closed])
    assert (await import_file(path, mapping, url=database_url, username=admin)).imported == 1
    supervisor = await add_user(store.pool, "sup-wang", "supervisor")
    token = await issue_token(store.pool, supervisor.id, name="t", lifetime=timedelta(hours=1))
    cid = complaint_id_of(SOURCE, closed[0])
    async with gateway_client(settings) as client:
        api = await client.get(
            f"/api/v1/complaints/{cid}", headers={"Authorization": f"Bearer {token.token}"}
        )
        notices = await client.get(
            f"/api/v1/complaints/{cid}/notices",
            headers={"Authorization": f"Bearer {token.token}"},
        )
        assert (await sign_in(client, "sup-wang")).status_code == 303
        page = await client.get(f"/staff/cases/{cid}")
    # The earlier system told its complainant; tousu sent nothing, so it
    # offers no 告知书 of its own for those steps.
    assert notices.status_code == 200 and notices.json() == [], notices.text
    # The staff API: each step's mark says the window, import.
    marked = [e["late_entry"] for e in api.json()["timeline"] if e["late_entry"]]
    assert len(marked) == 8 and {m["window"] for m in marked} == {IMPORT_WINDOW}
    assert page.status_code == 200, page.text
    assert page.text.count("data-imported") == 8  # every step, received to closed
    # Each says from which system, and who imported it (no one "approved" it).
    assert page.text.count(f"来自 {SOURCE} {closed[0]}") == 8
    assert page.text.count(" 导入</p>") == 8 and "批准" not in page.text
    assert ">导入</span>" in page.text and ">补录</span>" not in page.text
    # The old system kept no claim: its result does not "meet the claim
    # deadline late", while acceptance and feedback are judged as any.
    from tousu.shared.domain.labels import deadline_label

    met = re.findall(r'<p class="step-deadline[^"]*">([^<]*)', page.text)
    assert met and not any(deadline_label("claim", "zh-CN") in line for line in met), met
    assert any(deadline_label("feedback", "zh-CN") in line for line in met), met
    # Nor is its result the register's simple procedure: the earlier system
    # recorded no steps before it, and the page says so.
    assert "原系统只记录了处理结果" in page.text and "简易程序" not in page.text


async def test_the_documented_mapping_and_sample_import(
    tmp_path: Path, store: PostgresEventStore, database_url: str, admin: str
) -> None:
    """docs/import.md's mapping file and sample export, as printed there."""
    doc = (Path(__file__).parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    mapping_text = re.search(r"```yaml\n(# mapping\.yaml\n.*?)```", doc, re.S)
    sample = re.search(r"```csv\n(.*?)```", doc, re.S)
    assert mapping_text and sample
    (tmp_path / "mapping.yaml").write_text(mapping_text.group(1), encoding="utf-8")
    path = tmp_path / "export.csv"
    path.write_text(sample.group(1), encoding="utf-8")
    mapping = Mapping.load(tmp_path / "mapping.yaml")
    summary = await import_file(path, mapping, url=database_url, username=admin)
    assert (summary.read, summary.imported, summary.refused) == (3, 3, [])
    statuses = await store.pool.fetch(
        "SELECT type FROM events WHERE type IN ('ComplaintClosed', 'ComplaintAccepted',"
        " 'ComplaintRejected') ORDER BY type"
    )
    assert [r["type"] for r in statuses] == [
        "ComplaintAccepted",
        "ComplaintAccepted",
        "ComplaintClosed",
        "ComplaintRejected",
    ]


async def test_two_runs_at_once_import_each_row_once(
    tmp_path: Path, mapping: Mapping, store: PostgresEventStore, database_url: str, admin: str
) -> None:
    """Two administrators start the same file at once: each complaint is
    stored once, with one tracking number, whichever run got there first."""
    rows, bad = generate(300, seed=7)
    path = write_csv(tmp_path / "old.csv", rows)
    one, two = await asyncio.gather(
        import_file(path, mapping, url=database_url, username=admin, batch=20),
        import_file(path, mapping, url=database_url, username=admin, batch=20),
    )
    valid = 300 - len(bad)
    assert one.imported + two.imported == valid
    assert (one.imported + one.already, two.imported + two.already) == (valid, valid)
    assert await stored_complaints(store) == valid
    numbers = await store.pool.fetchval(
        "SELECT count(*) FROM tracking_numbers t JOIN events e"
        " ON e.stream_id = 'complaint-' || t.complaint_id AND e.type = 'ComplaintReceived'"
        " AND e.data->>'tracking_no' = t.tracking_no"
    )
    assert numbers == valid
    assert await store.pool.fetchval("SELECT count(*) FROM tracking_numbers") == valid


async def test_a_row_stored_by_another_run_meanwhile_is_not_stored_again(
    tmp_path: Path, mapping: Mapping, store: PostgresEventStore, admin: str
) -> None:
    """The race itself, step by step: two runs both find a batch new and
    decide it; the first writes it; the second's write finds the same events
    stored under another tracking number, and its batch fails whole (nothing
    of it written, no second tracking number) to be looked at again."""
    from dataclasses import replace

    from tousu.importer.records import Recorder
    from tousu.importer.rows import header_and_rows
    from tousu.importer.run import Importer
    from tousu.shared.application.context_source import ContextSource
    from tousu.shared.events import Actor
    from tousu.shared.store import ConcurrencyConflict

    source = ContextSource.for_settings(Settings())

    def importer() -> Importer:
        recorder = Recorder(
            mapping, Actor(id=admin, role="admin"), lambda: replace(source(), importing=True)
        )
        return Importer(store, recorder)

    _, rows = header_and_rows(write_csv(tmp_path / "old.csv", generate(5, seed=8)[0]))
    batch = [(row, row.values["工单编号"]) for row in rows]
    first, second = importer(), importer()
    mine = await first._prepare(len(batch), batch)
    theirs = await second._prepare(len(batch), batch)
    await first._write(mine.decided)
    with pytest.raises(ConcurrencyConflict):
        await second._write(theirs.decided)
    assert await stored_complaints(store) == 5
    assert await store.pool.fetchval("SELECT count(*) FROM tracking_numbers") == 5
    again = await second._again(theirs)
    assert (again.already, again.decided) == (5, [])
