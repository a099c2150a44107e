"""Notices to complainants: an outbox in PostgreSQL, sent once each by pluggable senders.

Enqueue with :func:`enqueue` inside the transaction that handles the event the
notice is about; run a :class:`Dispatcher` to send; see what went wrong with
``list_notifications(pool, status="dead")``.
"""

from shared.notify.channels import channel_for
from shared.notify.dispatcher import Dispatcher, RetryPolicy
from shared.notify.letter import LetterSender, render_letter
from shared.notify.model import (
    NoticeChannel,
    NoticeKind,
    NoticeStatus,
    Notification,
    NotificationRecord,
    notification_id,
)
from shared.notify.outbox import (
    OUTBOX_CHANNEL,
    enqueue,
    enqueue_all,
    get_notification,
    list_notifications,
    wake,
)
from shared.notify.sender import Sender, SendError
from shared.notify.senders import build_senders
from shared.notify.settings import NotifySettings, SmtpSettings
from shared.notify.sms import LoggingSmsSender, SmsSender
from shared.notify.smtp import SmtpSender
from shared.notify.web import WebSender

__all__ = [
    "OUTBOX_CHANNEL",
    "Dispatcher",
    "LetterSender",
    "LoggingSmsSender",
    "NoticeChannel",
    "NoticeKind",
    "NoticeStatus",
    "Notification",
    "NotificationRecord",
    "NotifySettings",
    "RetryPolicy",
    "SendError",
    "Sender",
    "SmsSender",
    "SmtpSender",
    "SmtpSettings",
    "WebSender",
    "build_senders",
    "channel_for",
    "enqueue",
    "enqueue_all",
    "get_notification",
    "list_notifications",
    "notification_id",
    "render_letter",
    "wake",
]
