"""How hard the public endpoints may be hit: limits in ``limits`` notation, per window.

Each is read from the environment (``TOUSU_RATE_<NAME>``, e.g.
``TOUSU_RATE_LOOKUP="10/minute"``); ``TOUSU_RATE_LIMITS=false`` turns them all
off (the test suite does, and its throttle tests turn them on with their own).
"""

from __future__ import annotations

from typing import Literal, get_args

from limits import parse
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Each is a field of ThrottleSettings below.
Rule = Literal["submit", "lookup", "survey", "login"]
RULES: tuple[Rule, ...] = get_args(Rule)
# Failures, counted in windows of their own (see failures.py).
FailureRule = Literal[
    "lookup_failures",
    "lookup_failures_number",
    "login_failures",
    "login_failures_user",
    "login_failures_ip",
]
FAILURE_RULES: tuple[FailureRule, ...] = get_args(FailureRule)
# The shared slowdowns (a number or a username, from any address) lock its
# owner out too: their window may not be longer than this, so that an
# attacker can never keep the owner out for long.
SLOWDOWN_WINDOW_MAX = 60


class ThrottleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOUSU_RATE_", extra="ignore")

    limits: bool = True
    # Per client IP.
    submit: str = Field(default="10/minute", description="new complaints: web, API, Open311")
    lookup: str = Field(default="10/minute", description="looking a complaint up by number")
    survey: str = Field(default="10/minute", description="the satisfaction survey")
    login: str = Field(default="10/minute", description="staff sign-in attempts")
    # Failures, which lock out further attempts until the window has passed.
    # Per (tracking number, client IP): a guesser is locked, the owner (another
    # address) is not.
    lookup_failures: str = Field(
        default="5/15 minutes", description="wrong codes per tracking number and client IP"
    )
    # Per tracking number from any IP: a short slowdown against guesses spread
    # over many addresses, which the owner's right code outlasts within a minute.
    lookup_failures_number: str = Field(
        default="10/minute", description="wrong codes per tracking number, from any IP"
    )
    login_failures: str = Field(
        default="5/15 minutes", description="failed sign-ins per username and client IP"
    )
    login_failures_user: str = Field(
        default="10/minute", description="failed sign-ins per username, from any IP"
    )
    login_failures_ip: str = Field(
        default="20/15 minutes", description="failed sign-ins per client IP"
    )

    @field_validator(*RULES, *FAILURE_RULES)
    @classmethod
    def _parses(cls, value: str) -> str:
        parse(value)  # a typo fails at start-up, not on the first request
        return value

    @field_validator("lookup_failures_number", "login_failures_user")
    @classmethod
    def _short(cls, value: str) -> str:
        if parse(value).get_expiry() > SLOWDOWN_WINDOW_MAX:
            raise ValueError(
                f"a shared slowdown's window may be at most {SLOWDOWN_WINDOW_MAX} seconds "
                "(it holds the owner up too)"
            )
        return value
