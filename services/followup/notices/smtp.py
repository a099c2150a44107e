"""E-mail notices over SMTP (aiosmtplib).

SMTP has no idempotency key: a notice whose send was cut off after the server
took the message, but before the outcome was recorded, is sent again (at least
once, not exactly once, at the SMTP server). Every notice therefore carries a
Message-ID derived from its notification id, so the same notice always has the
same Message-ID and the receiving side (or a mail client) can drop the copy.
"""

from __future__ import annotations

from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

import aiosmtplib

from tousu.services.followup.notices.model import Notification
from tousu.services.followup.notices.sender import SendError
from tousu.shared.events import utcnow
from tousu.shared.settings import SmtpSection


def message_id(n: Notification, domain: str) -> str:
    return f"<{n.id}@{domain}>"


def compose(n: Notification, settings: SmtpSection, organisation: str) -> EmailMessage:
    if not n.recipient:
        raise SendError("an e-mail notice needs an address", retryable=False)
    # The SMTP policy encodes non-ASCII headers (a Chinese subject) per RFC 2047
    # and ends lines with CRLF.
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = n.title
    msg["From"] = Address(display_name=organisation, addr_spec=settings.from_address)
    try:
        msg["To"] = Address(display_name=n.recipient_name or "", addr_spec=n.recipient)
    except (ValueError, IndexError, HeaderParseError) as exc:
        # Not the address itself: the error is stored and logged.
        raise SendError(f"bad e-mail address: {exc}", retryable=False) from exc
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id(n, settings.id_domain)
    msg["Content-Language"] = n.language
    # RFC 3834: an automatic message, so that auto-responders stay quiet.
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Tousu-Tracking-No"] = n.tracking_no
    msg["X-Tousu-Notice-Kind"] = n.kind
    # Addressed by name, the access code in its slot (both kept sealed).
    msg.set_content(n.sendable().body, charset="utf-8")
    return msg


def _retryable(exc: aiosmtplib.SMTPException) -> bool:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(400 <= r.code < 500 for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # Our configuration, not this notice, is wrong: keep it for a fix.
        return True
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return 400 <= exc.code < 500
    # Connection refused or lost, timeouts: the server may be back later.
    return not isinstance(exc, aiosmtplib.SMTPNotSupported)


class SmtpSender:
    def __init__(self, settings: SmtpSection, organisation: str = "投诉受理中心") -> None:
        if not settings.host:
            raise ValueError("SmtpSender needs TOUSU_SMTP_HOST")
        self.settings = settings
        self.organisation = organisation

    async def send(self, n: Notification) -> str:
        msg = compose(n, self.settings, self.organisation)
        s = self.settings
        try:
            errors, _response = await aiosmtplib.send(
                msg,
                hostname=s.host,
                port=s.port,
                username=s.user,
                password=s.password.get_secret_value() if s.password else None,
                start_tls=s.starttls,
                use_tls=s.tls,
                timeout=s.timeout,
            )
        except aiosmtplib.SMTPException as exc:
            raise SendError(f"{type(exc).__name__}: {exc}", retryable=_retryable(exc)) from exc
        except OSError as exc:
            raise SendError(f"{type(exc).__name__}: {exc}", retryable=True) from exc
        if errors:  # some recipients refused; we have one, so not reached in practice
            refused = "; ".join(f"{addr}: {r.code} {r.message}" for addr, r in errors.items())
            raise SendError(f"refused: {refused}", retryable=False)
        return str(msg["Message-ID"])
