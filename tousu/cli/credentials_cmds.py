"""`tousu credentials`: the signed credentials channel adapters and department systems send with.

A credential says who sends a NATS message (docs/integrations.md, "Who is
sending: credentials"); it is signed with the deployment's credential key
(TOUSU_CREDENTIAL_KEY, else ``<data_dir>/credential-key``), so this command
must see the same key as the services. The token alone goes to stdout (for
``$(tousu credentials issue ...)``), what to do with it to stderr.
"""

from __future__ import annotations

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
from tousu.shared.events.types import Channel
from tousu.shared.settings import load_settings

credentials_app = typer.Typer(
    help="Credentials that say who sends a NATS message (channel adapters, department systems).",
    no_args_is_help=True,
)
issue_app = typer.Typer(help="Issue a credential (printed on stdout).", no_args_is_help=True)
credentials_app.add_typer(issue_app, name="issue")
app.add_typer(credentials_app, name="credentials")

err = console(stderr=True)
ENV = "TOUSU_CREDENTIAL"


def _print(token: str, who: str) -> None:
    typer.echo(token)
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
    token = issue(credential_key(load_settings()), Kind.CHANNEL, channel)
    _print(token, f"the {channel} channel's adapter")


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
    token = issue(credential_key(load_settings()), Kind.DEPARTMENT, code)
    _print(token, f"department {code}'s system")


@credentials_app.command("show")
def show(token: str = typer.Argument(..., help="A credential.")) -> None:
    """Who a credential names, if this deployment's key signed it (exit 1 if not)."""
    try:
        principal = verify(credential_key(load_settings()), token)
    except Unauthenticated as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    typer.echo(f"{principal.kind.value} {principal.name} (issued at {principal.issued_at})")
