"""Rate limits and lockouts for the public endpoints and staff sign-in."""

from tousu.services.gateway.throttle.limiter import Throttle
from tousu.services.gateway.throttle.logins import check_login, login_succeeded
from tousu.services.gateway.throttle.middleware import RateLimitMiddleware, client_ip
from tousu.services.gateway.throttle.problems import LOGIN_LOCKED, LOOKUP_LOCKED, TooManyRequests

__all__ = [
    "LOGIN_LOCKED",
    "LOOKUP_LOCKED",
    "RateLimitMiddleware",
    "Throttle",
    "TooManyRequests",
    "check_login",
    "client_ip",
    "login_succeeded",
]
