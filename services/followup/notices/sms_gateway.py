"""SMS notices through a provider's HTTP gateway: a template per notice kind, filled and signed.

China's SMS providers send only approved templates: the notice's own text
does not go out, its template does, with the values the settings name for it
(the tracking number, the day, the lookup link, the access code...). The
provider (Tencent Cloud or Alibaba Cloud, sms_providers) signs the request and
reads the answer; the dispatcher retries what may succeed later and records
the provider's message id.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Callable
from functools import cache

import httpx

from tousu.services.followup.notices.model import Notification, NotificationRecord
from tousu.services.followup.notices.sender import SendError
from tousu.services.followup.notices.sms_providers import SmsMessage, SmsProvider, provider_for
from tousu.shared.events import utcnow
from tousu.shared.intake.notices import format_date
from tousu.shared.settings import SmsSection, SmsTemplate

# What a provider accepts as one number: E.164 (+8613800138000) or a
# domestic number (13800138000); spaces and dashes as people write them go.
_PHONE = re.compile(r"^\+?\d{5,15}$")


@cache
def _tls() -> ssl.SSLContext:
    # Made once: httpx builds one per client otherwise (tens of ms of CPU,
    # reading the CA bundle), which would cap a dispatcher at a few SMS a second.
    return httpx.create_ssl_context()


def phone_number(raw: str) -> str:
    phone = re.sub(r"[\s\-()]", "", raw)
    if not _PHONE.match(phone):
        raise SendError("not a phone number an SMS gateway takes", retryable=False)
    return phone


class HttpSmsSender:
    """Sends SMS notices through ``settings.provider``'s SendSms API at ``settings.endpoint``."""

    def __init__(
        self,
        settings: SmsSection,
        organisation: str = "投诉受理中心",
        lookup_url: str | None = None,
        *,
        provider: SmsProvider | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.organisation = organisation
        self.lookup_url = lookup_url
        self.provider = provider or provider_for(settings)
        self.endpoint = settings.endpoint or self.provider.default_endpoint
        self.templates = settings.templates()
        self._clock = clock
        if self.lookup_url is None:
            needing = [k for k, t in self.templates.items() if ("link" in dict(t.params).values())]
            if needing:
                raise ValueError(
                    f"SMS templates {', '.join(needing)} give the link: set TOUSU_LOOKUP_URL"
                )

    def message(self, n: Notification) -> SmsMessage:
        """The SMS of ``n``: its kind's template, filled (at send time: it may
        hold the name and the access code, sealed in the outbox)."""
        if not n.recipient:
            raise SendError("an SMS notice needs a phone number", retryable=False)
        template = self.templates.get(n.kind.value)
        if template is None:
            variable = SmsSection.env_name(f"template_{n.kind.value}")
            raise SendError(
                f"no SMS template for {n.kind.value} notices ({variable})", retryable=False
            )
        return SmsMessage(
            phone=phone_number(n.recipient),
            template_id=template.template_id,
            values=self._values(n, template),
            sign_name=self.settings.sign_name or self.organisation,
            reference=str(n.id),
        )

    def _values(self, n: Notification, template: SmsTemplate) -> list[tuple[str, str]]:
        day = n.created_at if isinstance(n, NotificationRecord) else utcnow()
        sources = {
            "tracking_no": n.tracking_no,
            "date": format_date(day, n.language),
            "link": self.lookup_url,
            "access_code": n.access_code,
            "name": n.recipient_name or ("您" if n.language.startswith("zh") else "Sir or Madam"),
            "organisation": self.organisation,
        }
        values: list[tuple[str, str]] = []
        for name, source in template.params:
            value = sources[source]
            if value is None:  # an access code the outbox no longer holds, say
                raise SendError(f"no {source} for the SMS template's {name}", retryable=False)
            values.append((name, value))
        return values

    async def send(self, n: Notification) -> str:
        message = self.message(n)
        request = self.provider.request(self.endpoint, message, self._clock())
        try:
            async with httpx.AsyncClient(timeout=self.settings.timeout, verify=_tls()) as client:
                response = await client.request(
                    request.method, request.url, headers=request.headers, content=request.content
                )
        except httpx.HTTPError as exc:
            # Refused, reset, timed out: the gateway may be back later. A
            # timeout after the request went out may have sent it; a retry
            # then sends it again (at least once, as for e-mail).
            error = f"{self.provider.name}: {type(exc).__name__}: {exc}"
            raise SendError(error, retryable=True) from exc
        return self.provider.outcome(response.status_code, response.content)
