"""intake over NATS: `<root>.cmd.intake.submit` (request-reply) and the durable
channel submissions on `<root>.intake.<channel>` (stream <ROOT>_INTAKE)."""

from __future__ import annotations

from typing import Any

from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from pydantic import BaseModel, ConfigDict, ValidationError

from tousu.services.intake.bad_input import parse_submission
from tousu.services.intake.intake import Intake
from tousu.services.intake.submission import Submission
from tousu.shared.application.nats_commands import CONCURRENT_REQUESTS
from tousu.shared.application.replies import error, from_exception, ok
from tousu.shared.consumer.dead_letter import DeadLetters, describe
from tousu.shared.consumer.host import raw_message
from tousu.shared.consumer.policy import RetryPolicy, is_outage
from tousu.shared.domain.errors import DomainError
from tousu.shared.events import Actor
from tousu.shared.logs import bound_contextvars, get_logger
from tousu.shared.settings import Settings

log = get_logger(__name__)
SUBMISSIONS_DURABLE = "intake-submissions"


class SubmitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    submission: Submission
    actor: Actor


def register(broker: NatsBroker, settings: Settings, intake: Intake) -> None:
    naming = settings.naming

    @broker.subscriber(
        naming.command("intake", "submit"),
        queue="intake",
        max_workers=CONCURRENT_REQUESTS,
        title="intake submit",
    )
    async def submit(body: dict[str, Any]) -> dict[str, Any]:
        try:
            request = SubmitRequest.model_validate(body)
            submitted = await intake.submit(request.submission, request.actor)
        except (ValidationError, DomainError) as exc:
            return from_exception(exc)
        except Exception:
            log.exception("submission failed")
            return error("internal_error", "the submission could not be registered")
        return ok(submitted.as_json())

    policy = RetryPolicy.from_settings(settings)

    @broker.subscriber(
        naming.all_intake,
        stream=JStream(naming.intake_stream, declare=False),
        durable=SUBMISSIONS_DURABLE,
        pull_sub=PullSub(
            batch_size=settings.consumer_batch_size, timeout=settings.consumer_fetch_timeout
        ),
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_message,
        title="intake channel submissions",
    )
    async def from_channel(msg: Any) -> None:  # a nats Msg (see raw_message)
        body = msg.data
        channel = msg.subject.rsplit(".", 1)[-1]
        deliveries = msg.metadata.num_delivered or 1
        with bound_contextvars(channel=channel, msg_id=(msg.headers or {}).get("Nats-Msg-Id")):
            try:
                submission = parse_submission(body, channel, settings.max_submission_bytes)
                actor = Actor(id=f"channel:{channel}", role="system")
                submitted = await intake.submit(submission, actor, details=False)
            except (ValidationError, ValueError, DomainError) as exc:
                # It can never succeed: dead-letter it at once, with the reason.
                await _dead_letter(msg, exc, deliveries)
                return
            except Exception as exc:
                if policy.gives_up(exc, deliveries):
                    await _dead_letter(msg, exc, deliveries)
                    return
                delay = policy.backoff(deliveries)
                log.warning(
                    "submission failed, will retry",
                    error=describe(exc),
                    deliveries=deliveries,
                    retry_in=delay,
                    outage=is_outage(exc),
                )
                await msg.nak(delay=delay)
                return
            await msg.ack()
            log.info("submission registered", tracking_no=submitted.tracking_no)

    async def _dead_letter(msg: Any, exc: BaseException, deliveries: int) -> None:
        connection = await broker.connect()
        await DeadLetters(connection.jetstream(), naming).publish(
            SUBMISSIONS_DURABLE, msg, exc, deliveries
        )
        await msg.term()
        log.error("submission dead-lettered", error=describe(exc))
