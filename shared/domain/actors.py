"""Actors that are systems speaking for someone: a channel's adapter, a department's own system.

Their ids are derived from the credential a NATS message carries
(``tousu.shared.application.credentials``), never taken from the message; the
rules here confine them in the domain as well: a channel's adapter submits for
its own channel only, and a department's system acts as a handler of its
department (the department checks of ``decide`` then confine it to its cases).
"""

from __future__ import annotations

from tousu.shared.domain.errors import WrongChannel
from tousu.shared.events import Actor

CHANNEL_PREFIX = "channel:"
DEPARTMENT_SYSTEM_PREFIX = "dept-system:"


def channel_actor(channel: str) -> Actor:
    """Who a submission of ``channel``'s adapter is recorded as having come from."""
    return Actor(id=f"{CHANNEL_PREFIX}{channel}", role="system")


def department_system_actor(department: str) -> Actor:
    """A department's own system, acting as one of its handlers."""
    return Actor(
        id=f"{DEPARTMENT_SYSTEM_PREFIX}{department}", role="handler", department=department
    )


def channel_of(actor: Actor) -> str | None:
    """The channel ``actor`` is the adapter of, or None for anyone else."""
    if actor.role == "system" and actor.id.startswith(CHANNEL_PREFIX):
        return actor.id.removeprefix(CHANNEL_PREFIX)
    return None


def is_department_system(actor: Actor) -> bool:
    """``actor`` is a department's own system (not a person of it)."""
    return (
        actor.role == "handler"
        and actor.department is not None
        and actor.id == f"{DEPARTMENT_SYSTEM_PREFIX}{actor.department}"
    )


def check_channel(actor: Actor, channel: str) -> None:
    """A channel's adapter may submit for its own channel only (``wrong_channel``)."""
    own = channel_of(actor)
    if own is not None and own != channel:
        raise WrongChannel(
            f"the {own} channel's adapter may not submit for channel {channel}",
            actor_channel=own,
            channel=channel,
        )
