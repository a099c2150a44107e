"""Configuration from the ``TOUSU_*`` environment variables: one object, in sections.

``load_settings()`` is the one way in. A top-level field reads ``TOUSU_<NAME>``;
a section's field reads its section's prefix and its name (``smtp.host`` is
``TOUSU_SMTP_HOST``, ``auth.token_days`` is ``TOUSU_TOKEN_DAYS``), unless the
section names it otherwise (``smtp.from_address`` is ``TOUSU_SMTP_FROM``).
``env_names()`` lists every variable; docs/configuration.md is generated from
the fields' descriptions (``tousu settings reference``) and a test keeps it so.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self

from limits import parse
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from tousu.shared.naming import Naming

ENV_PREFIX = "TOUSU_"
# A credential's id (tousu.shared.application.credentials): 6 random bytes in hex.
CREDENTIAL_ID = re.compile(r"[0-9a-f]{12}")


class Section(BaseModel):
    """A group of settings; each field reads ``env_prefix`` + its name, upper case."""

    model_config = ConfigDict(extra="ignore")

    env_prefix: ClassVar[str] = ENV_PREFIX
    # Fields whose variable is not prefix + name (kept as they were named).
    env_overrides: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def env_name(cls, field: str) -> str:
        return cls.env_overrides.get(field) or f"{cls.env_prefix}{field}".upper()

    def explicit(self, field: str) -> bool:
        """Whether ``field`` was configured rather than left at its default."""
        return field in self.model_fields_set


class RoutingSection(Section):
    auto_route: bool = Field(
        default=True,
        description="Route accepted and returned cases by the rules; off (0): they wait "
        "for a person to route them.",
    )
    routing_rules: Path | None = Field(
        default=None,
        description="An operator's routing rules file instead of the packaged one "
        "(services/routing/data/rules.yaml).",
    )


class AuthSection(Section):
    token_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Lifetime of an API token issued at login or by `tousu users token` (days).",
    )
    service_token_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="Lifetime of an API token `tousu users token` issues to a department "
        "system's service account (days).",
    )
    # A working day plus overtime, then sign in again.
    session_hours: float = Field(
        default=10,
        gt=0,
        le=24 * 30,
        description="Lifetime of a web sign-in: the session cookie and the token behind "
        "it (hours).",
    )


class SmtpSection(Section):
    env_prefix = "TOUSU_SMTP_"
    env_overrides = {"from_address": "TOUSU_SMTP_FROM"}

    host: str | None = Field(
        default=None,
        description="The SMTP server of e-mail notices. Unset: no e-mail is sent (e-mail "
        "notices wait in the outbox).",
    )
    port: int = Field(default=25, ge=1, le=65535, description="The SMTP server's port.")
    user: str | None = Field(default=None, description="SMTP user name, if it asks for one.")
    password: SecretStr | None = Field(default=None, description="SMTP password.")
    from_address: str = Field(
        default="noreply@tousu.invalid", description="The From address of e-mail notices."
    )
    starttls: bool = Field(
        default=False, description="STARTTLS after connecting (port 587). Excludes TLS."
    )
    tls: bool = Field(
        default=False, description="TLS from the start (port 465). Excludes STARTTLS."
    )
    message_id_domain: str | None = Field(
        default=None,
        description="Right-hand side of the Message-ID; the From address's domain when unset.",
    )
    timeout: float = Field(default=30.0, gt=0, description="Seconds an SMTP exchange may take.")

    @model_validator(mode="after")
    def _one_tls_mode(self) -> Self:
        if self.starttls and self.tls:
            raise ValueError("TOUSU_SMTP_STARTTLS and TOUSU_SMTP_TLS exclude each other")
        return self

    @property
    def id_domain(self) -> str:
        return self.message_id_domain or self.from_address.rpartition("@")[2] or "tousu.invalid"


class WechatSection(Section):
    """The WeChat official account (微信公众号): the adapter (``tousu service
    wechat``, docs/wechat.md) and the template messages followup sends."""

    env_prefix = "TOUSU_WECHAT_"

    token: SecretStr | None = Field(
        default=None,
        description="The Token entered in the official account's server configuration "
        "(服务器配置 → 令牌): signs every callback. Unset: the adapter refuses to start.",
    )
    appid: str | None = Field(default=None, description="The official account's AppID (开发者ID).")
    secret: SecretStr | None = Field(
        default=None,
        description="The official account's AppSecret (开发者密码), for the access token. "
        "Unset: no template messages are sent (WeChat notices wait in the outbox) and "
        "photos are fetched by their PicUrl.",
    )
    api_base: str = Field(
        default="https://api.weixin.qq.com",
        description="Where the WeChat API answers (a test points it at a local server).",
    )
    form_url: str | None = Field(
        default=None,
        description="The public complaint form's address, offered in the adapter's help "
        "reply for those who prefer to type on a page.",
    )
    host: str = Field(default="127.0.0.1", description="Address the adapter listens on.")
    port: int = Field(
        default=8090, ge=1, le=65535, description="Port the adapter listens on (its server URL)."
    )
    credential: SecretStr | None = Field(
        default=None,
        description="The adapter's channel credential (`tousu credentials issue channel "
        "wechat`), sent with every request it makes to tousu.",
    )
    gateway_url: str | None = Field(
        default=None,
        description="The gateway's address, for uploading photos (POST /api/v1/attachments).",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="The staff API token photos are uploaded with (an operator account's).",
    )
    dialogue_minutes: float = Field(
        default=30,
        gt=0,
        description="How long an unfinished complaint dialogue waits for the next message "
        "before it is forgotten (minutes).",
    )
    templates: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Template ids (模板ID) per notice kind, as kind=id pairs separated by "
        'commas ("acceptance=..., result=..."); "default=..." for every other kind. A '
        "WeChat notice of a kind without one is dead at once, shown in the outbox (the "
        "public lookup page has it anyway).",
    )

    @field_validator("templates", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [part.strip() for part in value.split(",") if part.strip()]
            if any("=" not in pair for pair in pairs):
                raise ValueError("TOUSU_WECHAT_TEMPLATES: kind=template_id pairs, comma-separated")
            return dict((k.strip(), v.strip()) for k, v in (pair.split("=", 1) for pair in pairs))
        return value

    def template_for(self, kind: str) -> str | None:
        return self.templates.get(kind) or self.templates.get("default")


class NotifySection(Section):
    env_prefix = "TOUSU_NOTIFY_"

    max_attempts: int = Field(
        default=8, ge=1, description="Tries in all, the first included, before a notice is dead."
    )
    # 30 s, 1 min, 2 min … 1 h: an SMTP outage of a few hours loses nothing.
    backoff_base: float = Field(
        default=30.0,
        gt=0,
        description="Seconds to wait after a notice's first failed send; doubled after "
        "each further one, up to the maximum.",
    )
    backoff_max: float = Field(
        default=3600.0, gt=0, description="Longest wait between two tries of a notice (seconds)."
    )
    # A send is cut off after half of it, so a slow dispatcher never sends
    # alongside its successor.
    lease: float = Field(
        default=300.0,
        gt=0,
        description="Seconds a dispatcher's claim holds a notice; then it is tried again, so "
        "a dispatcher that died while sending is taken over.",
    )
    batch_size: int = Field(
        default=10,
        ge=1,
        description="Notices one dispatcher claims (and sends concurrently) at a time.",
    )
    recheck: float = Field(
        default=60.0,
        gt=0,
        description="Longest wait for a wake-up before the dispatcher looks at the outbox "
        "anyway (seconds): the net for a NOTIFY lost on a connection that hangs without "
        "closing (one that closes wakes it at once). Retries wake it when they are due.",
    )
    organisation: str = Field(
        default="投诉受理中心",
        description="The sender's name: From line of e-mails, signature of letters and SMS.",
    )


SMS_PROVIDERS = ("log", "tencent", "aliyun")
# What an SMS template's parameters may be filled with (docs/notices.md).
SMS_PARAM_SOURCES = ("tracking_no", "date", "link", "access_code", "name", "organisation")
# A template's parameters when its setting names none: the access-code
# notice carries the code, the others the number, the day and the link.
SMS_DEFAULT_PARAMS = ("tracking_no", "date", "link")
SMS_ACCESS_CODE_PARAMS = ("tracking_no", "access_code", "link")

_TEMPLATE_HELP = (
    "The provider's approved template id for the {what} SMS, optionally followed by "
    "`:` and its parameters in the template's order, each a source (tracking_no, date, "
    "link, access_code, name, organisation) or `variable=source` for a named variable "
    "(Alibaba's ${{variable}}); default parameters {default}. Unset: this notice is not "
    "sent by SMS (it goes dead and the web page keeps it)."
)


def _template_help(what: str, default: tuple[str, ...] = SMS_DEFAULT_PARAMS) -> str:
    return _TEMPLATE_HELP.format(what=what, default="`" + ",".join(default) + "`")


class SmsTemplate(BaseModel):
    """One notice kind's template: its id and its parameters, in order."""

    model_config = ConfigDict(frozen=True)

    template_id: str
    # (variable name, source); the variable is the source unless renamed.
    params: tuple[tuple[str, str], ...]


