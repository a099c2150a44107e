"""How the appraisal's figures are named and written (zh and en): the
labels of its lines and the number formats every surface uses."""

from __future__ import annotations

from decimal import Decimal

from tousu.services.metrics.appraisal.compute import Line
from tousu.services.metrics.appraisal.scheme import Deduction, Figure

FIGURE_LABELS: dict[Figure, tuple[str, str]] = {
    "acceptance_timeliness": ("受理及时率", "acceptance timeliness"),
    "feedback_timeliness": ("及时率", "feedback timeliness"),
    "closure_rate": ("办结率", "closure rate"),
    "satisfaction_rate": ("满意率", "satisfaction rate"),
    "inspection_score": ("质量检查得分", "inspection score"),
}
DEDUCTION_LABELS: dict[Deduction, tuple[str, str]] = {
    "late_entry": ("补录", "late entries"),
    "return": ("退单", "returns"),
    "supervision": ("督办", "supervision notices (督办)"),
    "overdue_improvement": ("整改超期", "overdue improvement items"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang.startswith("en") else pair[0]


def figure_label(figure: Figure, lang: str = "zh") -> str:
    return _pick(FIGURE_LABELS[figure], lang)


def deduction_label(name: Deduction, lang: str = "zh") -> str:
    return _pick(DEDUCTION_LABELS[name], lang)


def money(points: Decimal | None) -> str:
    """Points as written everywhere: two places, ``—`` for none."""
    return "—" if points is None else f"{points:.2f}"


def _number(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def line_ratio(line: Line, reviews: int = 0, lang: str = "zh") -> str:
    """``12/13``; the inspection score as its mean over the reviews."""
    ratio = line.ratio
    if line.figure == "inspection_score":
        if not reviews:
            return "—"
        mean = (ratio.numerator / reviews).quantize(Decimal("0.01"))
        return (
            f"mean {_number(mean)} of {reviews}"
            if lang.startswith("en")
            else f"均分 {_number(mean)}（{reviews} 件）"
        )
    if not ratio.denominator:
        return "0/0"
    return f"{_number(ratio.numerator)}/{_number(ratio.denominator)}"


def line_value(line: Line) -> str:
    """The rate as a percentage to two places, ``—`` for none."""
    value = line.value
    return "—" if value is None else f"{(value * 100).quantize(Decimal('0.01'))}%"
