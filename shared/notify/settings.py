"""Configuration of notices: the SMTP server (``TOUSU_SMTP_*``) and the dispatcher
(``TOUSU_NOTIFY_*``)."""

from __future__ import annotations

from typing import Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SmtpSettings(BaseSettings):
    """Where e-mail notices go. Without ``TOUSU_SMTP_HOST`` no e-mail is sent
    (e-mail notices wait in the outbox)."""

    model_config = SettingsConfigDict(env_prefix="TOUSU_SMTP_", extra="ignore")

    host: str | None = None
    port: int = Field(default=25, ge=1, le=65535)
    user: str | None = None
    password: SecretStr | None = None
    from_address: str = Field(
        default="noreply@tousu.invalid",
        validation_alias=AliasChoices("TOUSU_SMTP_FROM", "from_address"),
    )
    # STARTTLS after connecting (port 587), or TLS from the start (port 465).
    starttls: bool = False
    tls: bool = False
    # Right-hand side of the Message-ID; the From address's domain when unset.
    message_id_domain: str | None = None
    timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _one_tls_mode(self) -> Self:
        if self.starttls and self.tls:
            raise ValueError("TOUSU_SMTP_STARTTLS and TOUSU_SMTP_TLS exclude each other")
        return self

    @property
    def id_domain(self) -> str:
        return self.message_id_domain or self.from_address.rpartition("@")[2] or "tousu.invalid"


class NotifySettings(BaseSettings):
    """How the dispatcher claims, retries and gives up."""

    model_config = SettingsConfigDict(env_prefix="TOUSU_NOTIFY_", extra="ignore")

    # Tries in all, the first included, before a notice is dead.
    max_attempts: int = Field(default=8, ge=1)
    # Wait after the first failure; doubled after each further one, up to the max
    # (30 s, 1 min, 2 min … 1 h: an SMTP outage of a few hours loses nothing).
    backoff_base: float = Field(default=30.0, gt=0)
    backoff_max: float = Field(default=3600.0, gt=0)
    # How long a claim holds a notice: when it ends the notice is tried again,
    # so a dispatcher that died while sending is taken over. A send is cut off
    # after half of it, so a slow dispatcher never sends alongside its successor.
    lease: float = Field(default=300.0, gt=0)
    # Notices claimed (and sent concurrently) at a time by one dispatcher.
    batch_size: int = Field(default=10, ge=1)
    # Safety net for wake-ups lost (a LISTEN connection that dropped).
    recheck: float = Field(default=5.0, gt=0)
    # The sender's name: From line of e-mails, signature of letters and SMS.
    organisation: str = "投诉受理中心"