def parse_sms_template(spec: str, default: tuple[str, ...]) -> SmsTemplate:
    """``"1234567"`` or ``"1234567:tracking_no,day=date,link"`` as a template."""
    template_id, _, rest = spec.partition(":")
    if not template_id.strip():
        raise ValueError(f"SMS template {spec!r} has no template id")
    items = [p.strip() for p in rest.split(",") if p.strip()] if rest else list(default)
    params: list[tuple[str, str]] = []
    for item in items:
        name, _, source = item.partition("=")
        source = (source or name).strip()
        if source not in SMS_PARAM_SOURCES:
            raise ValueError(
                f"SMS template {spec!r}: unknown parameter {source!r} "
                f"(one of {', '.join(SMS_PARAM_SOURCES)})"
            )
        params.append((name.strip(), source))
    return SmsTemplate(template_id=template_id.strip(), params=tuple(params))


class SmsSection(Section):
    """The HTTP SMS gateway SMS notices go through (docs/notices.md)."""

    env_prefix = "TOUSU_SMS_"

    provider: str = Field(
        default="log",
        description="Whose API the gateway speaks: `tencent` (Tencent Cloud SMS, SendSms "
        "2021-01-11, TC3-HMAC-SHA256), `aliyun` (Alibaba Cloud SMS, SendSms 2017-05-25, "
        "ACS3-HMAC-SHA256), or `log` (no gateway: each SMS is written to the log).",
    )
    endpoint: str | None = Field(
        default=None,
        description="The gateway's URL. Unset: the provider's public endpoint "
        "(https://sms.tencentcloudapi.com/, https://dysmsapi.aliyuncs.com/); set it to "
        "reach the provider through a proxy, or to have a local gateway stand in.",
    )
    region: str = Field(
        default="ap-guangzhou",
        description="Tencent Cloud's region of the SMS API (X-TC-Region); not used by Alibaba.",
    )
    secret_id: str | None = Field(
        default=None,
        description="The API key's id: Tencent Cloud SecretId, or Alibaba Cloud AccessKey ID.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="The API key's secret: Tencent Cloud SecretKey, or Alibaba Cloud "
        "AccessKey secret. Never logged.",
    )
    app_id: str | None = Field(
        default=None,
        description="Tencent Cloud's SmsSdkAppId (the SMS application, 1400…); not used "
        "by Alibaba.",
    )
    sign_name: str | None = Field(
        default=None,
        description="The approved SMS signature (签名, SignName) without 【】. Unset: "
        "TOUSU_NOTIFY_ORGANISATION.",
    )
    timeout: float = Field(
        default=10.0, gt=0, description="Seconds one request to the gateway may take."
    )
    template_acceptance: str | None = Field(
        default=None, description=_template_help("acceptance (受理告知)")
    )
    template_rejection: str | None = Field(
        default=None, description=_template_help("rejection (不予受理告知)")
    )
    template_extension: str | None = Field(
        default=None, description=_template_help("extension (延期告知)")
    )
    template_progress: str | None = Field(
        default=None, description=_template_help("progress (办理进度)")
    )
    template_result: str | None = Field(
        default=None, description=_template_help("result (处理结果告知)")
    )
    template_follow_up_survey: str | None = Field(
        default=None, description=_template_help("follow-up survey (回访)")
    )
    template_access_code: str | None = Field(
        default=None,
        description=_template_help("access code (查询码告知)", SMS_ACCESS_CODE_PARAMS),
    )

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in SMS_PROVIDERS:
            raise ValueError(f"TOUSU_SMS_PROVIDER must be one of {', '.join(SMS_PROVIDERS)}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Self:
        self.templates()  # a bad template fails at start-up, not at the first SMS
        if self.provider == "log":
            return self
        missing = [
            self.env_name(f)
            for f in ("secret_id", "secret_key")
            + (("app_id",) if self.provider == "tencent" else ())
            if getattr(self, f) is None
        ]
        if missing:
            raise ValueError(f"TOUSU_SMS_PROVIDER={self.provider} needs {', '.join(missing)}")
        return self

    def templates(self) -> dict[str, SmsTemplate]:
        """Notice kind → template, for the kinds that have one."""
        found: dict[str, SmsTemplate] = {}
        for name in type(self).model_fields:
            spec = getattr(self, name)
            if name.startswith("template_") and spec:
                kind = name.removeprefix("template_")
                default = SMS_ACCESS_CODE_PARAMS if kind == "access_code" else SMS_DEFAULT_PARAMS
                found[kind] = parse_sms_template(spec, default)
        return found


class WebhooksSection(Section):
    """Department webhooks (docs/webhooks.md): how the followup service's
    dispatcher posts, retries and gives up."""

    env_prefix = "TOUSU_WEBHOOKS_"

    timeout: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Seconds a department's receiver has to answer one POST; no answer in "
        "time is a failed try.",
    )
    # 5 s, 10 s, 20 s … 5 min, each with jitter: a receiver down for a minute
    # gets everything within about 40 s of coming back.
    backoff_base: float = Field(
        default=5.0,
        gt=0,
        description="Seconds to wait after a delivery's first failed try; doubled after each "
        "further one, up to the maximum, then jittered (between half and all of it).",
    )
    backoff_max: float = Field(
        default=300.0, gt=0, description="Longest wait between two tries of a delivery (seconds)."
    )
    give_up_hours: float = Field(
        default=24.0,
        gt=0,
        description="Hours after its first try that a delivery still not answered with 2xx is "
        "given up (failed, visible in `tousu webhooks deliveries --failed`); the department's "
        "later deliveries then go on.",
    )
    lease: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a dispatcher's claim holds a delivery; then another may try it "
        "(a dispatcher that died while posting). Longer than the timeout.",
    )
    recheck: float = Field(
        default=60.0,
        gt=0,
        description="Longest wait for a wake-up before the dispatcher looks at the deliveries "
        "anyway (seconds): the net for a NOTIFY lost on a connection that hangs without "
        "closing (one that closes wakes it at once). Retries wake it when they are due.",
    )


