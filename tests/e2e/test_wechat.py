"""WeChat as a real channel, against running services and a local server that
speaks WeChat's documented API (access token, temporary media, template
messages). The adapter's ASGI app is driven with the documented callback
shapes: a complaint filed through the dialogue (text, the documented location
and image messages), a photo fetched from the media API and uploaded through
the gateway, ``查询`` answered from the metrics service, and the acceptance
notice received by the fake API as the documented template-message JSON,
after one stale access token (errcode 40001) was replaced."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.attachment_files import photo_with_gps
from tests.e2e.kit import Headers, Staff
from tests.helpers import eventually
from tousu.kit import ChannelClient
from tousu.services.gateway.app import create_app
from tousu.services.wechat.app import WechatAdapter
from tousu.services.wechat.dialogue import NOT_FOUND, Dialogues
from tousu.services.wechat.main import photo_fetcher
from tousu.services.wechat.messages import parse
from tousu.services.wechat.signature import signature
from tousu.shared.application.credentials import credential_key, issue
from tousu.shared.events.types import Complainant
from tousu.shared.privacy.reveal import reveal
from tousu.shared.settings import Settings, WechatSection
from tousu.shared.store.postgres import PostgresEventStore

TOKEN = "tousu-test-token"
APPID, SECRET = "wx0123456789abcdef", "s3cr3t"
TEMPLATE = "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY"  # the guide's example id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """``app`` on a free local port, for as long as the context lasts."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started, "the local server to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class FakeWechat:
    """The parts of api.weixin.qq.com tousu calls, as documented."""

    tokens_issued: int = 0
    tokens_used: set[str] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)
    media_asked: list[str] = field(default_factory=list)
    photo: bytes = field(default_factory=photo_with_gps)

    def _token_ok(self, request: Request) -> bool:
        # The first token each caller gets (the adapter's, for the photo, then
        # followup's, for the notice) is refused with errcode 40001, as a token
        # is once another process has fetched a newer one: each must fetch again.
        token = request.query_params.get("access_token", "")
        if token in ("TOKEN-1", "TOKEN-3") and token not in self.tokens_used:
            self.tokens_used.add(token)
            return False
        return token.startswith("TOKEN-") and int(token[6:]) <= self.tokens_issued

    async def token(self, request: Request) -> Response:
        q = request.query_params
        if (q.get("grant_type"), q.get("appid"), q.get("secret")) != (
            "client_credential",
            APPID,
            SECRET,
        ):
            return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
        self.tokens_issued += 1
        return JSONResponse({"access_token": f"TOKEN-{self.tokens_issued}", "expires_in": 7200})

    async def template_send(self, request: Request) -> Response:
        if not self._token_ok(request):
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
        self.sent.append(json.loads(await request.body()))
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": 200228332})

    async def media(self, request: Request) -> Response:
        if not self._token_ok(request):
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
        self.media_asked.append(request.query_params.get("media_id", ""))
        return Response(self.photo, media_type="image/jpeg")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/cgi-bin/token", self.token),
                Route("/cgi-bin/message/template/send", self.template_send, methods=["POST"]),
                Route("/cgi-bin/media/get", self.media),
            ]
        )


@pytest.fixture
async def fake_wechat() -> AsyncIterator[tuple[FakeWechat, str]]:
    fake = FakeWechat()
    async with serving(fake.app()) as url:
        yield fake, url


@pytest.fixture
def child_env(child_env: dict[str, str], fake_wechat: tuple[FakeWechat, str]) -> dict[str, str]:
    """The services' environment, with followup sending WeChat notices to the fake API."""
    return child_env | {
        "TOUSU_WECHAT_APPID": APPID,
        "TOUSU_WECHAT_SECRET": SECRET,
        "TOUSU_WECHAT_API_BASE": fake_wechat[1],
        "TOUSU_WECHAT_TEMPLATES": f"default={TEMPLATE}",
    }


