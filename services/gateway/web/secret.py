"""The key that signs the web's tokens and cookies."""

from __future__ import annotations

import secrets

from tousu.shared.keys import KeyUnavailable, configured_or_stored
from tousu.shared.logs import get_logger
from tousu.shared.settings import Settings

log = get_logger(__name__)

SECRET_FILE = "web-secret"


def web_secret(settings: Settings) -> bytes:
    """``TOUSU_WEB_SECRET``, else the key kept in the data dir, created on first use."""
    try:
        return configured_or_stored(settings.web_secret, settings.data_dir / SECRET_FILE)
    except (OSError, KeyUnavailable) as exc:
        # Unlike the access-code key, losing this one costs only open forms.
        log.warning(
            "no web signing key; using a temporary key: forms and case views open "
            "before a restart, or served by another replica, will be refused "
            "(set TOUSU_WEB_SECRET)",
            error=str(exc),
        )
    return secrets.token_urlsafe(32).encode()
