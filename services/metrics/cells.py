"""Spreadsheet cells from user text: shown as typed, never run as a formula.

Every CSV and XLSX writer passes text from the data (a department name, a
subject, a complainant's words) through here. Spreadsheets skip leading
blanks and line breaks before deciding that a cell is a formula, so
``" =2+2"`` and ``"\\n=1+1"`` are as dangerous as ``"=1+1"``.
"""

from __future__ import annotations

# What a spreadsheet reads as the start of a formula (or of a DDE payload).
FORMULA_STARTS = ("=", "+", "-", "@")
# Characters a spreadsheet passes over before that first one. A cell starting
# with one of them is quoted whatever follows: it is never a number anyway.
_LEADING = " \t\r\n\v\f\u00a0\u3000"


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet might run ``text`` as a formula."""
    if not text:
        return False
    return text[0] in _LEADING or text.lstrip(_LEADING).startswith(FORMULA_STARTS)


def inert(text: str | None) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula: such
    text gets a leading apostrophe (the spreadsheets' own text marker)."""
    if text and looks_like_formula(text):
        return "'" + text
    return text or ""