# A shared slowdown (of a number or a username, from any address) locks its
# owner out too: its window may not be longer than this, so that an attacker
# can never keep the owner out for long.
SLOWDOWN_WINDOW_MAX = 60


class RateSection(Section):
    """Rate limits of the public endpoints and sign-in, in ``limits`` notation."""

    env_prefix = "TOUSU_RATE_"

    limits: bool = Field(
        default=True, description="Apply the rate limits and lockouts; false turns them all off."
    )
    submit: str = Field(
        default="10/minute", description="New complaints (web, API, Open311) per client IP."
    )
    lookup: str = Field(
        default="10/minute", description="Looking a complaint up by number, per client IP."
    )
    survey: str = Field(default="10/minute", description="Satisfaction surveys per client IP.")
    login: str = Field(default="10/minute", description="Staff sign-in attempts per client IP.")
    # Failures lock out further attempts until the window has passed. Per
    # (tracking number, client IP): a guesser is locked, the owner (another
    # address) is not.
    lookup_failures: str = Field(
        default="5/15 minutes",
        description="Wrong codes per tracking number and client IP before that client "
        "is locked out (until the window has passed).",
    )
    # A short slowdown against guesses spread over many addresses, which the
    # owner's right code outlasts within a minute.
    lookup_failures_number: str = Field(
        default="10/minute",
        description="Wrong codes per tracking number, from any IP (window at most 60 s).",
    )
    login_failures: str = Field(
        default="5/15 minutes",
        description="Failed sign-ins per username and client IP before that client is "
        "locked out (until the window has passed).",
    )
    login_failures_user: str = Field(
        default="10/minute",
        description="Failed sign-ins per username, from any IP (window at most 60 s).",
    )
    login_failures_ip: str = Field(
        default="20/15 minutes",
        description="Failed sign-ins per client IP before it is locked out.",
    )

    @field_validator(
        "submit",
        "lookup",
        "survey",
        "login",
        "lookup_failures",
        "lookup_failures_number",
        "login_failures",
        "login_failures_user",
        "login_failures_ip",
    )
    @classmethod
    def _parses(cls, value: str) -> str:
        parse(value)  # a typo fails at start-up, not on the first request
        return value

    @field_validator("lookup_failures_number", "login_failures_user")
    @classmethod
    def _short(cls, value: str) -> str:
        if parse(value).get_expiry() > SLOWDOWN_WINDOW_MAX:
            raise ValueError(
                f"a shared slowdown's window may be at most {SLOWDOWN_WINDOW_MAX} seconds "
                "(it holds the owner up too)"
            )
        return value


