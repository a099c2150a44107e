"""intake's ways in, as its ServiceSpec declares them: ``<root>.cmd.intake.submit``
(request-reply) and the durable channel submissions on ``<root>.intake.<channel>``
(stream <ROOT>_INTAKE, durable ``intake-submissions``)."""

from __future__ import annotations

from typing import Any

from nats.aio.msg import Msg
from pydantic import ValidationError

from tousu.services.intake.bad_input import parse_submission
from tousu.services.intake.intake import Intake
from tousu.shared.application.catalogue import INTAKE
from tousu.shared.application.replies import Request
from tousu.shared.consumer.inputs import Input
from tousu.shared.domain.errors import DomainError
from tousu.shared.events import Actor
from tousu.shared.intake.submission import SubmitRequest
from tousu.shared.logs import bound_contextvars, get_logger
from tousu.shared.settings import Settings

log = get_logger(__name__)
(CHANNEL_SUBMISSIONS,) = INTAKE.inputs
SUBMISSIONS_DURABLE = CHANNEL_SUBMISSIONS.name


def submit(intake: Intake) -> Request[SubmitRequest]:
    async def handle(request: SubmitRequest) -> dict[str, Any]:
        submitted = await intake.submit(request.submission, request.actor)
        return submitted.as_json()

    return Request(
        SubmitRequest.model_validate,
        handle,
        failed="the submission could not be registered",
        title=INTAKE.requests["submit"].title,
        # Building the complaint's command from the submission validates again.
        refused=(ValidationError, DomainError),
    )


def channel_submissions(intake: Intake, settings: Settings) -> Input:
    async def register(msg: Msg) -> None:
        channel = msg.subject.rsplit(".", 1)[-1]
        with bound_contextvars(channel=channel):
            submission = parse_submission(msg.data, channel, settings.max_submission_bytes)
            actor = Actor(id=f"channel:{channel}", role="system")
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
