"""Bearer tokens: random, shown once, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOUSU_", extra="ignore")

    # Lifetime of a token issued at login or by `tousu users token` (days).
    token_days: int = Field(default=30, ge=1, le=3650)
    # Lifetime of a web sign-in (the session cookie and the token behind it),
    # in hours: a working day plus overtime, then sign in again.
    session_hours: float = Field(default=10, gt=0, le=24 * 30)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
