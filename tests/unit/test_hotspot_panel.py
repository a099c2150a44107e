"""The dashboard's hotspot rows (services/gateway/web/staff/hotspot_panel.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tousu.services.gateway.web.staff.hotspot_panel import HotspotPanel
from tousu.services.metrics.hotspots.surge import Change, HotspotRule, Window
from tousu.services.metrics.hotspots.views import Hotspot, HotspotList
from tousu.shared.calendar import TZ
from tousu.shared.intake.commitments import CommitmentRegister

MONTH = Window("month", date(2026, 12, 1), date(2027, 1, 1))


def row(change: Change, *, complete: bool) -> dict[str, object]:
    spot = Hotspot("location", "幸福路32号", 9, 15.0, [15], change, False, False)
    as_of = datetime(2026, 12, 8, tzinfo=TZ)
    found = HotspotList(MONTH, as_of, complete, HotspotRule(), None, [spot])
    panel = HotspotPanel(CommitmentRegister.load(), HotspotRule())
    return panel._item(spot, found, "zh")


def test_a_running_period_below_the_mean_is_not_called_a_fall() -> None:
    """A week or month still running only gains complaints: 9 so far against
    a mean of 15 whole months said 下降 on the 8th of the month."""
    shown = row("down", complete=False)
    assert (shown["change"], shown["change_kind"]) == ("", "")
    assert "15" in str(shown["baseline"])  # the mean still stands beside it


@pytest.mark.parametrize(
    ("change", "complete", "said"), [("down", True, "下降"), ("flat", False, "持平")]
)
def test_an_ended_period_or_an_even_one_says_so(change: Change, complete: bool, said: str) -> None:
    assert row(change, complete=complete)["change"] == said
