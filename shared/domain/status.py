"""A complaint's states, with the names staff and the public see."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ROUTED = "routed"
    RETURNED = "returned"
    CLAIMED = "claimed"
    IN_HANDLING = "in_handling"
    EXTENSION_PENDING = "extension_pending"
    RESOLVED = "resolved"
    FED_BACK = "fed_back"
    REOPENED = "reopened"
    CLOSED = "closed"
    MERGED = "merged"

    def label(self, lang: str = "zh") -> str:
        return _LABELS[self][0 if lang.startswith("zh") else 1]


_LABELS: dict[Status, tuple[str, str]] = {
    Status.RECEIVED: ("待受理", "received"),
    Status.ACCEPTED: ("已受理", "accepted"),
    Status.REJECTED: ("不予受理", "rejected"),
    Status.ROUTED: ("已转办，待签收", "routed, awaiting claim"),
    Status.RETURNED: ("已退单", "returned"),
    Status.CLAIMED: ("已签收", "claimed"),
    Status.IN_HANDLING: ("处理中", "in handling"),
    Status.EXTENSION_PENDING: ("延期待审批", "extension pending"),
    Status.RESOLVED: ("已办理，待反馈", "resolved, feedback due"),
    Status.FED_BACK: ("已反馈，待回访", "fed back, follow-up due"),
    Status.REOPENED: ("重办中", "reopened"),
    Status.CLOSED: ("已办结", "closed"),
    Status.MERGED: ("已并案（重复件）", "merged (duplicate)"),
}

# Where the case is with a department that is expected to work on it.
HANDLING = frozenset({Status.CLAIMED, Status.IN_HANDLING, Status.REOPENED})
FINAL = frozenset({Status.REJECTED, Status.CLOSED})
