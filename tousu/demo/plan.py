"""Which demo complaints to make: their submissions, start times and outcomes.

Deterministic for a seed, apart from "now", which anchors the time window.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tousu.demo.data import (
    COMMUNITIES,
    DISTRICTS,
    GIVEN,
    OUT_OF_SCOPE,
    ROADS,
    SURNAMES,
    TOPICS,
    Topic,
)
from tousu.shared.events.types import Channel

WINDOW_DAYS = 40


class Outcome(StrEnum):
    CLOSED = "closed"
    REJECTED = "rejected"
    REOPENED = "reopened"
    RETURNED = "returned"
    EXTENDED = "extended"
    EXTENSION_REFUSED = "extension_refused"
    LATE = "late"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Outcome.CLOSED: "回访满意，办结",
    Outcome.REJECTED: "不予受理（告知解决途径）",
    Outcome.REOPENED: "回访不满意，重办后办结",
    Outcome.RETURNED: "退单后重新转办，办结",
    Outcome.EXTENDED: "延期获批，办结",
    Outcome.EXTENSION_REFUSED: "延期未获批，办结",
    Outcome.LATE: "超期未办结",
}
# Every outcome once first (given enough complaints), so that a small demo
# still shows each; then mostly closed, as in a service that works.
_FIRST = (
    Outcome.CLOSED,
    Outcome.REJECTED,
    Outcome.REOPENED,
    Outcome.RETURNED,
    Outcome.EXTENDED,
    Outcome.EXTENSION_REFUSED,
    Outcome.LATE,
)
_WEIGHTS = {
    Outcome.CLOSED: 60,
    Outcome.REJECTED: 8,
    Outcome.REOPENED: 7,
    Outcome.RETURNED: 7,
    Outcome.EXTENDED: 6,
    Outcome.EXTENSION_REFUSED: 4,
    Outcome.LATE: 8,
}
_CHANNELS = (Channel.PHONE, Channel.WEB, Channel.WECHAT, Channel.LETTER, Channel.WALK_IN)


@dataclass(frozen=True)
class DemoCase:
    index: int
    outcome: Outcome
    channel: Channel
    submission: dict[str, Any]  # as intake's submit takes it
    topic: Topic | None  # None: out of scope
    out_of_scope: str | None  # the taxonomy's out-of-scope kind
    received_at: datetime
    # The last instant its commands may carry: a late case stops early, so
    # that its deadlines pass while it waits.
    until: datetime


def plan(n: int, seed: int, now: datetime) -> list[DemoCase]:
    rng = random.Random(seed)
    outcomes = list(_FIRST[:n])
    outcomes += rng.choices(list(_WEIGHTS), weights=list(_WEIGHTS.values()), k=n - len(outcomes))
    rng.shuffle(outcomes)
    return [_case(i, outcome, rng, now) for i, outcome in enumerate(outcomes)]


def _case(index: int, outcome: Outcome, rng: random.Random, now: datetime) -> DemoCase:
    channel = _CHANNELS[index % len(_CHANNELS)]
    if outcome == Outcome.LATE:
        # Past the 15-working-day feedback deadline by now.
        received = now - timedelta(days=rng.uniform(26, WINDOW_DAYS))
        until = received + timedelta(days=3)
    else:
        received = now - timedelta(days=rng.uniform(1, WINDOW_DAYS))
        until = now - timedelta(minutes=2)
    received = received.replace(microsecond=0)
    topic: Topic | None = None
    kind: str | None = None
    if outcome == Outcome.REJECTED:
        subject, description, kind = rng.choice(OUT_OF_SCOPE)
        body: dict[str, Any] = {"subject": subject, "description": description}
    else:
        # A case the fallback department returns has nowhere left to go.
        pool = [
            t for t in TOPICS if outcome != Outcome.RETURNED or t.department != "service_center"
        ]
        topic = rng.choice(pool)
        body = {"subject": topic.subject, "description": topic.description}
        if topic.location:
            body["location"] = topic.location
        if topic.demands:
            body["demands"] = topic.demands
    submission = {
        "channel": channel.value,
        "external_ref": f"demo-{received:%y%m%d}-{index:04d}-{rng.getrandbits(32):08x}",
        "received_at": received.isoformat(),
        "complainant": complainant(channel, rng),
        **body,
    }
    return DemoCase(index, outcome, channel, submission, topic, kind, received, until)


def complainant(channel: Channel, rng: random.Random) -> dict[str, Any]:
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    phone = "138" + "".join(rng.choice("0123456789") for _ in range(8))
    address = (
        f"某市{rng.choice(DISTRICTS)}{rng.choice(ROADS)}{rng.randint(1, 300)}号"
        f"{rng.choice(COMMUNITIES)}{rng.randint(1, 20)}栋{rng.randint(1, 30)}0{rng.randint(1, 4)}室"
    )
    match channel:
        case Channel.PHONE:
            return {"name": name, "phone": phone}
        case Channel.WEB:
            return {"name": name, "email": f"user{rng.randint(1000, 9999)}@example.com"}
        case Channel.WECHAT:
            return {"phone": phone} if rng.random() < 0.7 else {"anonymous": True}
        case Channel.LETTER:
            return {"name": name, "address": address}
        case _:
            return {"name": name, "phone": phone, "address": address}
