"""`tousu credentials`: the signed credentials channel adapters and department systems send with.

A credential says who sends a NATS message (docs/integrations.md, "Who is
sending: credentials"); it is signed with the deployment's credential key
(TOUSU_CREDENTIAL_KEY, else ``<data_dir>/credential-key``), so this command
must see the same key as the services. The token alone goes to stdout (for
``$(tousu credentials issue ...)``), its id and what to do with it to stderr.

``revoke`` prints the ``TOUSU_CREDENTIAL_REVOKED`` line for the deployment's
environment: settings are read from the environment only (``tousu up`` passes
its own on to the services and reads no settings file), so that is where an
administrator puts it, and each process refuses the id from its next start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from tousu.cli import app
from tousu.cli._console import console
from tousu.services.routing.known import register_departments
from tousu.shared.application.credentials import (
    Kind,
    Unauthenticated,
    credential_key,
    issue,
    verify,
)
from tousu.shared.calendar import TZ
from tousu.shared.events.types import Channel
from tousu.shared.settings import CREDENTIAL_ID, load_settings

credentials_app = typer.Typer(
    help="Credentials that say who sends a NATS message (channel adapters, department systems).",
    no_args_is_help=True,
)
issue_app = typer.Typer(help="Issue a credential (printed on stdout).", no_args_is_help=True)
credentials_app.add_typer(issue_app, name="issue")
app.add_typer(credentials_app, name="credentials")

err = console(stderr=True)
ENV = "TOUSU_CREDENTIAL"
REVOKED_ENV = "TOUSU_CREDENTIAL_REVOKED"


def _issue(kind: Kind, name: str, who: str) -> None:
    key = credential_key(load_settings())
    token = issue(key, kind, name)
    credential_id = verify(key, token).id
    typer.echo(token)
    err.print(
        f"credential id {credential_id} (keep it: `tousu credentials revoke {credential_id}` "
        "revokes this credential alone)",
        highlight=False,
    )
    err.print(
        f"set {ENV}=<the token above> in the environment of {who} "
        "(keep it secret: it is what makes its messages count as its own)",
        highlight=False,
    )


@issue_app.command("channel")
def issue_channel(
    channel: str = typer.Argument(..., help=f"One of: {', '.join(c.value for c in Channel)}."),
) -> None:
    """A channel adapter's credential: it may submit for this channel only, as ``channel:<c>``."""
    if channel not in {c.value for c in Channel}:
        raise typer.BadParameter(
            f"no channel {channel!r}; the channels are {', '.join(c.value for c in Channel)}"
        )
    _issue(Kind.CHANNEL, channel, f"the {channel} channel's adapter")


@issue_app.command("department")
def issue_department(
    code: str = typer.Argument(..., help="The department's code in the register."),
) -> None:
    """A department system's credential: it may send its department's handling
    commands (claim, return, investigation, plan, consultation, progress,
    extension, resolve, feedback), for its own cases, as ``dept-system:<code>``."""
    known = register_departments()
    if known is not None and code not in known:
        raise typer.BadParameter(
            f"no department {code!r} in the register; known: {', '.join(sorted(known))}"
        )
    _issue(Kind.DEPARTMENT, code, f"department {code}'s system")


def _local(timestamp: int) -> str:
    """A credential's issue time (its Unix seconds) as a person reads it: Beijing time."""
    return datetime.fromtimestamp(timestamp, TZ).isoformat(sep=" ", timespec="minutes")


@credentials_app.command("show")
def show(token: str = typer.Argument(..., help="A credential.")) -> None:
    """Who a credential names and its id, if this deployment's key signed it and
    it is not revoked (exit 1 if not)."""
    try:
        principal = verify(credential_key(load_settings()), token)
    except Unauthenticated as exc:
        err.print(f"[red]{exc.message}[/red]", highlight=False)
        raise typer.Exit(1) from None
    typer.echo(
        f"{principal.kind.value} {principal.name} id {principal.id or '-'} "
        f"(issued {_local(principal.issued_at)})"
    )
    if principal.id is None:
        err.print(
            "it has no id (issued before credentials had ids): only a new credential key "
            "revokes it; issue a new one to be able to revoke it alone",
            highlight=False,
        )


@credentials_app.command("revoke")
def revoke(
    ids: Annotated[
        list[str], typer.Argument(help="Credential ids (`tousu credentials show` names them).")
    ],
) -> None:
    """Revoke credentials by id: prints the TOUSU_CREDENTIAL_REVOKED line (with the
    ids already revoked here) for the environment of every tousu process."""
    wanted = {i.strip().lower() for i in ids}
    bad = sorted(i for i in wanted if not CREDENTIAL_ID.fullmatch(i))
    if bad:
        raise typer.BadParameter(f"not a credential id (12 hex characters): {', '.join(bad)}")
    already = set(load_settings().credential_revoked)
    for credential_id in sorted(wanted & already):
        err.print(f"{credential_id} is revoked already", highlight=False)
    typer.echo(f"{REVOKED_ENV}={','.join(sorted(already | wanted))}")
    err.print(
        "put this line in the environment of every tousu process, in place of any "
        f"{REVOKED_ENV} there (the deployment's env file, config map, or the shell that "
        "runs `tousu up`: tousu reads no settings file), then restart them: each "
        "refuses these credentials from its start (`unauthenticated`). tousu keeps no "
        "list of the credentials it issued; `tousu credentials show <token>` names a "
        "token's id.",
        highlight=False,
    )
