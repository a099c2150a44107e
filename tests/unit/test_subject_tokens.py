"""Subject tokens made from stored values: always valid, the same everywhere."""

from __future__ import annotations

import pytest

from tousu.cli.nats_permissions import DEPARTMENT_PREFIX, users
from tousu.shared.naming import Naming, department_token, is_token

NAMING = Naming("tousu")
ODD_CODES = ["水务 局", "a.b", "*", ">", "x y", " ", "dept\n", "\u0000", "water.>"]


@pytest.mark.parametrize("code", ["water", "service_center", "D-7", "_"])
def test_a_code_that_is_a_token_keeps_its_subject(code: str) -> None:
    assert NAMING.event(code, "ComplaintRouted") == f"tousu.events.{code}.ComplaintRouted"
    assert NAMING.department_events(code) == f"tousu.events.{code}.>"


@pytest.mark.parametrize("code", ODD_CODES)
def test_any_other_code_gets_a_valid_token_of_its_own(code: str) -> None:
    token = department_token(code)
    assert is_token(token)
    assert token == department_token(code)  # derived, not random
    subject = NAMING.event(code, "ComplaintRouted")
    assert subject == f"tousu.events.{token}.ComplaintRouted"
    assert NAMING.department_events(code) == f"tousu.events.{token}.>"


def test_derived_tokens_differ_from_each_other_and_from_register_codes() -> None:
    tokens = [department_token(code) for code in ODD_CODES]
    assert len(set(tokens)) == len(tokens)
    # Register codes are lowercase letters, digits and "_": never "X-...".
    assert all(t.startswith("X-") for t in tokens)


def test_an_event_type_that_is_no_token_is_refused() -> None:
    with pytest.raises(ValueError, match="event type"):
        NAMING.event("water", "Complaint Routed")


def test_a_department_user_reads_the_subjects_its_events_get() -> None:
    [user] = [u for u in users(NAMING, ["水务 局"]) if u.name.startswith(DEPARTMENT_PREFIX)]
    token = department_token("水务 局")
    assert user.name == f"{DEPARTMENT_PREFIX}{token}"
    assert user.subscribe[0] == f"tousu.events.{token}.>"
    [odd] = [u for u in users(NAMING, ["a\nb"]) if u.name.startswith(DEPARTMENT_PREFIX)]
    assert "\n" not in odd.notes  # it ends up in a comment line of nats-auth.conf
