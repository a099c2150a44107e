"""What a channel submits, with each channel's own required fields.

A message contract, not intake's own code: the gateway's forms and APIs and
the channel adapters build submissions, intake registers them (on
``<root>.cmd.intake.submit`` and ``<root>.intake.<channel>``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tousu.shared.domain.commands import Attaching, ComplaintFacts
from tousu.shared.domain.inputs import Instant, Text
from tousu.shared.events import Actor
from tousu.shared.events.types import Channel

# A resend files nothing new: a submission's ``external_ref`` names its
# complaint (intake derives the complaint's id from it), so a second
# submission with the same reference is answered with the first complaint.
# "<reference>#<fingerprint>": the complaint is named by the reference alone,
# and the fingerprint (of the body sent with a public Idempotency-Key) is kept
# with it, so that the gateway can tell a resend from a reused key.
FINGERPRINT = "#"


def fingerprinted(reference: str, fingerprint: str) -> str:
    """The ``external_ref`` naming ``reference``'s complaint, with ``fingerprint`` kept."""
    return f"{reference}{FINGERPRINT}{fingerprint}"


def complaint_reference(external_ref: str) -> str:
    """The part of ``external_ref`` that names the complaint (without the fingerprint)."""
    return external_ref.partition(FINGERPRINT)[0]


class Submission(ComplaintFacts, Attaching):
    """A channel's submission: the facts, and when it reached us (the date a
    letter was received, the time of a call; default: now); with the files it
    brings, each uploaded first and named here by its reference
    (docs/attachments.md)."""

    received_at: Instant | None = None
    # Why it is registered later than staff may on their own (补录 beyond the
    # window): only a supervisor may, with a reason (docs/late-entries.md).
    late_reason: Text | None = Field(default=None, min_length=1, max_length=500)

    def missing(self) -> list[tuple[str, str]]:
        """(field, message) for each field this channel needs and did not get."""
        who = self.complainant
        out: list[tuple[str, str]] = []
        match self.channel:
            case Channel.PHONE:
                if not who.phone:
                    out.append(
                        ("complainant.phone", "电话投诉须记录来电号码 / the caller's number")
                    )
            case Channel.LETTER:
                if self.received_at is None:
                    out.append(("received_at", "信件投诉须填写收信日期 / the date received"))
                if not who.address:
                    out.append(
                        ("complainant.address", "信件投诉须填写来信地址 / the sender's address")
                    )
            case Channel.WALK_IN:
                if not who.name:
                    out.append(("complainant.name", "现场投诉须登记姓名 / the visitor's name"))
                if not (who.phone or who.address):
                    out.append(
                        ("complainant.phone", "须登记电话或地址 / a phone number or address")
                    )
            case Channel.WEB | Channel.WECHAT:
                # Through WeChat the sender's OpenID is a way back to them.
                wechat = self.channel == Channel.WECHAT and who.wechat_openid
                if not (who.phone or who.email or who.anonymous or wechat):
                    out.append(
                        (
                            "complainant",
                            "请留下电话或电子邮箱，或选择匿名 / "
                            "a phone number or e-mail, or choose to stay anonymous",
                        )
                    )
            case Channel.OPEN311:
                # GeoReport v2 makes contact details optional (the client
                # follows the request by its id) and a location required.
                if not self.location:
                    out.append(("location", "须提供地点 / a location"))
        return out


class SubmitRequest(BaseModel):
    """The body of ``<root>.cmd.intake.submit``: a submission and who sends it.

    ``actor``: named by a trusted sender (the gateway, for the staff member or
    the public); a channel's adapter leaves it out, its credential makes it
    ``channel:<channel>`` (docs/integrations.md). ``details``: false when the
    sender does not show duplicates and suggested categories."""

    model_config = ConfigDict(extra="forbid")

    submission: Submission
    actor: Actor | None = None
    # Whether the reply names the earlier complaints this one may repeat and
    # suggests categories (the staff's registration form shows them; the
    # public form does not, and is spared the search).
    details: bool = Field(
        default=True,
        description="Reply with possible duplicates and suggested categories",
    )
