"""intake's ways in, as its ServiceSpec declares them: ``<root>.cmd.intake.submit``
(request-reply) and the durable channel submissions on ``<root>.intake.<channel>``
(stream <ROOT>_INTAKE, durable ``intake-submissions``).

Both are answered for the sender their ``Tousu-Credential`` names
(``tousu.shared.application.credentials``): a trusted sender (the gateway)
names the actor, a channel's adapter is ``channel:<channel>`` and submits for
its own channel only; anyone else is refused (replied to, or dead-lettered
with the reason)."""

from __future__ import annotations

from typing import Any

from nats.aio.msg import Msg
from pydantic import ValidationError
from pydantic_core import to_json

from tousu.services.intake.bad_input import parse_submission
from tousu.services.intake.intake import Intake
from tousu.shared.application.catalogue import INTAKE
from tousu.shared.application.credentials import (
    Kind,
    credential_key,
    principal_of,
    submission_admission,
)
from tousu.shared.application.replies import Request
from tousu.shared.consumer.inputs import Input
from tousu.shared.domain.actors import channel_actor, check_channel
from tousu.shared.domain.errors import DomainError, Forbidden, InvalidCommand
from tousu.shared.intake.submission import SubmitRequest
from tousu.shared.logs import bound_contextvars, get_logger
from tousu.shared.settings import Settings

log = get_logger(__name__)
(CHANNEL_SUBMISSIONS,) = INTAKE.inputs
# Submissions one process answers at once: each mostly waits for the shared
# transaction that registers it (intake.Intake's group commit), so the more
# wait together, the more each commit carries (16, the default for a request,
# kept batches small and the web channel at a third of the durable channel's
# rate).
SUBMIT_CONCURRENCY = 64
SUBMISSIONS_DURABLE = CHANNEL_SUBMISSIONS.name


def parse_request(body: dict[str, Any]) -> SubmitRequest:
    """The request as the published schema reads it: the model in pydantic's
    strict mode for JSON, so that what a lenient reader would take (``"yes"``
    for a boolean) is refused, naming the field, before intake sees it
    (docs/integrations.md, "Message contracts: schemas"). The body arrives
    decoded; read as the JSON it was (a few microseconds), so that an
    instant, an enum's value or an id is read from its string, as the schema
    gives it."""
    return SubmitRequest.model_validate_json(to_json(body), strict=True)


def submit(intake: Intake) -> Request[SubmitRequest]:
    async def handle(request: SubmitRequest) -> dict[str, Any]:
        actor = request.actor
        if actor is None:  # submission_admission names one for every sender it admits
            raise InvalidCommand("actor", "the submission's actor is missing")
        # The decider refuses it too; refused here before a resend of another
        # channel's reference could be answered with that channel's complaint.
        check_channel(actor, request.submission.channel.value)
        submitted = await intake.submit(request.submission, actor, details=request.details)
        return submitted.as_json()

    return Request(
        parse_request,
        handle,
        failed="the submission could not be registered",
        title=INTAKE.requests["submit"].title,
        # Building the complaint's command from the submission validates again.
        refused=(ValidationError, DomainError),
        admit=submission_admission,
        concurrency=SUBMIT_CONCURRENCY,
    )


def channel_submissions(intake: Intake, settings: Settings) -> Input:
    key = credential_key(settings)

    async def register(msg: Msg) -> None:
        channel = msg.subject.rsplit(".", 1)[-1]
        with bound_contextvars(channel=channel):
            principal = principal_of(key, msg.headers)
            if principal.kind is Kind.DEPARTMENT:
                raise Forbidden(f"{principal} may not submit", principal=str(principal))
            # A trusted sender's message is its channel's; an adapter is its own channel.
            actor = principal.actor() or channel_actor(channel)
            check_channel(actor, channel)
            submission = parse_submission(msg.data, channel, settings.max_submission_bytes)
            submitted = await intake.submit(submission, actor, details=False)
            log.info("submission registered", tracking_no=submitted.tracking_no)

    return Input(
        CHANNEL_SUBMISSIONS.name,
        stream=CHANNEL_SUBMISSIONS.stream(settings.naming),
        subject=CHANNEL_SUBMISSIONS.subject(settings.naming),
        handle=register,
        # It can never succeed: dead-letter it at once, with the reason.
        refused=(ValidationError, ValueError, DomainError),
        title=CHANNEL_SUBMISSIONS.title,
    )
