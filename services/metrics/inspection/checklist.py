"""The inspection checklist (data/checklist.yaml): every version of it, each
item with its group, labels, maximum points and guidance, validated on load."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tousu.shared.datafiles import load_packaged, parse_yaml, validate
from tousu.shared.domain.inspection import ChecklistRule

DATA_FILE = "checklist.yaml"

Group = Literal["process", "result", "reply"]
# The policy's three headings, in the order a form shows them.
GROUPS: dict[Group, tuple[str, str]] = {
    "process": ("流程规范", "Process followed"),
    "result": ("结果合理", "Result reasonable"),
    "reply": ("答复质量", "Reply quality"),
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChecklistItem(_Model):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    group: Group
    max_points: float = Field(gt=0, le=100)
    zh: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=200)
    guidance: str = Field(min_length=1, max_length=500)

    def label(self, lang: str) -> str:
        return self.en if lang.startswith("en") else self.zh


class Checklist(_Model):
    version: int = Field(ge=1)
    # A percentage of the items' total maximum.
    pass_mark: float = Field(gt=0, le=100)
    items: list[ChecklistItem] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Checklist:
        codes = [i.code for i in self.items]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"item codes used twice: {', '.join(twice)}")
        groups = {i.group for i in self.items}
        if groups != set(GROUPS):
            raise ValueError(f"every group needs an item; missing: {sorted(set(GROUPS) - groups)}")
        return self

    @property
    def total(self) -> float:
        return sum(i.max_points for i in self.items)

    def rule(self) -> ChecklistRule:
        return ChecklistRule(
            self.version, self.pass_mark, {i.code: i.max_points for i in self.items}
        )

    def grouped(self) -> list[tuple[Group, list[ChecklistItem]]]:
        return [(g, [i for i in self.items if i.group == g]) for g in GROUPS]


class Checklists(_Model):
    checklists: list[Checklist] = Field(min_length=1)

    @model_validator(mode="after")
    def _versions(self) -> Checklists:
        versions = [c.version for c in self.checklists]
        if versions != sorted(set(versions)):
            raise ValueError(f"versions must rise and be unique: {versions}")
        return self

    @property
    def current(self) -> Checklist:
        return self.checklists[-1]

    def version(self, version: int) -> Checklist:
        for checklist in self.checklists:
            if checklist.version == version:
                return checklist
        raise LookupError(f"checklist version {version} is not in {DATA_FILE}")


@cache
def checklists() -> Checklists:
    """The packaged checklists, read once."""
    return load_packaged(Checklists, DATA_FILE, package="tousu.services.metrics.inspection")


def from_yaml(text: str, source: str = DATA_FILE) -> Checklists:
    return validate(Checklists, parse_yaml(text, source), source)
