"""The headers a file is served with, whichever surface serves it: never
sniffed (nosniff), never run (a sandboxing CSP), shown inline only when it is
one of the re-encoded image types, downloaded otherwise, under its sanitised
name (RFC 6266 / RFC 5987, so a Chinese name survives)."""

from __future__ import annotations

from urllib.parse import quote

from tousu.shared.attachments.checks import ACCEPTED, JPEG, PNG, WEBP
from tousu.shared.events.types import FileRef

INLINE = frozenset({JPEG, PNG, WEBP})


def headers(ref: FileRef, *, thumbnail: bool = False) -> dict[str, str]:
    media_type = JPEG if thumbnail else ref.media_type
    if media_type not in ACCEPTED:  # a reference from elsewhere: never trusted
        media_type = "application/octet-stream"
    disposition = "inline" if media_type in INLINE else "attachment"
    ascii_name = ref.name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return {
        "Content-Type": media_type,
        "Content-Disposition": (
            f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(ref.name)}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }
