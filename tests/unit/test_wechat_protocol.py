"""The WeChat official account's formats, byte for byte from WeChat's published
examples: the callback signature (接入指南), the user messages (接收普通消息),
the passive reply (被动回复用户消息), the template message (模板消息); and the
adapter's dialogue, which is pure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tousu.services.followup.notices.channels import channel_for
from tousu.services.followup.notices.model import NoticeChannel, NoticeKind, Notification
from tousu.services.followup.notices.wechat import template_payload
from tousu.services.wechat import dialogue as d
from tousu.services.wechat.messages import Message, MessageError, parse, text_reply
from tousu.services.wechat.signature import signature, verify
from tousu.shared.settings import WechatSection

# 接收普通消息: the documented samples, as published.
TEXT = b"""<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[fromUser]]></FromUserName>
  <CreateTime>1348831860</CreateTime>
  <MsgType><![CDATA[text]]></MsgType>
  <Content><![CDATA[this is a test]]></Content>
  <MsgId>1234567890123456</MsgId>
  <MsgDataId>xxxx</MsgDataId>
  <Idx>xxxx</Idx>
</xml>"""
IMAGE = b"""<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[fromUser]]></FromUserName>
  <CreateTime>1348831860</CreateTime>
  <MsgType><![CDATA[image]]></MsgType>
  <PicUrl><![CDATA[this is a url]]></PicUrl>
  <MediaId><![CDATA[media_id]]></MediaId>
  <MsgId>1234567890123456</MsgId>
  <MsgDataId>xxxx</MsgDataId>
  <Idx>xxxx</Idx>
</xml>"""
LOCATION = """<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[fromUser]]></FromUserName>
  <CreateTime>1351776360</CreateTime>
  <MsgType><![CDATA[location]]></MsgType>
  <Location_X>23.134521</Location_X>
  <Location_Y>113.358803</Location_Y>
  <Scale>20</Scale>
  <Label><![CDATA[位置信息]]></Label>
  <MsgId>1234567890123456</MsgId>
  <MsgDataId>xxxx</MsgDataId>
  <Idx>xxxx</Idx>
