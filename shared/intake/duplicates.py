"""Suggesting that a new complaint repeats a recent one (重复件).

A match needs both: the same complainant (the same phone number, the same
e-mail address, or the same name at the same address) and a similar text,
within a window (30 days). It is a suggestion for staff, who merge or not.

Similarity is the Dice coefficient of the texts' sets of characters and
character pairs, after dropping complaint boilerplate (投诉, 反映, 工作人员 …)
and function characters (的, 了, 在 …) that every complaint shares. Character
n-grams need no word segmentation and survive rephrasing well; the threshold
is calibrated on the examples in ``tests/unit/test_intake_data.py``: rephrased
complaints score 0.45 and above, different complaints by the same person about
the same office up to 0.37. Two short texts that mostly name the same place
(政务服务中心3号窗口 …) can pass it with different problems; staff decide.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tousu.shared.events.types import Complainant

DEFAULT_WINDOW_DAYS = 30
DEFAULT_THRESHOLD = 0.42

# Words nearly every complaint uses; kept short on purpose, every entry is a
# guess about what carries no meaning for telling two complaints apart.
_BOILERPLATE = (
    "来电人",
    "来电",
    "市民",
    "反映",
    "投诉",
    "举报",
    "工作人员",
    "要求",
    "希望",
    "尽快",
    "处理",
    "办理",
    "一直",
    "没有",
    "现在",
    "已经",
    "我们",
    "你们",
    "他们",
)
_FUNCTION_CHARS = frozenset(
    "的了在是也都还就和与及时后说我你他她它这那有个把被让给对从到又再很太吗呢吧啊请"
)
_NOT_WORD = re.compile(r"[^0-9a-z\u3400-\u9fff]+")


class ContactKey(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    NAME_ADDRESS = "name_address"


_REASON_LABELS: dict[ContactKey, tuple[str, str]] = {
    ContactKey.PHONE: ("同一联系电话", "same phone number"),
    ContactKey.EMAIL: ("同一电子邮箱", "same e-mail address"),
    ContactKey.NAME_ADDRESS: ("同一姓名和地址", "same name and address"),
}


def normalize_phone(phone: str) -> str | None:
    """Digits only, without the +86 / 0086 country code; None if too short to mean anything."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone))
    for code in ("0086", "86"):
        # Only when a full national number (10 or 11 digits) remains after it.
        if digits.startswith(code) and len(digits) - len(code) >= 10:
            digits = digits[len(code) :]
            break
    return digits if len(digits) >= 7 else None


def normalize_email(email: str) -> str | None:
    folded = unicodedata.normalize("NFKC", email).strip().lower()
    return folded if "@" in folded else None


def _normalize_words(text: str | None) -> str | None:
    if text is None:
        return None
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()
    return folded or None


@dataclass(frozen=True, slots=True)
class DuplicateCandidate:
    complaint_id: str
    received_at: datetime
    text: str  # subject and description
    phone: str | None = None
    email: str | None = None
    name: str | None = None
    address: str | None = None

    @classmethod
    def of(
        cls,
        complaint_id: str,
        received_at: datetime,
        complainant: Complainant,
        subject: str,
        description: str,
    ) -> DuplicateCandidate:
        return cls(
            complaint_id=complaint_id,
            received_at=received_at,
            text=f"{subject}\n{description}",
            phone=complainant.phone,
            email=complainant.email,
            name=complainant.name,
            address=complainant.address,
        )

    def contact_keys(self) -> dict[ContactKey, str]:
        keys: dict[ContactKey, str] = {}
        if self.phone and (phone := normalize_phone(self.phone)):
            keys[ContactKey.PHONE] = phone
        if self.email and (email := normalize_email(self.email)):
            keys[ContactKey.EMAIL] = email
        name, address = _normalize_words(self.name), _normalize_words(self.address)
        if name and address:
            keys[ContactKey.NAME_ADDRESS] = f"{name}|{address}"
        return keys


@dataclass(frozen=True, slots=True)
class DuplicateMatch:
    complaint_id: str  # the earlier complaint
    score: float  # text similarity, 0..1
    matched_on: tuple[ContactKey, ...]

    def reason(self, lang: str = "zh") -> str:
        zh = lang.lower().startswith("zh")
        labels = [_REASON_LABELS[k][0 if zh else 1] for k in self.matched_on]
        if zh:
            return f"{'、'.join(labels)}，内容相似度 {self.score:.0%}"
        return f"{', '.join(labels)}; text similarity {self.score:.0%}"


def _features(text: str) -> frozenset[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    for word in _BOILERPLATE:
        folded = folded.replace(word, " ")
    features: set[str] = set()
    # Pairs never span punctuation or a dropped word: they were not adjacent in meaning.
    for run in _NOT_WORD.split(folded):
        chars = [c for c in run if c not in _FUNCTION_CHARS]
        features.update(chars)
        features.update(
            run[i : i + 2]
            for i in range(len(run) - 1)
            if run[i] not in _FUNCTION_CHARS and run[i + 1] not in _FUNCTION_CHARS
        )
    return frozenset(features)


def similarity(a: str, b: str) -> float:
    """How alike two complaint texts are, 0 (nothing shared) to 1 (same wording)."""
    fa, fb = _features(a), _features(b)
    if not fa or not fb:
        return 0.0
    return 2 * len(fa & fb) / (len(fa) + len(fb))


def find_duplicates(
    candidate: DuplicateCandidate,
    recent: Iterable[DuplicateCandidate],
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[DuplicateMatch]:
    """Recent complaints the candidate probably repeats, most similar first.

    ``recent`` may hold anything (the caller need not pre-filter); only those
    received within ``window_days`` before ``now`` count (or after it: a
    letter typed in late may be older than complaints already stored). A
    complainant with no contact details (anonymous) matches nothing.
    """
    keys = candidate.contact_keys()
    if not keys:
        return []
    since = now - timedelta(days=window_days)
    matches: list[DuplicateMatch] = []
    for other in recent:
        if other.complaint_id == candidate.complaint_id or other.received_at < since:
            continue
        other_keys = other.contact_keys()
        shared = tuple(k for k in ContactKey if k in keys and other_keys.get(k) == keys[k])
        if not shared:
            continue
        score = similarity(candidate.text, other.text)
        if score >= threshold:
            matches.append(DuplicateMatch(other.complaint_id, score, shared))
    matches.sort(key=lambda m: (-m.score, m.complaint_id))
    return matches
