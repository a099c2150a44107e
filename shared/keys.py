"""Secret keys: the one configured in the environment, else one kept in the
data folder and made on first use (so `tousu up` needs no setup)."""

from __future__ import annotations

import os
import secrets
import tempfile
from functools import cache
from pathlib import Path

from pydantic import SecretStr

from tousu.shared.logs import get_logger
from tousu.shared.private_files import private_dir
from tousu.shared.settings import Settings

log = get_logger(__name__)

ACCESS_CODE_KEY_FILE = "access-code-key"
MIN_KEY_BYTES = 16


class KeyUnavailable(RuntimeError):
    pass


def stored_key(path: Path) -> bytes:
    """The key in ``path``, made there (mode 0600) if the file does not exist yet."""
    private_dir(path.parent)
    if not path.exists():
        # Written aside, then hard-linked into place: linking fails if the name
        # exists, so two processes starting at once agree on one whole key.
        fd, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_urlsafe(32).encode())
            os.link(aside, path)
            log.info("created a key", path=str(path))
        except FileExistsError:
            pass
        finally:
            os.unlink(aside)
    key = path.read_bytes().strip()
    if len(key) < MIN_KEY_BYTES:
        raise KeyUnavailable(f"{path} holds fewer than {MIN_KEY_BYTES} bytes")
    return key


def configured_or_stored(configured: SecretStr | None, path: Path) -> bytes:
    if configured is not None:
        key = configured.get_secret_value().encode()
        if len(key) < MIN_KEY_BYTES:
            raise KeyUnavailable(f"the configured key is shorter than {MIN_KEY_BYTES} bytes")
        return key
    return _cached_stored_key(path.resolve())


@cache
def _cached_stored_key(path: Path) -> bytes:
    return stored_key(path)


def access_code_key(settings: Settings) -> bytes:
    """``TOUSU_ACCESS_CODE_KEY``, else ``<data_dir>/access-code-key``.

    Intake hashes access codes with it and the gateway checks them with it, so
    every intake and gateway process must see the same key: one data folder
    (as under `tousu up`), or the variable set alike everywhere. Losing it
    makes every stored access code unverifiable; unlike the web key there is
    no temporary fallback.
    """
    return configured_or_stored(settings.access_code_key, settings.data_dir / ACCESS_CODE_KEY_FILE)
