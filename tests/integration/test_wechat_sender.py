"""followup's WeChat sender against a local server answering as WeChat's API
documents it: the errcodes that are worth another try (the outbox retries
them with its back-off) and those that never will be (the notice is dead at
once), and the token kept across sends until WeChat says it is stale."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tousu.services.followup.notices.model import NoticeChannel, NoticeKind, Notification
from tousu.services.followup.notices.sender import SendError
from tousu.services.followup.notices.wechat import WechatSender
from tousu.shared.settings import WechatSection


class Api:
    """api.weixin.qq.com's token and template endpoints, answering ``errcodes`` in turn."""

    def __init__(self, *errcodes: int) -> None:
        self.errcodes = list(errcodes)
        self.tokens = 0
        self.bodies: list[dict[str, Any]] = []

    async def token(self, request: Request) -> Response:
        self.tokens += 1
        return JSONResponse({"access_token": f"T{self.tokens}", "expires_in": 7200})

    async def send(self, request: Request) -> Response:
        self.bodies.append(await request.json())
        code = self.errcodes.pop(0) if self.errcodes else 0
        if code:
            return JSONResponse({"errcode": code, "errmsg": f"error {code}"})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": 200228332})

    def sender(self, templates: str = "default=T") -> WechatSender:
        app = Starlette(
            routes=[
                Route("/cgi-bin/token", self.token),
                Route("/cgi-bin/message/template/send", self.send, methods=["POST"]),
            ]
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        settings = WechatSection.model_validate(
            {"appid": "wx1", "secret": "s", "api_base": "http://wx.test", "templates": templates}
        )
        return WechatSender(settings, client)


def notice(kind: NoticeKind = NoticeKind.RESULT) -> Notification:
    return Notification(
        source_event_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        tracking_no="TS2612-0001-23",
        kind=kind,
        channel=NoticeChannel.WECHAT,
        recipient="oOPENID",
        title="投诉处理结果告知书",
        body="您好：经调查……",
    )


@pytest.mark.parametrize(
    ("errcode", "retryable"),
    [(-1, True), (45009, True), (43004, False), (40003, False), (40037, False)],
)
async def test_errcodes_are_retried_or_dead(errcode: int, retryable: bool) -> None:
    api = Api(errcode)
    sender = api.sender()
    with pytest.raises(SendError) as failed:
        await sender.send(notice())
    assert failed.value.retryable is retryable
    assert f"errcode {errcode}" in str(failed.value)
    assert "oOPENID" not in str(failed.value)
    # The outbox's next try: sent, with the token fetched once.
    assert await sender.send(notice()) == "wechat:200228332"
    assert api.tokens == 1


async def test_a_stale_token_is_replaced_within_the_same_send() -> None:
    api = Api(40001, 42001)
    sender = api.sender()
    # 40001, a new token, then 42001: one replacement per send; the outbox tries again.
    with pytest.raises(SendError) as failed:
        await sender.send(notice())
    assert failed.value.retryable is True
    assert api.tokens == 2
    assert await sender.send(notice()) == "wechat:200228332"
    assert api.tokens == 3
    assert [b["touser"] for b in api.bodies] == ["oOPENID"] * 3


async def test_a_kind_without_a_template_is_dead() -> None:
    api = Api()
    sender = api.sender(templates="acceptance=T")
    with pytest.raises(SendError) as failed:
        await sender.send(notice(NoticeKind.RESULT))
    assert failed.value.retryable is False
    assert api.bodies == []
