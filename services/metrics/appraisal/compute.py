"""The appraisal (考核) computed by hand's rules: per unit the lines (figure,
value, weight, points), the deductions, the total, the rank, and the 表彰 and
批评和问责 lists. Pure: inputs and a scheme version in, numbers out.

Rounding, the one rule: every points figure is rounded to 2 decimal places,
half up, as soon as it is made — each line (weight × numerator ÷ denominator,
from the exact fraction), the rescaled sum, each deduction — and the total is
made from those rounded figures, so the lines shown add up to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from tousu.services.metrics.appraisal.scheme import (
    DEDUCTIONS,
    FIGURES,
    Deduction,
    Figure,
    Version,
)

Unit = Literal["department", "person"]
CENT = Decimal("0.01")
ZERO = Decimal(0)


def points(value: Decimal) -> Decimal:
    """``value`` rounded to 2 places, half up (the one rounding rule)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Ratio:
    """A figure's numerator over its denominator (no value when it is 0). The
    inspection score's is the sum of the review scores over 100 per review."""

    numerator: Decimal
    denominator: Decimal

    @property
    def value(self) -> Decimal | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class UnitInputs:
    key: str  # a department's code, or a handler's id
    department: str | None  # a person's department; a department's own code
    received: int = 0  # complaints of the cohort the unit holds
    figures: Mapping[Figure, Ratio] = field(default_factory=dict)
    reviews: int = 0  # quality inspection reviews behind inspection_score
    counts: Mapping[Deduction, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    figure: Figure
    ratio: Ratio
    weight: Decimal
    points: Decimal | None  # None: the figure has no value

    @property
    def value(self) -> Decimal | None:
        return self.ratio.value


@dataclass(frozen=True)
class DeductionLine:
    name: Deduction
    count: int
    per_unit: Decimal
    cap: Decimal | None
    points: Decimal  # count × per_unit, at most cap

    @property
    def capped(self) -> bool:
        return self.cap is not None and self.count * self.per_unit > self.cap


@dataclass(frozen=True)
class UnitScore:
    key: str
    department: str | None
    received: int
    reviews: int
    lines: tuple[Line, ...]
    earned: Decimal  # the sum of the lines' points
    weight_with_values: Decimal  # the weights of the lines that have a value
    total_weight: Decimal
    base: Decimal | None  # earned, rescaled to the total weight (None: no figure has a value)
    deductions: tuple[DeductionLine, ...]
    deducted: Decimal
    score: Decimal | None  # base − deducted, not below 0; None: nothing to score
    rank: int | None = None

    @property
    def rescaled(self) -> bool:
        return self.base is not None and self.base != self.earned


@dataclass(frozen=True)
class Result:
    units: tuple[UnitScore, ...]  # in rank order, the unscored last (by key)
    commend: tuple[str, ...]  # 表彰, in rank order
    account: tuple[str, ...]  # 批评和问责, in rank order

    def unit(self, key: str) -> UnitScore | None:
        return next((u for u in self.units if u.key == key), None)


def score_unit(unit: UnitInputs, scheme: Version) -> UnitScore:
    """One unit's lines, deductions and score under ``scheme``."""
    lines: list[Line] = []
    for figure in FIGURES:
        ratio = unit.figures.get(figure, Ratio(ZERO, ZERO))
        weight = scheme.weights.of(figure)
        value = ratio.value
        pts = None if value is None else points(weight * ratio.numerator / ratio.denominator)
        lines.append(Line(figure, ratio, weight, pts))
    earned = sum((ln.points for ln in lines if ln.points is not None), ZERO)
    with_values = sum((ln.weight for ln in lines if ln.points is not None), ZERO)
    total = scheme.total_weight
    base: Decimal | None
    if with_values == 0:
        base = None  # nothing counts yet: the unit is not scored
    elif scheme.missing == "rescale" and with_values < total:
        base = points(earned * total / with_values)
    else:
        base = earned
    deductions: list[DeductionLine] = []
    for name in DEDUCTIONS:
        rule = scheme.deductions.of(name)
        count = unit.counts.get(name, 0)
        taken = points(count * rule.points)
        if rule.cap is not None:
            taken = min(taken, rule.cap)
        deductions.append(DeductionLine(name, count, rule.points, rule.cap, taken))
    deducted = sum((d.points for d in deductions), ZERO)
    score = None if base is None else max(ZERO, base - deducted)
    return UnitScore(
        key=unit.key,
        department=unit.department,
        received=unit.received,
        reviews=unit.reviews,
        lines=tuple(lines),
        earned=earned,
        weight_with_values=with_values,
        total_weight=total,
        base=base,
        deductions=tuple(deductions),
        deducted=deducted,
        score=score,
    )


def _feedback_timeliness(unit: UnitScore) -> Decimal:
    value = unit.lines[FIGURES.index("feedback_timeliness")].value
    return Decimal(-1) if value is None else value


def _order(unit: UnitScore) -> tuple[Decimal, Decimal, Decimal, str]:
    # Ties: fewer points deducted, then the higher 及时率 (none lowest), then the key.
    assert unit.score is not None
    return (-unit.score, unit.deducted, -_feedback_timeliness(unit), unit.key)


def appraise(units: Sequence[UnitInputs], scheme: Version) -> Result:
    """Every unit scored, ranked (1 = best; the unscored have no rank) and
    put on the lists the scheme's rules give."""
    scored = [score_unit(u, scheme) for u in units]
    ranked = sorted((u for u in scored if u.score is not None), key=_order)
    ranked = [_with_rank(u, i + 1) for i, u in enumerate(ranked)]
    unscored = sorted((u for u in scored if u.score is None), key=lambda u: u.key)
    rules = scheme.lists
    eligible = [u for u in ranked if u.received >= rules.min_received]
    commend = [u for u in eligible if _at_least(u, rules.commend.min_score)][: rules.commend.top]
    named = {u.key for u in commend}
    bottom = (
        set() if rules.account.bottom == 0 else {u.key for u in eligible[-rules.account.bottom :]}
    )
    below = rules.account.below
    account = [
        u
        for u in eligible
        if u.key not in named and (u.key in bottom or (below is not None and _under(u, below)))
    ]
    return Result(
        units=(*ranked, *unscored),
        commend=tuple(u.key for u in commend),
        account=tuple(u.key for u in account),
    )


def _with_rank(unit: UnitScore, rank: int) -> UnitScore:
    return replace(unit, rank=rank)


def _at_least(unit: UnitScore, floor: Decimal) -> bool:
    return unit.score is not None and unit.score >= floor


def _under(unit: UnitScore, ceiling: Decimal) -> bool:
    return unit.score is not None and unit.score < ceiling
