"""The appraisal's computation (services/metrics/appraisal/compute.py) against
figures worked out by hand: lines, rescaling over the figures with values,
deductions and their caps, ties, the lists; the scheme file's versions."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import cast

import pytest
from rich.cells import cell_len
from rich.console import Console

from tousu.services.metrics.appraisal.compute import Ratio, UnitInputs, appraise, score_unit
from tousu.services.metrics.appraisal.explain import explain
from tousu.services.metrics.appraisal.period import PeriodError, parse_period
from tousu.services.metrics.appraisal.scheme import Figure, NoVersion, Scheme
from tousu.services.metrics.appraisal.views import Appraisal
from tousu.shared.calendar import TZ
from tousu.shared.datafiles import DataFileError

SCHEME = """
versions:
  - version: 1
    effective_from: 2026-01-01
    weights: {acceptance_timeliness: 10, feedback_timeliness: 30, closure_rate: 25,
              satisfaction_rate: 25, inspection_score: 10}
    deductions:
      late_entry: {points: 0.5, cap: 2}
      return: {points: 1}
      supervision: {points: 1.5, cap: 3}
      overdue_improvement: {points: 2}
    supervision_kinds: [overdue, manual, inspection]
    missing: rescale
    lists:
      commend: {top: 2, min_score: 80}
      account: {below: 60, bottom: 1}
      min_received: 2
  - version: 2
    effective_from: 2026-07-01
    weights: {acceptance_timeliness: 10, feedback_timeliness: 30, closure_rate: 25,
              satisfaction_rate: 25, inspection_score: 10}
    deductions:
      late_entry: {points: 0.5, cap: 2}
      return: {points: 1}
      supervision: {points: 1.5, cap: 3}
      overdue_improvement: {points: 2}
    supervision_kinds: [overdue]
    missing: zero
    lists:
      commend: {top: 2, min_score: 80}
      account: {below: 60, bottom: 0}
