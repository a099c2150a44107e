"""What a notice is: its kind, channel, recipient and text, and its state in the outbox."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    model_validator,
)

from tousu.shared.intake.notices import addressed_body

# Fixed forever: notification ids derived from it are stored.
_ID_NAMESPACE = uuid.UUID("5f0e6a9c-3b1d-4d0a-9a53-6f1f2c7e8b41")


class NoticeKind(StrEnum):
    ACCEPTANCE = "acceptance"
    REJECTION = "rejection"
    EXTENSION = "extension"
    PROGRESS = "progress"
    RESULT = "result"
    FOLLOW_UP_SURVEY = "follow_up_survey"
    # The access code of a complaint staff registered (查询码告知): its body
    # holds ACCESS_CODE_SLOT; the code itself is sealed with the contact.
    ACCESS_CODE = "access_code"


# Where the access code goes in a stored access-code notice: the outbox's
# body column is plain text, so the code is kept sealed with the recipient
# and put in at send time (Notification.sendable).
ACCESS_CODE_SLOT = "〔查询码〕"


class NoticeChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    LETTER = "letter"
    # A template message from the official account to the complainant's
    # OpenID (notices/wechat.py).
    WECHAT = "wechat"
    # Shown on the public lookup page only; nothing leaves the system.
    WEB = "web"


class NoticeStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # the last try failed; another is scheduled
    DEAD = "dead"


def notification_id(
    source_event_id: uuid.UUID, kind: NoticeKind | str, channel: NoticeChannel | str
) -> uuid.UUID:
    """The id of the notice of ``kind`` on ``channel`` caused by one event.

    Deterministic, so that handling an event twice enqueues nothing new.
    """
    return uuid.uuid5(_ID_NAMESPACE, f"{source_event_id}:{kind}:{channel}")


class Notification(BaseModel):
    """A notice to a complainant, as enqueued."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_event_id: uuid.UUID
    complaint_id: uuid.UUID
    tracking_no: str
    kind: NoticeKind
    channel: NoticeChannel
    # E-mail address, phone number or postal address; None for the web page.
    recipient: str | None = None
    recipient_name: str | None = None
    # Whose data key seals recipient and name in the outbox (the events'
    # ``complainant.key``); None: found or made from the contact when enqueued.
    complainant: uuid.UUID | None = None
    language: str = "zh-CN"
    title: str
    body: str
    # The access code an ACCESS_CODE notice carries: sealed in the outbox with
    # the contact (never in the body column), never shown in a repr or a log.
    access_code: str | None = Field(default=None, repr=False, exclude=True)

    def sendable(self) -> Self:
        """The notice as the recipient gets it: addressed by name (您好： →
        尊敬的王芳：, as the preview and the PDF are), the access code in its
        slot. Both are personal, so the stored body has neither: they come
        from the sealed contact, opened to send. Each sender calls it at the
        last moment (a log or an error never holds the result)."""
        body = addressed_body(self.body, self.recipient_name, self.language)
        if self.access_code is not None:
            body = body.replace(ACCESS_CODE_SLOT, self.access_code)
        return self if body == self.body else self.model_copy(update={"body": body})

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> uuid.UUID:
        return notification_id(self.source_event_id, self.kind, self.channel)

    @model_validator(mode="before")
    @classmethod
    def _drop_derived_id(cls, data: Any) -> Any:
        # A dumped notice carries its id; it is derived, so reading it back
        # (from JSON, say) must not trip over it.
        if isinstance(data, dict) and "id" in data:
            return {k: v for k, v in data.items() if k != "id"}
        return data

    @model_validator(mode="after")
    def _recipient_for_channel(self) -> Self:
        if self.channel != NoticeChannel.WEB and not (self.recipient or "").strip():
            raise ValueError(f"a {self.channel} notice needs a recipient")
        return self


class NotificationRecord(Notification):
    """A notice as stored in the outbox, with its delivery state."""

    status: NoticeStatus
    attempts: int
    next_attempt_at: AwareDatetime
    locked_until: AwareDatetime | None = None
    last_error: str | None = None
    created_at: AwareDatetime
    sent_at: AwareDatetime | None = None
    provider_message_id: str | None = None
