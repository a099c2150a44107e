"""The report's words, in Simplified Chinese (the text of record) and English.

The rate names follow the policy and docs/design.md, "Metrics": 受理及时率, 及时率
(result feedback on time), 办结率, 满意率. 受理 means accepting a complaint
in this system, so the received count is 投诉量, not 受理量.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tousu.services.metrics.kpi import GroupBy, KpiRow, Rate, RateName
from tousu.shared.intake.i18n import Lang, normalize_lang

Language = Literal["zh-CN", "en"]
CellKind = Literal["count", "rate", "numerator", "denominator", "days"]


@dataclass(frozen=True)
class Text:
    zh: str
    en: str

    def get(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Column:
    header: Text
    kind: CellKind
    value: Callable[[KpiRow], int | float | None]


RATES: dict[RateName, Text] = {
    "acceptance_timeliness": Text("受理及时率", "Acceptance timeliness"),
    "feedback_timeliness": Text("及时率", "Feedback timeliness"),
    "closure_rate": Text("办结率", "Closure rate"),
    "satisfaction_rate": Text("满意率", "Satisfaction rate"),
}

_COUNTS: tuple[tuple[str, Text], ...] = (
    ("received", Text("投诉量", "Received")),
    ("accepted", Text("受理量", "Accepted")),
    ("rejected", Text("不予受理", "Rejected")),
    ("fed_back", Text("已反馈", "Fed back")),
    ("closed", Text("已办结", "Closed")),
    ("reopened", Text("重办件", "Reopened")),
    ("overdue_now", Text("当前超期", "Overdue now")),
)


def _count(field: str) -> Callable[[KpiRow], int]:
    return lambda row: int(getattr(row, field))


def rate_of(row: KpiRow, name: RateName) -> Rate:
    rate: Rate = getattr(row, name)
    return rate


def _rate_columns(name: RateName, label: Text) -> tuple[Column, ...]:
    return (
        Column(label, "rate", lambda row: rate_of(row, name).value),
        Column(
            Text(f"{label.zh}分子", f"{label.en} numerator"),
            "numerator",
            lambda row: rate_of(row, name).numerator,
        ),
        Column(
            Text(f"{label.zh}分母", f"{label.en} denominator"),
            "denominator",
            lambda row: rate_of(row, name).denominator,
        ),
    )


# Every figure of a KpiRow, in the order the sheets show them.
COLUMNS: tuple[Column, ...] = (
    *(Column(label, "count", _count(field)) for field, label in _COUNTS),
    # Late entries (补录): how many facts behind these figures were back-dated.
    Column(Text("补录", "Late entries"), "count", lambda row: row.late_entries),
    # Cases with evidence: a file (photo, scan, document) on any step.
    Column(Text("有附件证据", "With evidence"), "count", lambda row: row.with_evidence),
    # Imported from an earlier system (tousu import): history tousu did not see happen.
    Column(Text("导入", "Imported"), "count", lambda row: row.imported),
    *(column for name, label in RATES.items() for column in _rate_columns(name, label)),
    Column(
        Text("平均办理工作日", "Avg handling (working days)"),
        "days",
        lambda row: row.avg_handling_working_days,
    ),
)

SUMMARY_SHEET = Text("总览", "Summary")
TOTAL = Text("合计", "Total")
SCOPE = Text("范围", "Scope")
GROUP_SHEETS: dict[GroupBy, Text] = {
    "department": Text("部门", "Department"),
    "handler": Text("承办人", "Handler"),
    "channel": Text("渠道", "Channel"),
    "category": Text("类别", "Category"),
    "month": Text("月份", "Month"),
}
# The rows of complaints that have no value for the key yet.
NO_GROUP: dict[GroupBy, Text] = {
    "department": Text("（未转办）", "(not routed)"),
    "handler": Text("（未签收）", "(not claimed)"),
    "channel": Text("（无）", "(none)"),
    "category": Text("（未分类）", "(not classified)"),
    "month": Text("（无）", "(none)"),
}
CHANNELS: dict[str, Text] = {
    "phone": Text("电话", "Phone"),
    "web": Text("网站", "Web"),
    "wechat": Text("微信", "WeChat"),
    "letter": Text("信件", "Letter"),
    "walk_in": Text("来访", "Walk-in"),
    "open311": Text("Open311", "Open311"),
}

NOTES_TITLE = Text("指标口径", "Definitions")
NOTES: tuple[Text, ...] = (
    Text(
        "受理及时率 = 在受理期限内作出受理或不予受理决定的投诉 ÷ 已作决定或受理期限已过的投诉",
        "Acceptance timeliness = complaints decided (accepted or rejected) by the acceptance"
        " deadline ÷ complaints decided or past that deadline",
    ),
    Text(
        "及时率 = 在反馈期限（含批准的延期）内首次反馈结果的已受理投诉"
        " ÷ 已反馈或反馈期限已过的已受理投诉",
        "Feedback timeliness = accepted complaints whose first result feedback was sent by the"
        " feedback deadline (with approved extensions) ÷ accepted complaints fed back or past it",
    ),
    Text(
        "办结率 = 最新一轮办理已反馈且未重办的已受理投诉 ÷ 已反馈或反馈期限已过的已受理投诉",
        "Closure rate = accepted complaints whose latest handling round is fed back and not"
        " reopened ÷ accepted complaints fed back or past their feedback deadline",
    ),
    Text(
        "满意率 = 最近一次回访为满意或基本满意的投诉 ÷ 已回访的投诉",
        "Satisfaction rate = complaints whose latest follow-up is satisfied or basically"
        " satisfied ÷ complaints followed up",
    ),
    Text(
        "平均办理工作日 = 从受理到首次反馈结果的工作日数的平均值；分母为 0 的比率留空",
        "Avg handling = mean working days from acceptance to the first result feedback;"
        " a rate with a zero denominator is left blank",
    ),
)


def title(month: str, first_day: str, last_day: str, as_of: str, lang: Lang) -> str:
    if lang == "zh":
        return (
            f"投诉办理月报 {month}　统计对象：{first_day} 至 {last_day} 收到的投诉"
            f"　数据截至：{as_of}（北京时间）"
        )
    return (
        f"Complaint handling report {month} — complaints received {first_day} to {last_day}"
        f" — figures as of {as_of} (Beijing time)"
    )


def lang_of(lang: str) -> Lang:
    return normalize_lang(lang)