class QualitySection(Section):
    """The supervision office's checks beyond deadlines (docs/quality.md): the
    periodic inspection sample, improvement items, hotspot alerts and the
    appraisal scheme."""

    env_prefix = "TOUSU_QUALITY_"

    inspection_share: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="Share of each department's closed cases of a month drawn for the "
        "quality inspection (抽查), besides every reopened case and every case with a "
        "late entry.",
    )
    inspection_minimum: int = Field(
        default=2,
        ge=0,
        le=1000,
        description="Fewest cases drawn per department (all of them when it closed fewer).",
    )
    improvement_days: int = Field(
        default=20,
        ge=1,
        le=250,
        description="Working days a department has to carry out an improvement (改进措施) "
        "its result feedback promised, counted from the feedback.",
    )
    hotspot_threshold: float = Field(
        default=2.0,
        gt=1,
        le=100,
        description="A group's complaints in a week or month at least this many times the "
        "mean of the periods before raise a hotspot alert (热点预警).",
    )
    hotspot_min_count: int = Field(
        default=5,
        ge=1,
        description="Fewest complaints in the period for a rise to count as a hotspot.",
    )
    hotspot_baseline_periods: int = Field(
        default=4,
        ge=1,
        le=52,
        description="How many periods before the one looked at make the comparison.",
    )
    hotspot_interval: float = Field(
        default=600.0,
        gt=0,
        description="Seconds between the metrics service's looks for hotspots.",
    )
    appraisal_scheme: Path | None = Field(
        default=None,
        description="An operator's appraisal scheme file (all its versions) instead of the "
        "packaged one (services/metrics/appraisal/data/appraisal.yaml).",
    )


