"""Staff sign-in lockout: too many failures for a username, or from one IP.

Checked before the password is (a locked account is refused even the right
password, and the argon2 work is not done for a guesser); a success clears the
username's count. Unknown usernames are counted like known ones, so the lockout
does not tell which exist.
"""

from __future__ import annotations

from services.gateway.throttle.config import Rule
from services.gateway.throttle.limiter import Throttle
from services.gateway.throttle.problems import LOGIN_LOCKED, TooManyRequests


def _user(username: str) -> str:
    return username.strip().lower()[:64]


async def check_login(throttle: Throttle, username: str, ip: str) -> None:
    """Raise a 429 :class:`TooManyRequests` while the user or the IP is locked out."""
    checks: tuple[tuple[Rule, str], ...] = (
        ("login_failures", _user(username)),
        ("login_failures_ip", ip),
    )
    for rule, key in checks:
        wait = await throttle.blocked(rule, key)
        if wait is not None:
            raise TooManyRequests(LOGIN_LOCKED, wait, code="login_locked")


async def login_failed(throttle: Throttle, username: str, ip: str) -> None:
    await throttle.hit("login_failures", _user(username))
    await throttle.hit("login_failures_ip", ip)


async def login_succeeded(throttle: Throttle, username: str) -> None:
    await throttle.clear("login_failures", _user(username))
