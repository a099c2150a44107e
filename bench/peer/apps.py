"""The peer's applications, written with the `eventsourcing` library: Intake receives
and accepts a submission; Routing, a process application following it, routes each
accepted complaint by keyword rules, tracking what it processed in the same
transaction as what it recorded (exactly once)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import yaml
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate, event
from eventsourcing.system import ProcessApplication
from eventsourcing.utils import get_topic

import tousu.services.routing as routing_package

RULES_FILE = Path(routing_package.__file__).parent / "data" / "rules.yaml"
COMPLAINTS = uuid5(NAMESPACE_URL, "tousu-bench-peer/complaint")
ASSIGNMENTS = uuid5(NAMESPACE_URL, "tousu-bench-peer/assignment")


def complaint_id(ref: str) -> UUID:
    return uuid5(COMPLAINTS, ref)


class Complaint(Aggregate):
    @event("Received")
    def __init__(self, ref: str, subject: str, description: str) -> None:
        self.ref = ref
        self.subject = subject
        self.description = description
        self.accepted = False

    @staticmethod
    def create_id(ref: str, **_: Any) -> UUID:
        # The submission's reference names the complaint: a resubmission is refused.
        return complaint_id(ref)

    @event("Accepted")
    def accept(self, subject: str, description: str) -> None:
        # What was accepted travels with the event, so routing needs no read.
        self.accepted = True


class Intake(Application[UUID]):
    def receive(self, ref: str, subject: str, description: str) -> UUID:
        complaint = Complaint(ref=ref, subject=subject, description=description)
        complaint.accept(subject, description)
        self.save(complaint)  # both events, one transaction
        return complaint.id


ACCEPTED_TOPIC = get_topic(Complaint.Accepted)  # type: ignore[attr-defined]


class Assignment(Aggregate):
    @event("Routed")
    def __init__(self, complaint: UUID, department: str, rule: str) -> None:
        self.complaint = complaint
        self.department = department
        self.rule = rule

    @staticmethod
    def create_id(complaint: UUID, **_: Any) -> UUID:
        # One assignment per complaint: a second would collide on (id, version 1).
        return uuid5(ASSIGNMENTS, str(complaint))


@dataclass(frozen=True)
class KeywordRule:
    id: str
    keywords: tuple[str, ...]
    department: str


@dataclass(frozen=True)
class Rules:
    rules: tuple[KeywordRule, ...]
    fallback: str

    def route(self, subject: str, description: str) -> tuple[str, str]:
        text = _fold(subject + "\n" + description)
        for rule in self.rules:
            if any(k in text for k in rule.keywords):
                return rule.department, rule.id
        return self.fallback, "fallback"


def _fold(text: str) -> str:
    # Full-width and half-width alike, as tousu's rules match.
    return unicodedata.normalize("NFKC", text).casefold()


def load_rules(path: Path = RULES_FILE) -> Rules:
    """tousu's rules file, its keyword-only rules (a faithful subset: the peer has no
    category, service item or location to match, and no returns to skip)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules = []
    for rule in data["rules"]:
        when = rule.get("when", {})
        if set(when) != {"keywords"}:
            continue
        keywords = when["keywords"]
        keywords = [keywords] if isinstance(keywords, str) else keywords
        rules.append(KeywordRule(rule["id"], tuple(_fold(k) for k in keywords), rule["department"]))
    return Rules(tuple(rules), data["fallback_department"])


class Routing(ProcessApplication[UUID]):
    topics = (ACCEPTED_TOPIC,)

    def __init__(self, env: Any = None) -> None:
        super().__init__(env)
        self.rules = load_rules()
        self.last_routed: UUID | None = None

    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        if not isinstance(domain_event, Complaint.Accepted):  # type: ignore[attr-defined]
            return
        department, rule = self.rules.route(domain_event.subject, domain_event.description)
        assignment = Assignment(
            complaint=domain_event.originator_id, department=department, rule=rule
        )
        processing_event.collect_events(assignment)
        self.last_routed = domain_event.originator_id
