"""Files are served never sniffed, never run, inline only as images."""

from __future__ import annotations

from tousu.shared.attachments.serving import headers
from tousu.shared.events.types import FileRef


def ref(media_type: str, name: str) -> FileRef:
    return FileRef(sha256="ab" * 32, size=10, media_type=media_type, name=name)


def test_an_image_is_inline_and_a_document_is_downloaded_never_sniffed() -> None:
    photo = headers(ref("image/jpeg", "现场.jpg"))
    assert photo["Content-Disposition"] == (
        "inline; filename=\"__.jpg\"; filename*=UTF-8''%E7%8E%B0%E5%9C%BA.jpg"
    )
    assert photo["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in photo["Content-Security-Policy"]
    pdf = headers(ref("application/pdf", "报告.pdf"))
    assert pdf["Content-Disposition"].startswith("attachment;")


def test_a_type_that_is_not_accepted_is_served_as_bytes_to_download() -> None:
    served = headers(ref("text/html", "x.html"))
    assert served["Content-Type"] == "application/octet-stream"
    assert served["Content-Disposition"].startswith("attachment;")


def test_a_thumbnail_is_a_jpeg_shown_inline() -> None:
    served = headers(ref("image/png", "a.png"), thumbnail=True)
    assert served["Content-Type"] == "image/jpeg"
    assert served["Content-Disposition"].startswith("inline;")
