"""The decider asks whether each file a command names is stored; the store
is asked before deciding (the decider stays pure), for just those files."""

from __future__ import annotations

from dataclasses import replace

from tousu.shared.attachments.files import Attachments
from tousu.shared.domain.commands import Attaching, Command
from tousu.shared.domain.context import DecisionContext
from tousu.shared.events.types import FileRef


async def with_attachments(
    ctx: DecisionContext, command: Command, attachments: Attachments
) -> DecisionContext:
    """``ctx`` answering for the files ``command`` names, under the deployment's count limit."""
    files: list[FileRef] = command.attachments if isinstance(command, Attaching) else []
    problems = {ref.sha256: await attachments.problem(ref) for ref in files}

    def problem(ref: FileRef) -> str | None:
        return problems.get(ref.sha256, "not looked up in the attachment store")

    return replace(ctx, attachment_problem=problem, max_attachments=attachments.limits.max_files)


def without_attachments(ctx: DecisionContext) -> DecisionContext:
    """``ctx`` refusing every file: for an executor given no attachment store."""

    def problem(_ref: FileRef) -> str | None:
        return "files are not taken here (no attachment store is configured)"

    return replace(ctx, attachment_problem=problem)
