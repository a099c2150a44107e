"""`tousu nats-config`: NATS users and subject permissions for each process
and each department (nats-server configuration plus one credentials file each)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated

import bcrypt
import typer
from rich.table import Table

from tousu.cli import app
from tousu.cli._console import add_columns, console
from tousu.cli.nats_permissions import authorization_block, users
from tousu.services.routing.known import register_departments
from tousu.shared.settings import load_settings

out = console()
AUTH_FILE = "nats-auth.conf"
SERVER_FILE = "nats-server.conf"
CREDENTIALS_DIR = "credentials"
# nats-server's own `passwd` tool uses cost 11.
BCRYPT_COST = 11


def _hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()


def _private(path: Path, text: str) -> None:
    """Written readable by its owner only: it holds a password."""
    path.write_text("", encoding="utf-8")
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")


@app.command("nats-config")
def nats_config(
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the configuration and credentials.")
    ] = Path("nats-config"),
    departments: Annotated[
        str | None,
        typer.Option(help="Department codes, comma-separated (default: the register's)."),
    ] = None,
    server: Annotated[
        str, typer.Option(help="host:port the processes reach the server at.")
    ] = "127.0.0.1:4222",
    root: Annotated[
        str | None, typer.Option(help="Subject root (default: TOUSU_SUBJECT_ROOT, else tousu).")
    ] = None,
) -> None:
    """Write nats-server users with least-privilege subject permissions.

    One user per process kind (relay, gateway, each service), one per
    department (reads its own events only) and an administrator. The folder
    gets nats-auth.conf (bcrypt hashes; `include` it in the server's
    configuration), nats-server.conf (a complete single-server example) and
    credentials/<user>.env with that user's TOUSU_NATS_URL (mode 0600).
    Running it again makes new passwords.
    """
    settings = load_settings(subject_root=root) if root else load_settings()
    codes = (
        [c.strip() for c in departments.split(",") if c.strip()]
        if departments is not None
        else sorted(register_departments() or ())
    )
    everyone = users(settings.naming, codes)
    passwords = {user.name: secrets.token_urlsafe(24) for user in everyone}
    out_dir.mkdir(parents=True, exist_ok=True)
    credentials = out_dir / CREDENTIALS_DIR
    credentials.mkdir(exist_ok=True)
    os.chmod(credentials, 0o700)
    block = authorization_block([(u, _hash(passwords[u.name])) for u in everyone])
    (out_dir / AUTH_FILE).write_text(
        "# Made by `tousu nats-config`; passwords are in credentials/.\n" + block,
        encoding="utf-8",
    )
    port = server.rsplit(":", 1)[-1]
    (out_dir / SERVER_FILE).write_text(
        f'port: {port}\nhttp_port: 8222\njetstream {{ store_dir: "./jetstream" }}\n'
        f'include "{AUTH_FILE}"\n',
        encoding="utf-8",
    )
    for user in everyone:
        _private(
            credentials / f"{user.name}.env",
            f"TOUSU_NATS_URL=nats://{user.name}:{passwords[user.name]}@{server}\n",
        )
    table = Table(title=f"NATS users for subject root {settings.naming.root!r}")
    add_columns(table, ("user", "may"), keys={"user"})
    for user in everyone:
        table.add_row(user.name, user.notes)
    out.print(table)
    out.print(
        f"wrote {out_dir / AUTH_FILE}, {out_dir / SERVER_FILE} and "
        f"{len(everyone)} files in {credentials}/",
        highlight=False,
    )
