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
Rule = Literal[
    "submit", "lookup", "survey", "login", "lookup_failures", "login_failures", "login_failures_ip"
]
RULES: tuple[Rule, ...] = get_args(Rule)


class ThrottleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOUSU_RATE_", extra="ignore")

    limits: bool = True
    # Per client IP.
    submit: str = Field(default="10/minute", description="new complaints: web, API, Open311")
    lookup: str = Field(default="10/minute", description="looking a complaint up by number")
    survey: str = Field(default="10/minute", description="the satisfaction survey")
    login: str = Field(default="10/minute", description="staff sign-in attempts")
    # Failures, which lock out further attempts until the window has passed.
    lookup_failures: str = Field(
        default="5/15 minutes", description="wrong codes per tracking number, from any IP"
    )
    login_failures: str = Field(default="5/15 minutes", description="failed sign-ins per user")
    login_failures_ip: str = Field(
        default="20/15 minutes", description="failed sign-ins per client IP"
    )

    @field_validator(*RULES)
    @classmethod
    def _parses(cls, value: str) -> str:
        parse(value)  # a typo fails at start-up, not on the first request
        return value
