"""A step's details on the staff case page are in the page's language: a
closure says why in words (满意, 联系不上), not the code the event stores."""

from __future__ import annotations

from tests.domain_kit import SUPERVISOR
from tousu.services.gateway.web.staff.cases import _details
from tousu.shared.events import new_event, stored, utcnow
from tousu.shared.events import types as ev


def _closed(reason: str) -> list[tuple[str, str]]:
    event = new_event(ev.ComplaintClosed(reason=reason), actor=SUPERVISOR)
    envelope = stored(
        event, stream_id="complaint-x", version=9, global_position=9, recorded_at=utcnow()
    )
    return _details(envelope, "zh", {})


def test_a_closure_says_its_reason_in_the_pages_language() -> None:
    assert [value for _, value in _closed("satisfied")] == ["满意"]
    assert [value for _, value in _closed("unreachable")] == ["联系不上"]
