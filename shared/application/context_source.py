"""Builds each decision's context: the current calendar (reloaded when an
operator imports a year), the applicable limits and the notice renderer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import asyncpg

from shared.calendar import WorkdayCalendar
from shared.calendar.repository import NOTIFY_CHANNEL, load_years
from shared.domain.complaint import DecisionContext, Limits
from shared.domain.context import LateEntryRules, NoticeRenderer, any_category, plain_notice
from shared.events import utcnow
from shared.intake.commitments import CommitmentRegister
from shared.intake.i18n import Localized
from shared.intake.notices import NoticeContacts, NoticeTexts
from shared.intake.taxonomy import Taxonomy, UnknownCode
from shared.logs import get_logger
from shared.settings import Settings

log = get_logger(__name__)


def scope_problem(taxonomy: Taxonomy, category: str, subcategory: str | None) -> str | None:
    """The policy's scope check (受理范围) on an operator's classification."""
    try:
        if not taxonomy.is_in_scope(category):
            return f"{category} is out of scope (不属于受理范围): reject it with a suggestion"
        if subcategory is not None:
            taxonomy.subcategory(category, subcategory)
    except UnknownCode as exc:
        return f"unknown {exc.what} {exc.code!r}"
    return None


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
    late_entries: LateEntryRules = field(default_factory=LateEntryRules)
    _listener: asyncpg.Connection | None = None
    _reloads: set[asyncio.Task[None]] = field(default_factory=set)

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
            late_entries=late_entry_rules(settings),
        )

    def __call__(self) -> DecisionContext:
        return DecisionContext(
            calendar=self.calendar,
            now=utcnow(),
            limits_for=self.limits_for,
            render=self.render,
            register_version=self.register_version,
            category_problem=self.category_problem,
            late_entries=self.late_entries,
        )

    async def start(self, database_url: str) -> None:
        """Load imported calendar years and keep them current."""
        self._listener = await asyncpg.connect(database_url)
        await self._listener.add_listener(NOTIFY_CHANNEL, self._on_import)
        await self.reload()

    async def reload(self) -> None:
        assert self._listener is not None
        years = await load_years(self._listener)
        self.calendar = WorkdayCalendar(years)
        log.info("calendar loaded", imported_years=[y.year for y in years])

    def _on_import(self, *_: object) -> None:
        task = asyncio.get_running_loop().create_task(self.reload())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
