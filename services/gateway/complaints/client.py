"""Commands to the services over NATS request-reply (``<root>.cmd.<service>.<command>``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from tousu.services.gateway.complaints.actions import Action
from tousu.services.gateway.complaints.replies import RETRY_LATER, problem_for
from tousu.services.gateway.problems import ServiceUnavailable, Text
from tousu.shared.domain.commands import Command
from tousu.shared.logs import get_logger
from tousu.shared.naming import Naming

log = get_logger(__name__)

# Long enough for a command's load-decide-append under load; a reply after it
# is lost, which is why every command carries an id a retry can repeat.
DEFAULT_TIMEOUT = 10.0

NO_RESPONDERS = Text(
    "处理服务未运行，请稍后重试", "The service that handles this is not running; retry later"
)
TIMED_OUT = Text(
    "处理服务未及时答复，操作可能已执行：请用同一 Idempotency-Key 重试",
    "The service did not answer in time and may have acted: retry with the same Idempotency-Key",
)


async def call(
    nats: NatsClient, subject: str, payload: Mapping[str, Any], timeout: float = DEFAULT_TIMEOUT
) -> tuple[bool, Any]:
    """Request-reply to a service: ``(True, result)`` or ``(False, error)``.

    Not reaching the service, or a reply not of the shape in docs/design.md,
    "Subjects and streams", is a 503.
    """
    try:
        reply = await nats.request(subject, json.dumps(payload).encode(), timeout=timeout)
    except NoRespondersError:
        raise _unavailable(NO_RESPONDERS, "no_responders") from None
    except NatsTimeout:
        raise _unavailable(TIMED_OUT, "service_timeout") from None
    except NatsError as exc:
        log.warning("request not sent", subject=subject, error=repr(exc))
        raise _unavailable(RETRY_LATER, "nats_unavailable") from None
    try:
        body = json.loads(reply.data)
    except ValueError:
        log.error("unreadable reply", subject=subject, reply=reply.data[:200])
        raise _unavailable(RETRY_LATER, "bad_reply") from None
    if isinstance(body, dict) and body.get("ok") is True:
        return True, body.get("result")
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        raise _unavailable(RETRY_LATER, "bad_reply")
    if error.get("code") == "internal_error":
        log.error("request failed in the service", subject=subject, error=error)
    return False, error


class CommandClient:
    def __init__(self, nats: NatsClient, naming: Naming, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._nats = nats
        self._naming = naming
        self._timeout = timeout

    async def send(self, action: Action, complaint_id: uuid.UUID, command: Command) -> Any:
        """The service's ``result``, or a :class:`DomainProblem` for its refusal."""
        subject = self._naming.command(action.service, action.name)
        payload = {"complaint_id": str(complaint_id), "command": command.model_dump(mode="json")}
        ok, answer = await call(self._nats, subject, payload, self._timeout)
        if ok:
            return answer
        raise problem_for(answer, action.name)


def _unavailable(detail: Text, code: str) -> ServiceUnavailable:
    return ServiceUnavailable(detail, code=code, headers={"Retry-After": "1"})
