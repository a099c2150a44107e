"""The surge rule and the periods it counts (services/metrics/hotspots/surge.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tousu.services.metrics.hotspots.counts import Counts, rank
from tousu.services.metrics.hotspots.surge import HotspotRule, Window, judge, window_of
from tousu.shared.calendar import TZ

RULE = HotspotRule(threshold=2.0, min_count=5, baseline_periods=4)


def test_a_rise_to_the_threshold_and_the_minimum_is_a_surge() -> None:
    assert judge(8, [4, 4, 4, 4], RULE, observed=True).surge
    assert not judge(7, [4, 4, 4, 4], RULE, observed=True).surge  # 1.75 x
    # Twice a small mean, but under the minimum count.
    assert not judge(4, [2, 2, 2, 2], RULE, observed=True).surge
    verdict = judge(12, [3, 4, 5, 4], RULE, observed=True)
    assert verdict.surge and verdict.baseline == 4 and verdict.ratio == 3 and verdict.change == "up"


def test_a_flat_or_falling_count_is_none() -> None:
    flat = judge(6, [6, 6, 6, 6], RULE, observed=True)
    assert not flat.surge and flat.change == "flat"
    assert judge(2, [6, 6, 6, 6], RULE, observed=True).change == "down"


def test_a_baseline_of_zero() -> None:
    # Something new, and enough of it: a surge, where the store was recording.
    new = judge(5, [0, 0, 0, 0], RULE, observed=True)
    assert new.surge and new.change == "new" and new.ratio is None
    assert not judge(4, [0, 0, 0, 0], RULE, observed=True).surge
    # A system just started has no "before" to rise from.
    assert not judge(50, [0, 0, 0, 0], RULE, observed=False).surge
    with pytest.raises(ValueError):
        judge(5, [], RULE, observed=True)


def test_weeks_start_on_monday_in_shanghai() -> None:
    # Sunday 2026-12-06 23:30 in Shanghai is still the week of Monday 11-30,
    # though it is Sunday 15:30 UTC.
    sunday = datetime(2026, 12, 6, 23, 30, tzinfo=TZ)
    week = window_of("week", sunday)
    assert (week.start, week.end) == (date(2026, 11, 30), date(2026, 12, 7))
    assert window_of("week", datetime(2026, 12, 7, 0, 0, tzinfo=TZ)).start == date(2026, 12, 7)
    assert week.label() == "2026-W49"
    assert week.before(1) == Window("week", date(2026, 11, 23), date(2026, 11, 30))
    month = window_of("month", datetime(2027, 1, 15, tzinfo=TZ))
    assert [w.start for w in month.baseline(3)] == [
        date(2026, 10, 1),
        date(2026, 11, 1),
        date(2026, 12, 1),
    ]
    assert month.before(1).end == date(2027, 1, 1) and month.label() == "2027-01"
    assert not week.complete(sunday) and week.complete(datetime(2026, 12, 7, tzinfo=TZ))


def test_ranking_puts_the_most_complaints_first_and_judges_each() -> None:
    current = window_of("week", datetime(2026, 12, 9, tzinfo=TZ))
    windows = [*current.baseline(4), current]
    found = Counts(
        windows,
        {
            "幸福路": [3, 3, 3, 3, 10],
            "窗口": [6, 6, 6, 6, 6],
            "新问题": [0, 0, 0, 0, 5],
            "旧问题": [5, 5, 5, 5, 0],
        },
    )
    first = datetime(2026, 1, 1, tzinfo=TZ)
    ranked = rank(found, current, RULE, first)
    assert [r.key for r in ranked] == ["幸福路", "窗口", "新问题"]
    assert [r.verdict.surge for r in ranked] == [True, False, True]
    assert ranked[0].baseline_counts == [3, 3, 3, 3]
    # With nothing on record before the baseline ended, a zero baseline rises nowhere.
    assert not rank(found, current, RULE, datetime(2026, 12, 1, tzinfo=TZ))[2].verdict.surge


def test_the_command_lines_table_in_a_phone_sized_terminal() -> None:
    import io
    import uuid

    from rich.console import Console

    from tousu.cli._console import show
    from tousu.cli.hotspots_cmds import _table
    from tousu.services.metrics.hotspots.counts import CaseRef
    from tousu.services.metrics.hotspots.views import Hotspot, HotspotList

    at = datetime(2026, 11, 25, 15, tzinfo=TZ)
    case = CaseRef(uuid.uuid4(), "TS2026-000123", "路灯不亮", at)
    found = HotspotList(
        window_of("week", at),
        at,
        False,
        RULE,
        None,
        [Hotspot("location", "幸福路32号 东门", 9, 3.0, [3, 3, 3, 3], "up", True, True, [case])],
    )
    buffer = io.StringIO()
    show(Console(file=buffer, force_terminal=True, width=40, color_system=None), _table(found))
    text = buffer.getvalue()
    assert "幸福路32号 东门" in text and "TS2026-000123" in text and "上升 3.0倍" in text
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 40
