"""The command line's tables in a narrow terminal (tousu/cli/_console.py):
a table whose columns cannot fit is shown a row at a time as ``header
value`` lines, with nothing cut; where it fits it stays a table, one-word
headers whole; output that is not a terminal is always the table, uncut."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from tousu.cli._console import add_columns, console, show

URL = "https://tickets.water.example.cn/hooks/tousu"
ROWS = [
    ("water", URL, "True", "2026-12-07T19:01:14+08:00", "12", "0", "0"),
    ("transport", "http://10.0.0.7/in", "False", "2026-12-06T09:00:00+08:00", "3", "1", "0"),
]
HEADERS = ("department", "url", "active", "created", "delivered", "waiting", "failed")


def webhooks_table() -> Table:
    """As `tousu webhooks list` makes it."""
    table = Table(title="webhooks (2)")
    add_columns(table, HEADERS, keys={"department", "url", "created"})
    for row in ROWS:
        table.add_row(*row)
    return table


def printed(width: int, *, terminal: bool = True) -> str:
    buffer = io.StringIO()
    out = Console(file=buffer, force_terminal=terminal, width=width, color_system=None)
    if not terminal:
        out = console(file=buffer, force_terminal=False, color_system=None)
    show(out, webhooks_table())
    return buffer.getvalue()


def test_too_narrow_a_terminal_gets_each_row_as_lines_nothing_cut() -> None:
    text = printed(60)
    assert "…" not in text and "┃" not in text
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[0] == "webhooks (2)"
    assert f"url         {URL}" in lines
    assert "active      False" in lines and "failed      0" in lines
    assert max(len(line) for line in lines) <= 60


def test_where_it_fits_it_stays_a_table_with_whole_headers() -> None:
    text = printed(160)
    assert "┃ department ┃ url" in text and URL in text
    assert "┃ active ┃" in text and "┃ delivered ┃" in text


def test_not_a_terminal_is_the_table_uncut_whatever_the_width() -> None:
    text = printed(60, terminal=False)
    assert "┃ department ┃" in text and URL in text and "…" not in text
