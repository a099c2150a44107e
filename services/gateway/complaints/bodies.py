"""Request bodies of the actions, generated from the command models.

One definition of each command's fields (``shared/domain/commands.py``): the
body is the command without what the gateway fills in itself — the actor
(from the signed-in principal, never from the body), the ids — and with
``occurred_at`` optional (given for a fact reported after it happened,
otherwise now).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from tousu.shared.domain.commands import Command
from tousu.shared.domain.inputs import Instant

# expected_version comes from the If-Match header (complaints/versions.py).
GATEWAY_FIELDS = frozenset(
    {"actor", "command_id", "correlation_id", "causation_id", "expected_version"}
)

OCCURRED_AT = Field(
    default=None,
    description="When it happened, if earlier than now (ISO 8601 with an offset); default now.",
    examples=["2026-03-02T09:00:00+08:00"],
)


def body_model(command: type[Command]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in command.model_fields.items()
        if name not in GATEWAY_FIELDS and name != "occurred_at"
    }
    fields["occurred_at"] = (Instant | None, OCCURRED_AT)
    model: type[BaseModel] = create_model(
        f"{command.name()}Body",
        __config__=ConfigDict(extra="forbid"),
        __doc__=command.__doc__ or f"The fields of {command.name()}.",
        **fields,
    )
    return model


def has_required_fields(model: type[BaseModel]) -> bool:
    return any(info.is_required() for info in model.model_fields.values())
