"""What the kit raises: tousu said no (`Refused`) or did not answer (`Unavailable`)."""

from __future__ import annotations

from typing import Any


class KitError(Exception):
    """Anything the kit raises on purpose."""


class Refused(KitError):
    """tousu (or the shipped schema, before sending) refused the message.

    Sending it again will not help: ``code`` says why (``validation_error``,
    ``unauthenticated``, ``forged_actor``, ``wrong_channel``, a domain code such
    as ``not_allowed``, or a refused file's code), ``details`` lists the fields
    at fault when tousu names them.
    """

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


class Unavailable(KitError):
    """tousu did not answer, or answered ``internal_error``, on every try.

    The message may or may not have arrived: send it again later with the same
    reference (or command id), which files nothing twice.
    """
