"""The short guided dialogue that gathers a complaint in the chat, and the words the adapter says.

Why a dialogue rather than a link into the web form: filed here, the
complaint carries the sender's OpenID as its contact without any web sign-in
(WeChat's 网页授权 needs a verified service account and an OAuth round trip
in the gateway), so its notices come back as template messages in the same
chat; and a photo or a location is sent the way WeChat users send them. The
help text still names the web form (``TOUSU_WECHAT_FORM_URL``) for a longer
complaint.

Steps (each answer in one message; 取消 ends it at any step):

1. ``投诉`` → the problem, in the user's words (the first line is the subject);
2. where: a location message (＋ → 位置) or typed text, or 跳过;
3. a phone number for the follow-up call (回访), or 跳过;
4. photos (up to ``max_photos``), then 提交 files the complaint.

``查询 <投诉编号>`` answers where a complaint stands. A dialogue lives in this
process's memory and is forgotten ``ttl`` seconds after its last message:
it is a few minutes long, losing one to a restart costs the user a new
``投诉`` and no complaint, and the adapter then needs no table of its own
(and no access to tousu's database: it speaks only through the kit). It also
means one replica of the adapter, which is what an official account's one
server URL needs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

START = frozenset({"投诉", "我要投诉", "complaint", "complain"})
CANCEL = frozenset({"取消", "cancel"})
SKIP = frozenset({"跳过", "无", "没有", "skip"})
SUBMIT = frozenset({"提交", "完成", "submit", "done"})
# 查询 and the number as typed (full-width, spaced, lower case: intake reads it).
_STATUS = re.compile(r"^\s*(?:查询|query|status)\s*[:：]?\s*(?P<no>\S.{2,39}?)\s*$", re.I)
_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{6,19}$")
SUBJECT_CHARS = 30
BEIJING = ZoneInfo("Asia/Shanghai")


class Step(StrEnum):
    DESCRIPTION = "description"
    LOCATION = "location"
    PHONE = "phone"
    PHOTOS = "photos"


@dataclass
class Draft:
    """A complaint being gathered from one sender."""

    step: Step = Step.DESCRIPTION
    description: str | None = None
    location: str | None = None
    phone: str | None = None
    photos: list[dict[str, Any]] = field(default_factory=list)
    touched: float = 0.0


@dataclass(frozen=True)
class Reply:
    """What the adapter answers a message with, and what it must do first."""

    text: str
    # File this draft (then say the tracking number).
    submit: Draft | None = None
    # Look this tracking number up (then say where it stands).
    status: str | None = None


HELP = (
    "您好，这里是投诉受理。\n"
    "· 发送“投诉”开始投诉，按提示说明问题、地点，可附照片；\n"
    "· 发送“查询 投诉编号”查看办理进度。\n"
    "Send 投诉 to file a complaint, 查询 <tracking no.> to see where it stands."
)
ASK_DESCRIPTION = (
    "请描述您要投诉的问题（第一行作为标题）。随时发送“取消”可放弃。\n"
    "Describe the problem (the first line is its title). Send 取消 to cancel."
)
ASK_LOCATION = (
    "问题发生在哪里？请发送位置（点击＋→位置），或输入地点；没有请回复“跳过”。\n"
    "Where? Send a location (+ → Location) or type it; 跳过 to skip."
)
ASK_PHONE = (
    "请留下联系电话，便于回访；不便留下请回复“跳过”（结果将通过本公众号通知您）。\n"
    "A phone number for the follow-up call, or 跳过 (we will tell you here)."
)
ASK_PHOTOS = (
    "如有现场照片，请现在发送（最多{max}张）；发完或没有照片请回复“提交”。\n"
    "Send photos now (up to {max}), then 提交 to file the complaint."
)
CANCELLED = "已取消，本次内容未提交。\nCancelled; nothing was filed."
NOT_A_PHONE = "电话号码格式不对，请重新输入，或回复“跳过”。\nNot a phone number; again, or 跳过."
PHOTO_NOT_NOW = "请先发送“投诉”开始投诉，再发送照片。\nSend 投诉 first, then the photos."
TOO_MANY_PHOTOS = "照片已达{max}张，请回复“提交”。\nThat is {max} photos; send 提交."
PHOTO_RECEIVED = "已收到第{n}张照片。继续发送，或回复“提交”。\nPhoto {n} received; more, or 提交."
PHOTO_LATER = (
    "请先回答上面的问题，稍后再发送照片。\nAnswer the question above first; photos come last."
)
LOCATION_NOT_NOW = "已收到位置。发送“投诉”开始投诉。\nLocation received; send 投诉 to start."


def filed(tracking_no: str) -> str:
    return (
        f"投诉已提交，投诉编号：{tracking_no}。受理结果和办理进度将通过本公众号通知您；"
        f"发送“查询 {tracking_no}”可随时查看。\n"
        f"Filed: {tracking_no}. We will tell you here; send 查询 {tracking_no} any time."
    )


class Dialogues:
    """Every sender's dialogue in progress, by OpenID; each forgotten ``ttl`` seconds after
    its last message."""

    def __init__(
        self, ttl: float, max_photos: int = 9, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_photos = max_photos
        self._clock = clock
        self._drafts: dict[str, Draft] = {}

    def draft(self, openid: str) -> Draft | None:
        """The sender's dialogue in progress, if any (an expired one is dropped)."""
        self._expire()
        found = self._drafts.get(openid)
        if found is not None:
            found.touched = self._clock()
        return found

    def forget(self, openid: str) -> None:
        self._drafts.pop(openid, None)

    def __len__(self) -> int:
        self._expire()
        return len(self._drafts)

    def _expire(self) -> None:
        cutoff = self._clock() - self.ttl
        for openid in [o for o, d in self._drafts.items() if d.touched < cutoff]:
            del self._drafts[openid]

    # -- what the sender says ----------------------------------------------------------
    def on_text(self, openid: str, text: str) -> Reply:
        said = text.strip()
        word = said.lower()
        status = _STATUS.match(said)
        if status is not None:
            return Reply("", status=status.group("no"))
        draft = self.draft(openid)
        if word in CANCEL and draft is not None:
            self.forget(openid)
            return Reply(CANCELLED)
        if word in START:
            self._drafts[openid] = Draft(touched=self._clock())
            return Reply(ASK_DESCRIPTION)
        if draft is None:
            return Reply(HELP)
        match draft.step:
            case Step.DESCRIPTION:
                draft.description = said
                draft.step = Step.LOCATION
                return Reply(ASK_LOCATION)
            case Step.LOCATION:
                draft.location = None if word in SKIP else said
                draft.step = Step.PHONE
                return Reply(ASK_PHONE)
            case Step.PHONE:
                if word not in SKIP:
                    if not _PHONE.match(said):
                        return Reply(NOT_A_PHONE)
                    draft.phone = re.sub(r"[\- ]", "", said)
                draft.step = Step.PHOTOS
                return Reply(ASK_PHOTOS.format(max=self.max_photos))
            case Step.PHOTOS:
                if word in SUBMIT or word in SKIP:
                    return Reply("", submit=draft)
                return Reply(ASK_PHOTOS.format(max=self.max_photos))

    def on_location(self, openid: str, label: str | None, lat: float, lng: float) -> Reply:
        draft = self.draft(openid)
        if draft is None:
            return Reply(LOCATION_NOT_NOW)
        place = f"{label}（{lat:.6f}, {lng:.6f}）" if label else f"{lat:.6f}, {lng:.6f}"
        # Sent at any step before the photos, it is the place; it answers the
        # location step, or is kept for it.
        draft.location = place
        if draft.step == Step.LOCATION:
            draft.step = Step.PHONE
            return Reply(ASK_PHONE)
        return Reply("已记录位置。\nLocation noted.")

    def photo_slot(self, openid: str) -> tuple[Draft | None, Reply | None]:
        """Whether a photo is welcome now: the draft it goes to, or the reply why not."""
        draft = self.draft(openid)
        if draft is None:
            return None, Reply(PHOTO_NOT_NOW)
        if draft.step != Step.PHOTOS:
            # Uploaded with the contact the complaint will carry (the file is
            # sealed with that person's key), so only once it is known.
            return None, Reply(PHOTO_LATER)
        if len(draft.photos) >= self.max_photos:
            return None, Reply(TOO_MANY_PHOTOS.format(max=self.max_photos))
        return draft, None

    def add_photo(self, draft: Draft, ref: dict[str, Any]) -> Reply:
        draft.photos.append(ref)
        return Reply(PHOTO_RECEIVED.format(n=len(draft.photos)))


