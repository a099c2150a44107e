"""Notices to complainants: an outbox in PostgreSQL, sent once each by pluggable senders.

Enqueue with :func:`enqueue` inside the transaction that handles the event the
notice is about; run a :class:`Dispatcher` to send; see what went wrong with
``list_notifications(pool, status="dead")``.
"""

from tousu.services.followup.notices.channels import channel_for
from tousu.services.followup.notices.dispatcher import Dispatcher, RetryPolicy
from tousu.services.followup.notices.letter import LetterSender, render_letter
from tousu.services.followup.notices.model import (
    NoticeChannel,
    NoticeKind,
    NoticeStatus,
    Notification,
    NotificationRecord,
    notification_id,
)
from tousu.services.followup.notices.outbox import (
    OUTBOX_CHANNEL,
    enqueue,
    enqueue_all,
    get_notification,
    list_notifications,
    wake,
)
from tousu.services.followup.notices.sender import Sender, SendError
from tousu.services.followup.notices.senders import build_senders
from tousu.services.followup.notices.sms import LoggingSmsSender, SmsSender
from tousu.services.followup.notices.sms_gateway import HttpSmsSender
from tousu.services.followup.notices.smtp import SmtpSender
from tousu.services.followup.notices.web import WebSender

__all__ = [
    "OUTBOX_CHANNEL",
    "Dispatcher",
    "HttpSmsSender",
    "LetterSender",
    "LoggingSmsSender",
    "NoticeChannel",
    "NoticeKind",
    "NoticeStatus",
    "Notification",
    "NotificationRecord",
    "RetryPolicy",
    "SendError",
    "Sender",
    "SmsSender",
    "SmtpSender",
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
