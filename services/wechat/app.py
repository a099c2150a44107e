"""The adapter's ASGI app: the official account's server URL (服务器地址).

``GET`` is WeChat's URL verification: a valid signature is answered with
``echostr`` as sent. ``POST`` is a user's message: a valid signature's body
is read (plaintext mode), the dialogue answers it, and the answer goes back
as the passive reply in the same response. A bad or missing signature is a
``403`` and nothing is read. Security mode (安全模式, ``encrypt_type=aes``) is
not supported: such a callback is a ``400`` (set the account to 明文模式).

WeChat waits five seconds for a reply, then sends the same message again (up
to three times): a message is handled once, by its MsgId, and a retry that
arrives while the first is still being handled waits for the same answer.
Filing is idempotent besides: a submission's reference is the MsgId of the
``提交`` that filed it, so even a retry after a restart files nothing new.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tousu.kit.errors import Refused, Unavailable
from tousu.services.wechat import dialogue as d
from tousu.services.wechat.messages import MAX_BYTES, Message, MessageError, parse, text_reply
from tousu.services.wechat.signature import verify
from tousu.shared.logs import get_logger

log = get_logger("tousu.wechat")

# How many answered messages are remembered for WeChat's retries (they come
# within 15 seconds; this holds far more than arrive in that time).
_REMEMBERED = 4096


class Tousu(Protocol):
    """What the adapter needs of tousu: ``tousu.kit.channel.ChannelClient``."""

    async def submit(self, submission: dict[str, Any], *, reference: str) -> Any: ...

    async def upload(
        self,
        content: Any,
        name: str,
        media_type: str = ...,
        *,
        phone: str | None = None,
        email: str | None = None,
        wechat_openid: str | None = None,
    ) -> dict[str, Any]: ...

    async def status(self, tracking_no: str, *, contact: str | None = None) -> dict[str, Any]: ...


# The bytes and type of a user's photo, from its message.
FetchPhoto = Callable[[Message], Awaitable[tuple[bytes, str]]]


class WechatAdapter:
    def __init__(
        self,
        token: str,
        tousu: Tousu,
        fetch_photo: FetchPhoto,
        dialogues: d.Dialogues,
        *,
        form_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token = token
        self._tousu = tousu
        self._fetch_photo = fetch_photo
        self.dialogues = dialogues
        self._help = f"{d.HELP}\n网页投诉 / Web form: {form_url}" if form_url else d.HELP
        self._clock = clock
        self._answers: OrderedDict[str, asyncio.Future[str]] = OrderedDict()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self.verify_url, methods=["GET"]),
                Route("/", self.receive, methods=["POST"]),
                Route("/wechat", self.verify_url, methods=["GET"]),
                Route("/wechat", self.receive, methods=["POST"]),
            ]
        )

    def _signed(self, request: Request) -> bool:
        q = request.query_params
        return verify(self._token, q.get("signature"), q.get("timestamp"), q.get("nonce"))

    async def verify_url(self, request: Request) -> Response:
        if not self._signed(request):
            log.warning("wechat callback refused: bad signature", method="GET")
            return PlainTextResponse("bad signature", status_code=403)
        return PlainTextResponse(request.query_params.get("echostr", ""))

    async def receive(self, request: Request) -> Response:
        if not self._signed(request):
            log.warning("wechat callback refused: bad signature", method="POST")
            return PlainTextResponse("bad signature", status_code=403)
        if request.query_params.get("encrypt_type", "raw") != "raw":
            return PlainTextResponse(
                "security mode is not supported: set the account to plaintext mode (明文模式)",
                status_code=400,
            )
        body = bytearray()
        # Read no further than a message can be: the body is not signed.
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BYTES:
                return PlainTextResponse("too large for a WeChat message", status_code=413)
        try:
            message = parse(bytes(body))
        except MessageError as exc:
            log.warning("wechat callback refused: not a message", reason=str(exc))
            return PlainTextResponse("not a WeChat message", status_code=400)
        reply = await self._once(message)
        if not reply:
            # An empty body: WeChat shows nothing and does not retry.
            return PlainTextResponse("success")
        return Response(
            text_reply(message, reply, int(self._clock())), media_type="application/xml"
        )

    async def _once(self, message: Message) -> str:
        key = f"{message.to_user}:{message.from_user}:{message.key}"
        answer = self._answers.get(key)
        if answer is None:
            answer = asyncio.get_running_loop().create_future()
            self._answers[key] = answer
            while len(self._answers) > _REMEMBERED:
                self._answers.popitem(last=False)
            try:
                answer.set_result(await self._answer(message))
            except BaseException as exc:
                # Not remembered: WeChat's retry tries again.
                self._answers.pop(key, None)
                answer.set_exception(exc)
                answer.exception()  # retrieved: no "never retrieved" warning
                raise
        return await asyncio.shield(answer)

    async def _answer(self, m: Message) -> str:
        openid = m.from_user
        match m.msg_type:
            case "text":
                return await self._said(m, self.dialogues.on_text(openid, m.content or ""))
            case "location" if m.location_x is not None and m.location_y is not None:
                return self.dialogues.on_location(openid, m.label, m.location_x, m.location_y).text
            case "image":
                return await self._photo(m)
            case "event" if m.event == "subscribe":
                return self._help
            case "event":
                return ""
            case _:
                return self._help

    async def _said(self, m: Message, reply: d.Reply) -> str:
        if reply.status is not None:
            return await self._status(m, reply.status)
        if reply.submit is not None:
            return await self._file(m, reply.submit)
        return self._help if reply.text == d.HELP else reply.text

    async def _status(self, m: Message, tracking_no: str) -> str:
        try:
            found = await self._tousu.status(tracking_no, contact=m.from_user)
        except Refused as exc:
            if exc.code == "not_found":
                return d.NOT_FOUND
            # The adapter's own fault (its credential, its NATS user): said in
            # the log for the operator, not to the user.
            log.warning("wechat status refused", code=exc.code, reason=exc.message)
            return d.STATUS_UNAVAILABLE
        except Unavailable:
            return d.STATUS_UNAVAILABLE
        return d.status_text(found)

    async def _file(self, m: Message, draft: d.Draft) -> str:
        body = d.submission(draft, m.from_user)
        try:
            # The MsgId of the 提交 that filed it: WeChat's retries, and a
            # retry after a crash, name the same complaint.
            filed = await self._tousu.submit(body, reference=f"wechat-{m.to_user}-{m.key}")
        except Refused as exc:
            log.warning("wechat submission refused", code=exc.code, reason=exc.message)
            self.dialogues.forget(m.from_user)
            return f"提交未成功：{exc.message}\nNot filed: {exc.message}"
        except Unavailable:
            return d.BUSY  # the draft is kept: 提交 again
        self.dialogues.forget(m.from_user)
        log.info("wechat complaint filed", tracking_no=filed.tracking_no)
        return d.filed(str(filed.tracking_no))

    async def _photo(self, m: Message) -> str:
        draft, refusal = self.dialogues.photo_slot(m.from_user)
        if draft is None:
            assert refusal is not None
            return refusal.text
        try:
            content, media_type = await self._fetch_photo(m)
            # Sealed for the person the complaint will name: by the phone
            # number if they gave one, else by their OpenID.
            ref = await self._tousu.upload(
                content,
                f"wechat-{m.key}.jpg",
                media_type or "image/jpeg",
                phone=draft.phone,
                wechat_openid=None if draft.phone else m.from_user,
            )
        except Refused as exc:
            return f"照片未能接收：{exc.message}\nPhoto not taken: {exc.message}"
        except Unavailable:
            return "照片暂时无法接收，请稍后重发。\nCould not take the photo; send it again."
        except Exception:
            log.exception("wechat photo could not be fetched")
            return "照片暂时无法接收，请稍后重发。\nCould not take the photo; send it again."
        return self.dialogues.add_photo(draft, ref).text