def submission(draft: Draft, openid: str) -> dict[str, Any]:
    """The submission a finished draft files (``shared/intake/submission.py``'s
    shape, validated by the kit against the shipped schema)."""
    description = (draft.description or "").strip()
    first = description.splitlines()[0].strip() if description else ""
    subject = first[:SUBJECT_CHARS] or "微信投诉"
    complainant: dict[str, Any] = {"wechat_openid": openid, "preferred_channel": "wechat"}
    if draft.phone:
        complainant["phone"] = draft.phone
    body: dict[str, Any] = {
        "channel": "wechat",
        "complainant": complainant,
        "subject": subject,
        "description": description or subject,
        "language": "zh-CN",
    }
    if draft.location:
        body["location"] = draft.location[:500]
    if draft.photos:
        body["attachments"] = list(draft.photos)
    return body


def status_text(found: dict[str, Any]) -> str:
    """The reply to ``查询``: where the complaint stands, in Chinese and English."""
    lines = [f"投诉编号 / No.: {found.get('tracking_no')}"]
    lines.append(f"状态 / Status: {found.get('status_label') or found.get('status')}")
    if found.get("department"):
        lines.append(f"承办部门 / Department: {found['department']}")
    for key, label in (
        ("accepted_at", "受理时间 / Accepted"),
        ("feedback_due", "反馈期限 / Feedback due"),
        ("fed_back_at", "反馈时间 / Fed back"),
    ):
        if found.get(key):
            lines.append(f"{label}: {_day(found[key])}")
    return "\n".join(lines)


def _day(value: Any) -> str:
    """An ISO instant as its date and minute in Beijing time (deadlines are Beijing days)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M")


NOT_FOUND = (
    "未找到该投诉编号，或该投诉不是通过本公众号提交的。\n"
    "No such complaint filed through this account."
)
STATUS_UNAVAILABLE = "暂时无法查询，请稍后再试。\nCannot look it up just now; try again shortly."
BUSY = "系统繁忙，请稍后再试（回复“提交”可重新提交）。\nBusy; try again shortly (提交 again)."
