"""One settings object: every environment variable the seven settings classes read
before they became sections still sets the same value, with the same default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from tousu.shared.settings import Settings, env_names, load_settings

# (variable, where it lands, its default, a value to set, what that value reads as):
# the names and defaults of Settings, RoutingSettings, AuthSettings, SmtpSettings,
# NotifySettings, ThrottleSettings and EmbeddedSettings as they were.
OLD_NAMES: list[tuple[str, str, Any, str, Any]] = [
    ("TOUSU_NATS_URL", "nats_url", None, "nats://n:4222", "nats://n:4222"),
    ("TOUSU_DATABASE_URL", "database_url", None, "postgresql://d/db", "postgresql://d/db"),
    ("TOUSU_DATABASE_POOL_SIZE", "database_pool_size", 10, "7", 7),
    ("TOUSU_SUBJECT_ROOT", "subject_root", "tousu", "other", "other"),
    ("TOUSU_DATA_DIR", "data_dir", Path("var"), "/srv/tousu", Path("/srv/tousu")),
    ("TOUSU_HTTP_PORT", "http_port", 8080, "9090", 9090),
    ("TOUSU_HTTP_HOST", "http_host", "127.0.0.1", "0.0.0.0", "0.0.0.0"),
    ("TOUSU_TRUSTED_PROXIES", "trusted_proxies", [], "10.0.0.5, ::1", ["10.0.0.5", "::1"]),
    ("TOUSU_LOG_LEVEL", "log_level", "INFO", "DEBUG", "DEBUG"),
    ("TOUSU_LOG_FORMAT", "log_format", "auto", "json", "json"),
    ("TOUSU_CONSUMER_MAX_DELIVER", "consumer_max_deliver", 5, "3", 3),
    ("TOUSU_CONSUMER_BACKOFF_BASE", "consumer_backoff_base", 1.0, "0.5", 0.5),
    ("TOUSU_CONSUMER_BACKOFF_MAX", "consumer_backoff_max", 60.0, "30", 30.0),
    ("TOUSU_CONSUMER_BATCH_SIZE", "consumer_batch_size", 100, "50", 50),
    ("TOUSU_CONSUMER_FETCH_TIMEOUT", "consumer_fetch_timeout", 5.0, "2.5", 2.5),
    ("TOUSU_GROUP_COMMIT", "group_commit", 25, "1", 1),
    ("TOUSU_MAX_REQUEST_BYTES", "max_request_bytes", 524288, "4096", 4096),
    ("TOUSU_MAX_SUBMISSION_BYTES", "max_submission_bytes", 524288, "8192", 8192),
    ("TOUSU_RELAY_BATCH_SIZE", "relay_batch_size", 500, "100", 100),
    ("TOUSU_STREAM_REPLICAS", "stream_replicas", 1, "3", 3),
    ("TOUSU_METRICS_PORT", "metrics_port", None, "9100", 9100),
    ("TOUSU_RELAY_STANDBY_RETRY", "relay_standby_retry", 0.5, "2", 2.0),
    ("TOUSU_STORE_IDLE_RECHECK", "store_idle_recheck", 2.0, "4", 4.0),
    ("TOUSU_STORE_QUIET_RECHECK", "store_quiet_recheck", 30.0, "60", 60.0),
    ("TOUSU_SUPERVISION_INTERVAL", "supervision_interval", 30.0, "5", 5.0),
    ("TOUSU_ORG_NAME_ZH", "org_name_zh", "某市政务服务中心", "某区中心", "某区中心"),
    ("TOUSU_ORG_NAME_EN", "org_name_en", "City Government Service Centre", "District", "District"),
    ("TOUSU_SUPERVISION_PHONE", "supervision_phone", "12345", "110", "110"),
    ("TOUSU_SUPERVISION_EMAIL", "supervision_email", "jiandu@example.gov.cn", "a@b.cn", "a@b.cn"),
    ("TOUSU_HOTLINE", "hotline", "12345", "12315", "12315"),
    ("TOUSU_LOOKUP_URL", "lookup_url", None, "https://x.cn/track", "https://x.cn/track"),
    ("TOUSU_WEB_SECRET", "web_secret", None, "s3cret", SecretStr("s3cret")),
    ("TOUSU_ACCESS_CODE_KEY", "access_code_key", None, "k3y", SecretStr("k3y")),
    ("TOUSU_OPEN311_PUBLIC_DETAILS", "open311_public_details", False, "true", True),
    ("TOUSU_AUTO_ACCEPT", "auto_accept", False, "1", True),
    ("TOUSU_LATE_ENTRY_GRACE_SECONDS", "late_entry_grace_seconds", 300, "60", 60),
    ("TOUSU_LATE_REGISTRATION_DAYS", "late_registration_days", 30, "45", 45),
    ("TOUSU_LATE_STEP_WORKING_DAYS", "late_step_working_days", 0, "2", 2),
    ("TOUSU_AUTO_ROUTE", "routing.auto_route", True, "0", False),
    ("TOUSU_ROUTING_RULES", "routing.routing_rules", None, "/etc/r.yaml", Path("/etc/r.yaml")),
    ("TOUSU_TOKEN_DAYS", "auth.token_days", 30, "7", 7),
    ("TOUSU_SESSION_HOURS", "auth.session_hours", 10, "8.5", 8.5),
    ("TOUSU_SMTP_HOST", "smtp.host", None, "mail.example", "mail.example"),
    ("TOUSU_SMTP_PORT", "smtp.port", 25, "587", 587),
    ("TOUSU_SMTP_USER", "smtp.user", None, "tousu", "tousu"),
    ("TOUSU_SMTP_PASSWORD", "smtp.password", None, "pw", SecretStr("pw")),
    ("TOUSU_SMTP_FROM", "smtp.from_address", "noreply@tousu.invalid", "t@x.cn", "t@x.cn"),
    ("TOUSU_SMTP_STARTTLS", "smtp.starttls", False, "true", True),
    ("TOUSU_SMTP_TLS", "smtp.tls", False, "true", True),
    ("TOUSU_SMTP_MESSAGE_ID_DOMAIN", "smtp.message_id_domain", None, "x.cn", "x.cn"),
    ("TOUSU_SMTP_TIMEOUT", "smtp.timeout", 30.0, "5", 5.0),
    ("TOUSU_NOTIFY_MAX_ATTEMPTS", "notify.max_attempts", 8, "3", 3),
    ("TOUSU_NOTIFY_BACKOFF_BASE", "notify.backoff_base", 30.0, "1", 1.0),
    ("TOUSU_NOTIFY_BACKOFF_MAX", "notify.backoff_max", 3600.0, "60", 60.0),
    ("TOUSU_NOTIFY_LEASE", "notify.lease", 300.0, "30", 30.0),
    ("TOUSU_NOTIFY_BATCH_SIZE", "notify.batch_size", 10, "2", 2),
    ("TOUSU_NOTIFY_RECHECK", "notify.recheck", 60.0, "1", 1.0),
    ("TOUSU_NOTIFY_ORGANISATION", "notify.organisation", "投诉受理中心", "某区", "某区"),
    ("TOUSU_RATE_LIMITS", "rate.limits", True, "false", False),
    ("TOUSU_RATE_SUBMIT", "rate.submit", "10/minute", "3/minute", "3/minute"),
    ("TOUSU_RATE_LOOKUP", "rate.lookup", "10/minute", "4/minute", "4/minute"),
    ("TOUSU_RATE_SURVEY", "rate.survey", "10/minute", "5/minute", "5/minute"),
    ("TOUSU_RATE_LOGIN", "rate.login", "10/minute", "6/minute", "6/minute"),
    ("TOUSU_RATE_LOOKUP_FAILURES", "rate.lookup_failures", "5/15 minutes", "3/hour", "3/hour"),
    (
        "TOUSU_RATE_LOOKUP_FAILURES_NUMBER",
        "rate.lookup_failures_number",
        "10/minute",
        "5/second",
        "5/second",
    ),
    ("TOUSU_RATE_LOGIN_FAILURES", "rate.login_failures", "5/15 minutes", "4/hour", "4/hour"),
    (
        "TOUSU_RATE_LOGIN_FAILURES_USER",
        "rate.login_failures_user",
        "10/minute",
        "3/second",
        "3/second",
    ),
    ("TOUSU_RATE_LOGIN_FAILURES_IP", "rate.login_failures_ip", "20/15 minutes", "9/hour", "9/hour"),
    ("TOUSU_EMBEDDED_NATS_PORT", "embedded.nats_port", 14222, "24222", 24222),
    ("TOUSU_EMBEDDED_NATS_MONITOR_PORT", "embedded.nats_monitor_port", 18222, "28222", 28222),
    ("TOUSU_EMBEDDED_PG_PORT", "embedded.pg_port", 15432, "25432", 25432),
    ("TOUSU_EMBEDDED_START_TIMEOUT", "embedded.start_timeout", 30.0, "60", 60.0),
]  # fmt: skip


def _at(settings: Settings, path: str) -> Any:
    value: Any = settings
    for part in path.split("."):
        value = getattr(value, part)
    return value


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No TOUSU_* variable of the test run's own (the suite turns rate limits off)."""
    for name in list(os.environ):
        if name.startswith("TOUSU_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_every_old_name_is_still_read() -> None:
    assert {name for name, *_ in OLD_NAMES} <= env_names()


@pytest.mark.parametrize(("name", "path", "default", "raw", "value"), OLD_NAMES)
def test_old_name_sets_its_value(
    clean_env: pytest.MonkeyPatch, name: str, path: str, default: Any, raw: str, value: Any
) -> None:
    assert _at(load_settings(), path) == default
    clean_env.setenv(name, raw)
    settings = load_settings()
    assert _at(settings, path) == value
    # The variable set that setting and no other.
    for other, other_path, other_default, *_ in OLD_NAMES:
        if other != name:
            assert _at(settings, other_path) == other_default, other


def test_a_section_is_configured_from_several_variables_and_overrides(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("TOUSU_SMTP_HOST", "mail.example")
    clean_env.setenv("TOUSU_EMBEDDED_PG_PORT", "25432")
    settings = load_settings(smtp={"port": 465, "tls": True})
    smtp = settings.smtp
    assert (smtp.host, smtp.port, smtp.tls) == ("mail.example", 465, True)
    # What was configured is told apart from a default (a busy default port is replaced).
    assert settings.embedded.explicit("pg_port")
    assert not settings.embedded.explicit("nats_port")


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("TOUSU_RATE_LOOKUP", "ten a minute"),
        ("TOUSU_RATE_LOGIN_FAILURES_USER", "5/hour"),
        ("TOUSU_SMTP_PORT", "0"),
        ("TOUSU_TOKEN_DAYS", "0"),
        ("TOUSU_TRUSTED_PROXIES", "10.0.0.300"),
    ],
)
def test_a_bad_value_fails_at_start(clean_env: pytest.MonkeyPatch, name: str, raw: str) -> None:
    clean_env.setenv(name, raw)
    with pytest.raises(ValidationError):
        load_settings()


def test_starttls_and_tls_exclude_each_other(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TOUSU_SMTP_STARTTLS", "1")
    clean_env.setenv("TOUSU_SMTP_TLS", "1")
    with pytest.raises(ValidationError, match="exclude each other"):
        load_settings()
