"""SMS notices through a real local HTTP gateway speaking Tencent Cloud's SendSms,
with the real outbox and dispatcher on real PostgreSQL: sent once after two
failed tries, every request's TC3 signature checked by the gateway itself, and
a refused number dead at once and visible."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import asyncpg
import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from tests.helpers import eventually, tousu
from tousu.services.followup.notices import (
    Dispatcher,
    NoticeChannel,
    NoticeKind,
    NoticeStatus,
    Notification,
    enqueue,
    get_notification,
    list_notifications,
)
from tousu.services.followup.notices.sms_gateway import HttpSmsSender
from tousu.shared.settings import NotifySection, SmsSection

SECRET_ID = "AKIDlocalgateway"
SECRET_KEY = "local-gateway-secret"
APP_ID = "1400006666"
PHONE = "+8613800138000"


def tc3_expected(headers: dict[str, str], body: bytes, secret_key: str) -> str:
    """The Authorization the request should carry, recomputed here from Tencent's
    "Signature v3" document, independently of the code under test."""
    signed = [h.strip() for h in headers["authorization"].split("SignedHeaders=")[1]
              .split(",")[0].split(";")]  # fmt: skip
    canonical_headers = "".join(f"{h}:{headers[h].strip().lower()}\n" for h in signed)
    timestamp = int(headers["x-tc-timestamp"])
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        ["POST", "/", "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()]
    )
    scope = f"{date}/sms/tc3_request"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )

    def mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = mac(mac(mac(("TC3" + secret_key).encode(), date), "sms"), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )


class Gateway:
    """A local stand-in for sms.tencentcloudapi.com: answers scripted replies
    (HTTP status, body) first, then sends; refuses a bad signature as Tencent does."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.script: deque[tuple[int, dict[str, Any]]] = deque()
        self.requests: list[dict[str, Any]] = []
        self.delivered: list[dict[str, Any]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = gateway.answer(headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        payload = json.loads(body)
        valid = headers.get("authorization") == tc3_expected(headers, body, SECRET_KEY)
        with self.lock:
            self.requests.append({"headers": headers, "body": payload, "valid": valid})
            if not valid:
                return 200, error("AuthFailure.SignatureFailure")
            if self.script:
                return self.script.popleft()
            serial = f"2640:{len(self.delivered) + 1:010d}"
            self.delivered.append(payload)
            return 200, {
                "Response": {
                    "SendStatusSet": [
                        {
                            "SerialNo": serial,
                            "PhoneNumber": payload["PhoneNumberSet"][0],
                            "Fee": 1,
                            "SessionContext": payload.get("SessionContext", ""),
                            "Code": "Ok",
                            "Message": "send success",
                            "IsoCode": "CN",
                        }
                    ],
                    "RequestId": str(uuid.uuid4()),
                }
            }


def error(code: str) -> dict[str, Any]:
    return {"Response": {"Error": {"Code": code, "Message": code}, "RequestId": "r"}}


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    g.thread.start()
    try:
        yield g
    finally:
        g.server.shutdown()
        g.server.server_close()


def sms_sender(gateway: Gateway) -> HttpSmsSender:
    settings = SmsSection(
        provider="tencent",
        endpoint=gateway.url,
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        app_id=APP_ID,
        sign_name="某市12345",
        template_acceptance="1001:tracking_no,date,link",
        timeout=5,
    )
    return HttpSmsSender(settings, "某市政务服务中心", "https://t.example.cn/q")


def dispatcher(
    pool: asyncpg.Pool, database_url: str, gateway: Gateway, registry: CollectorRegistry
) -> Dispatcher:
    quick = NotifySection(backoff_base=0.05, backoff_max=0.2, max_attempts=5, lease=10, recheck=0.5)
    senders = {NoticeChannel.SMS: sms_sender(gateway)}
    return Dispatcher(pool, senders, database_url=database_url, settings=quick, registry=registry)


def sends(registry: CollectorRegistry, outcome: str) -> float | None:
    labels = {"channel": "sms", "outcome": outcome}
    return registry.get_sample_value("tousu_notices_sent_total", labels)


def sms_notice(phone: str = PHONE) -> Notification:
    return Notification(
        source_event_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        tracking_no="TS-2611-000000123",
        kind=NoticeKind.ACCEPTANCE,
        channel=NoticeChannel.SMS,
        recipient=phone,
        recipient_name="张三",
        title="投诉受理告知书",
        body="您好：\n您的投诉已受理。",
    )


async def put(pool: asyncpg.Pool, n: Notification) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, n)


def settled(pool: asyncpg.Pool, n: Notification) -> Any:
    async def check() -> bool:
        found = await get_notification(pool, n.id)
        return found is not None and found.status in (NoticeStatus.SENT, NoticeStatus.DEAD)

    return check


async def test_an_sms_is_sent_once_after_two_failed_tries(
    pool: asyncpg.Pool, database_url: str, gateway: Gateway
) -> None:
    # A 5xx from the gateway, then Tencent's throttle: both retried.
    gateway.script.extend([(502, {"message": "bad gateway"}), (200, error("RequestLimitExceeded"))])
    n = sms_notice()
    await put(pool, n)
    registry = CollectorRegistry()
    with capture_logs() as logs:
        async with dispatcher(pool, database_url, gateway, registry).running() as d:
            await eventually(settled(pool, n), "the SMS to be sent")
            # Sent is final: another round finds nothing to send.
            assert await d.run_once() == 0

    stored = await get_notification(pool, n.id)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.last_error) == (NoticeStatus.SENT, 3, None)
    assert stored.provider_message_id == "2640:0000000001"
    [delivered] = gateway.delivered
    assert delivered["PhoneNumberSet"] == [PHONE]
    assert (delivered["TemplateId"], delivered["SmsSdkAppId"]) == ("1001", APP_ID)
    assert delivered["SignName"] == "某市12345"
    assert delivered["TemplateParamSet"][0::2] == ["TS-2611-000000123", "https://t.example.cn/q"]
    # Three requests, each signed right, each naming the same notice.
    assert [r["valid"] for r in gateway.requests] == [True, True, True]
    assert {r["body"]["SessionContext"] for r in gateway.requests} == {str(n.id)}
    retries = [e for e in logs if e["event"] == "notice failed, will retry"]
    assert [(e["channel"], e["attempts"]) for e in retries] == [("sms", 1), ("sms", 2)]
    assert "HTTP 502" in retries[0]["error"] and "RequestLimitExceeded" in retries[1]["error"]
    assert PHONE not in json.dumps([str(e) for e in logs])  # masked: never a number in a log
    # ...and in the metrics: two retried, one sent.
    assert (sends(registry, "retried"), sends(registry, "sent")) == (2, 1)


