"""The senders a deployment has, from its configuration."""

from __future__ import annotations

from tousu.services.followup.notices.letter import LetterSender
from tousu.services.followup.notices.model import NoticeChannel
from tousu.services.followup.notices.sender import Sender
from tousu.services.followup.notices.sms import LoggingSmsSender
from tousu.services.followup.notices.sms_gateway import HttpSmsSender
from tousu.services.followup.notices.smtp import SmtpSender
from tousu.services.followup.notices.web import WebSender
from tousu.services.followup.notices.wechat import WechatSender
from tousu.shared.settings import NotifySection, Settings, SmtpSection


def build_senders(
    settings: Settings,
    notify: NotifySection | None = None,
    smtp: SmtpSection | None = None,
) -> dict[NoticeChannel, Sender]:
    """One sender per channel; e-mail only when ``TOUSU_SMTP_HOST`` is set.

    SMS through the provider ``TOUSU_SMS_PROVIDER`` names; with ``log`` (the
    default) each SMS is written to the log instead of sent.

    Without it e-mail notices stay pending (visible, not lost) until a
    dispatcher with an SMTP server runs.
    """
    notify = notify or settings.notify
    smtp = smtp or settings.smtp
    org = notify.organisation
    senders: dict[NoticeChannel, Sender] = {
        NoticeChannel.SMS: (
            LoggingSmsSender(org)
            if settings.sms.provider == "log"
            else HttpSmsSender(settings.sms, org, settings.lookup_url)
        ),
        NoticeChannel.LETTER: LetterSender(settings.data_dir / "letters", org),
        NoticeChannel.WEB: WebSender(),
    }
    if smtp.host:
        senders[NoticeChannel.EMAIL] = SmtpSender(smtp, org)
    wechat = settings.wechat
    if wechat.appid and wechat.secret:
        senders[NoticeChannel.WECHAT] = WechatSender(wechat)
    return senders
