"""A channel adapter's client: file complaints, upload their files, read their status.

```python
async with ChannelClient(NATS_URL, CREDENTIAL, gateway_url=GW, api_token=TOKEN) as tousu:
    photo = await tousu.upload(Path("IMG_0001.jpg"), "IMG_0001.jpg", "image/jpeg",
                               phone="13912345678")
    filed = await tousu.submit({"channel": "kiosk", "subject": "水泵漏水", ...,
                                "attachments": [photo]}, reference="kiosk-0001")
    print(filed.tracking_no)
```

Every submission has the adapter's own ``reference`` (its form id, message id):
tousu names the complaint after it, so a submission sent again with the same
reference — after a timeout, a crash, a restart — files nothing new and is
answered with the first complaint.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import NoStreamResponseError

from tousu.kit import schemas
from tousu.kit.errors import Refused, Unavailable
from tousu.kit.transport import MSG_ID_HEADER, Connection, Retry

# The schema of a submission (the body of <root>.intake.<channel>, and the
# "submission" of <root>.cmd.intake.submit).
SUBMISSION_SCHEMA = "intake.submission"


@dataclass(frozen=True)
class Submitted:
    """A filed complaint: what to tell the complainant, and how to find it again."""

    complaint_id: str
    tracking_no: str
    # Shown once, for the complainant to look their case up with; None when
    # the reference was filed before (``repeated``).
    access_code: str | None
    status: str
    # The reference had been filed before: nothing new was filed.
    repeated: bool
    # tousu's whole answer.
    result: dict[str, Any]


@dataclass(frozen=True)
class Published:
    """JetStream's acknowledgement of a durable submission: it is stored, and
    intake will register it (or dead-letter it with its reason)."""

    stream: str
    seq: int
    # The same reference was published in the last two minutes: not stored again.
    duplicate: bool


class ChannelClient:
    """tousu as a channel adapter sees it (docs/integrations.md).

    ``credential`` is the adapter's token (``tousu credentials issue channel
    <channel>``): it may submit for its own channel only. ``gateway_url`` and
    ``api_token`` (an operator account's API token, ``tousu users token``) are
    needed for :meth:`upload` only. ``nats_options`` go to ``nats.connect``
    (``user``/``password`` of the NATS user ``tousu nats-config`` made).
    """

    def __init__(
        self,
        nats_url: str,
        credential: str,
        subject_root: str = "tousu",
        gateway_url: str | None = None,
        api_token: str | None = None,
        *,
        retry: Retry | None = None,
        nats_options: dict[str, Any] | None = None,
        validate: bool = True,
    ) -> None:
        self.root = subject_root
        self.gateway_url = gateway_url
        self.api_token = api_token
        self.validate = validate
        self._retry = retry or Retry()
        self._nats = Connection(
            nats_url,
            credential,
            name="tousu-kit-channel",
            retry=self._retry,
            nats_options=nats_options,
        )
        self._http: httpx.AsyncClient | None = None

    # -- lifetime --------------------------------------------------------------------
    async def connect(self) -> None:
        await self._nats.connect()

    async def close(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()
        await self._nats.close()

    async def __aenter__(self) -> ChannelClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- subjects --------------------------------------------------------------------
    @property
    def submit_subject(self) -> str:
        return f"{self.root}.cmd.intake.submit"

    def intake_subject(self, channel: str) -> str:
        return f"{self.root}.intake.{channel}"

    # -- filing ----------------------------------------------------------------------
    def _prepared(self, submission: dict[str, Any], reference: str) -> dict[str, Any]:
        if not reference:
            raise ValueError("a submission needs its reference (the adapter's own id for it)")
        body = {**submission, "external_ref": reference}
        if self.validate:
            subject = self.intake_subject(str(body.get("channel")))
            schemas.check(body, name=SUBMISSION_SCHEMA, subject=subject)
        return body

    async def submit(self, submission: dict[str, Any], *, reference: str) -> Submitted:
        """File ``submission`` and wait for its tracking number.

        Checked against the shipped schema first (:class:`Refused`, nothing
        sent); tried again on timeouts, no responders and tousu's internal
        errors, with the same reference each time, so it is filed once.
        """
        body = self._prepared(submission, reference)
        result = await self._nats.request(
            self.submit_subject,
            {"submission": body},
            headers={MSG_ID_HEADER: f"{body.get('channel')}:{reference}"},
        )
        return Submitted(
            complaint_id=str(result["complaint_id"]),
            tracking_no=str(result["tracking_no"]),
            access_code=result.get("access_code"),
            status=str(result.get("status")),
            repeated=bool(result.get("repeated")),
            result=result,
        )

    async def publish(self, submission: dict[str, Any], *, reference: str) -> Published:
        """Hand ``submission`` to tousu durably, without waiting for it to be filed.

        Stored by JetStream (stream ``<ROOT>_INTAKE``) before this returns;
        intake files it when it can (or dead-letters it with the reason, for
        an operator to see with ``tousu dlq list``). No tracking number comes
        back (tousu's acceptance notice tells the complainant theirs): use
        :meth:`submit` when the complainant is waiting for it.
        """
        body = self._prepared(submission, reference)
        channel = str(body.get("channel"))
        js = self._nats.nc.jetstream()
        payload = json.dumps(body, ensure_ascii=False).encode()
        headers = self._nats.headers(**{MSG_ID_HEADER: f"{channel}:{reference}"})
        last = ""
        for delay in [*self._retry.delays(), None]:
            try:
                ack = await js.publish(
                    self.intake_subject(channel),
                    payload,
                    timeout=self._retry.timeout,
                    headers=headers,
                )
                return Published(ack.stream, ack.seq, bool(ack.duplicate))
            except NoStreamResponseError:
                last = "no stream stores the channel's subject (is tousu set up?)"
            except NatsTimeout:
                last = "JetStream did not acknowledge in time"
            if delay is not None:
                await asyncio.sleep(delay)
        raise Unavailable(f"{last} (after {self._retry.attempts} tries)")

    # -- files -----------------------------------------------------------------------
    async def upload(
        self,
        content: Path | str | bytes,
        name: str,
        media_type: str = "application/octet-stream",
        *,
        phone: str | None = None,
        email: str | None = None,
        wechat_openid: str | None = None,
    ) -> dict[str, Any]:
        """Upload one file for a complaint about to be filed; its reference (a
        ``FileRef``) is to be named in the submission's ``attachments``.

        Give the complainant's ``phone`` or ``email`` exactly as the
        submission will (without either, their ``wechat_openid``): the file
        is sealed with that person's key. tousu
        decides the type from the content (``media_type`` is only a hint). A
        refused file raises :class:`Refused` with the stable code of the
        reason (``html``, ``too_large``, ...; docs/attachments.md).
        """
        if self.gateway_url is None or self.api_token is None:
            raise ValueError("upload needs gateway_url and api_token")
        data = (
            content
            if isinstance(content, bytes)
            else await asyncio.to_thread(Path(content).read_bytes)
        )
        contact = (("phone", phone), ("email", email), ("wechat_openid", wechat_openid))
        form = {k: v for k, v in contact if v}
        http = self._http_client()
        last = ""
        for delay in [*self._retry.delays(), None]:
            try:
                response = await http.post(
                    "/api/v1/attachments",
                    files={"file": (name, data, media_type)},
                    data=form,
                    headers={"Authorization": f"Bearer {self.api_token}"},
                )
            except httpx.TransportError as exc:
                last = f"the gateway did not answer ({type(exc).__name__})"
            else:
                if response.status_code == 201:
                    ref: dict[str, Any] = response.json()
                    return ref
                if response.status_code < 500 and response.status_code != 429:
                    raise _http_refusal(response)
                last = f"the gateway answered {response.status_code}"
            if delay is not None:
                await asyncio.sleep(delay)
        raise Unavailable(f"{last} (after {self._retry.attempts} tries)")

    def _http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            assert self.gateway_url is not None
            self._http = httpx.AsyncClient(base_url=self.gateway_url, timeout=self._retry.timeout)
        return self._http

    # -- reading back ----------------------------------------------------------------
    async def status(self, tracking_no: str, *, contact: str | None = None) -> dict[str, Any]:
        """Where a complaint this channel filed stands: ``tracking_no``, ``status``,
        ``status_label``, ``department``, ``accepted_at``, ``feedback_due``,
        ``fed_back_at``. ``contact`` (the complainant's phone, e-mail or
        OpenID as filed) is sent when given, for tousu to check it is theirs."""
        body: dict[str, Any] = {"tracking_no": tracking_no}
        if contact is not None:
            body["contact"] = contact
        result: dict[str, Any] = await self._nats.request(f"{self.root}.cmd.metrics.status", body)
        return result


def _http_refusal(response: httpx.Response) -> Refused:
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    errors = problem.get("errors") if isinstance(problem, dict) else None
    code = {401: "unauthenticated", 403: "forbidden", 413: "too_large"}.get(
        response.status_code, "refused"
    )
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = str(errors[0].get("code") or errors[0].get("type") or code)
    message = str(problem.get("detail") or problem.get("title") or response.reason_phrase)
    return Refused(code, message, errors)
