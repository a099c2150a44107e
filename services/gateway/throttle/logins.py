"""Staff sign-in lockout: too many failures for a username from one client IP,
a short slowdown for a username from any IP, and a limit per client IP.

Checked before the password is (a locked account is refused even the right
password, and the argon2 work is not done for a guesser); a success clears the
(username, IP) count. Unknown usernames are counted like known ones, so the
lockout does not tell which exist.

Why per (username, IP): counted per username alone, anyone who knows a
colleague's username could keep them locked out with five wrong passwords
every 15 minutes. The per-username slowdown (any IP) still bounds guesses
spread over many addresses, and its window is at most a minute (see
config.SLOWDOWN_WINDOW_MAX), so it never holds the owner up for long.
"""

from __future__ import annotations

from services.gateway.throttle.config import FailureRule
from services.gateway.throttle.failures import Key
from services.gateway.throttle.limiter import Throttle
from services.gateway.throttle.problems import LOGIN_LOCKED, TooManyRequests


def _user(username: str) -> str:
    return username.strip().lower()[:64]


def _keys(username: str, ip: str) -> tuple[tuple[FailureRule, Key], ...]:
    user = _user(username)
    return (
        ("login_failures", (user, ip)),
        ("login_failures_user", user),
        ("login_failures_ip", ip),
    )


async def check_login(throttle: Throttle, username: str, ip: str) -> None:
    """Raise a 429 :class:`TooManyRequests` while the user or the IP is locked out."""
    for rule, key in _keys(username, ip):
        wait = throttle.failure_blocked(rule, key)
        if wait is not None:
            raise TooManyRequests(LOGIN_LOCKED, wait, code="login_locked")


async def login_failed(throttle: Throttle, username: str, ip: str) -> None:
    for rule, key in _keys(username, ip):
        throttle.failed(rule, key)


async def login_succeeded(throttle: Throttle, username: str, ip: str) -> None:
    throttle.forgive("login_failures", (_user(username), ip))
