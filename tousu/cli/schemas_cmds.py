"""`tousu schemas export`: the JSON Schemas of every NATS message, as files for integrators."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tousu.cli import app
from tousu.shared.application import schemas

schemas_app = typer.Typer(
    help="The JSON Schemas of the NATS messages tousu answers and publishes.",
    no_args_is_help=True,
)
app.add_typer(schemas_app, name="schemas")


def export(folder: Path) -> tuple[int, int, int]:
    """Write the schemas and index.json to ``folder``; (written, unchanged, removed).

    Older versions of an event type's schema stay (they are still published:
    docs/integrations.md, "Message contracts: schemas"); a file for a message
    tousu no longer has is removed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    present = {p.name for p in folder.iterdir() if p.is_file()}
    wanted = schemas.rendered(present)
    written = unchanged = 0
    for name, text in wanted.items():
        path = folder / name
        if name in present and path.read_text(encoding="utf-8") == text:
            unchanged += 1
            continue
        path.write_text(text, encoding="utf-8")
        written += 1
    stale = {
        name
        for name in present
        if (name.endswith(schemas.SUFFIX) or name == schemas.INDEX)
        and name not in wanted
        and name not in schemas.kept(present)
    }
    for name in stale:
        (folder / name).unlink()
    return written, unchanged, len(stale)


@schemas_app.command("export")
def export_command(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to (default: the package's tousu/kit/schemas)."),
    ] = None,
) -> None:
    """Write <name>.schema.json per message and index.json (subject patterns to schema names)."""
    folder = output if output is not None else Path(str(schemas.shipped()))
    written, unchanged, removed = export(folder)
    typer.echo(f"{folder}: {written} written, {unchanged} unchanged, {removed} removed")
