"""What a decision can refuse. Each maps to one HTTP status at the gateway."""

from __future__ import annotations

from tousu.shared.domain.status import Status


class DomainError(Exception):
    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class IllegalTransition(DomainError):
    """The command is not allowed in the complaint's current state (409)."""

    code = "illegal_transition"
    http_status = 409

    def __init__(self, command: str, status: Status | None, why: str = "") -> None:
        where = status.value if status else "not received"
        super().__init__(
            f"{command} is not allowed while the complaint is {where}"
            + (f": {why}" if why else ""),
            command=command,
            current_state=where,
        )
        self.status = status


class StaleVersion(DomainError):
    """The sender saw an older version of the complaint than the stored one (409)."""

    code = "stale_version"
    http_status = 409

    def __init__(self, command: str, status: Status | None, expected: int, version: int) -> None:
        super().__init__(
            f"{command} was sent for version {expected} but the complaint is at {version}",
            command=command,
            current_state=status.value if status else "not received",
            version=version,
            expected_version=expected,
        )


class NotFound(DomainError):
    """No such complaint, or not one the actor's department may see (404)."""

    code = "not_found"
    http_status = 404


class Forbidden(DomainError):
    """The actor's role may not do this (403)."""

    code = "forbidden"
    http_status = 403


class InvalidCommand(DomainError):
    """The command's content breaks a rule (422), e.g. extensions beyond 10 working days."""

    code = "invalid_command"
    http_status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)
        self.field = field


class WrongChannel(DomainError):
    """A channel's adapter submitting for another channel (403)."""

    code = "wrong_channel"
    http_status = 403
