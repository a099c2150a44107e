"""The SMS providers' SendSms: each builds its signed request and reads its answer.

A provider turns one SMS (a number, a template and its values, the notice's
id) into an HTTP request as its API documents it, and the answer into the
provider's message id or a :class:`SendError` that says whether to try again:
throttling, a provider's internal error, a 5xx and our own key or balance
(a configuration an operator fixes) are retried; a bad or blocked number, a
refused template or parameter are not, and the notice is dead at once.

Neither provider deduplicates SendSms by a client reference: the notice id
goes along (Tencent's ``SessionContext``, Alibaba's ``OutId``), echoed in the
provider's delivery receipts and records, so that a copy sent again after a
cut-off try can be told apart (the outbox's guarantee is at least once, as
for e-mail; see the dispatcher).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from tousu.services.followup.notices.sender import SendError
from tousu.services.followup.notices.sms_signing import (
    acs3_authorization,
    acs3_canonical_query,
    sha256_hex,
    tc3_authorization,
)
from tousu.shared.settings import SmsSection


@dataclass(frozen=True)
class SmsRequest:
    method: str
    url: str
    headers: dict[str, str]
    content: bytes


@dataclass(frozen=True)
class SmsMessage:
    """One SMS to send: the number, the template and its values in order."""

    phone: str
    template_id: str
    # (variable name, value), in the template's order.
    values: Sequence[tuple[str, str]]
    sign_name: str
    reference: str  # the notice id, the same on every try


class SmsProvider(Protocol):
    name: str
    default_endpoint: str

    def request(self, endpoint: str, message: SmsMessage, now: float) -> SmsRequest: ...

    def outcome(self, status: int, body: bytes) -> str:
        """The provider's message id; raises :class:`SendError` when not sent."""
        ...


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        found = json.loads(body)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _http_error(status: int, body: bytes) -> SendError:
    # A proxy's or load balancer's page, not the provider's answer.
    text = body[:200].decode("utf-8", "replace")
    return SendError(f"HTTP {status}: {text}", retryable=status >= 500 or status in (408, 429))


def _host(endpoint: str) -> str:
    return urlsplit(endpoint).netloc


def _retryable(code: str, prefixes: tuple[str, ...], codes: frozenset[str]) -> bool:
    return code in codes or code.startswith(prefixes)


class TencentSms:
    """Tencent Cloud SMS, ``SendSms`` of API 2021-01-11, signed TC3-HMAC-SHA256.

    Every answer is HTTP 200: a refused request has ``Response.Error``; an
    accepted one a ``SendStatusSet`` whose entry for the number says ``Ok``
    with its ``SerialNo`` (the message id), or why that number was refused.
    """

    name = "tencent"
    default_endpoint = "https://sms.tencentcloudapi.com/"
    service = "sms"
    version = "2021-01-11"
    # Throttling, Tencent's own trouble, and our key, balance or IP list
    # (fixed by an operator, then the notice goes out).
    RETRY_PREFIXES = ("RequestLimitExceeded", "LimitExceeded", "InternalError", "AuthFailure")
    RETRY_CODES = frozenset(
        {
            "FailedOperation.InsufficientBalanceInSmsPackage",
            "UnauthorizedOperation.RequestIpNotInWhitelist",
            "UnauthorizedOperation.SerivceSuspendDueToArrears",
            "UnauthorizedOperation.ServiceSuspendDueToArrears",
        }
    )

    def __init__(self, secret_id: str, secret_key: str, app_id: str, region: str) -> None:
        self.secret_id = secret_id
        self._secret_key = secret_key
        self.app_id = app_id
        self.region = region

    def request(self, endpoint: str, message: SmsMessage, now: float) -> SmsRequest:
        payload = json.dumps(
            {
                "PhoneNumberSet": [message.phone],
                "SmsSdkAppId": self.app_id,
                "SignName": message.sign_name,
                "TemplateId": message.template_id,
                "TemplateParamSet": [value for _, value in message.values],
                "SessionContext": message.reference,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        timestamp = int(now)
        signed = {
            "Content-Type": "application/json; charset=utf-8",
            "Host": _host(endpoint),
            "X-TC-Action": "SendSms",
        }
        authorization = tc3_authorization(
            secret_id=self.secret_id,
            secret_key=self._secret_key,
            service=self.service,
            headers=signed,
            payload=payload,
            timestamp=timestamp,
        )
        headers = signed | {
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": self.version,
            "X-TC-Region": self.region,
            "Authorization": authorization,
        }
        return SmsRequest("POST", endpoint, headers, payload)

    def _error(self, code: str, message: str, where: str) -> SendError:
        retry = _retryable(code, self.RETRY_PREFIXES, self.RETRY_CODES)
        return SendError(f"tencent {where} {code}: {message}", retryable=retry)

    def outcome(self, status: int, body: bytes) -> str:
        answer = _json(body)
        response = answer.get("Response") if answer else None
        if not isinstance(response, dict):
            raise _http_error(status, body)
        error = response.get("Error")
        if isinstance(error, dict):
            raise self._error(str(error.get("Code")), str(error.get("Message")), "refused")
        statuses = response.get("SendStatusSet") or []
        if not statuses or not isinstance(statuses[0], dict):
            raise SendError(f"tencent: no SendStatusSet in {body[:200]!r}", retryable=True)
        sent = statuses[0]
        code = str(sent.get("Code"))
        if code != "Ok":
            raise self._error(code, str(sent.get("Message")), "did not send")
        return str(sent.get("SerialNo") or response.get("RequestId"))


class AliyunSms:
    """Alibaba Cloud SMS (dysmsapi), ``SendSms`` of API 2017-05-25, signed
    ACS3-HMAC-SHA256 (OpenAPI V3), its parameters in the query string.

    ``Code`` ``OK`` with the ``BizId`` (the message id) when sent; any other
    ``Code`` (HTTP 200 or 4xx) says why not.
    """

    name = "aliyun"
    default_endpoint = "https://dysmsapi.aliyuncs.com/"
    version = "2017-05-25"
    RETRY_PREFIXES = (
        "Throttling",
        "isp.",
        "InternalError",
        "ServiceUnavailable",
        "InvalidAccessKey",
    )
    RETRY_CODES = frozenset(
        {
            "isv.BUSINESS_LIMIT_CONTROL",  # flow control: too many to this number now
            "isv.DAY_LIMIT_CONTROL",
            "isv.MONTH_LIMIT_CONTROL",
            "isv.OUT_OF_SERVICE",  # balance: an operator tops it up
            "isv.AMOUNT_NOT_ENOUGH",
            "isv.ACCOUNT_ABNORMAL",
            "SignatureDoesNotMatch",
            "SignatureNonceUsed",
            "IncompleteSignature",
            "InvalidTimeStamp.Expired",
        }
    )

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        nonce: Callable[[], str] | None = None,
    ) -> None:
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self._nonce = nonce or (lambda: uuid.uuid4().hex)

    def query(self, message: SmsMessage) -> dict[str, str]:
        params = {name: value for name, value in message.values}
        return {
            "PhoneNumbers": message.phone,
            "SignName": message.sign_name,
            "TemplateCode": message.template_id,
            "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
            "OutId": message.reference,
        }

    def request(self, endpoint: str, message: SmsMessage, now: float) -> SmsRequest:
        query = self.query(message)
        signed = {
            "host": _host(endpoint),
            "x-acs-action": "SendSms",
            "x-acs-version": self.version,
            "x-acs-date": datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x-acs-signature-nonce": self._nonce(),
            "x-acs-content-sha256": sha256_hex(b""),
        }
        authorization = acs3_authorization(
            access_key_id=self.access_key_id,
            access_key_secret=self._secret,
            method="POST",
            query=query,
            headers=signed,
        )
        # The query exactly as signed: no client re-encodes it differently.
        url = f"{endpoint.split('?', 1)[0]}?{acs3_canonical_query(query)}"
        return SmsRequest("POST", url, signed | {"Authorization": authorization}, b"")

    def outcome(self, status: int, body: bytes) -> str:
        answer = _json(body)
        if answer is None or "Code" not in answer:
            raise _http_error(status, body)
        code = str(answer["Code"])
        if code == "OK" and status < 300:
            return str(answer.get("BizId") or answer.get("RequestId"))
        retry = status >= 500 or _retryable(code, self.RETRY_PREFIXES, self.RETRY_CODES)
        raise SendError(f"aliyun refused {code}: {answer.get('Message')}", retryable=retry)


def provider_for(settings: SmsSection) -> SmsProvider:
    """The provider ``TOUSU_SMS_PROVIDER`` names, with its credentials."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if settings.provider == "tencent":
        return TencentSms(settings.secret_id or "", key, settings.app_id or "", settings.region)
    if settings.provider == "aliyun":
        return AliyunSms(settings.secret_id or "", key)
    raise ValueError(f"no SMS gateway for TOUSU_SMS_PROVIDER={settings.provider}")
