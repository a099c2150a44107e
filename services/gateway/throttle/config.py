"""The names of the rate limits and failure windows.

Each is a field of the settings' ``rate`` section (``tousu.shared.settings.RateSection``),
read from ``TOUSU_RATE_<NAME>``, e.g. ``TOUSU_RATE_LOOKUP="10/minute"``;
``TOUSU_RATE_LIMITS=false`` turns them all off (the test suite does, and its
throttle tests turn them on with their own).
"""

from __future__ import annotations

from typing import Literal, get_args

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
