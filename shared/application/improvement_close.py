"""The request ``<root>.cmd.metrics.improvement-close``: the owning department
closes one improvement item (整改跟踪) with its evidence.

A trusted sender (the gateway, the CLI) names the actor; a department's own
system (its credential) closes as itself, so the domain confines it to its
department's items as it confines it to its cases. A channel's adapter
closes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict

from tousu.shared.application.credentials import Kind, Principal, with_actor
from tousu.shared.domain.errors import Forbidden
from tousu.shared.domain.improvements import CloseImprovement


class CloseImprovementRequest(BaseModel):
    """The body of ``<root>.cmd.metrics.improvement-close``."""

    model_config = ConfigDict(extra="forbid")

    item_id: uuid.UUID
    command: CloseImprovement


class ImprovementClosed(BaseModel):
    """The ``result`` of ``<root>.cmd.metrics.improvement-close``."""

    model_config = ConfigDict(extra="forbid")

    item_id: uuid.UUID
    complaint_id: uuid.UUID
    department: str
    version: int
    # The closing had been recorded before (same command_id): nothing new.
    repeated: bool


def close_admission(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A trusted sender's actor stands; a department's system closes as itself."""
    if principal.kind is Kind.TRUSTED:
        return body
    actor = principal.actor()
    if principal.kind is not Kind.DEPARTMENT or actor is None:
        raise Forbidden(f"{principal} may not close improvement items", principal=str(principal))
    command = body.get("command")
    if not isinstance(command, dict):
        return body  # refused by the parse, which names the field
    return {**body, "command": with_actor(command, actor, principal)}