async def test_a_refused_number_is_dead_at_once_and_listed(
    pool: asyncpg.Pool, database_url: str, gateway: Gateway, child_env: dict[str, str]
) -> None:
    bad = "+8613800000000"
    gateway.script.append(
        (
            200,
            {
                "Response": {
                    "SendStatusSet": [
                        {
                            "SerialNo": "",
                            "PhoneNumber": bad,
                            "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                            "Message": f"incorrect phone number {bad}",
                        }
                    ],
                    "RequestId": "r",
                }
            },
        )
    )
    n = sms_notice(bad)
    await put(pool, n)
    registry = CollectorRegistry()
    with capture_logs() as logs:
        async with dispatcher(pool, database_url, gateway, registry).running():
            await eventually(settled(pool, n), "the SMS to be given up")

    [dead] = await list_notifications(pool, status="dead")
    assert (dead.id, dead.channel, dead.attempts) == (n.id, NoticeChannel.SMS, 1)
    assert dead.last_error and "InvalidParameterValue.IncorrectPhoneNumber" in dead.last_error
    assert bad not in dead.last_error  # the provider quoted it; the outbox keeps it sealed
    assert len(gateway.requests) == 1 and gateway.delivered == []
    assert [e["channel"] for e in logs if e["event"] == "notice dead"] == ["sms"]
    assert (sends(registry, "dead"), sends(registry, "sent")) == (1, None)
    # ...and to an operator at the command line, with why, never with the number.
    code, out, err = await tousu(child_env, "notices", "list", "--status", "dead", "--json")
    assert code == 0, err
    [line] = [json.loads(row) for row in out.splitlines()]
    assert (line["id"], line["channel"], line["status"]) == (str(n.id), "sms", "dead")
    assert "IncorrectPhoneNumber" in line["last_error"] and bad not in out
    code, out, err = await tousu(child_env, "notices", "list", "-s", "dead", "-c", "email")
    assert (code, out.strip()) == (0, "no such notices"), err


# -- Alibaba Cloud's protocol, through a local server --------------------------


def acs3_expected(method: str, raw_path: str, headers: dict[str, str], secret: str) -> str:
    """The Authorization of a request as received (its raw query), recomputed
    here from Alibaba's "V3 request structure and signature" document."""
    _, _, raw_query = raw_path.partition("?")
    pairs = [p.partition("=") for p in raw_query.split("&") if p]
    decoded = sorted((unquote(k), unquote(v)) for k, _, v in pairs)
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in decoded)
    signed = sorted(h for h in headers if h == "host" or h.startswith("x-acs-"))
    canonical = "\n".join(
        [
            method,
            "/",
            query,
            "".join(f"{h}:{headers[h].strip()}\n" for h in signed),
            ";".join(signed),
            headers["x-acs-content-sha256"],
        ]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"ACS3-HMAC-SHA256 Credential={SECRET_ID},SignedHeaders={';'.join(signed)},"
        f"Signature={signature}"
    )


async def test_alibaba_sendsms_arrives_signed_as_sent(
    pool: asyncpg.Pool, database_url: str
) -> None:
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            expected = acs3_expected("POST", self.path, headers, SECRET_KEY)
            query = dict(parse_qsl(urlsplit(self.path).query))
            seen.append({"valid": headers.get("authorization") == expected, "query": query})
            ok = seen[-1]["valid"]
            code = "OK" if ok else "SignatureDoesNotMatch"
            data = json.dumps({"Code": code, "Message": code, "BizId": "900619^0"}).encode()
            self.send_response(200 if ok else 400)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = SmsSection(
            provider="aliyun",
            endpoint=f"http://127.0.0.1:{server.server_address[1]}/",
            secret_id=SECRET_ID,
            secret_key=SECRET_KEY,
            sign_name="某市12345",
            # Variables named as the template names them; a value with spaces,
            # a colon, slashes and Chinese: encoded exactly as signed.
            template_acceptance="SMS_460775123:no=tracking_no,day=date,url=link",
        )
        sender = HttpSmsSender(settings, "某市政务服务中心", "https://t.example.cn/q?a=1 2*~")
        quick = NotifySection(backoff_base=0.05, max_attempts=2, lease=10, recheck=0.5)
        d = Dispatcher(pool, {NoticeChannel.SMS: sender}, database_url=database_url, settings=quick)
        n = sms_notice()
        await put(pool, n)
        assert await d.run_once() == 1
    finally:
        server.shutdown()
        server.server_close()

    [request] = seen
    assert request["valid"] is True
    query = request["query"]
    assert (query["PhoneNumbers"], query["SignName"]) == (PHONE, "某市12345")
    assert (query["TemplateCode"], query["OutId"]) == ("SMS_460775123", str(n.id))
    params = json.loads(query["TemplateParam"])
    assert (params["no"], params["url"]) == ("TS-2611-000000123", "https://t.example.cn/q?a=1 2*~")
    sent = await get_notification(pool, n.id)
    assert sent is not None and (sent.status, sent.provider_message_id) == ("sent", "900619^0")
