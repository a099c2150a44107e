"""A unit's calculation written out line by line, as the CLI's ``--explain``
and the workbook's 考核 sheet show it (short lines: a narrow terminal)."""

from __future__ import annotations

from tousu.services.metrics.appraisal.compute import UnitScore
from tousu.services.metrics.appraisal.labels import (
    deduction_label,
    figure_label,
    line_ratio,
    line_value,
    money,
)

_WORDS = {
    "zh": {
        "rank": "排名",
        "unranked": "未排名（无可计分的指标）",
        "score": "得分",
        "earned": "小计",
        "rescaled": "按有数值的权重折算",
        "deducted": "扣分",
        "none": "无数值",
        "cap": "上限",
        "total": "总分",
        "floor": "不低于 0",
    },
    "en": {
        "rank": "rank",
        "unranked": "not ranked (no figure with a value)",
        "score": "score",
        "earned": "earned",
        "rescaled": "rescaled over the weights with values",
        "deducted": "deducted",
        "none": "no value",
        "cap": "cap",
        "total": "total",
        "floor": "not below 0",
    },
}


def explain(unit: UnitScore, of: int, lang: str = "zh") -> list[str]:
    """The lines of ``unit``'s calculation; ``of``: how many units were ranked."""
    w = _WORDS["en" if lang.startswith("en") else "zh"]
    if unit.score is None:
        head = w["unranked"]
    elif unit.rank is None:  # scored alone, not among others
        head = f"{w['score']} {money(unit.score)}"
    else:
        head = f"{w['rank']} {unit.rank}/{of}, {w['score']} {money(unit.score)}"
    out = [f"{unit.key} — {head}"]
    for line in unit.lines:
        ratio = line_ratio(line, unit.reviews, lang)
        if line.points is None:
            out.append(
                f"  {figure_label(line.figure, lang)}: {ratio} ({w['none']}) × {line.weight}"
            )
        else:
            out.append(
                f"  {figure_label(line.figure, lang)}: {ratio} = {line_value(line)}"
                f" × {line.weight} = {money(line.points)}"
            )
    out.append(f"  {w['earned']} {money(unit.earned)}")
    if unit.rescaled and unit.base is not None:
        out.append(
            f"  {w['rescaled']}: {money(unit.earned)} × {unit.total_weight}"
            f" ÷ {unit.weight_with_values} = {money(unit.base)}"
        )
    for d in unit.deductions:
        if d.count == 0:
            continue
        cap = f" ({w['cap']} {money(d.cap)})" if d.capped and d.cap is not None else ""
        out.append(
            f"  − {deduction_label(d.name, lang)}: {d.count} × {money(d.per_unit)}"
            f" = {money(d.points)}{cap}"
        )
    if unit.base is not None:
        floor = f" ({w['floor']})" if unit.base - unit.deducted < 0 else ""
        out.append(
            f"  {w['total']} {money(unit.base)} − {money(unit.deducted)}"
            f" = {money(unit.score)}{floor}"
        )
    return out
