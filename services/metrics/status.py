"""``<root>.cmd.metrics.status``: where a complaint stands, for the channel that
filed it (``tousu.shared.application.status_read``), read from its history as
the case pages read it, so a status just changed is already there."""

from __future__ import annotations

from typing import Any

from tousu.services.metrics.views import case_detail
from tousu.shared.application.catalogue import METRICS
from tousu.shared.application.replies import Request
from tousu.shared.application.status_read import StatusRequest, StatusResult, status_admission
from tousu.shared.domain.errors import NotFound
from tousu.shared.domain.state import ComplaintState
from tousu.shared.events.types import Complainant, DeadlineKind
from tousu.shared.intake.duplicates import normalize_email, normalize_phone
from tousu.shared.intake.identifiers import normalize_tracking_no
from tousu.shared.intake.tracking_numbers import complaint_of
from tousu.shared.privacy.reveal import reveal
from tousu.shared.store.postgres import PostgresEventStore

_NOT_FOUND = "no complaint with this tracking number was filed through this channel"


def matches(who: Complainant | None, contact: str) -> bool:
    """Whether ``contact`` is one of the complainant's own (phone and e-mail
    compared as intake normalises them, the OpenID exactly)."""
    if who is None:
        return False
    given = contact.strip()
    if who.wechat_openid and given == who.wechat_openid:
        return True
    if (
        who.phone
        and normalize_phone(given)
        and normalize_phone(given) == normalize_phone(who.phone)
    ):
        return True
    email = normalize_email(given) if "@" in given else None
    return bool(email and who.email and email == normalize_email(who.email))


def result(state: ComplaintState) -> dict[str, Any]:
    assert state.status is not None and state.tracking_no is not None
    feedback = state.deadlines.get(DeadlineKind.FEEDBACK)
    return StatusResult(
        tracking_no=state.tracking_no,
        status=state.status.value,
        status_label=state.status.label("zh"),
        department=state.department,
        accepted_at=state.accepted_at,
        feedback_due=feedback.due_at if feedback else None,
        fed_back_at=state.first_feedback_at,
    ).model_dump(mode="json")


def request(store: PostgresEventStore) -> Request[StatusRequest]:
    async def handle(asked: StatusRequest) -> dict[str, Any]:
        pool = store.pool
        number = normalize_tracking_no(asked.tracking_no)
        complaint_id = await complaint_of(pool, number) if number else None
        if complaint_id is None:
            raise NotFound(_NOT_FOUND)
        state = (await case_detail(store, complaint_id)).state
        if not state.exists or (asked.channel is not None and state.channel != asked.channel):
            raise NotFound(_NOT_FOUND)
        if asked.contact is not None:
            who = await reveal(pool, state.complainant) if state.complainant else None
            if not matches(who, asked.contact):
                raise NotFound(_NOT_FOUND)
        return result(state)

    return Request(
        StatusRequest.model_validate,
        handle,
        failed="the complaint's status could not be read",
        title=METRICS.requests["status"].title,
        context=lambda asked: {"tracking_no": asked.tracking_no},
        admit=status_admission,
    )