def signed(query: dict[str, str] | None = None, token: str = TOKEN) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    return {
        "signature": signature(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        **(query or {}),
    }


class Chat:
    """One WeChat user talking to the official account, as WeChat posts it."""

    def __init__(self, client: httpx.AsyncClient, openid: str) -> None:
        self.client = client
        self.openid = openid
        self.ids = iter(range(6_000_000_000_000_000_000, 7_000_000_000_000_000_000))

    async def post(self, xml: str) -> str:
        response = await self.client.post("/wechat", params=signed(), content=xml.encode())
        assert response.status_code == 200, response.text
        reply = parse(response.content)
        assert (reply.to_user, reply.from_user, reply.msg_type) == (self.openid, "gh_tousu", "text")
        return reply.content or ""

    def envelope(self, kind: str, inner: str, msg_id: int | None = None) -> str:
        return (
            "<xml>\n  <ToUserName><![CDATA[gh_tousu]]></ToUserName>\n"
            f"  <FromUserName><![CDATA[{self.openid}]]></FromUserName>\n"
            f"  <CreateTime>{int(time.time())}</CreateTime>\n"
            f"  <MsgType><![CDATA[{kind}]]></MsgType>\n{inner}"
            f"  <MsgId>{msg_id or next(self.ids)}</MsgId>\n</xml>"
        )

    async def say(self, text: str, msg_id: int | None = None) -> str:
        return await self.post(
            self.envelope("text", f"  <Content><![CDATA[{text}]]></Content>\n", msg_id)
        )

    async def location(self) -> str:
        # The documented location message's fields.
        inner = (
            "  <Location_X>23.134521</Location_X>\n  <Location_Y>113.358803</Location_Y>\n"
            "  <Scale>20</Scale>\n  <Label><![CDATA[位置信息]]></Label>\n"
        )
        return await self.post(self.envelope("location", inner))

    async def image(self) -> str:
        inner = (
            "  <PicUrl><![CDATA[this is a url]]></PicUrl>\n"
            "  <MediaId><![CDATA[media_id]]></MediaId>\n"
        )
        return await self.post(self.envelope("image", inner))


async def test_a_wechat_user_files_with_a_photo_asks_its_status_and_is_told_by_template(
    running_services: Path,
    settings: Settings,
    staff: dict[str, Headers],
    store: PostgresEventStore,
    fake_wechat: tuple[FakeWechat, str],
) -> None:
    fake, api = fake_wechat
    gateway_app = create_app(settings)
    async with (
        gateway_app.router.lifespan_context(gateway_app),
        serving(gateway_app) as gateway_url,
        ChannelClient(
            str(settings.nats_url),
            issue(credential_key(settings), "channel", "wechat"),
            subject_root=settings.subject_root,
            gateway_url=gateway_url,
            api_token=staff["op-li"]["Authorization"].removeprefix("Bearer "),
        ) as kit,
        httpx.AsyncClient() as http,
    ):
        section = WechatSection.model_validate({"appid": APPID, "secret": SECRET, "api_base": api})
        adapter = WechatAdapter(TOKEN, kit, photo_fetcher(http, section), Dialogues(ttl=600))
        transport = httpx.ASGITransport(app=adapter.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://wx.test") as wx:
            user = Chat(wx, f"o{uuid.uuid4().hex[:27]}")
            assert "描述" in await user.say("投诉")
            assert "位置" in await user.say("小区水管漏水\n三号楼门口水管爆裂，三天无人处理。")
            assert "电话" in await user.location()
            assert "照片" in await user.say("13912345678")
            assert "第1张" in await user.image()
            submit_id = 6_999_999_999_999_999_999
            filed = await user.say("提交", msg_id=submit_id)
            assert "投诉已提交" in filed
            tracking_no = filed.split("投诉编号：")[1].split("。")[0]
            # WeChat's retry of the same message: the same answer, nothing filed again.
            assert await user.say("提交", msg_id=submit_id) == filed

            status = await user.say(f"查询 {tracking_no}")
            assert tracking_no in status and "待受理" in status
            stranger = Chat(wx, f"o{uuid.uuid4().hex[:27]}")
            assert await stranger.say(f"查询 {tracking_no}") == NOT_FOUND

            # Known by the OpenID alone: no place, no phone, one photo.
            for said in ("投诉", "路灯不亮", "跳过", "跳过"):
                await stranger.say(said)
            assert "第1张" in await stranger.image()
            other_no = (await stranger.say("提交")).split("投诉编号：")[1].split("。")[0]

        assert fake.media_asked == ["media_id", "media_id"]
        # The photo of a complainant known by the OpenID alone is sealed with
        # their key too: it is found by the OpenID's digest, as by a phone's.
        alone = await store.pool.fetchval(
            "SELECT data FROM events WHERE type = 'ComplaintReceived' "
            "AND data ->> 'tracking_no' = $1",
            other_no,
        )
        alone = json.loads(alone) if isinstance(alone, str) else dict(alone)
        lone = await reveal(store.pool, Complainant.model_validate(alone["complainant"]))
        assert (lone.wechat_openid, lone.phone, alone["location"]) == (stranger.openid, None, None)
        assert [f["owner"] for f in alone["attachments"]] == [alone["complainant"]["key"]]
        rows = await store.pool.fetch(
            "SELECT stream_id, data FROM events WHERE type = 'ComplaintReceived' "
            "AND data ->> 'tracking_no' = $1",
            tracking_no,
        )
        assert len(rows) == 1
        raw = rows[0]["data"]
        data = json.loads(raw) if isinstance(raw, str) else dict(raw)
        assert data["channel"] == "wechat"
        assert data["subject"] == "小区水管漏水"
        assert data["location"] == "位置信息（23.134521, 113.358803）"
        # The OpenID is sealed with the other contact details, never in plain.
        assert user.openid not in json.dumps(data)
        who = await reveal(store.pool, Complainant.model_validate(data["complainant"]))
        assert (who.wechat_openid, who.phone) == (user.openid, "13912345678")
        (photo,) = data["attachments"]
        assert photo["media_type"] == "image/jpeg"
        assert photo["owner"] == data["complainant"]["key"]

        # Accepted by the operator: the acceptance notice goes to the OpenID.
        complaint_id = rows[0]["stream_id"].removeprefix("complaint-")
        async with httpx.AsyncClient(base_url=gateway_url) as gw:
            assert (
                await Staff(gw, staff).ok(
                    complaint_id, "accept", "op-li", {"category": "service_quality"}
                )
                == "accepted"
            )
        await eventually(lambda: bool(fake.sent), "the template message", timeout=30)

    (sent,) = fake.sent
    assert set(sent) == {"touser", "template_id", "client_msg_id", "data"}
    assert (sent["touser"], sent["template_id"]) == (user.openid, TEMPLATE)
    assert sent["data"]["keyword1"] == {"value": tracking_no}
    assert set(sent["data"]) == {"first", "keyword1", "keyword2", "keyword3", "remark"}
    assert all(set(v) == {"value"} for v in sent["data"].values())
    # The adapter (media) and followup (template) each had their first token
    # refused (40001) and fetched one more, within the same try.
    assert fake.tokens_issued == 4

    async def recorded() -> bool:
        row = await store.pool.fetchrow(
            "SELECT status, attempts, provider_message_id FROM notifications "
            "WHERE complaint_id = $1 AND channel = 'wechat'",
            uuid.UUID(complaint_id),
        )
        return row is not None and tuple(row) == ("sent", 1, "wechat:200228332")

    await eventually(recorded, "the outbox to record the WeChat notice as sent once")


class Nobody:
    """A tousu the adapter must not reach: a refused callback never gets this far."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"tousu was called ({name}) for a refused callback")


async def test_url_verification_echoes_and_a_bad_signature_is_refused() -> None:
    adapter = WechatAdapter(TOKEN, Nobody(), Nobody(), Dialogues(ttl=60))  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=adapter.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://wx.test") as wx:
        ok = await wx.get("/wechat", params=signed({"echostr": "5839472384758293"}))
        assert (ok.status_code, ok.text) == (200, "5839472384758293")
        forged = await wx.get("/wechat", params=signed({"echostr": "1"}, token="guess"))
        assert forged.status_code == 403
        text = (
            "<xml><ToUserName><![CDATA[gh_tousu]]></ToUserName>"
            "<FromUserName><![CDATA[oX]]></FromUserName><CreateTime>1348831860</CreateTime>"
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[投诉]]></Content>"
            "<MsgId>1234567890123456</MsgId></xml>"
        )
        refused = await wx.post("/wechat", params=signed(token="guess"), content=text)
        assert refused.status_code == 403
        unsigned = await wx.post("/wechat", content=text)
        assert unsigned.status_code == 403
        huge = await wx.post("/wechat", params=signed(), content=b"<xml>" + b" " * 70_000)
        assert huge.status_code == 413
        # Security mode is not spoken: said so, not misread.
        aes = await wx.post("/wechat", params=signed({"encrypt_type": "aes"}), content=text)
        assert aes.status_code == 400
