"""The report's two PNG charts: the four rates by month, and the department ranking.

Drawn with matplotlib's object API on an Agg canvas, never pyplot: no global
figure state, no GUI backend, safe in a worker thread.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from tousu.services.metrics.kpi import KpiRow, RateName, rank
from tousu.services.metrics.report.figures import MonthlyFigures
from tousu.services.metrics.report.fonts import cjk_family
from tousu.services.metrics.report.labels import RATES, Text, rate_of
from tousu.services.metrics.report.names import GroupNames
from tousu.shared.calendar import TZ
from tousu.shared.intake.i18n import Lang

_DPI = 150
_RANKED_BY: tuple[RateName, ...] = ("feedback_timeliness", "satisfaction_rate")
_TREND_TITLE = Text("投诉办理指标月度趋势", "Complaint handling rates by month")
_RANKING_TITLE = Text("部门排名（按及时率、满意率）", "Departments ranked by feedback timeliness")
_NO_DATA = Text("无数据", "no data")
_NO_DEPARTMENTS = Text("本月没有已转办的投诉", "No routed complaints this month")
_AS_OF = Text("数据截至", "as of")


@contextmanager
def _style(lang: Lang) -> Iterator[Lang]:
    """Matplotlib settings for one chart, and the language it can be drawn in:
    English when no installed font has the Chinese glyphs."""
    family = cjk_family()
    drawn: Lang = lang if family is not None else "en"
    # The CJK font first: it has Latin letters and digits too, and one
    # family keeps the labels' baseline and weight even.
    fonts = [family, "DejaVu Sans"] if family is not None else ["DejaVu Sans"]
    with mpl.rc_context({"font.family": "sans-serif", "font.sans-serif": fonts}):
        yield drawn


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=_DPI)


def _nan(value: float | None) -> float:
    # A gap in the line, not a fall to zero, where a month has no denominator.
    return math.nan if value is None else value


def _caption(figures: MonthlyFigures, lang: Lang) -> str:
    as_of = figures.period.as_of.astimezone(TZ)
    return f"{_AS_OF.get(lang)} {as_of:%Y-%m-%d %H:%M}"


def trend_chart(figures: MonthlyFigures, path: Path, lang: Lang) -> None:
    rows = figures.groups["month"]
    months = [row.group or "" for row in rows]
    # Positions, not month strings: a category axis drops months whose
    # every value is a gap, and the window must show all of them.
    xs = list(range(len(months)))
    with _style(lang) as drawn:
        figure = Figure(figsize=(10, 5.2), layout="constrained")
        ax = figure.add_subplot()
        # Rates often coincide (all 100%, or 及时率 = 办结率): each line gets
        # its own dash and marker, drawn narrower on top, so none hides another.
        styles = zip(("-", "--", "-.", ":"), ("o", "s", "^", "D"), (9, 7, 5, 4), strict=False)
        for (name, label), (dash, marker, size) in zip(RATES.items(), styles, strict=False):
            values = [_nan(rate_of(row, name).value) for row in rows]
            ax.plot(
                xs,
                values,
                linestyle=dash,
                marker=marker,
                markersize=size,
                linewidth=2.5 if dash == "-" else 2,
                label=label.get(drawn),
                clip_on=False,
            )
        ax.set_xlim(-0.5, len(months) - 0.5)
        ax.set_xticks(xs, months, rotation=45 if len(months) > 6 else 0)
        ax.set_ylim(0, 1.0)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.grid(axis="y", alpha=0.3)
        ax.set_title(f"{_TREND_TITLE.get(drawn)}  {months[0]} – {months[-1]}", loc="left")
        ax.set_title(_caption(figures, drawn), loc="right", fontsize=8, alpha=0.7)
        figure.legend(loc="outside lower center", ncols=len(RATES))
        _save(figure, path)


def _bar_label(row: KpiRow, name: RateName, lang: Lang) -> str:
    rate = rate_of(row, name)
    if rate.value is None:
        return _NO_DATA.get(lang)
    return f"{rate.value:.1%} ({rate.numerator}/{rate.denominator})"


def _bars(ax: Axes, ranked: Sequence[KpiRow], lang: Lang) -> None:
    """Two bars per department, each labelled with its figure and counts."""
    bar = 0.38
    for offset, name in zip((-bar / 2, bar / 2), _RANKED_BY, strict=True):
        values = [rate_of(row, name).value or 0.0 for row in ranked]
        ys = [y + offset for y in range(len(ranked))]
        bars = ax.barh(ys, values, height=bar, label=RATES[name].get(lang))
        labels = [_bar_label(row, name, lang) for row in ranked]
        ax.bar_label(bars, labels=labels, padding=3, fontsize=8)


def ranking_chart(figures: MonthlyFigures, path: Path, lang: Lang, names: GroupNames) -> None:
    # Complaints not (yet) with a department are no department's figure.
    ranked: Sequence[KpiRow] = rank(
        [row for row in figures.groups["department"] if row.group is not None], _RANKED_BY
    )
    with _style(lang) as drawn:
        height = max(3.0, 1.4 + 0.7 * len(ranked))
        figure = Figure(figsize=(10, height), layout="constrained")
        ax = figure.add_subplot()
        ax.set_title(f"{_RANKING_TITLE.get(drawn)}  {figures.period.month}", loc="left")
        ax.set_title(_caption(figures, drawn), loc="right", fontsize=8, alpha=0.7)
        ax.set_xlim(0, 1.3)  # room for the value labels right of a full bar
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.grid(axis="x", alpha=0.3)
        if ranked:
            _bars(ax, ranked, drawn)
            ax.set_yticks(range(len(ranked)))
            ax.set_yticklabels([names.name("department", row.group, drawn) for row in ranked])
            ax.invert_yaxis()  # the best first, at the top
            figure.legend(loc="outside lower center", ncols=len(_RANKED_BY))
        else:
            ax.set_yticks([])
            message = _NO_DEPARTMENTS.get(drawn)
            ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
        _save(figure, path)