</xml>""".encode()
# 被动回复用户消息: the documented text reply.
REPLY = (
    "<xml>"
    "<ToUserName><![CDATA[toUser]]></ToUserName>"
    "<FromUserName><![CDATA[fromUser]]></FromUserName>"
    "<CreateTime>12345678</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[你好]]></Content>"
    "</xml>"
)


def test_signature_is_the_sha1_of_the_sorted_token_timestamp_and_nonce() -> None:
    # A published worked example of the access guide's algorithm (token
    # "Topevery"); the guide's own PHP sample sorts, joins and hashes the same way.
    assert signature("Topevery", "1405665299", "42752994") == (
        "a948c4f99d23c1b6ef78204c1eb867166e2276e8"
    )
    assert verify("Topevery", "a948c4f99d23c1b6ef78204c1eb867166e2276e8", "1405665299", "42752994")
    assert not verify("Topevery", "a948c4f99d23c1b6ef78204c1eb867166e2276e8", "1405665299", "1")
    assert not verify("other", "a948c4f99d23c1b6ef78204c1eb867166e2276e8", "1405665299", "42752994")
    assert not verify("Topevery", None, "1405665299", "42752994")


def test_the_documented_messages_read_as_documented() -> None:
    text = parse(TEXT)
    assert (text.to_user, text.from_user, text.create_time) == ("toUser", "fromUser", 1348831860)
    assert (text.msg_type, text.content, text.msg_id) == (
        "text",
        "this is a test",
        "1234567890123456",
    )
    image = parse(IMAGE)
    assert (image.msg_type, image.pic_url, image.media_id) == ("image", "this is a url", "media_id")
    place = parse(LOCATION)
    assert (place.location_x, place.location_y, place.scale, place.label) == (
        23.134521,
        113.358803,
        20,
        "位置信息",
    )


def test_the_passive_reply_is_the_documented_xml() -> None:
    # The documented reply answers a message from "toUser" to the account "fromUser".
    asked = Message(to_user="fromUser", from_user="toUser", create_time=1, msg_type="text")
    assert text_reply(asked, "你好", 12345678) == REPLY
    # A text holding the CDATA terminator cannot break out of its section.
    tricky = text_reply(asked, "a]]><MsgType>x</MsgType>", 1)
    assert parse(tricky.encode()).content == "a]]><MsgType>x</MsgType>"


@pytest.mark.parametrize(
    "body",
    [
        b"not xml",
        b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'boom'>]>"
        b"<xml><ToUserName>&e;</ToUserName></xml>",
        b"<other/>",
        b"<xml><ToUserName>a</ToUserName></xml>",
    ],
)
def test_anything_else_is_not_a_message(body: bytes) -> None:
    with pytest.raises(MessageError):
        parse(body)


def test_the_dialogue_gathers_a_complaint_and_cancel_forgets_it() -> None:
    now = [0.0]
    talks = d.Dialogues(ttl=60, max_photos=2, clock=lambda: now[0])
    assert talks.on_text("o1", "你好").text == d.HELP
    assert talks.on_text("o1", "投诉").text == d.ASK_DESCRIPTION
    assert talks.on_text("o1", "小区水管漏水\n三天了没人修").text == d.ASK_LOCATION
    assert talks.on_location("o1", "幸福小区", 23.134521, 113.358803).text == d.ASK_PHONE
    assert talks.on_text("o1", "12345").text == d.NOT_A_PHONE
    assert "照片" in talks.on_text("o1", "139-1234-5678").text
    draft, refused = talks.photo_slot("o1")
    assert draft is not None and refused is None
    talks.add_photo(draft, {"sha256": "a"})
    reply = talks.on_text("o1", "提交")
    assert reply.submit is draft
    body = d.submission(draft, "o1")
    assert body == {
        "channel": "wechat",
        "complainant": {
            "wechat_openid": "o1",
            "preferred_channel": "wechat",
            "phone": "13912345678",
        },
        "subject": "小区水管漏水",
        "description": "小区水管漏水\n三天了没人修",
        "language": "zh-CN",
        "location": "幸福小区（23.134521, 113.358803）",
        "attachments": [{"sha256": "a"}],
    }
    assert talks.on_text("o1", "取消").text == d.CANCELLED
    assert talks.draft("o1") is None
    # Forgotten after the ttl without a message.
    talks.on_text("o2", "投诉")
    now[0] = 61
    assert talks.draft("o2") is None


def test_status_is_asked_with_the_number_as_typed() -> None:
    talks = d.Dialogues(ttl=60)
    assert talks.on_text("o1", "查询 TS2612-0001-23").status == "TS2612-0001-23"
    assert talks.on_text("o1", "查询：ts2612 0001 23").status == "ts2612 0001 23"


def test_the_status_reply_names_beijing_times() -> None:
    text = d.status_text(
        {
            "tracking_no": "TS2612-0001-23",
            "status": "accepted",
            "status_label": "已受理",
            "department": "water",
            "accepted_at": "2026-12-07T02:30:00Z",
            "feedback_due": "2026-12-28T23:59:59.999999+08:00",
            "fed_back_at": None,
        }
    )
    assert text.splitlines() == [
        "投诉编号 / No.: TS2612-0001-23",
        "状态 / Status: 已受理",
        "承办部门 / Department: water",
        "受理时间 / Accepted: 2026-12-07 10:30",
        "反馈期限 / Feedback due: 2026-12-28 23:59",
    ]


def test_a_photo_waits_for_the_phone_step() -> None:
    talks = d.Dialogues(ttl=60)
    assert talks.photo_slot("o1")[1] == d.Reply(d.PHOTO_NOT_NOW)
    talks.on_text("o1", "投诉")
    assert talks.photo_slot("o1")[1] == d.Reply(d.PHOTO_LATER)


def test_a_wechat_complainant_is_told_through_wechat_first() -> None:
    assert channel_for("wechat", False, True, False, has_wechat=True)[0] == NoticeChannel.WECHAT
    # Without an OpenID (a WeChat complaint staff registered): as before.
    assert channel_for("wechat", True, False, False)[0] == NoticeChannel.EMAIL
    assert channel_for("web", False, False, False, has_wechat=True)[0] == NoticeChannel.WEB


def test_the_template_message_is_the_documented_json() -> None:
    n = Notification(
        source_event_id=uuid.UUID(int=1),
        complaint_id=uuid.UUID(int=2),
        tracking_no="TS2612-0001-23",
        kind=NoticeKind.ACCEPTANCE,
        channel=NoticeChannel.WECHAT,
        recipient="oOPENID",
        title="投诉受理告知书",
        body="您好：您的投诉已受理。" * 30,
    )
    at = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)
    payload = template_payload(n, "oOPENID", "TEMPLATE_ID", at)
    assert set(payload) == {"touser", "template_id", "client_msg_id", "data"}
    assert payload["touser"] == "oOPENID" and payload["template_id"] == "TEMPLATE_ID"
    assert payload["client_msg_id"] == str(n.id)
    data = payload["data"]
    assert data["first"] == {"value": "投诉受理告知书"}
    assert data["keyword1"] == {"value": "TS2612-0001-23"}
    assert data["keyword2"] == {"value": "受理告知"}
    assert data["keyword3"] == {"value": "2026-12-07 10:30"}
    assert len(data["remark"]["value"]) == 180 and data["remark"]["value"].endswith("…")


def test_template_ids_per_kind_from_the_environment() -> None:
    section = WechatSection.model_validate({"templates": "acceptance=T1, default=T0"})
    assert section.template_for("acceptance") == "T1"
    assert section.template_for("result") == "T0"
    assert WechatSection().template_for("result") is None
    with pytest.raises(ValueError):
        WechatSection.model_validate({"templates": "acceptance"})
