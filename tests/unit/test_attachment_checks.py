"""What an upload is, decided from its bytes; what is kept of it; and each
refusal the issue lists, with its reason at the field (real files, made by
tests/attachment_files.py)."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from tests import attachment_files as files
from tousu.shared.attachments.checks import Kept, Refused, check, safe_name
from tousu.shared.attachments.limits import AttachmentLimits

LIMITS = AttachmentLimits()


def test_a_phone_photo_keeps_its_pixels_and_loses_its_exif_gps_above_all() -> None:
    sent = files.photo_with_gps(800, 600)
    with Image.open(io.BytesIO(sent)) as original:
        assert original.getexif().get_ifd(0x8825)  # the GPS position is there on the way in
    kept = check(sent, "IMG_0001.JPG", "photos", LIMITS)
    assert kept.media_type == "image/jpeg"
    assert kept.name == "IMG_0001.jpg"
    with Image.open(io.BytesIO(kept.content)) as image:
        assert image.format == "JPEG"
        assert image.size == (800, 600)
        assert not image.getexif()
        assert "exif" not in image.info and "icc_profile" not in image.info
    assert b"PhoneMaker" not in kept.content
    assert kept.thumbnail is not None
    with Image.open(io.BytesIO(kept.thumbnail)) as thumb:
        assert max(thumb.size) == LIMITS.thumbnail_px
        assert not thumb.getexif()


def test_the_type_comes_from_the_content_not_the_name() -> None:
    kept = check(files.png(), "scan.jpg", "photos", LIMITS)
    assert (kept.media_type, kept.name) == ("image/png", "scan.png")
    assert check(files.docx(), "结果.pdf", "files", LIMITS).name == "结果.docx"
    assert check(files.pdf(), "letter", "files", LIMITS).media_type == "application/pdf"


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (files.HTML_AS_JPG, "cat.jpg", "cat.jpg is HTML (whatever its name says)"),
        (files.SVG_WITH_SCRIPT, "logo.svg", "logo.svg is an SVG image, which can carry scripts"),
        (files.pdf(javascript=True), "notice.pdf", "notice.pdf is a PDF with JavaScript"),
        (
            files.pdf(open_action=True),
            "notice.pdf",
            "notice.pdf is a PDF with an action that launches a program",
        ),
        (files.zip_bomb(), "report.docx", "report.docx unpacks to more than"),
        (files.docx_with_macros(), "form.docx", "form.docx contains macros"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.doc", "old-style Office file"),
        (b"MZ\x90\x00" + b"\x00" * 200, "setup.jpg", "setup.jpg is not a type accepted"),
        (b"", "empty.jpg", "empty.jpg is empty"),
    ],
)
def test_refused_with_the_reason_at_the_field(data: bytes, name: str, reason: str) -> None:
    with pytest.raises(Refused) as refused:
        check(data, name, "evidence", LIMITS)
    assert refused.value.field == "evidence"
    assert reason in refused.value.reason


def test_an_oversized_file_is_refused_before_it_is_looked_at() -> None:
    small = AttachmentLimits(max_bytes=100_000)
    with pytest.raises(Refused, match=r"IMG\.jpg is .* at most 98 KiB per file"):
        check(files.photo_with_gps(800, 600), "IMG.jpg", "photos", small)


def test_an_image_with_too_many_pixels_is_refused() -> None:
    with pytest.raises(Refused, match="800×600 pixels; at most 10,000 pixels"):
        check(
            files.photo_with_gps(800, 600), "IMG.jpg", "photos", AttachmentLimits(max_pixels=10_000)
        )


def test_a_zip_bomb_is_stopped_at_the_limit_without_inflating_it_all() -> None:
    # 300 MiB of zeros in ~300 KiB: refused at 100 × its size, so after ~30 MiB.
    bomb = files.zip_bomb()
    with pytest.raises(Refused, match="a zip bomb"):
        check(bomb, "b.docx", "files", LIMITS)
    # Below the ratio, the total still applies.
    with pytest.raises(Refused, match=r"at most 1\.0 MiB"):
        check(files.zip_bomb(3 << 20), "b.docx", "f", AttachmentLimits(max_unpacked_bytes=1 << 20))


def test_a_plain_zip_is_not_an_office_document() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.exe", b"MZ")
    with pytest.raises(Refused, match="a zip archive, not an office document"):
        check(out.getvalue(), "photos.zip", "files", LIMITS)


def test_office_documents_and_pdfs_are_kept_as_they_came() -> None:
    for data in (files.docx(), files.pdf()):
        kept = check(data, "x", "files", LIMITS)
        assert isinstance(kept, Kept) and kept.content == data and kept.thumbnail is None


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("C:\\Users\\张三\\Desktop\\现场照片.JPEG", "现场照片.jpg"),
        ('a<b>:"|?*.jpg', "a_b.jpg"),
        ("\x00\x1b[31m.jpg", "[31m.jpg"),  # no control characters (a terminal's escapes)
        ("...", "file.jpg"),
        ("x" * 300 + ".jpg", "x" * 96 + ".jpg"),  # 100 characters at most
    ],
)
def test_names_lose_paths_and_unsafe_characters(sent: str, kept: str) -> None:
    assert safe_name(sent, "image/jpeg") == kept
