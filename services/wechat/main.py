"""``python -m tousu.services.wechat``: the WeChat adapter as a process.

It needs the account's Token (``TOUSU_WECHAT_TOKEN``), its channel credential
(``TOUSU_WECHAT_CREDENTIAL``), NATS (``TOUSU_NATS_URL``), and for photos the
gateway and an operator's API token (``TOUSU_WECHAT_GATEWAY_URL``,
``TOUSU_WECHAT_API_TOKEN``); with the AppID and AppSecret it fetches photos
through the media API, else by their PicUrl.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn

from tousu.kit.channel import ChannelClient
from tousu.services.wechat.app import FetchPhoto, WechatAdapter
from tousu.services.wechat.dialogue import Dialogues
from tousu.services.wechat.messages import Message
from tousu.shared.logs import configure_logging, get_logger
from tousu.shared.settings import Settings, WechatSection
from tousu.shared.wechat_api import WechatApi

log = get_logger("tousu.wechat")
# The largest photo fetched from WeChat (the gateway checks its own limit too).
MAX_PHOTO_BYTES = 10 * 1024 * 1024


def photo_fetcher(http: httpx.AsyncClient, wechat: WechatSection) -> FetchPhoto:
    """A photo through the media API (获取临时素材) when the AppSecret is set,
    else from its PicUrl (WeChat's own link to it)."""
    api = (
        WechatApi(http, wechat.api_base, wechat.appid, wechat.secret.get_secret_value())
        if wechat.appid and wechat.secret
        else None
    )

    async def fetch(m: Message) -> tuple[bytes, str]:
        if api is not None and m.media_id:
            content, kind = await api.media(m.media_id)
        elif m.pic_url:
            response = await http.get(m.pic_url)
            response.raise_for_status()
            content, kind = response.content, response.headers.get("content-type", "")
        else:
            raise ValueError("an image message without MediaId or PicUrl")
        if len(content) > MAX_PHOTO_BYTES:
            raise ValueError("the photo is too large")
        return content, kind.split(";")[0].strip() or "image/jpeg"

    return fetch


@asynccontextmanager
async def adapter(settings: Settings) -> AsyncIterator[WechatAdapter]:
    """The adapter with its connections, for as long as the context lasts."""
    wechat = settings.wechat
    if wechat.token is None or wechat.credential is None or settings.nats_url is None:
        raise SystemExit(
            "the WeChat adapter needs TOUSU_WECHAT_TOKEN, TOUSU_WECHAT_CREDENTIAL "
            "and TOUSU_NATS_URL"
        )
    tousu = ChannelClient(
        settings.nats_url,
        wechat.credential.get_secret_value(),
        subject_root=settings.subject_root,
        gateway_url=wechat.gateway_url,
        api_token=wechat.api_token.get_secret_value() if wechat.api_token else None,
        # The NATS user channel-wechat (tousu nats-config) is answered in its
        # own inbox only; its user and password go in TOUSU_NATS_URL.
        nats_options={"inbox_prefix": "_INBOX.channel-wechat"},
    )
    async with httpx.AsyncClient(timeout=10.0) as http, tousu:
        yield WechatAdapter(
            wechat.token.get_secret_value(),
            tousu,
            photo_fetcher(http, wechat),
            Dialogues(ttl=wechat.dialogue_minutes * 60),
            form_url=wechat.form_url,
        )


async def run(settings: Settings) -> None:
    configure_logging("wechat", settings.log_level, settings.log_format)
    async with adapter(settings) as wechat:
        config = uvicorn.Config(
            wechat.app(),
            host=settings.wechat.host,
            port=settings.wechat.port,
            log_config=None,
            access_log=False,
        )
        log.info("wechat adapter listening", host=settings.wechat.host, port=settings.wechat.port)
        await uvicorn.Server(config).serve()
