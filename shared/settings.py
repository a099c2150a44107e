"""Configuration from the ``TOUSU_*`` environment variables."""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tousu.shared.naming import Naming


class Settings(BaseSettings):
    """One place for every knob; services, CLI and tests all read this."""

    model_config = SettingsConfigDict(env_prefix="TOUSU_", extra="ignore")

    # None means "not configured": `tousu up` then starts the embedded servers,
    # and other commands look for the ones `tousu up` started (see runtime state).
    nats_url: str | None = None
    database_url: str | None = None
    # Most connections a service's store pool opens (each service process
    # also holds one or two listening connections besides).
    database_pool_size: int = Field(default=10, ge=1, le=100)
    subject_root: str = Field(default="tousu", pattern=r"^[A-Za-z0-9_-]+$")
    data_dir: Path = Path("./var")
    http_port: int = 8080
    # Loopback by default; a deployment behind a proxy or in a container sets 0.0.0.0.
    http_host: str = "127.0.0.1"
    # The reverse proxies whose X-Forwarded-For the gateway believes (addresses
    # or networks, comma-separated: "10.0.0.5,192.168.0.0/24"). Empty: none,
    # and the client address of rate limits and lockouts is the connection's.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    log_level: str = "INFO"
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$")

    # Consumers: how often a failing handler is tried before its message is
    # dead-lettered, and the back-off between tries (seconds, doubled each time).
    consumer_max_deliver: int = Field(default=5, ge=1)
    consumer_backoff_base: float = Field(default=1.0, gt=0)
    consumer_backoff_max: float = Field(default=60.0, gt=0)
    consumer_batch_size: int = Field(default=100, ge=1)
    # Seconds a pull fetch waits for messages before asking again (bounds
    # only idle polling and shutdown latency; messages end a fetch at once).
    consumer_fetch_timeout: float = Field(default=5.0, gt=0)
    # Most items one transaction handles together: the events a consumer
    # fetched, the submissions intake received at once (1: one each).
    group_commit: int = Field(default=25, ge=1)

    # Bad input: the largest HTTP request body the gateway reads (413 above it)
    # and the largest channel submission intake takes off NATS (dead-lettered
    # above it). Field lengths are the domain's (shared/domain/commands.py);
    # the longest valid complaint, JSON-escaped CJK (6 bytes a character), is
    # about 260 KB.
    max_request_bytes: int = Field(default=512 * 1024, ge=1024)
    max_submission_bytes: int = Field(default=512 * 1024, ge=1024)

    relay_batch_size: int = Field(default=500, ge=1)
    # JetStream replicas of each stream (3 on a 3-node cluster).
    stream_replicas: int = Field(default=1, ge=1, le=5)
    # Where a NATS service or the relay serves /metrics, /healthz and /readyz;
    # None: not served (the gateway serves them on its own port).
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # How often a standby relay tries to take the leadership (seconds).
    relay_standby_retry: float = Field(default=0.5, gt=0)
    # Safety net for wake-ups lost to rolled-back transactions (they send no
    # NOTIFY); readers normally wake on LISTEN/NOTIFY.
    store_idle_recheck: float = Field(default=2.0, gt=0)

    # How often the deadline watcher (督办) looks for warnings and overdue
    # deadlines, in seconds.
    supervision_interval: float = Field(default=30.0, gt=0)

    # Who the organisation is, as notices to the public name it, and where the
    # public reports on how a complaint was handled (监督举报电话和邮箱).
    org_name_zh: str = "某市政务服务中心"
    org_name_en: str = "City Government Service Centre"
    supervision_phone: str = "12345"
    supervision_email: str = "jiandu@example.gov.cn"
    hotline: str | None = "12345"
    lookup_url: str | None = None

    # Signs the web pages' CSRF tokens and short-lived cookies. Unset: a random
    # key kept in <data_dir>/web-secret (replicas sharing no data dir must set it).
    web_secret: SecretStr | None = None
    # Keys the access codes' HMAC. Unset: kept in <data_dir>/access-code-key;
    # every intake and gateway process must use the same one.
    access_code_key: SecretStr | None = None
    # Open311's public reads show a request's description, address, position
    # and photo (free text and places a complainant gave). Default off: only
    # status, service, agency, dates and the public id (docs/personal-data.md).
    open311_public_details: bool = False

    # Accept complete, in-scope submissions without an operator (default off:
    # the policy asks for a preliminary verification, 初步核实).
    auto_accept: bool = False

    # Late entries (补录, docs/late-entries.md): a fact dated earlier than it is
    # recorded by more than the grace (clock skew, transit) is a late entry.
    # Staff may register a letter, visit or call up to late_registration_days
    # late, and record any other step back to the start of the day
    # late_step_working_days working days before (0: the same day); beyond
    # that only a supervisor may, with a reason.
    late_entry_grace_seconds: int = Field(default=300, ge=0, le=3600)
    late_registration_days: int = Field(default=30, ge=0, le=366)
    late_step_working_days: int = Field(default=0, ge=0, le=60)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for item in value:
                # A typo fails at start-up instead of trusting nobody (or everybody).
                ipaddress.ip_network(str(item), strict=False)
        return value

    @cached_property
    def naming(self) -> Naming:
        return Naming(self.subject_root)


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
