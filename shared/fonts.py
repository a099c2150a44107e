"""Finding a font that can set Chinese: for the report's charts and the PDF notices.

The bundled one comes first so that output looks the same on every machine:
``pylopdf-fonts-zh-cn`` ships Noto Sans SC and Noto Serif SC (SIL OFL) as
CFF-based OpenType. Guarded, so that a trimmed install can still fall back
on system fonts where a caller has a way to find them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fontTools.ttLib import TTFont, TTLibError

Style = Literal["sans", "serif"]


def covers(path: str | Path, text: str) -> bool:
    """Whether the font at ``path`` has a glyph for every character of ``text``.

    A font lacking one draws a box (豆腐) in its place, with at most a warning
    in a log, so a font is checked before it is used.
    """
    try:
        # Lazy: only the character map is read, not the 8 MB of outlines.
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
    except (OSError, TTLibError, AssertionError):
        return False
    return all(ord(ch) in cmap for ch in text if not ch.isspace())


def bundled_font(style: Style = "sans", probe: str = "") -> Path | None:
    """The bundled Noto face of ``style``, or None if it is not installed
    (or lacks a character of ``probe``)."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return None
    path = pylopdf_fonts_zh_cn.sans_path() if style == "sans" else pylopdf_fonts_zh_cn.serif_path()
    if not path.is_file() or (probe and not covers(path, probe)):
        return None
    return path
