"""The XML WeChat posts for a user's message (接收普通消息) and the passive reply
(被动回复用户消息) sent back in the same HTTP answer.

Parsed with defusedxml (no DTDs, no entities): the body comes from the
internet, signed but not encrypted in plaintext mode. Only the message types
the adapter uses are read (text, image, location, and the subscribe event);
any other is kept as its ``msg_type`` and answered with the help text.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

# Far above any message WeChat sends (a text message is at most 2048 bytes of content).
MAX_BYTES = 64 * 1024


class MessageError(ValueError):
    """The body is not a WeChat message."""


@dataclass(frozen=True)
class Message:
    to_user: str  # the official account (开发者微信号)
    from_user: str  # the sender's OpenID
    create_time: int
    msg_type: str  # text, image, location, event, voice, ...
    # 64-bit id of a user's message; events have none.
    msg_id: str | None = None
    content: str | None = None  # text
    pic_url: str | None = None  # image
    media_id: str | None = None  # image (临时素材)
    location_x: float | None = None  # location: latitude
    location_y: float | None = None  # location: longitude
    scale: int | None = None
    label: str | None = None
    event: str | None = None  # event: subscribe, unsubscribe, ...

    @property
    def key(self) -> str:
        """What names this message among WeChat's retries of it (its MsgId;
        for an event, the sender and the time, as WeChat's guide says)."""
        return self.msg_id or f"{self.from_user}:{self.create_time}:{self.event}"


def parse(body: bytes) -> Message:
    """The message in ``body``; :class:`MessageError` if it is not one."""
    if len(body) > MAX_BYTES:
        raise MessageError("too large for a WeChat message")
    try:
        root = ElementTree.fromstring(body, forbid_dtd=True)
    except Exception as exc:  # ParseError, DTDForbidden, EntitiesForbidden ...
        raise MessageError(f"not XML: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise MessageError("the root element is not <xml>")

    def text(name: str) -> str | None:
        found: Element | None = root.find(name)
        if found is None or found.text is None:
            return None
        return found.text.strip()

    def number(name: str) -> float | None:
        value = text(name)
        try:
            return float(value) if value is not None else None
        except ValueError as exc:
            raise MessageError(f"{name} is not a number") from exc

    to_user, from_user, msg_type = text("ToUserName"), text("FromUserName"), text("MsgType")
    created = number("CreateTime")
    if not (to_user and from_user and msg_type) or created is None:
        raise MessageError("ToUserName, FromUserName, CreateTime and MsgType are required")
    scale = number("Scale")
    return Message(
        to_user=to_user,
        from_user=from_user,
        create_time=int(created),
        msg_type=msg_type.lower(),
        msg_id=text("MsgId"),
        content=text("Content"),
        pic_url=text("PicUrl"),
        media_id=text("MediaId"),
        location_x=number("Location_X"),
        location_y=number("Location_Y"),
        scale=int(scale) if scale is not None else None,
        label=text("Label"),
        event=(text("Event") or "").lower() or None,
    )


def _cdata(value: str) -> str:
    # A CDATA section cannot hold "]]>": split it across two sections.
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to: Message, content: str, now: int) -> str:
    """The passive text reply to ``to``: from the account back to its sender."""
    return (
        "<xml>"
        f"<ToUserName>{_cdata(to.from_user)}</ToUserName>"
        f"<FromUserName>{_cdata(to.to_user)}</FromUserName>"
        f"<CreateTime>{int(now)}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content>"
        "</xml>"
    )
