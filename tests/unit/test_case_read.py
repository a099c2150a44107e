"""Who may read a case through ``<root>.cmd.metrics.case``, and as whom: a
department's system as itself (its department's cases only), a trusted
sender as the body says, a channel's adapter not at all."""

from __future__ import annotations

import pytest

from tousu.shared.application.case_read import CaseRequest, case_admission
from tousu.shared.application.credentials import ForgedActor, Kind, Principal
from tousu.shared.domain.errors import Forbidden

CASE = {"complaint_id": "6f1c2a8e-3b8e-4a59-9d49-1d0c6f2b8a11"}
WATER = Principal(Kind.DEPARTMENT, "water", 0)
SYSTEM = {"id": "dept-system:water", "role": "handler", "department": "water"}


def test_a_department_reads_as_its_own_system() -> None:
    asked = CaseRequest.model_validate(case_admission(WATER, CASE))
    assert asked.actor is not None
    assert (asked.actor.id, asked.actor.department) == ("dept-system:water", "water")
    # Naming itself is no forgery.
    assert case_admission(WATER, {**CASE, "actor": SYSTEM})["actor"] == SYSTEM


def test_a_department_naming_someone_else_is_refused() -> None:
    other = {"id": "h-qian", "role": "handler", "department": "transport"}
    with pytest.raises(ForgedActor):
        case_admission(WATER, {**CASE, "actor": other})


def test_a_channel_reads_no_cases_and_a_trusted_sender_reads_as_it_says() -> None:
    with pytest.raises(Forbidden):
        case_admission(Principal(Kind.CHANNEL, "wechat", 0), CASE)
    trusted = Principal(Kind.TRUSTED, "gateway", 0)
    assert case_admission(trusted, CASE) == CASE