class EmbeddedSection(Section):
    """The servers `tousu up` starts when no URLs are configured. A busy default
    port is replaced by a spare one; a busy configured port is an error."""

    env_prefix = "TOUSU_EMBEDDED_"

    # The defaults avoid 4222/5432, which a system NATS or PostgreSQL often holds.
    nats_port: int = Field(default=14222, description="Client port of the embedded nats-server.")
    nats_monitor_port: int = Field(
        default=18222, description="Monitoring port of the embedded nats-server."
    )
    pg_port: int = Field(default=15432, description="Port of the embedded PostgreSQL.")
    start_timeout: float = Field(
        default=30.0, description="Seconds an embedded server may take to start."
    )


class AttachmentsSection(Section):
    """Files attached to a case's steps (docs/attachments.md): limits, and
    where the bytes are kept."""

    env_prefix = "TOUSU_ATTACHMENTS_"

    max_bytes: int = Field(
        default=10 << 20,
        ge=1024,
        le=1 << 30,
        description="Largest file accepted, in bytes (before an image is re-encoded).",
    )
    max_files: int = Field(
        default=5,
        ge=1,
        le=20,
        description="Most files one step (a submission, a result…) may carry.",
    )
    max_pixels: int = Field(
        default=40_000_000,
        ge=10_000,
        le=200_000_000,
        description="Largest image accepted, in pixels (width × height).",
    )
    max_unpacked_bytes: int = Field(
        default=100 << 20,
        ge=1 << 20,
        description="Most an office document (a zip) may unpack to, in bytes: a zip bomb is "
        "refused once this is passed.",
    )
    max_zip_ratio: int = Field(
        default=100,
        ge=2,
        description="Most an office document may unpack to, as a multiple of its size.",
    )
    max_zip_entries: int = Field(
        default=2000, ge=10, description="Most parts an office document (a zip) may hold."
    )
    thumbnail_px: int = Field(
        default=320, ge=32, le=2048, description="Longer side of an image's thumbnail, in pixels."
    )
    sweep_grace_hours: float = Field(
        default=24,
        gt=0,
        description="A stored file no event refers to is removed by `tousu attachments sweep` "
        "once it is this old (hours): an upload whose command failed.",
    )
    sweep_interval: float = Field(
        default=3600,
        gt=0,
        description="Seconds between the sweeps the metrics service runs by itself (one "
        "replica at a time): an unreferenced file goes at most this long after its grace "
        "period. A quiet sweep lists the stored files and reads no events.",
    )
    s3_bucket: str | None = Field(
        default=None,
        description="Keep the files in this bucket of S3-compatible object storage. Unset: "
        "in `<data_dir>/attachments/`.",
    )
    s3_endpoint: str | None = Field(
        default=None,
        description="URL of the S3-compatible service (MinIO, Ceph, a cloud's); unset: AWS's.",
    )
    s3_region: str | None = Field(default=None, description="Region of the bucket.")
    s3_prefix: str = Field(
        default="attachments/", description="Prefix of the objects' keys in the bucket."
    )
    s3_access_key: str | None = Field(
        default=None,
        description="Access key of the object storage; unset: the AWS SDK's usual sources "
        "(AWS_ACCESS_KEY_ID, an instance role).",
    )
    s3_secret_key: SecretStr | None = Field(
        default=None, description="Secret key of the object storage."
    )


