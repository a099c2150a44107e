"""Notices to complainants: an outbox in PostgreSQL, sent once each by pluggable senders.

Enqueue with :func:`enqueue` inside the transaction that handles the event the
notice is about; run a :class:`Dispatcher` to send; see what went wrong with
``list_notifications(pool, status="dead")``.
"""

from tousu.shared.notify.channels import channel_for
from tousu.shared.notify.dispatcher import Dispatcher, RetryPolicy
from tousu.shared.notify.letter import LetterSender, render_letter
from tousu.shared.notify.model import (
    NoticeChannel,
    NoticeKind,
    NoticeStatus,
    Notification,
    NotificationRecord,
    notification_id,
)
from tousu.shared.notify.outbox import (
    OUTBOX_CHANNEL,
    enqueue,
    enqueue_all,
    get_notification,
    list_notifications,
    wake,
)
from tousu.shared.notify.sender import Sender, SendError
from tousu.shared.notify.senders import build_senders
from tousu.shared.notify.settings import NotifySettings, SmtpSettings
from tousu.shared.notify.sms import LoggingSmsSender, SmsSender
from tousu.shared.notify.smtp import SmtpSender
from tousu.shared.notify.web import WebSender

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