"""
V1 = Scheme.from_yaml(SCHEME).versions[0]
V2 = Scheme.from_yaml(SCHEME).versions[1]


def r(n: int | str, d: int) -> Ratio:
    return Ratio(D(n), D(d))


def unit(key: str, received: int = 5, reviews: int = 0, **figures: Ratio) -> UnitInputs:
    ratios = cast(dict[Figure, Ratio], figures)
    return UnitInputs(key, key, received=received, figures=ratios, reviews=reviews)


def test_every_figure_with_a_value() -> None:
    u = UnitInputs(
        "water",
        "water",
        received=10,
        figures={
            "acceptance_timeliness": r(9, 10),  # 10 × 0.9 = 9.00
            "feedback_timeliness": r(2, 3),  # 30 × 2/3 = 20.00
            "closure_rate": r(5, 6),  # 25 × 5/6 = 20.8333 → 20.83
            "satisfaction_rate": r(7, 8),  # 25 × 7/8 = 21.875 → 21.88 (half up)
            "inspection_score": r("171", 200),  # 10 × 0.855 = 8.55
        },
        reviews=2,
        counts={"late_entry": 5, "return": 2, "supervision": 1, "overdue_improvement": 1},
    )
    s = score_unit(u, V1)
    assert [ln.points for ln in s.lines] == [
        D("9.00"),
        D("20.00"),
        D("20.83"),
        D("21.88"),
        D("8.55"),
    ]
    assert s.earned == D("80.26") and s.base == D("80.26") and not s.rescaled
    # late entries 5 × 0.5 = 2.5 capped at 2; returns 2; 督办 1.5; improvement 2
    assert [d.points for d in s.deductions] == [D("2"), D("2"), D("1.5"), D("2")]
    assert s.deductions[0].capped and not s.deductions[1].capped
    assert s.deducted == D("7.5")
    assert s.score == D("72.76")


def test_a_missing_rate_rescales_over_the_weights_with_values() -> None:
    # No follow-up and no inspection yet: 满意率 and the inspection have no value.
    u = unit(
        "transport",
        acceptance_timeliness=r(1, 1),  # 10.00
        feedback_timeliness=r(1, 2),  # 15.00
        closure_rate=r(1, 2),  # 12.50
        satisfaction_rate=r(0, 0),
    )
    s = score_unit(u, V1)
    assert [ln.points for ln in s.lines] == [D("10.00"), D("15.00"), D("12.50"), None, None]
    assert s.earned == D("37.50") and s.weight_with_values == D(65)
    # 37.50 × 100 / 65 = 57.6923 → 57.69
    assert s.base == D("57.69") and s.rescaled and s.score == D("57.69")
    # Under "zero" the missing figures earn nothing: 37.50.
    assert score_unit(u, V2).score == D("37.50")


def test_nothing_with_a_value_is_not_scored_and_not_ranked() -> None:
    u = UnitInputs("idle", "idle", received=1, counts={"return": 3})
    result = appraise([u, unit("a", feedback_timeliness=r(1, 1))], V1)
    assert [(x.key, x.rank, x.score) for x in result.units] == [
        ("a", 1, D("100.00")),
        ("idle", None, None),
    ]
    assert "idle" not in result.account


def test_the_score_is_not_below_zero() -> None:
    u = UnitInputs(
        "bad", "bad", 3, {"feedback_timeliness": r(0, 3)}, counts={"overdue_improvement": 4}
    )
    s = score_unit(u, V1)
    assert s.base == D("0.00") and s.deducted == D("8") and s.score == D(0)


def test_ties_fewer_deductions_then_feedback_timeliness_then_key() -> None:
    # b and c both 100 × 4/5 … all four score 80.00.
    a = UnitInputs("a", "a", 5, {"closure_rate": r(4, 5)})  # 80.00, 及时率 none
    b = UnitInputs("b", "b", 5, {"feedback_timeliness": r(4, 5)})  # 80.00, 及时率 0.8
    c = UnitInputs(
        "c", "c", 5, {"feedback_timeliness": r(1, 1), "closure_rate": r(3, 5)}
    )  # (30 + 15) × 100/55 = 81.8181 → 81.82, minus a return: 80.82
    c = UnitInputs("c", "c", 5, dict(c.figures), counts={"return": 1})
    d = UnitInputs("d", "d", 5, {"satisfaction_rate": r(4, 5)})  # 80.00, 及时率 none
    result = appraise([d, c, b, a], V1)
    assert [(u.key, u.rank, u.score) for u in result.units] == [
        ("c", 1, D("80.82")),
        ("b", 2, D("80.00")),  # 及时率 0.8 beats none
        ("a", 3, D("80.00")),  # a before d by key
        ("d", 4, D("80.00")),
    ]


def test_lists_top_with_a_floor_below_and_bottom() -> None:
    units = [
        unit("p", feedback_timeliness=r(19, 20)),  # 95
        unit("q", feedback_timeliness=r(17, 20)),  # 85
        unit("s", feedback_timeliness=r(16, 20)),  # 80: third, only two commended
        unit("t", feedback_timeliness=r(14, 20)),  # 70: bottom but one
        unit("u", feedback_timeliness=r(13, 20)),  # 65: the bottom one
        unit("w", received=1, feedback_timeliness=r(1, 2)),  # 50: too few received
    ]
    result = appraise(units, V1)
    assert [u.key for u in result.units] == ["p", "q", "s", "t", "u", "w"]
    assert result.commend == ("p", "q")
    # below 60: w, but it received fewer than min_received; bottom 1 of the eligible: u
    assert result.account == ("u",)
    # Version 2 scores a figure with no value as 0: 30 × 0.95 = 28.50 at best,
    # so no one is commended and everyone is under 60 (no minimum received).
    v2 = appraise(units, V2)
    assert [u.score for u in v2.units] == [
        D("28.50"),
        D("25.50"),
        D("24.00"),
        D("21.00"),
        D("19.50"),
        D("15.00"),
    ]
    assert v2.commend == () and v2.account == ("p", "q", "s", "t", "u", "w")


def test_a_commended_unit_is_not_also_the_bottom_one() -> None:
    result = appraise([unit("only", feedback_timeliness=r(1, 1))], V1)
    assert result.commend == ("only",) and result.account == ()


def test_the_version_in_force_is_the_latest_effective_by_the_first_day() -> None:
    scheme = Scheme.from_yaml(SCHEME)
    assert scheme.in_force(parse_period("2026-06").first_day).version == 1
    assert scheme.in_force(parse_period("2026-07").first_day).version == 2
    assert scheme.in_force(parse_period("2026-Q3").first_day).version == 2
    # A year starts in January: version 1, though version 2 took effect in it.
    assert scheme.in_force(parse_period("2026").first_day).version == 1
    with pytest.raises(NoVersion):
        scheme.in_force(date(2025, 12, 1))


def test_periods_in_shanghai_time() -> None:
    q = parse_period("2026-q4")
    assert (q.name, q.start.isoformat(), q.end.isoformat()) == (
        "2026-Q4",
        "2026-10-01T00:00:00+08:00",
        "2027-01-01T00:00:00+08:00",
    )
    assert parse_period("2026-02").end.tzinfo == TZ
    for bad in ("2026-13", "2026-Q5", "26", "2026/10"):
        with pytest.raises(PeriodError):
            parse_period(bad)


def test_a_bad_scheme_file_names_each_problem(tmp_path: Path) -> None:
    bad = SCHEME.replace("return: {points: 1}", "return: {points: -1}", 1)
    with pytest.raises(DataFileError) as caught:
        Scheme.from_yaml(bad)
    assert "versions.0.deductions.return.points: Input should be greater than" in str(caught.value)
    with pytest.raises(DataFileError) as caught:
        Scheme.from_yaml(SCHEME.replace("version: 2", "version: 1"))
    assert "version 1 follows version 1" in str(caught.value)
    with pytest.raises(DataFileError) as caught:
        Scheme.from_yaml(SCHEME.replace("2026-07-01", "2026-01-01"))
    assert "takes effect (2026-01-01) no later than version 1" in str(caught.value)
    path = tmp_path / "mine.yaml"
    path.write_text(SCHEME, encoding="utf-8")
    assert Scheme.configured(path).source == str(path)


def test_the_packaged_scheme_loads() -> None:
    version = Scheme.packaged().in_force(date(2026, 10, 1))
    assert version.total_weight == D(100)
    assert set(version.supervision_kinds) == {"overdue", "manual", "inspection"}


def test_explain_writes_the_rescaling_the_cap_and_the_floor() -> None:
    u = UnitInputs(
        "health",
        "health",
        2,
        {"acceptance_timeliness": r(2, 2), "feedback_timeliness": r(1, 2), "closure_rate": r(2, 2)},
        counts={"late_entry": 6},
    )
    assert explain(score_unit(u, V1), 4, "en") == [
        "health — score 74.92",
        "  acceptance timeliness: 2/2 = 100.00% × 10 = 10.00",
        "  feedback timeliness: 1/2 = 50.00% × 30 = 15.00",
        "  closure rate: 2/2 = 100.00% × 25 = 25.00",
        "  satisfaction rate: 0/0 (no value) × 25",
        "  inspection score: — (no value) × 10",
        "  earned 50.00",
        "  rescaled over the weights with values: 50.00 × 100 ÷ 65 = 76.92",
        "  − late entries: 6 × 0.50 = 2.00 (cap 2.00)",
        "  total 76.92 − 2.00 = 74.92",
    ]
    bad = UnitInputs("bad", "bad", 3, {"feedback_timeliness": r(0, 3)}, counts={"return": 2})
    ranked = appraise([bad], V1).units[0]
    lines = explain(ranked, 1)
    assert lines[0] == "bad — 排名 1/1, 得分 0.00"
    assert lines[-1] == "  总分 0.00 − 2.00 = 0.00 (不低于 0)"
    idle = appraise([UnitInputs("idle", "idle")], V1).units[0]
    assert explain(idle, 0)[0] == "idle — 未排名（无可计分的指标）"


def test_the_ranking_on_a_narrow_terminal_is_cut_nowhere() -> None:
    from tousu.cli._console import show
    from tousu.cli.appraisal_cmds import _table

    units = [
        unit("transport", feedback_timeliness=r(19, 20)),
        unit("urban_management", feedback_timeliness=r(11, 20)),
    ]
    result = Appraisal(
        parse_period("2026-10"),
        parse_period("2026-11").start,
        "department",
        V1,
        "appraisal.yaml",
        appraise(units, V1),
    )
    buffer = io.StringIO()
    show(
        Console(file=buffer, force_terminal=True, width=40, color_system=None), _table(result, "zh")
    )
    text = buffer.getvalue()
    assert "…" not in text and max(cell_len(line.rstrip()) for line in text.splitlines()) <= 40
    assert "urban_management" in text and "95.00" in text and "批评和问责" in text
