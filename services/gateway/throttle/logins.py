"""Staff sign-in lockout: too many failures for a username from one client IP,
a short slowdown for a username from any IP, and a limit per client IP.

Checked before the password is (a locked account is refused even the right
password, and the argon2 work is not done for a guesser); every sign-in counts
as a failure until it succeeds, and a success clears the (username, IP) count.
Unknown usernames are counted like known ones, so the lockout does not tell
which exist.

Why per (username, IP): counted per username alone, anyone who knows a
colleague's username could keep them locked out with five wrong passwords
every 15 minutes. The per-username slowdown (any IP) still bounds guesses
spread over many addresses, and its window is at most a minute (see
tousu.shared.settings.SLOWDOWN_WINDOW_MAX), so it never holds the owner up for long.
"""

from __future__ import annotations

from tousu.services.gateway.throttle.config import FailureRule
from tousu.services.gateway.throttle.failures import Attempt, Key
from tousu.services.gateway.throttle.limiter import Throttle
from tousu.services.gateway.throttle.problems import LOGIN_LOCKED, TooManyRequests


def _user(username: str) -> str:
    return username.strip().lower()[:64]


def _keys(username: str, ip: str) -> tuple[tuple[FailureRule, Key], ...]:
    user = _user(username)
    return (
        ("login_failures", (user, ip)),
        ("login_failures_user", user),
        ("login_failures_ip", ip),
    )


async def check_login(throttle: Throttle, username: str, ip: str) -> Attempt:
    """Raise a 429 :class:`TooManyRequests` while the user or the IP is locked
    out; else the sign-in, counted as a failure until :func:`login_succeeded`."""
    keys = _keys(username, ip)
    for rule, key in keys:
        wait = throttle.failure_blocked(rule, key)
        if wait is not None:
            raise TooManyRequests(LOGIN_LOCKED, wait, code="login_locked")
    # Counted now, not after the password check (tens of ms in a thread):
    # concurrent guesses cannot all pass the check above before one counts.
    return throttle.attempt(keys)


async def login_succeeded(throttle: Throttle, attempt: Attempt, username: str, ip: str) -> None:
    attempt.succeeded()
    throttle.forgive("login_failures", (_user(username), ip))
