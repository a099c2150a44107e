"""WeChat notices: a template message (模板消息) to the complainant's OpenID.

``POST /cgi-bin/message/template/send?access_token=...`` with the documented
JSON: ``touser`` (the OpenID), ``template_id`` (per notice kind, from
``TOUSU_WECHAT_TEMPLATES``), ``client_msg_id`` (the notice's id: WeChat sends
one message per OpenID and id, so a resend after a crash is not a second
message) and ``data``. The template the operator picks in the account's
template library is filled in its classic layout: ``first`` the notice's
title, ``keyword1`` the tracking number, ``keyword2`` the kind of notice,
``keyword3`` the time, ``remark`` the text (shortened; the whole notice is
on the public lookup page, which is always told as well).

WeChat's errcode decides the retry: a stale token is replaced at once
(``shared/wechat_api.py``), a busy system or the daily quota is tried again
by the outbox like a mail server that is down, anything else (the user
unfollowed the account, a wrong template id) is dead at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tousu.services.followup.notices.model import NoticeKind, Notification
from tousu.services.followup.notices.sender import SendError
from tousu.shared.settings import WechatSection
from tousu.shared.wechat_api import WechatApi, WechatError

SEND_PATH = "/cgi-bin/message/template/send"
# Template values are short: the remark keeps this much of the notice's text.
REMARK_CHARS = 180
_BEIJING = ZoneInfo("Asia/Shanghai")
_KIND_LABELS = {
    NoticeKind.ACCEPTANCE: "受理告知",
    NoticeKind.REJECTION: "不予受理告知",
    NoticeKind.EXTENSION: "延期告知",
    NoticeKind.PROGRESS: "办理进度",
    NoticeKind.RESULT: "处理结果",
    NoticeKind.FOLLOW_UP_SURVEY: "满意度回访",
    NoticeKind.ACCESS_CODE: "查询码告知",
}


def template_payload(
    n: Notification, openid: str, template_id: str, now: datetime
) -> dict[str, Any]:
    """The JSON of ``template/send`` for ``n`` (already made sendable)."""
    text = " ".join(n.body.split())
    if len(text) > REMARK_CHARS:
        text = text[: REMARK_CHARS - 1] + "…"
    return {
        "touser": openid,
        "template_id": template_id,
        "client_msg_id": str(n.id),
        "data": {
            "first": {"value": n.title},
            "keyword1": {"value": n.tracking_no},
            "keyword2": {"value": _KIND_LABELS.get(n.kind, n.title)},
            "keyword3": {"value": now.astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M")},
            "remark": {"value": text},
        },
    }


class WechatSender:
    """Sends WeChat notices through one official account's API."""

    def __init__(self, settings: WechatSection, client: httpx.AsyncClient | None = None) -> None:
        if not (settings.appid and settings.secret):
            raise ValueError("WeChat notices need TOUSU_WECHAT_APPID and TOUSU_WECHAT_SECRET")
        self._settings = settings
        self._client = client or httpx.AsyncClient(timeout=15.0)
        self.api = WechatApi(
            self._client, settings.api_base, settings.appid, settings.secret.get_secret_value()
        )

    async def send(self, n: Notification) -> str:
        openid = (n.recipient or "").strip()
        if not openid:
            raise SendError("a WeChat notice needs the complainant's OpenID", retryable=False)
        template_id = self._settings.template_for(n.kind.value)
        if template_id is None:
            raise SendError(
                f"no WeChat template for {n.kind.value} notices (TOUSU_WECHAT_TEMPLATES)",
                retryable=False,
            )
        payload = template_payload(n.sendable(), openid, template_id, datetime.now(UTC))
        try:
            answer = await self.api.post_json(SEND_PATH, payload)
        except WechatError as exc:
            # errmsg is WeChat's, never the OpenID or the text.
            raise SendError(
                f"WeChat errcode {exc.errcode}: {exc.errmsg}", retryable=exc.retryable
            ) from exc
        return f"wechat:{answer.get('msgid', '')}"

    async def aclose(self) -> None:
        await self._client.aclose()
