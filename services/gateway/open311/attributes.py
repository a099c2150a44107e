"""The attributes of each service's definition (``services/{code}``).

Every service asks the same few facts the policy wants recorded (记录信息) and
the web form asks too; a service may add its own. An attribute with a
``field`` fills that field of the submission; one without is written into the
description as "name: value", so that staff see it beside the complainant's
words. Keep codes stable: clients send them back as ``attribute[code]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tousu.services.gateway.problems import Text
from tousu.shared.intake.taxonomy import Taxonomy

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: Datatype
    description: Text
    required: bool = False
    datatype_description: Text | None = None
    # The Submission field it fills; None: a "description: value" line.
    field: str | None = None
    # (key, name) of a list's values; the taxonomy's categories when ``categories``.
    values: tuple[tuple[str, Text], ...] = ()
    categories: bool = False

    def choices(self, taxonomy: Taxonomy) -> tuple[tuple[str, Text], ...]:
        if self.categories:
            return tuple((c.code, Text(c.name.zh, c.name.en)) for c in taxonomy.categories)
        return self.values


COMMON: tuple[Attribute, ...] = (
    Attribute(
        "subject",
        "string",
        Text(
            "一句话概括投诉（不填则取描述的第一句）",
            "The complaint in one line (default: the description's first line)",
        ),
        field="subject",
    ),
    Attribute(
        "happened_at",
        "datetime",
        Text("事情发生的时间", "When it happened"),
        datatype_description=Text(
            "ISO 8601，带时区，如 2026-03-02T09:30:00+08:00",
            "ISO 8601 with an offset, e.g. 2026-03-02T09:30:00+08:00",
        ),
        field="happened_at",
    ),
    Attribute(
        "category",
        "singlevaluelist",
        Text(
            "投诉类型（不确定可不选，由工作人员分类）",
            "Kind of complaint (leave it to staff if unsure)",
        ),
        field="category",
        categories=True,
    ),
    Attribute(
        "people_involved",
        "string",
        Text(
            "涉及的工作人员（姓名、工号或窗口）", "Staff involved (name, badge number or counter)"
        ),
        field="people_involved",
    ),
    Attribute(
        "demands",
        "text",
        Text("您的诉求", "What you ask for"),
        field="demands",
    ),
)

# What a service asks besides the common attributes.
EXTRA: dict[str, tuple[Attribute, ...]] = {
    "window_service": (
        Attribute(
            "ticket_no",
            "string",
            Text("取号单号或窗口号", "Queue ticket or counter number"),
        ),
    ),
    "bus_service": (
        Attribute(
            "route",
            "string",
            Text("线路和车牌号", "Bus route and plate number"),
        ),
    ),
    "water_repair": (
        Attribute(
            "repair_ticket",
            "string",
            Text("报修单号", "Repair request number"),
        ),
    ),
}


def attributes_for(service_code: str) -> tuple[Attribute, ...]:
    return COMMON + EXTRA.get(service_code, ())
