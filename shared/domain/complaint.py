"""The complaint aggregate's public face: decide, evolve, replay, and their types."""

from shared.domain.commands import Command
from shared.domain.context import DecisionContext, Limits
from shared.domain.decide import ROLES, decide
from shared.domain.errors import (
    DomainError,
    Forbidden,
    IllegalTransition,
    InvalidCommand,
    NotFound,
    StaleVersion,
)
from shared.domain.state import ComplaintState, evolve, replay
from shared.domain.status import Status

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
