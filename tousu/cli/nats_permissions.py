"""Who may publish and subscribe to what on NATS: one user per process kind and
per department, for ``tousu nats-config``.

Everything not allowed is refused. Each service may answer its own commands,
consume the streams through JetStream and write dead letters, and nothing
else; only the relay publishes
events and only the gateway (and the administrator) sends any command. A
channel's adapter (``channel-<c>``) may submit for its channel and ask where a
complaint stands; a department's system (``dept-<token>``) may read its
events, live or through its one durable consumer ``dept-<token>``, and send
its department's commands, and no other department's. What they send counts
for whom their signed credential names (``tousu.shared.application.credentials``);
these users keep them to their own subjects. Their replies come to their own
inbox, ``_INBOX.<user>.>`` (connect with that ``inbox_prefix``): a subscription
to every ``_INBOX.>`` would let them read the replies other users are sent.
The stream-management API (create, update, info) stays open to the processes
that call ``ensure_streams`` at start; deleting or purging a stream is the
administrator's alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tousu.shared.application.credentials import (
    CHANNEL_REQUESTS,
    DEPARTMENT_COMMANDS,
    DEPARTMENT_REQUESTS,
)
from tousu.shared.events.types import Channel
from tousu.shared.naming import Naming, department_token, is_token

INBOX = "_INBOX.>"
ADMIN = "admin"
RELAY = "relay"
GATEWAY = "gateway"
# The services that run JetStream consumers and answer commands over NATS.
NATS_SERVICES = ("intake", "routing", "handling", "followup", "metrics")
DEPARTMENT_PREFIX = "dept-"
CHANNEL_PREFIX = "channel-"


def own_inbox(user: str) -> str:
    """The inbox prefix a confined user connects with (nats-py's ``inbox_prefix``)."""
    return f"_INBOX.{user}"


def department_durable(department: str) -> str:
    """The one durable consumer a department's system may create and read."""
    return DEPARTMENT_PREFIX + department_token(department)


def _follows(naming: Naming, department: str) -> tuple[str, ...]:
    """A department's durable pull consumer on the events stream, filtered to its events.

    nats-py (2.16) creates it with the extended subject of nats-server 2.9+,
    ``$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>``: the server refuses a
    filter that differs from the subject's, so naming the filter here confines
    what the consumer can ever deliver. The legacy create subjects (which name
    no filter) stay refused. Acks come as ``$JS.ACK.<stream>.<consumer>...``,
    or with domain and account first on newer servers.
    """
    stream, durable = naming.events_stream, department_durable(department)
    return (
        "$JS.API.INFO",
        f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.{naming.department_events(department)}",
        f"$JS.API.CONSUMER.INFO.{stream}.{durable}",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
        f"$JS.ACK.*.*.{stream}.{durable}.>",
    )


@dataclass(frozen=True)
class NatsUser:
    name: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    notes: str = ""


@dataclass(frozen=True)
class _JetStream:
    """The JetStream API subjects a process needs, for the streams it uses."""

    streams: Sequence[str]
    consume: bool = False
    publish: bool = False
    manage: bool = False  # create/update streams (ensure_streams at start)

    def subjects(self) -> tuple[str, ...]:
        out = ["$JS.API.INFO"]
        for stream in self.streams:
            out.append(f"$JS.API.STREAM.INFO.{stream}")
            if self.manage:
                out += [f"$JS.API.STREAM.CREATE.{stream}", f"$JS.API.STREAM.UPDATE.{stream}"]
            if self.publish:
                # Resuming from the stream's last message (the relay).
                out += [f"$JS.API.STREAM.MSG.GET.{stream}", f"$JS.API.DIRECT.GET.{stream}.>"]
            if self.consume:
                out += [
                    f"$JS.API.CONSUMER.CREATE.{stream}.>",
                    f"$JS.API.CONSUMER.CREATE.{stream}",
                    f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>",
                    f"$JS.API.CONSUMER.INFO.{stream}.>",
                    f"$JS.API.CONSUMER.MSG.NEXT.{stream}.>",
                    f"$JS.ACK.{stream}.>",
                ]
        return tuple(out)


def users(naming: Naming, departments: Iterable[str]) -> list[NatsUser]:
    """Every user tousu's processes and the departments' systems connect as."""
    root = naming.root
    all_streams = (naming.events_stream, naming.intake_stream, naming.dlq_stream)
    out = [
        NatsUser(
            RELAY,
            publish=(
                naming.all_events,
                *_JetStream(all_streams, publish=True, manage=True).subjects(),
            ),
            subscribe=(INBOX,),
            notes="publishes the stored events; nothing else",
        ),
        NatsUser(
            GATEWAY,
            publish=(f"{root}.cmd.>", naming.all_intake, *_JetStream(all_streams).subjects()),
            subscribe=(INBOX,),
            notes="sends commands and submissions for the HTTP API and the web pages",
        ),
    ]
    for service in NATS_SERVICES:
        out.append(
            NatsUser(
                service,
                publish=(
                    INBOX,  # replies to the commands it answers
                    # Its own commands only (intake records a merge on the
                    # other complaint through its own subject).
                    f"{root}.cmd.{service}.>",
                    f"{root}.dlq.>",
                    *_JetStream(all_streams, consume=True, manage=True).subjects(),
                    # A replayed dead letter, once settled, is removed.
                    f"$JS.API.STREAM.MSG.DELETE.{naming.dlq_stream}",
                ),
                subscribe=(f"{root}.cmd.{service}.>", INBOX),
                notes=f"answers {root}.cmd.{service}.*, consumes the streams",
            )
        )
    for channel in Channel:
        user = CHANNEL_PREFIX + channel.value
        out.append(
            NatsUser(
                user,
                publish=(
                    naming.intake(channel.value),  # durable, through JetStream
                    *(naming.command(s, n) for s, n in sorted(CHANNEL_REQUESTS)),
                ),
                subscribe=(own_inbox(user) + ".>",),
                notes=f"the {channel.value} channel's adapter: submits for it, asks a status",
            )
        )
    department_sends = sorted(DEPARTMENT_COMMANDS | DEPARTMENT_REQUESTS)
    for code in sorted(set(departments)):
        # The subject's token, so that a code with a space or a dot still
        # makes a user name, a file name and a URL's user.
        user = department_durable(code)
        out.append(
            NatsUser(
                user,
                publish=(
                    *(naming.command(s, n) for s, n in department_sends),
                    *_follows(naming, code),
                ),
                subscribe=(naming.department_events(code), own_inbox(user) + ".>"),
                # repr: a line break in a code must not end the comment line.
                notes=f"department {code if is_token(code) else repr(code)}'s system: "
                "reads its events (live or durable), sends its handling commands",
            )
        )
    out.append(
        NatsUser(ADMIN, publish=(">",), subscribe=(">",), notes="tousu's CLI: dead letters, bench")
    )
    return out


def _list(subjects: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{s}"' for s in subjects) + "]"


def _rule(allowed: Sequence[str]) -> str:
    # nats-server reads an empty allow list as "no restriction".
    return f"{{ allow: {_list(allowed)} }}" if allowed else '{ deny: [">"] }'


def authorization_block(entries: Sequence[tuple[NatsUser, str]]) -> str:
    """nats-server's ``authorization {}`` for (user, bcrypt hash of its password)."""
    lines = ["authorization {", "  users = ["]
    for user, password_hash in entries:
        lines.append(f"    # {user.notes}" if user.notes else "    #")
        lines.append("    {")
        lines.append(f'      user: "{user.name}"')
        lines.append(f'      password: "{password_hash}"')
        lines.append("      permissions: {")
        lines.append(f"        publish: {_rule(user.publish)}")
        lines.append(f"        subscribe: {_rule(user.subscribe)}")
        lines.append("      }")
        lines.append("    }")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"
