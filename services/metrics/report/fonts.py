"""A font that can set the charts' Chinese, or None.

Matplotlib's default (DejaVu Sans) has no Chinese glyphs and draws boxes
(豆腐) with only a warning in a log, so a font is chosen explicitly and
checked to cover the characters the charts use.
"""

from __future__ import annotations

import functools
from pathlib import Path

from matplotlib import font_manager

from tousu.shared.fonts import bundled_font
from tousu.shared.fonts import covers as _covers
from tousu.shared.logs import get_logger

log = get_logger(__name__)

# Installed fonts worth trying when the bundled one is missing, Simplified
# Chinese designs first (a Japanese face sets some hanzi in Japanese forms).
SYSTEM_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "SimHei",
    "Noto Sans CJK JP",
)
# Characters of the chart labels; a font lacking any of them is no use.
_PROBE = "投诉办理指标月度趋势部门排名受理及时率办结满意无数据截至未转办"


def covers(path: str | Path, text: str = _PROBE) -> bool:
    return _covers(path, text)


def _bundled() -> str | None:
    path = bundled_font("sans", probe=_PROBE)
    if path is None:
        return None
    font_manager.fontManager.addfont(str(path))
    name: str = font_manager.FontProperties(fname=path).get_name()
    return name


def _installed() -> str | None:
    paths = {entry.name: entry.fname for entry in font_manager.fontManager.ttflist}
    for family in SYSTEM_FAMILIES:
        path = paths.get(family)
        if path is not None and covers(path):
            return family
    return None


@functools.cache
def cjk_family() -> str | None:
    """The family name to give matplotlib, or None (logged once) if there is none."""
    family = _bundled() or _installed()
    if family is None:
        log.warning(
            "no CJK font found: chart labels in English",
            hint="pip install pylopdf-fonts-zh-cn, or install Noto Sans CJK SC",
        )
    return family
