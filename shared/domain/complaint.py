"""The complaint aggregate's public face: decide, evolve, replay, and their types."""

from tousu.shared.domain.commands import Command
from tousu.shared.domain.context import DecisionContext, Limits
from tousu.shared.domain.decide import ROLES, decide
from tousu.shared.domain.errors import (
    DomainError,
    Forbidden,
    IllegalTransition,
    InvalidCommand,
    NotFound,
    StaleVersion,
)
from tousu.shared.domain.state import ComplaintState, evolve, replay
from tousu.shared.domain.status import Status

__all__ = [
    "ROLES",
    "Command",
    "ComplaintState",
    "DecisionContext",
    "DomainError",
    "Forbidden",
    "IllegalTransition",
    "InvalidCommand",
    "Limits",
    "NotFound",
    "StaleVersion",
    "Status",
    "decide",
    "evolve",
    "replay",
]
