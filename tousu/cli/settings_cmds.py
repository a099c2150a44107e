"""`tousu settings reference`: docs/configuration.md, from the settings' own descriptions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic.fields import FieldInfo

from tousu.cli import app
from tousu.shared.settings import Settings, setting_fields

settings_app = typer.Typer(help="The settings (TOUSU_* variables).", no_args_is_help=True)
app.add_typer(settings_app, name="settings")

INTRO = """\
# Configuration

<!-- Written by `tousu settings reference --output docs/configuration.md` from
tousu/shared/settings.py; edit the descriptions there, not this file (a test
fails when the two differ). -->

Every tousu process reads its configuration from `TOUSU_*` environment
variables, all of them into one settings object (`tousu.shared.settings`) whose
sections are below. Give each process the same values (the deployment files
set them for every container). Booleans are `true`/`false` (or `1`/`0`), lists
comma-separated, times in seconds unless said otherwise. A value that does not
fit its setting (or its range) stops the process at start, naming the variable.
"""


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, Path):
        text = str(value) if value.is_absolute() else f"./{value}"
    elif isinstance(value, list):
        if not value:
            return "none"
        text = ",".join(map(str, value))
    else:
        text = str(value)
    return f"`{text}`"


def _bounds(field: FieldInfo) -> str:
    """The range a number must be in, as its constraints say (empty: any)."""
    low = high = ""
    for item in field.metadata:  # annotated_types' Ge, Gt, Le as pydantic keeps them
        if (ge := getattr(item, "ge", None)) is not None:
            low = f"{ge:g}"
        elif (gt := getattr(item, "gt", None)) is not None:
            low = f"> {gt:g}"
        elif (le := getattr(item, "le", None)) is not None:
            high = f"{le:g}"
    if low and high:
        return f"{low}–{high}" if not low.startswith(">") else f"{low}, ≤ {high}"
    if low:
        return low if low.startswith(">") else f"≥ {low}"
    return f"≤ {high}" if high else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reference() -> str:
    """docs/configuration.md as the settings describe themselves now."""
    sections: dict[str | None, list[str]] = {}
    for section, variable, field in setting_fields():
        sections.setdefault(section, []).append(
            f"| `{variable}` | {_default(field)} | {_bounds(field)} "
            f"| {_cell(field.description or '')} |"
        )
    parts = [INTRO]
    for section, rows in sections.items():
        if section is None:
            parts.append("## General\n")
        else:
            parts.append(f"## {section}\n\n{Settings.model_fields[section].description}\n")
        parts.append(
            "| variable | default | range | meaning |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
        )
    return "\n".join(parts)


@settings_app.command("reference")
def reference_cmd(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write it to this file (docs/configuration.md)."),
    ] = None,
) -> None:
    """Print (or write) the configuration reference: every variable, its default, its meaning."""
    text = reference()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