class Settings(BaseSettings):
    """One place for every knob; services, CLI and tests all read this."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # None means "not configured": `tousu up` then starts the embedded servers,
    # and other commands look for the ones `tousu up` started (see runtime state).
    nats_url: str | None = Field(
        default=None,
        description="The NATS server (with JetStream). Unset: `tousu up` starts one, and "
        "other commands use the one it started.",
    )
    database_url: str | None = Field(
        default=None,
        description="The PostgreSQL database (13 or newer). Unset: `tousu up` starts one, "
        "and other commands use the one it started.",
    )
    # Each service process also holds one or two listening connections besides.
    database_pool_size: int = Field(
        default=10,
        ge=1,
        le=100,
        description="Most connections one service's store opens (it starts with one and "
        "grows on demand).",
    )
    subject_root: str = Field(
        default="tousu",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Root of every NATS subject; the stream names derive from it "
        "(TOUSU_EVENTS, TOUSU_INTAKE, TOUSU_DLQ for `tousu`).",
    )
    data_dir: Path = Field(
        default=Path("./var"),
        description="Folder of the embedded servers' data, logs, runtime state, keys and "
        "letters; commands find a running `tousu up` through it.",
    )
    http_port: int = Field(default=8080, description="Port of the gateway (web pages and API).")
    http_host: str = Field(
        default="127.0.0.1",
        description="Address the gateway listens on; 0.0.0.0 behind a proxy or in a container.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Reverse proxies whose X-Forwarded-For the gateway believes: addresses "
        'or networks, comma-separated ("10.0.0.5,192.168.0.0/24"). Empty: none, and rate '
        "limits and lockouts count the connection's address.",
    )
    log_level: str = Field(default="INFO", description="Least level logged.")
    log_format: str = Field(
        default="auto",
        pattern="^(auto|json|console)$",
        description="auto (JSON when not on a terminal), json or console.",
    )

    consumer_max_deliver: int = Field(
        default=5,
        ge=1,
        description="Tries of a failing handler before its message is dead-lettered.",
    )
    consumer_backoff_base: float = Field(
        default=1.0,
        gt=0,
        description="Seconds before a failed message is tried again; doubled each time.",
    )
    consumer_backoff_max: float = Field(
        default=60.0,
        gt=0,
        description="Longest wait before a failed message is tried again (seconds).",
    )
    consumer_batch_size: int = Field(
        default=100, ge=1, description="Most events a consumer fetches from JetStream at once."
    )
    # Bounds only idle polling and shutdown latency; messages end a fetch at once.
    consumer_fetch_timeout: float = Field(
        default=5.0, gt=0, description="Seconds a pull fetch waits for messages."
    )
    group_commit: int = Field(
        default=25,
        ge=1,
        description="Most items one transaction handles together: the events a consumer "
        "fetched, the submissions intake received at once (1: one each).",
    )

    # Field lengths are the domain's (shared/domain/commands.py); the longest
    # valid complaint, JSON-escaped CJK (6 bytes a character), is about 260 KB.
    max_request_bytes: int = Field(
        default=512 * 1024,
        ge=1024,
        description="Largest HTTP request body the gateway reads (413 above it).",
    )
    max_submission_bytes: int = Field(
        default=512 * 1024,
        ge=1024,
        description="Largest channel submission intake takes off NATS (dead-lettered above it).",
    )

    relay_batch_size: int = Field(
        default=500, ge=1, description="Most events the relay reads and publishes per round."
    )
    stream_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="JetStream replicas of each stream (3 on a 3-node cluster).",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port where the relay and the NATS services serve /metrics, /healthz and "
        "/readyz. Unset or 0: not served (the gateway serves them on its HTTP port).",
    )
    relay_checkpoint_interval: float = Field(
        default=1.0,
        ge=0,
        description="Least seconds between the relay's checkpoint writes while it publishes "
        "(written, too, once this long after its last publish); 0: after every batch. A "
        "relay that takes over resumes from the events stream's tail, so a checkpoint a "
        "second behind costs nothing, where one per batch was a write transaction per "
        "commit at a routine rate.",
    )
    chain_seal_interval: float = Field(
        default=1.0,
        ge=0,
        description="Seconds the relay leader lets commits gather before it seals them into "
        "the hash chain (one write transaction for all of them; a full batch goes at once).",
    )
    relay_standby_retry: float = Field(
        default=0.5, gt=0, description="Seconds between a standby relay's tries to lead."
    )
    # Readers normally wake on LISTEN/NOTIFY.
    store_idle_recheck: float = Field(
        default=2.0,
        gt=0,
        description="Seconds between an idle store reader's looks for new events while some "
        "are held back behind a transaction still open (it may end with no NOTIFY: rolled "
        "back, or appending nothing), and right after work.",
    )
    store_quiet_recheck: float = Field(
        default=30.0,
        gt=0,
        description="Seconds the relay waits for a NOTIFY, when no event is held back, before "
        "it looks for new events anyway: the net for a notification never sent (its writer "
        "died between commit and NOTIFY).",
    )

    supervision_interval: float = Field(
        default=30.0,
        gt=0,
        description="Longest time between the deadline watcher's (督办) looks for warnings and "
        "overdue deadlines (seconds): it wakes when the next notice of the deadlines it knows "
        "falls due, and at least this often for deadlines set meanwhile.",
    )

    org_name_zh: str = Field(
        default="某市政务服务中心",
        description="The organisation's name, as notices to the public give it in Chinese.",
    )
    org_name_en: str = Field(
        default="City Government Service Centre",
        description="The organisation's name, as notices to the public give it in English.",
    )
    supervision_phone: str = Field(
        default="12345",
        description="Where the public reports on how a complaint was handled (监督举报电话).",
    )
    supervision_email: str = Field(
        default="jiandu@example.gov.cn",
        description="Where the public reports on how a complaint was handled (监督举报邮箱).",
    )
    hotline: str | None = Field(
        default="12345", description="The hotline notices to the public give; unset: none."
    )
    lookup_url: str | None = Field(
        default=None,
        description="Public address of the complaint lookup page that notices give.",
    )

    web_secret: SecretStr | None = Field(
        default=None,
        description="Signs the web pages' CSRF tokens and short-lived cookies. Unset: a "
        "random key kept in `<data_dir>/web-secret`. The same on every gateway (replicas "
        "sharing no data dir must set it).",
    )
    access_code_key: SecretStr | None = Field(
        default=None,
        description="Keys the access codes' HMAC. Unset: kept in `<data_dir>/access-code-key`. "
        "The same on every intake and gateway process, and never changed.",
    )
    credential_key: SecretStr | None = Field(
        default=None,
        description="Signs the credentials NATS senders carry in their `Tousu-Credential` "
        "header (the gateway's, the CLI's, each channel adapter's and department system's; "
        "docs/integrations.md). Unset: kept in `<data_dir>/credential-key`. The same in every "
        "process; changing it revokes every credential issued (the last resort: "
        "`TOUSU_CREDENTIAL_REVOKED` revokes one).",
    )
    # A list, as the environment gives it; the key makes it a frozenset (credentials).
    credential_revoked: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Ids of revoked credentials, comma-separated (`tousu credentials revoke "
        "<id>` prints the line; `tousu credentials show <token>` names a token's id, 12 hex "
        "characters). Every process refuses them (`unauthenticated`; a durable submission is "
        "dead-lettered) from its next start; a process never issues one. Empty: none.",
    )
    # Read from the environment by tousu.shared.privacy.crypto itself, on each
    # use and without building every setting (it may change in tests); declared
    # here so that it is documented and checked with the others.
    privacy_key: SecretStr | None = Field(
        default=None,
        description="Wraps the per-complainant keys and keys the contact digests; any text "
        "(stretched with SHA-256). Unset: a key kept in `<data_dir>/privacy-key`. The same in "
        "every process; never stored unwrapped (docs/personal-data.md).",
    )
    open311_public_details: bool = Field(
        default=False,
        description="Open311's public reads show a request's description, address, position "
        "and photo (never contacts). Off: only status, service, agency, dates and the public "
        "id (docs/personal-data.md).",
    )

    auto_accept: bool = Field(
        default=False,
        description="Accept complete, in-scope submissions without an operator (off: the "
        "policy asks for a preliminary verification, 初步核实).",
    )

    # Late entries (补录, docs/late-entries.md); beyond these windows only a
    # supervisor may record, with a reason.
    late_entry_grace_seconds: int = Field(
        default=300,
        ge=0,
        le=3600,
        description="A fact dated earlier than it is recorded by more than this (clock skew, "
        "transit) is a late entry.",
    )
    late_registration_days: int = Field(
        default=30,
        ge=0,
        le=366,
        description="Days late staff may register a complaint (a letter, visit or call, or a "
        "web or WeChat complaint received outside tousu).",
    )
    late_step_working_days: int = Field(
        default=0,
        ge=0,
        le=60,
        description="Staff may record any other step back to the start of the day this many "
        "working days before (0: the same day).",
    )

    routing: RoutingSection = Field(
        default_factory=RoutingSection, description="Automatic routing to departments."
    )
    auth: AuthSection = Field(
        default_factory=AuthSection, description="Lifetimes of API tokens and web sign-ins."
    )
    smtp: SmtpSection = Field(
        default_factory=SmtpSection, description="The SMTP server e-mail notices go through."
    )
    notify: NotifySection = Field(
        default_factory=NotifySection,
        description="How the notice dispatcher claims, retries and gives up.",
    )
    wechat: WechatSection = Field(
        default_factory=WechatSection,
        description="The WeChat official account: its callbacks, the adapter, template "
        "messages (docs/wechat.md).",
    )
    sms: SmsSection = Field(
        default_factory=SmsSection,
        description="The HTTP SMS gateway SMS notices go through: provider, key, "
        "signature and a template per notice kind (docs/notices.md).",
    )
    webhooks: WebhooksSection = Field(
        default_factory=WebhooksSection,
        description="Department webhooks: timeout, retries with back-off, when to give up.",
    )
    rate: RateSection = Field(
        default_factory=RateSection,
        description="Rate limits and lockouts of the public endpoints and staff sign-in, "
        'in `limits` notation ("10/minute", "5/15 minutes").',
    )
    attachments: AttachmentsSection = Field(
        default_factory=AttachmentsSection,
        description="Files attached to a case's steps: limits, and where they are kept "
        "(docs/attachments.md).",
    )
    quality: QualitySection = Field(
        default_factory=QualitySection,
        description="The supervision office's inspection sample, improvement items, hotspot "
        "alerts and appraisal scheme (docs/quality.md).",
    )
    embedded: EmbeddedSection = Field(
        default_factory=EmbeddedSection,
        description="The nats-server and PostgreSQL `tousu up` starts when no URLs are set. "
        "A busy default port is replaced by a spare one; a busy configured port is an error.",
    )

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

    @field_validator("credential_revoked", mode="before")
    @classmethod
    def _credential_ids(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple | set | frozenset):
            ids = {str(item).strip().lower() for item in value} - {""}
            # A typo fails at start-up instead of leaving a leaked credential valid.
            bad = sorted(i for i in ids if not CREDENTIAL_ID.fullmatch(i))
            if bad:
                raise ValueError(f"not a credential id (12 hex characters): {', '.join(bad)}")
            return sorted(ids)
        return value

    @cached_property
    def naming(self) -> Naming:
        return Naming(self.subject_root)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _SectionedEnv(settings_cls), dotenv_settings, file_secret_settings)


def _section(field: FieldInfo) -> type[Section] | None:
    kind = field.annotation
    return kind if isinstance(kind, type) and issubclass(kind, Section) else None


class _SectionedEnv(EnvSettingsSource):
    """The environment, with each section's fields read by their own names
    (pydantic-settings alone would read a section as one JSON variable)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        section = _section(field)
        if section is None:
            return super().get_field_value(field, field_name)
        found: dict[str, str | None] = {}
        for name in section.model_fields:
            key = section.env_name(name)
            value = self.env_vars.get(key if self.case_sensitive else key.lower())
            if value is not None:
                found[name] = value
        return found or None, field_name, False

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        if _section(field) is not None:
            return value
        return super().prepare_field_value(field_name, field, value, value_is_complex)


def setting_fields() -> Iterator[tuple[str | None, str, FieldInfo]]:
    """(section or None for the top level, environment variable, field) of every setting."""
    for name, field in Settings.model_fields.items():
        section = _section(field)
        if section is None:
            yield None, f"{ENV_PREFIX}{name}".upper(), field
            continue
        for sub, sub_field in section.model_fields.items():
            yield name, section.env_name(sub), sub_field


def env_names() -> set[str]:
    """Every environment variable the settings read."""
    return {env for _, env, _ in setting_fields()}


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
