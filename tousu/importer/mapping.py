"""The mapping file of `tousu import`: which column of the old system's file
is which field, how its codes read as tousu's, and how its dates are written
(docs/import.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

# The fields a row may give; ``external_id`` and ``received_at`` are required.
Field_ = Literal[
    "external_id",
    "received_at",
    "channel",
    "subject",
    "description",
    "complainant_name",
    "complainant_phone",
    "complainant_email",
    "complainant_address",
    "location",
    "category",
    "subcategory",
    "department",
    "status",
    "accepted_at",
    "routed_at",
    "fed_back_at",
    "result",
    "closed_at",
    "satisfaction",
]
# The fields whose values a mapping may translate (the old system's codes).
Coded = Literal["channel", "category", "subcategory", "department", "status", "satisfaction"]
# The statuses a row may reach, in the order of a case's life; a row's
# status says how far its history goes (docs/import.md).
STATUSES = ("received", "accepted", "rejected", "routed", "resolved", "fed_back", "closed")


class MappingError(ValueError):
    """The mapping file cannot be used; the message says where."""


class Defaults(BaseModel):
    """What a row leaves blank and the import fills in, or what the old
    system never recorded."""

    model_config = ConfigDict(extra="forbid")

    channel: str | None = None
    status: str | None = None
    # The resolution's basis (处理依据): old systems rarely kept one apart.
    basis: str = "原系统办理记录"
    # A rejected row's suggestion (告知投诉人向何处反映).
    rejection_suggestion: str = "请向有权处理的部门反映"
    # A result without text (a closed case whose result the old system lost).
    result: str = "原系统未记录办理结果"


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The earlier system's name: in each step's reason (导入：<source> <old id>)
    # and in each complaint's id, so the same old id from two systems differs.
    source: str = Field(min_length=1, max_length=60, pattern=r"^\S(.*\S)?$")
    columns: dict[Field_, str]
    values: dict[Coded, dict[str, str]] = Field(default_factory=dict)
    defaults: Defaults = Field(default_factory=Defaults)
    # How dates are written, tried in order; a date without a time is that day's midnight.
    date_formats: list[str] = Field(
        default_factory=lambda: [
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y/%m/%d %H:%M:%S",
            "%Y/%m/%d %H:%M",
            "%Y-%m-%d",
            "%Y/%m/%d",
        ]
    )
    # The zone of dates written without an offset.
    timezone: str = "Asia/Shanghai"

    @classmethod
    def load(cls, path: Path) -> Mapping:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise MappingError(f"{path}: {exc}") from None
        try:
            mapping = cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise MappingError(f"{path}: {problems}") from None
        for needed in ("external_id", "received_at"):
            if needed not in mapping.columns:
                raise MappingError(f"{path}: columns.{needed} is required")
        try:
            ZoneInfo(mapping.timezone)
        except (KeyError, ValueError):
            raise MappingError(f"{path}: unknown timezone {mapping.timezone!r}") from None
        return mapping

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def missing_columns(self, header: list[str]) -> list[str]:
        """The mapped columns the file's header lacks."""
        return [column for column in self.columns.values() if column not in header]

    def value(self, row: dict[str, str], name: Field_) -> str | None:
        """The row's value of ``name``, its code translated; None if blank.

        A code the mapping does not list is passed on as it is, for the
        domain to accept or refuse (an unknown department is then refused as
        unknown, naming the register's codes).
        """
        column = self.columns.get(name)
        raw = (row.get(column) or "").strip() if column is not None else ""
        if not raw:
            default = getattr(self.defaults, name, None) if name in ("channel", "status") else None
            return default if isinstance(default, str) else None
        codes = next((codes for coded, codes in self.values.items() if coded == name), None)
        if codes is not None and raw in codes:
            return str(codes[raw])
        return raw

    def instant(self, row: dict[str, str], name: Field_) -> datetime | None:
        """The row's date ``name``, aware; None if blank. ValueError if unreadable."""
        text = self.value(row, name)
        if text is None:
            return None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        for fmt in self.date_formats:
            if parsed is not None:
                break
            try:
                parsed = datetime.strptime(text, fmt)
            except ValueError:
                continue
        if parsed is None:
            raise ValueError(f"{text!r} is not a date ({' or '.join(self.date_formats)})")
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=self.zone)
