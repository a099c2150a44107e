"""The read request ``<root>.cmd.metrics.status``: where a complaint stands, for
the channel adapter that filed it (the WeChat adapter's ``查询``).

A channel's adapter (its credential) reads only the complaints filed through
its own channel: another channel's, or a number that belongs to none, is
``not_found`` alike, so the request tells nothing about complaints it did not
file. With ``contact`` (the phone, e-mail or WeChat OpenID the complainant
filed with) the complaint must also be that person's: an adapter answering a
user in a chat passes the user's own id, so one user cannot read another's
complaint by guessing its number. The reply carries no personal data.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tousu.shared.application.credentials import ForgedActor, Kind, Principal
from tousu.shared.domain.errors import Forbidden
from tousu.shared.events.types import Channel


class StatusRequest(BaseModel):
    """The body of ``<root>.cmd.metrics.status``."""

    model_config = ConfigDict(extra="forbid")

    tracking_no: str = Field(min_length=1, max_length=40)
    # The complainant's phone, e-mail or WeChat OpenID as filed: when given,
    # the complaint must be theirs.
    contact: str | None = Field(default=None, min_length=1, max_length=200)
    # Set from a channel's credential (its own channel); a trusted sender may
    # name one to read as that channel would.
    channel: Channel | None = None


class StatusResult(BaseModel):
    """The ``result`` of ``<root>.cmd.metrics.status``."""

    model_config = ConfigDict(extra="forbid")

    tracking_no: str
    status: str
    # The status as the public lookup page words it (Chinese).
    status_label: str
    department: str | None
    accepted_at: AwareDatetime | None
    # The feedback deadline of the current round (15 working days from
    # acceptance, later if extended).
    feedback_due: AwareDatetime | None
    # When the result was first fed back to the complainant.
    fed_back_at: AwareDatetime | None


def status_admission(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A channel's adapter reads its own channel's complaints; a trusted sender as
    the body says; a department's system is refused (it reads ``metrics.case``)."""
    if principal.kind is Kind.TRUSTED:
        return body
    if principal.kind is not Kind.CHANNEL:
        raise Forbidden(f"{principal} may not read a complaint's status", principal=str(principal))
    sent = body.get("channel")
    if sent is not None and sent != principal.name:
        raise ForgedActor(f"{principal} reads its own channel's complaints only")
    return {**body, "channel": principal.name}
