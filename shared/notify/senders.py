"""The senders a deployment has, from its configuration."""

from __future__ import annotations

from shared.notify.letter import LetterSender
from shared.notify.model import NoticeChannel
from shared.notify.sender import Sender
from shared.notify.settings import NotifySettings, SmtpSettings
from shared.notify.sms import LoggingSmsSender
from shared.notify.smtp import SmtpSender
from shared.notify.web import WebSender
from shared.settings import Settings


def build_senders(
    settings: Settings,
    notify: NotifySettings | None = None,
    smtp: SmtpSettings | None = None,
) -> dict[NoticeChannel, Sender]:
    """One sender per channel; e-mail only when ``TOUSU_SMTP_HOST`` is set.

    Without it e-mail notices stay pending (visible, not lost) until a
    dispatcher with an SMTP server runs.
    """
    notify = notify or NotifySettings()
    smtp = smtp or SmtpSettings()
    org = notify.organisation
    senders: dict[NoticeChannel, Sender] = {
        NoticeChannel.SMS: LoggingSmsSender(org),
        NoticeChannel.LETTER: LetterSender(settings.data_dir / "letters", org),
        NoticeChannel.WEB: WebSender(),
    }
    if smtp.host:
        senders[NoticeChannel.EMAIL] = SmtpSender(smtp, org)
    return senders
