"""Builds each decision's context: the current calendar (reloaded when an
operator imports a year), the applicable limits, the notice renderer, and the
references a command may name (departments and service items of the
commitment register, the taxonomy's codes, the staff accounts, reloaded when
they change)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import asyncpg

from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.calendar.repository import NOTIFY_CHANNEL, load_years
from tousu.shared.domain.complaint import DecisionContext, Limits
from tousu.shared.domain.context import (
    LateEntryRules,
    NoticeRenderer,
    any_category,
    any_department,
    any_handler,
    any_service_item,
    no_short_path,
    plain_notice,
)
from tousu.shared.events import utcnow
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.i18n import Localized
from tousu.shared.intake.notices import NoticeContacts, NoticeTexts
from tousu.shared.intake.taxonomy import Taxonomy, UnknownCode
from tousu.shared.logs import get_logger
from tousu.shared.settings import Settings
from tousu.shared.staff.directory import StaffDirectory
from tousu.shared.staff.repository import NOTIFY_CHANNEL as STAFF_CHANNEL
from tousu.shared.staff.repository import load_directory

log = get_logger(__name__)


def _allowed(codes: list[str]) -> str:
    return "allowed: " + ", ".join(codes)


def _shown(value: str) -> str:
    """``value`` quoted for a message, cut short: it is whatever was sent."""
    return repr(value if len(value) <= 64 else value[:64] + "…")


def classification_problem(
    taxonomy: Taxonomy, category: str, subcategory: str | None
) -> str | None:
    """Whether a classification names codes of the taxonomy: a category or an
    out-of-scope kind, and a subcategory of that category."""
    known = [c.code for c in taxonomy.categories]
    if category not in known:
        try:
            taxonomy.out_of_scope(category)
        except UnknownCode:
            kinds = [o.code for o in taxonomy.out_of_scope_kinds]
            return f"unknown category {_shown(category)}; {_allowed(known + kinds)}"
        if subcategory is not None:
            return f"{category} is out of scope and has no subcategories"
        return None
    if subcategory is not None:
        subs = [s.code for s in taxonomy.category(category).subcategories]
        if subcategory not in subs:
            return f"unknown subcategory {_shown(subcategory)} of {category}; {_allowed(subs)}"
    return None


def scope_problem(taxonomy: Taxonomy, category: str, subcategory: str | None) -> str | None:
    """The policy's scope check (受理范围) on an operator's classification."""
    unknown = classification_problem(taxonomy, category, subcategory)
    if unknown is not None:
        return unknown
    if not taxonomy.is_in_scope(category):
        return f"{category} is out of scope (不属于受理范围): reject it with a suggestion"
    return None


def department_problem(register: CommitmentRegister, department: str) -> str | None:
    """A case goes only to a department of the register: any other code is a
    case no department's staff can see."""
    codes = [d.code for d in register.departments]
    if department in codes:
        return None
    return f"unknown department {_shown(department)}; {_allowed(codes)}"


def service_item_problem(register: CommitmentRegister, item: str) -> str | None:
    codes = [i.code for i in register.items]
    if item in codes:
        return None
    return f"unknown service item {_shown(item)}; {_allowed(codes)}"


def late_entry_rules(settings: Settings) -> LateEntryRules:
    """The late-entry (补录) windows of the deployment (TOUSU_LATE_*)."""
    return LateEntryRules(
        grace=timedelta(seconds=settings.late_entry_grace_seconds),
        registration=timedelta(days=settings.late_registration_days),
        step_working_days=settings.late_step_working_days,
    )


def default_limits(_item: str | None) -> Limits:
    return Limits()


@dataclass
class ContextSource:
    calendar: WorkdayCalendar = field(default_factory=WorkdayCalendar)
    limits_for: Callable[[str | None], Limits] = default_limits
    render: NoticeRenderer = plain_notice
    register_version: int | None = None
    category_problem: Callable[[str, str | None], str | None] = any_category
    classification_problem: Callable[[str, str | None], str | None] = any_category
    department_problem: Callable[[str], str | None] = any_department
    service_item_problem: Callable[[str], str | None] = any_service_item
    late_entries: LateEntryRules = field(default_factory=LateEntryRules)
    short_path_allowed: Callable[[str | None], bool] = no_short_path
    # None until start(): a source that is not started (a tool, a test) checks
    # no handler; a service always starts it (shared/service.py).
    staff: StaffDirectory | None = None
    _listener: asyncpg.Connection | None = None
    _reloads: set[asyncio.Task[None]] = field(default_factory=set)
    # One query at a time on the listening connection (a calendar import and a
    # change of accounts may be notified together).
    _reading: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def for_settings(cls, settings: Settings) -> ContextSource:
        """The deployment's limits (commitment register) and notice texts."""
        register = CommitmentRegister.load()
        contacts = NoticeContacts(
            org_name=Localized(zh=settings.org_name_zh, en=settings.org_name_en),
            supervision_phone=settings.supervision_phone,
            supervision_email=settings.supervision_email,
            hotline=settings.hotline,
            lookup_url=settings.lookup_url,
        )
        taxonomy = Taxonomy.load()
        return cls(
            limits_for=register.limits_for,
            render=NoticeTexts(contacts, taxonomy=taxonomy, register=register),
            register_version=register.version,
            category_problem=partial(scope_problem, taxonomy),
            classification_problem=partial(classification_problem, taxonomy),
            department_problem=partial(department_problem, register),
            service_item_problem=partial(service_item_problem, register),
            late_entries=late_entry_rules(settings),
            short_path_allowed=register.allows_short_path,
        )

    def __call__(self) -> DecisionContext:
        return DecisionContext(
            calendar=self.calendar,
            now=utcnow(),
            limits_for=self.limits_for,
            render=self.render,
            register_version=self.register_version,
            category_problem=self.category_problem,
            classification_problem=self.classification_problem,
            department_problem=self.department_problem,
            service_item_problem=self.service_item_problem,
            staff_problem=self.staff.problem if self.staff is not None else any_handler,
            late_entries=self.late_entries,
            short_path_allowed=self.short_path_allowed,
        )

    async def start(self, database_url: str) -> None:
        """Load imported calendar years and the staff accounts, and keep them current."""
        self._listener = await asyncpg.connect(database_url)
        await self._listener.add_listener(NOTIFY_CHANNEL, self._on_import)
        # Listening before loading: a change committed in between is not missed.
        await self._listener.add_listener(STAFF_CHANNEL, self._on_staff_change)
        await self.reload()
        await self.reload_staff()

    async def reload(self) -> None:
        assert self._listener is not None
        async with self._reading:
            years = await load_years(self._listener)
        self.calendar = WorkdayCalendar(years)
        log.info("calendar loaded", imported_years=[y.year for y in years])

    async def reload_staff(self) -> None:
        assert self._listener is not None
        async with self._reading:
            self.staff = await load_directory(self._listener)
        log.info("staff accounts loaded", accounts=len(self.staff))

    def _on_import(self, *_: object) -> None:
        self._in_background(self.reload())

    def _on_staff_change(self, *_: object) -> None:
        self._in_background(self.reload_staff())

    def _in_background(self, reload: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(reload)
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
