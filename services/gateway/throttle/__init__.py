"""Rate limits and lockouts for the public endpoints and staff sign-in."""

from services.gateway.throttle.config import ThrottleSettings
from services.gateway.throttle.limiter import Throttle
from services.gateway.throttle.logins import check_login, login_succeeded
from services.gateway.throttle.middleware import RateLimitMiddleware, client_ip
from services.gateway.throttle.problems import LOGIN_LOCKED, LOOKUP_LOCKED, TooManyRequests

__all__ = [
    "LOGIN_LOCKED",
    "LOOKUP_LOCKED",
    "RateLimitMiddleware",
    "Throttle",
    "ThrottleSettings",
    "TooManyRequests",
    "check_login",
    "client_ip",
    "login_succeeded",
]
