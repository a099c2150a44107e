"""The key that signs the web's tokens and cookies."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from shared.logs import get_logger
from shared.settings import Settings

log = get_logger(__name__)

SECRET_FILE = "web-secret"


def _read_or_create(path: Path) -> bytes:
    try:
        # O_EXCL: two gateways starting at once on one data dir agree on one key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        key = secrets.token_urlsafe(32).encode()
        out.write(key)
    log.info("created the web signing key", path=str(path))
    return key


def web_secret(settings: Settings) -> bytes:
    """``TOUSU_WEB_SECRET``, else the key kept in the data dir, created on first use."""
    if settings.web_secret is not None:
        return settings.web_secret.get_secret_value().encode()
    path = settings.data_dir / SECRET_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = _read_or_create(path)
        if len(key) >= 16:
            return key
        log.warning("web signing key file too short; using a temporary key", path=str(path))
    except OSError as exc:
        log.warning(
            "no web signing key file; using a temporary key: forms and case views open "
            "before a restart, or served by another replica, will be refused "
            "(set TOUSU_WEB_SECRET)",
            path=str(path),
            error=str(exc),
        )
    return secrets.token_urlsafe(32).encode()
