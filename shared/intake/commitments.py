"""The service-commitment register (服务承诺): service items, their standards,
and the working-day limits their standards set for complaint deadlines.

The data lives in ``data/commitments.yaml``; see its header for the rules of
editing it.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from tousu.shared.datafiles import load_packaged, parse_yaml, validate
from tousu.shared.domain.context import Limits
from tousu.shared.intake.i18n import Localized, normalize_lang
from tousu.shared.intake.taxonomy import UnknownCode

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
DATA_FILE = "commitments.yaml"
# docs/design.md ("What the system does") names both: the fallback when no
# rule routes a case, and the office that arbitrates returns and handles
# supervision reports.
FALLBACK_DEPARTMENT = "service_center"
SUPERVISION_DEPARTMENT = "supervision"


DEFAULT_LIMITS = Limits()


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Department(_Model):
    code: Code
    name: Localized


class Standards(_Model):
    """服务标准: free text for the public, day counts for the deadlines."""

    efficiency: Localized
    quality: Localized
    attitude: Localized
    acceptance_days: int = Field(DEFAULT_LIMITS.acceptance_days, ge=1, le=60)
    claim_days: int = Field(DEFAULT_LIMITS.claim_days, ge=1, le=60)
    return_days: int = Field(DEFAULT_LIMITS.return_days, ge=1, le=60)
    feedback_days: int = Field(DEFAULT_LIMITS.feedback_days, ge=1, le=60)
    follow_up_days: int = Field(DEFAULT_LIMITS.follow_up_days, ge=1, le=60)
    # docs/design.md, "Deadlines": extensions are 10 working days at most in
    # total; an item may promise less.
    max_extension_days: int = Field(DEFAULT_LIMITS.max_extension_days, ge=0, le=10)

    def limits(self) -> Limits:
        return Limits(
            acceptance_days=self.acceptance_days,
            claim_days=self.claim_days,
            return_days=self.return_days,
            feedback_days=self.feedback_days,
            follow_up_days=self.follow_up_days,
            max_extension_days=self.max_extension_days,
        )


class ServiceItem(_Model):
    code: Code
    name: Localized
    department: Code
    serves: Localized  # 服务对象
    content: Localized  # 服务内容
    process: tuple[Localized, ...] = Field(min_length=1)  # 服务流程, in order
    standards: Standards  # 服务标准
    # A simple complaint may be resolved after the investigation alone
    # (shared/domain/handling_order.py).
    short_path: bool = False


class _RegisterData(_Model):
    version: int = Field(ge=1)
    published_on: date
    departments: tuple[Department, ...] = Field(min_length=1)
    items: tuple[ServiceItem, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        departments = [d.code for d in self.departments]
        problems = [
            f"department {code!r} is listed twice"
            for i, code in enumerate(departments)
            if code in departments[:i]
        ]
        problems += [
            f"department {code!r} is required"
            for code in (FALLBACK_DEPARTMENT, SUPERVISION_DEPARTMENT)
            if code not in departments
        ]
        items = [i.code for i in self.items]
        problems += [
            f"item {code!r} is listed twice" for i, code in enumerate(items) if code in items[:i]
        ]
        problems += [
            f"item {item.code!r}: unknown department {item.department!r}"
            for item in self.items
            if item.department not in departments
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self


# -- the public view (GET /api/v1/public/commitments) ---------------------------
class PublicDepartment(_Model):
    code: str
    name: str


class PublicStandards(_Model):
    efficiency: str
    quality: str
    attitude: str
    # What the complainant is promised; claim and return limits are internal.
    acceptance_days: int
    feedback_days: int
    follow_up_days: int


class PublicItem(_Model):
    code: str
    name: str
    department: PublicDepartment
    serves: str
    content: str
    process: list[str]
    standards: PublicStandards


class PublicRegister(_Model):
    version: int
    published_on: date
    lang: str  # the language tag of every text in it: zh-CN or en
    items: list[PublicItem]


class CommitmentRegister:
    """The validated register; ``CommitmentRegister.load()`` gives the packaged one."""

    def __init__(self, data: _RegisterData) -> None:
        self._data = data
        self._items = {i.code: i for i in data.items}
        self._departments = {d.code: d for d in data.departments}

    @classmethod
    def load(cls) -> CommitmentRegister:
        return _packaged()

    @classmethod
    def from_yaml(cls, text: str, source: str = DATA_FILE) -> CommitmentRegister:
        return cls(validate(_RegisterData, parse_yaml(text, source), source))

    @property
    def version(self) -> int:
        return self._data.version

    @property
    def published_on(self) -> date:
        return self._data.published_on

    @property
    def items(self) -> tuple[ServiceItem, ...]:
        return self._data.items

    @property
    def departments(self) -> tuple[Department, ...]:
        return self._data.departments

    def item(self, code: str) -> ServiceItem:
        try:
            return self._items[code]
        except KeyError:
            raise UnknownCode("service item", code) from None

    def department(self, code: str) -> Department:
        try:
            return self._departments[code]
        except KeyError:
            raise UnknownCode("department", code) from None

    def limits_for(self, item_code: str | None) -> Limits:
        """The item's limits; the defaults for no item or an item no longer in
        the register (a complaint keeps the code it was filed with)."""
        item = self._items.get(item_code) if item_code is not None else None
        return item.standards.limits() if item is not None else DEFAULT_LIMITS

    def allows_short_path(self, item_code: str | None) -> bool:
        """Whether the item's entry allows the short path; never for no item
        or an item no longer in the register."""
        item = self._items.get(item_code) if item_code is not None else None
        return item is not None and item.short_path

    def public_view(self, lang: str) -> PublicRegister:
        """The register as published, in one language; ``.model_dump(mode="json")`` for JSON."""
        lang = normalize_lang(lang)
        return PublicRegister(
            version=self.version,
            published_on=self.published_on,
            lang="zh-CN" if lang == "zh" else "en",
            items=[self._public_item(item, lang) for item in self.items],
        )

    def _public_item(self, item: ServiceItem, lang: str) -> PublicItem:
        dept = self.department(item.department)
        s = item.standards
        return PublicItem(
            code=item.code,
            name=item.name.get(lang),
            department=PublicDepartment(code=dept.code, name=dept.name.get(lang)),
            serves=item.serves.get(lang),
            content=item.content.get(lang),
            process=[step.get(lang) for step in item.process],
            standards=PublicStandards(
                efficiency=s.efficiency.get(lang),
                quality=s.quality.get(lang),
                attitude=s.attitude.get(lang),
                acceptance_days=s.acceptance_days,
                feedback_days=s.feedback_days,
                follow_up_days=s.follow_up_days,
            ),
        )


@cache
def _packaged() -> CommitmentRegister:
    return CommitmentRegister(load_packaged(_RegisterData, DATA_FILE))
