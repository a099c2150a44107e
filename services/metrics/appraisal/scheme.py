"""The appraisal scheme (考核方案) as versioned data: weights, deductions, the
treatment of a figure with no value and the list rules, one version in force
per period (``data/appraisal.yaml``, or an operator's file)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tousu.shared.datafiles import DataFileError, load_packaged, parse_yaml, validate

DATA_FILE = "appraisal.yaml"
PACKAGE = "tousu.services.metrics.appraisal"

# The figures a unit earns points for, in the order lines are shown.
Figure = Literal[
    "acceptance_timeliness",
    "feedback_timeliness",
    "closure_rate",
    "satisfaction_rate",
    "inspection_score",
]
FIGURES: tuple[Figure, ...] = (
    "acceptance_timeliness",
    "feedback_timeliness",
    "closure_rate",
    "satisfaction_rate",
    "inspection_score",
)
# What points are taken off for, in the order lines are shown.
Deduction = Literal["late_entry", "return", "supervision", "overdue_improvement"]
DEDUCTIONS: tuple[Deduction, ...] = ("late_entry", "return", "supervision", "overdue_improvement")

Points = Annotated[Decimal, Field(ge=0, le=1000, decimal_places=2)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Weights(_Model):
    acceptance_timeliness: Points
    feedback_timeliness: Points
    closure_rate: Points
    satisfaction_rate: Points
    inspection_score: Points

    def of(self, figure: Figure) -> Decimal:
        value: Decimal = getattr(self, figure)
        return value


class Rule(_Model):
    points: Points  # taken off per unit counted
    cap: Points | None = None  # at most this many in all; None: no cap


class Deductions(_Model):
    late_entry: Rule
    return_: Rule = Field(alias="return")
    supervision: Rule
    overdue_improvement: Rule

    def of(self, name: Deduction) -> Rule:
        rule: Rule = getattr(self, "return_" if name == "return" else name)
        return rule


class Commend(_Model):
    top: int = Field(ge=0, le=1000)
    min_score: Points


class Account(_Model):
    below: Points | None = None  # every unit scoring under this
    bottom: int = Field(default=0, ge=0, le=1000)  # and the lowest this many


class Lists(_Model):
    commend: Commend
    account: Account
    min_received: int = Field(default=0, ge=0)


class Version(_Model):
    version: int = Field(ge=1)
    effective_from: date
    weights: Weights
    deductions: Deductions
    supervision_kinds: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...]
    missing: Literal["rescale", "zero"]
    lists: Lists

    @model_validator(mode="after")
    def _some_weight(self) -> Self:
        if not any(self.weights.of(f) for f in FIGURES):
            raise ValueError("at least one weight must be above 0")
        return self

    @property
    def total_weight(self) -> Decimal:
        return sum((self.weights.of(f) for f in FIGURES), Decimal(0))


class _SchemeData(_Model):
    versions: tuple[Version, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        problems: list[str] = []
        for before, after in zip(self.versions, self.versions[1:], strict=False):
            if after.version <= before.version:
                problems.append(f"version {after.version} follows version {before.version}")
            if after.effective_from <= before.effective_from:
                problems.append(
                    f"version {after.version} takes effect ({after.effective_from}) no later "
                    f"than version {before.version} ({before.effective_from})"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class NoVersion(LookupError):
    """No version of the scheme was in force on the day asked about."""


class Scheme:
    """Every version of a scheme; :meth:`in_force` picks one for a period."""

    def __init__(self, data: _SchemeData, source: str) -> None:
        self.versions = data.versions
        self.source = source

    @classmethod
    def from_yaml(cls, text: str, source: str = DATA_FILE) -> Scheme:
        return cls(validate(_SchemeData, parse_yaml(text, source), source), source)

    @classmethod
    def from_file(cls, path: Path) -> Scheme:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DataFileError(str(path), [str(exc)]) from exc
        return cls.from_yaml(text, str(path))

    @classmethod
    def packaged(cls) -> Scheme:
        return _packaged()

    @classmethod
    def configured(cls, path: Path | None) -> Scheme:
        """The operator's file when one is set (settings.quality.appraisal_scheme), else
        the packaged scheme."""
        return cls.packaged() if path is None else cls.from_file(path)

    def in_force(self, day: date) -> Version:
        """The latest version whose ``effective_from`` is on or before ``day``."""
        found = [v for v in self.versions if v.effective_from <= day]
        if not found:
            first = self.versions[0].effective_from
            raise NoVersion(f"no appraisal scheme in force on {day} (the first is from {first})")
        return found[-1]


@cache
def _packaged() -> Scheme:
    return Scheme(load_packaged(_SchemeData, DATA_FILE, PACKAGE), DATA_FILE)
