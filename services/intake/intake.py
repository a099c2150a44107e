"""Registering a submission as a complaint: ids, the access code, optional
auto-acceptance, and duplicate suggestions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry

from tousu.services.followup.code_notice import enqueue_code_notice
from tousu.shared.application.executor import CommandExecutor, Outcome
from tousu.shared.domain import commands as c
from tousu.shared.domain.context import NoticeRenderer
from tousu.shared.domain.errors import DomainError, InvalidCommand
from tousu.shared.domain.state import replay
from tousu.shared.events import SYSTEM_ACTOR, Actor, Envelope, complaint_stream, utcnow
from tousu.shared.events.types import Complainant, DeadlineKind
from tousu.shared.group_commit import GroupCommit
from tousu.shared.intake.duplicate_search import repeats_of
from tousu.shared.intake.duplicates import normalize_email, normalize_phone
from tousu.shared.intake.identifiers import (
    hash_access_code,
    new_access_code,
    new_tracking_no,
    normalize_tracking_no,
)
from tousu.shared.intake.submission import Submission, complaint_reference
from tousu.shared.intake.taxonomy import Taxonomy, UnknownCode
from tousu.shared.intake.tracking_numbers import complaint_of
from tousu.shared.store import ConcurrencyConflict, UnitOfWork
from tousu.shared.store.postgres import Connection, PgUnitOfWork, PostgresEventStore

# Complaint ids of resendable submissions derive from "<channel>:<external_ref>".
SUBMISSION_NAMESPACE = uuid.UUID("9b0e7c1e-5a52-4a55-9a3f-3f1f1c7a2d10")
TRACKING_NO_TRIES = 5


class InvalidSubmission(DomainError):
    code = "validation_error"
    http_status = 422

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(
            "the submission lacks what its channel needs",
            fields=[{"field": f, "message": m, "type": "missing"} for f, m in problems],
        )
        self.problems = problems


@dataclass(frozen=True)
class Registration:
    """A submission ready to be written: everything drawn and read beforehand."""

    complaint_id: uuid.UUID
    # The complaint's stream as known before the transaction; None: read it
    # in the transaction (a resendable submission's complaint may exist).
    history: list[Envelope] | None
    submission: Submission
    actor: Actor
    received_at: datetime
    tracking_no: str
    code_hash: str
    # The complaint a 监督举报 names (related_tracking_no), None if it names none.
    related_complaint_id: str | None = None
    # In memory only: sealed into the access-code notice (followup's code_notice.py).
    access_code: str = field(default="", repr=False)


@dataclass(frozen=True)
class Submitted:
    complaint_id: uuid.UUID
    tracking_no: str
    access_code: str | None  # shown once; None when the submission was a resend
    status: str
    acceptance_due: datetime | None
    repeated: bool = False
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "complaint_id": str(self.complaint_id),
            "tracking_no": self.tracking_no,
            "access_code": self.access_code,
            "status": self.status,
            "acceptance_due": self.acceptance_due.isoformat() if self.acceptance_due else None,
            "repeated": self.repeated,
            "duplicates": self.duplicates,
            "suggestions": self.suggestions,
        }


def complaint_id_for(submission: Submission) -> uuid.UUID:
    if submission.external_ref:
        reference = complaint_reference(submission.external_ref)
        key = f"{submission.channel.value}:{reference}"
        return uuid.uuid5(SUBMISSION_NAMESPACE, key)
    return uuid.uuid4()


class Intake:
    def __init__(
        self,
        store: PostgresEventStore,
        executor: CommandExecutor,
        *,
        access_code_key: bytes,
        auto_accept: bool = False,
        taxonomy: Taxonomy | None = None,
        group_commit: int = 1,
        registry: CollectorRegistry | None = None,
        render: NoticeRenderer | None = None,
    ) -> None:
        self._store = store
        self._executor = executor
        self._access_code_key = access_code_key
        self._auto_accept = auto_accept
        self._taxonomy = taxonomy or Taxonomy.load()
        # Renders the access-code notice of a staff-registered complaint;
        # None (tools, tests): no such notice.
        self._render = render
        # Submissions arriving together (a channel's fetch, concurrent requests)
        # are written in shared transactions; a refused one (a tracking number
        # drawn twice, a resend racing its original) rolls its batch back and
        # each is written again on its own, failing alone.
        self._registrations: GroupCommit[Registration, Outcome] = GroupCommit(
            "intake:registrations",
            self._register_many,
            self._register,
            max_batch=group_commit,
            registry=registry,
        )

    async def submit(
        self, submission: Submission, actor: Actor, *, details: bool = True
    ) -> Submitted:
        """Register ``submission``; ``details``: also look for duplicates and
        suggest categories, for a caller that shows them (a channel does not)."""
        problems = submission.missing()
        if problems:
            raise InvalidSubmission(problems)
        complaint_id = complaint_id_for(submission)
        # A complaint named by a fresh random id has no history; one named by
        # the submission's external_ref may exist already (a resend): its
        # stream is read in the registration's transaction, which answers a
        # resend with the complaint it names and writes nothing. Either way
        # the append refuses if the stream has moved (two resends at once).
        history: list[Envelope] | None = [] if submission.external_ref is None else None
        code = new_access_code()
        code_hash = hash_access_code(code, self._access_code_key)
        received_at = submission.received_at or utcnow()
        number, related = await self._related(submission.related_tracking_no)
        if number is not None:
            # Recorded as printed, however it was typed.
            submission = submission.model_copy(update={"related_tracking_no": number})
        for _ in range(TRACKING_NO_TRIES):
            tracking_no = new_tracking_no(received_at)
            registration = Registration(
                complaint_id,
                history,
                submission,
                actor,
                received_at,
                tracking_no,
                code_hash,
                related,
                access_code=code,
            )
            try:
                outcome = await self._registrations.handle(registration)
            except asyncpg.UniqueViolationError:
                continue  # the tracking number was taken: draw again
            except ConcurrencyConflict:
                # The same submission arrived twice at once; the other one won.
                state = await self._executor.load(complaint_id)
                return _submitted(complaint_id, state, None, repeated=True)
            except InvalidCommand as refusal:
                # The command's occurred_at is the submission's received_at
                # (e.g. a letter registered too late for staff to do alone).
                if refusal.field == "occurred_at":
                    raise InvalidCommand("received_at", str(refusal)) from None
                raise
            if outcome.repeated:  # a resend: the complaint it names, nothing new
                return _submitted(complaint_id, outcome.state, None, repeated=True)
            if not details:
                return _submitted(complaint_id, outcome.state, code)
            return replace(
                _submitted(complaint_id, outcome.state, code),
                duplicates=await self._duplicates(complaint_id, submission, received_at),
                suggestions=self._suggestions(submission),
            )
        raise RuntimeError("could not draw an unused tracking number")

    async def _related(self, tracking_no: str | None) -> tuple[str | None, str | None]:
        """(the tracking number in its printed form, the complaint it belongs
        to); the decider refuses a number that belongs to none."""
        number = normalize_tracking_no(tracking_no) if tracking_no is not None else None
        if number is None:
            return None, None
        found = await complaint_of(self._store.pool, number)
        return number, str(found) if found is not None else None

    async def _register(self, registration: Registration) -> Outcome:
        async with self._store.unit_of_work() as uow:
            return await self._register_in(uow, registration)

    async def _register_many(self, registrations: Sequence[Registration]) -> list[Outcome]:
        async with self._store.unit_of_work() as uow:
            return [await self._register_in(uow, r) for r in registrations]

    async def _register_in(self, uow: UnitOfWork, r: Registration) -> Outcome:
        history = r.history
        if history is None:
            history = await uow.read_stream(complaint_stream(r.complaint_id))
            existing = replay(history)
            if existing.exists:
                return Outcome(r.complaint_id, existing, [], repeated=True)
        submission = r.submission
        command = c.SubmitComplaint(
            **submission.model_dump(exclude={"received_at", "complainant"}),
            complainant=_normalized(submission.complainant),
            actor=r.actor,
            occurred_at=r.received_at,
            tracking_no=r.tracking_no,
            access_code_hash=r.code_hash,
            related_complaint_id=r.related_complaint_id,
        )

        async def reserve(conn: Connection) -> None:
            await conn.execute(
                "INSERT INTO tracking_numbers (tracking_no, complaint_id) VALUES ($1, $2)",
                r.tracking_no,
                r.complaint_id,
            )

        outcome = await self._executor.execute_in(uow, r.complaint_id, command, history=history)
        assert isinstance(uow, PgUnitOfWork)  # the reservation is SQL
        uow.defer(reserve)
        if self._render is not None and outcome.events and not outcome.repeated:
            due = outcome.state.deadlines.get(DeadlineKind.ACCEPTANCE)
            enqueue_code_notice(
                uow,
                outcome.events[0],
                _normalized(submission.complainant),
                r.access_code,
                due.due_at if due else None,
                self._render,
            )
        if self._accepts_automatically(submission):
            accept = c.AcceptComplaint(
                actor=SYSTEM_ACTOR,
                occurred_at=r.received_at,
                category=str(submission.category),
                subcategory=submission.subcategory,
                service_item=submission.service_item,
                verification_note="自动受理：信息完整且属于受理范围",
                causation_id=outcome.events[0].event_id,
                correlation_id=outcome.events[0].correlation_id,
            )
            outcome = await self._executor.execute_in(
                uow, r.complaint_id, accept, history=[*history, *outcome.events]
            )
        return outcome

    def _accepts_automatically(self, submission: Submission) -> bool:
        if not self._auto_accept or not submission.category:
            return False
        try:
            return self._taxonomy.is_in_scope(submission.category)
        except UnknownCode:
            return False

    def _suggestions(self, submission: Submission) -> list[dict[str, Any]]:
        text = f"{submission.subject}\n{submission.description}"
        return [
            {
                "category": s.category,
                "subcategory": s.subcategory,
                "out_of_scope": s.out_of_scope,
                "in_scope": s.in_scope,
                "score": round(s.score, 3),
            }
            for s in self._taxonomy.suggest(text, limit=3)
        ]

    async def _duplicates(
        self, complaint_id: uuid.UUID, submission: Submission, received_at: datetime
    ) -> list[dict[str, Any]]:
        found = await repeats_of(
            self._store.pool,
            complaint_id,
            _normalized(submission.complainant),
            submission.subject,
            submission.description,
            received_at,
        )
        return [
            {
                "complaint_id": r.match.complaint_id,
                "tracking_no": r.tracking_no,
                "score": round(r.match.score, 3),
                "reason": r.match.reason("zh"),
            }
            for r in found
        ]


def _normalized(who: Complainant) -> Complainant:
    return who.model_copy(
        update={
            "phone": normalize_phone(who.phone) if who.phone else None,
            "email": normalize_email(who.email) if who.email else None,
        }
    )


def _submitted(
    complaint_id: uuid.UUID, state: Any, access_code: str | None, *, repeated: bool = False
) -> Submitted:
    due = state.deadlines.get(DeadlineKind.ACCEPTANCE)
    return Submitted(
        complaint_id=complaint_id,
        tracking_no=state.tracking_no,
        access_code=access_code,
        status=state.status.value,
        acceptance_due=due.due_at if due else None,
        repeated=repeated,
    )
