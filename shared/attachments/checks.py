"""What an uploaded file is, decided from its bytes, and what of it is kept.

Nothing a sender says is believed: not the name, not the Content-Type. The
bytes are sniffed (puremagic) and then opened with the parser of that type,
which must agree:

- images (JPEG, PNG, WebP) are decoded and encoded again from their pixels
  alone, so EXIF (the GPS position above all), XMP, comments, ICC profiles
  and anything appended after the image are gone; a thumbnail is made;
- PDFs are kept as they are, but refused if they carry JavaScript, an
  action run on opening, a launch of a program, embedded files or an XFA
  form, or are encrypted (then nothing inside can be checked);
- office documents (docx, xlsx, pptx, odt, ods, odp) are zip archives: the
  real uncompressed size is counted while inflating (a zip bomb's declared
  sizes lie), against a total and a ratio; macro-enabled ones are refused;
- everything else is refused, HTML and SVG (which run scripts in a
  browser) by name, whatever the file is called.

A refusal is a :class:`Refused` naming the form field and the reason: an
English sentence (the API's and Open311's detail) and a stable code with
its values, which a page renders in its own language (the web layer's
catalogue holds one message per code, see docs/attachments.md).
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import puremagic
from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from tousu.shared.attachments.limits import AttachmentLimits

# The kept type of each accepted kind, and the extension its name is given.
JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
PDF = "application/pdf"
OFFICE: dict[str, tuple[str, str]] = {
    # what identifies it inside the zip -> (media type, extension)
    "word/document.xml": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    "xl/workbook.xml": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
    "ppt/presentation.xml": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pptx",
    ),
}
OPEN_DOCUMENT = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}
EXTENSIONS = (
    {JPEG: "jpg", PNG: "png", WEBP: "webp", PDF: "pdf"}
    | {m: e for m, e in OFFICE.values()}
    | OPEN_DOCUMENT
)
ACCEPTED = frozenset(EXTENSIONS)
_PIL_FORMATS = {"JPEG": JPEG, "PNG": PNG, "WEBP": WEBP}
# PDF keys that run something or carry something to run. An /OpenAction or
# /AA as such is common and harmless (Word's "open at page 1, fit"): what it
# does is judged by its action type (/S) below.
_PDF_ACTIVE = {
    "/JavaScript": "JavaScript",
    "/JS": "JavaScript",
    "/EmbeddedFiles": "embedded files",
    "/EmbeddedFile": "embedded files",
    "/XFA": "an XFA form",
    "/RichMedia": "rich media",
}
_PDF_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "an action that launches a program",
    "/ImportData": "an action that imports data",
    "/SubmitForm": "an action that sends a form",
    "/GoToR": "an action that opens another file",
    "/GoToE": "an action that opens an embedded file",
}
_PDF_MAX_OBJECTS = 200_000  # walked before giving up on a PDF as too complex


# The codes a refusal carries (stable: pages translate by them, API
# clients may match them); the values each comes with are named beside it.
EMPTY: Final = "empty"  # name
TOO_LARGE: Final = "too_large"  # name, size, max
TOO_MANY_PIXELS: Final = "too_many_pixels"  # name, width, height, max
UNREADABLE_IMAGE: Final = "unreadable_image"  # name
IMAGE_TYPE: Final = "image_type"  # name, kind
SVG: Final = "svg"  # name
HTML: Final = "html"  # name
OLD_OFFICE: Final = "old_office"  # name
TYPE_NOT_ACCEPTED: Final = "type_not_accepted"  # name, kind ("" when unknown)
PDF_ENCRYPTED: Final = "pdf_encrypted"  # name
UNREADABLE_PDF: Final = "unreadable_pdf"  # name
PDF_ACTIVE: Final = "pdf_active"  # name, what (one of the English phrases below)
TOO_MANY_PARTS: Final = "too_many_parts"  # name, count, max
UNREADABLE_OFFICE: Final = "unreadable_office"  # name
ZIP_NOT_OFFICE: Final = "zip_not_office"  # name
MACROS: Final = "macros"  # name
ZIP_BOMB: Final = "zip_bomb"  # name, size, max, ratio


class Refused(ValueError):
    """An upload that is not taken, with the form field it came in and why:
    ``reason`` in English, ``code`` and ``values`` for a translation."""

    def __init__(
        self,
        field: str,
        reason: str,
        code: str = "refused",
        values: Mapping[str, str | int] | None = None,
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.code = code
        self.values: dict[str, str | int] = dict(values or {})


@dataclass(frozen=True)
class Kept:
    """What is stored of an accepted upload."""

    content: bytes
    media_type: str
    name: str
    thumbnail: bytes | None = None


def check(data: bytes, name: str, field: str, limits: AttachmentLimits) -> Kept:
    """The file as it is to be kept, or :class:`Refused`."""
    shown = safe_name(name, None)
    if not data:
        raise Refused(field, f"{shown} is empty", EMPTY, {"name": shown})
    if len(data) > limits.max_bytes:
        raise Refused(
            field,
            f"{shown} is {_size(len(data))}; at most {_size(limits.max_bytes)} per file",
            TOO_LARGE,
            {"name": shown, "size": _size(len(data)), "max": _size(limits.max_bytes)},
        )
    sniffed = _sniff(data)
    if sniffed in _PIL_FORMATS.values():
        content, media_type, thumb = _image(data, shown, field, limits)
        return Kept(content, media_type, safe_name(name, media_type), thumb)
    if sniffed == PDF or data.startswith(b"%PDF-"):
        _pdf(data, shown, field)
        return Kept(data, PDF, safe_name(name, PDF))
    if data.startswith(b"PK\x03\x04"):
        media_type = _office(data, shown, field, limits)
        return Kept(data, media_type, safe_name(name, media_type))
    code, what = _what(data, sniffed)
    raise Refused(field, f"{shown} {what}", code, {"name": shown, "kind": sniffed or ""})


def _sniff(data: bytes) -> str | None:
    try:
        found: str = puremagic.from_string(data[:8192], mime=True)
    except puremagic.PureError:
        return None
    return found or None


def _what(data: bytes, sniffed: str | None) -> tuple[str, str]:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if sniffed == "image/svg+xml" or b"<svg" in head:
        return SVG, "is an SVG image, which can carry scripts: not accepted (send a JPEG or PNG)"
    if sniffed in {"text/html", "application/xhtml+xml"} or head.startswith(
        (b"<!doctype html", b"<html", b"<head", b"<body", b"<script")
    ):
        return HTML, "is HTML (whatever its name says): not accepted"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return OLD_OFFICE, (
            "is an old-style Office file (.doc/.xls/.ppt), which can carry macros: "
            "save it as .docx, .xlsx or .pptx"
        )
    kind = f" ({sniffed})" if sniffed else ""
    return TYPE_NOT_ACCEPTED, (
        f"is not a type accepted{kind}: photos (JPEG, PNG, WebP), PDF and office "
        "documents (docx, xlsx, pptx, odt, ods, odp)"
    )


# -- images ---------------------------------------------------------------------
def _image(
    data: bytes, shown: str, field: str, limits: AttachmentLimits
) -> tuple[bytes, str, bytes]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format or ""
                width, height = probe.size
                if width * height > limits.max_pixels:
                    raise Refused(
                        field,
                        f"{shown} is {width}×{height} pixels; at most "
                        f"{limits.max_pixels:,} pixels per image",
                        TOO_MANY_PIXELS,
                        {
                            "name": shown,
                            "width": width,
                            "height": height,
                            "max": f"{limits.max_pixels:,}",
                        },
                    )
                probe.verify()
            with Image.open(io.BytesIO(data)) as opened:
                opened.load()
                # The orientation EXIF asks for, applied to the pixels before EXIF goes.
                upright = ImageOps.exif_transpose(opened)
    except Refused:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as e:
        raise Refused(
            field, f"{shown} is not a readable image ({e})", UNREADABLE_IMAGE, {"name": shown}
        ) from None
    media_type = _PIL_FORMATS.get(fmt)
    if media_type is None:
        raise Refused(
            field,
            f"{shown} is a {fmt or 'unknown'} image: JPEG, PNG or WebP only",
            IMAGE_TYPE,
            {"name": shown, "kind": fmt or "unknown"},
        )
    pixels = _pixels_only(upright, keep_alpha=media_type != JPEG)
    out = io.BytesIO()
    if media_type == JPEG:
        pixels.save(out, "JPEG", quality=85, optimize=True)
    elif media_type == PNG:
        pixels.save(out, "PNG", optimize=False)
    else:
        pixels.save(out, "WEBP", quality=85)
    return out.getvalue(), media_type, thumbnail(pixels, limits.thumbnail_px)


def _pixels_only(image: Image.Image, *, keep_alpha: bool) -> Image.Image:
    """A new image holding ``image``'s pixels and nothing else (no info,
    no EXIF, no ICC profile, no text chunks)."""
    mode = "RGBA" if keep_alpha and _has_alpha(image) else "RGB"
    if image.mode != mode:
        if mode == "RGB" and _has_alpha(image):
            image = _on_white(image)
        else:
            image = image.convert(mode)
    return Image.frombytes(mode, image.size, image.tobytes())


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA"} or (
        image.mode == "P" and "transparency" in image.info
    )


def _on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    back = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    back.alpha_composite(rgba)
    return back.convert("RGB")


def thumbnail(pixels: Image.Image, size: int) -> bytes:
    """A JPEG at most ``size`` pixels on its longer side, for the pages."""
    small = _on_white(pixels) if pixels.mode == "RGBA" else pixels.copy()
    small.thumbnail((size, size))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()


# -- PDF ------------------------------------------------------------------------
def _pdf(data: bytes, shown: str, field: str) -> None:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise Refused(
                field,
                f"{shown} is an encrypted PDF, which cannot be checked",
                PDF_ENCRYPTED,
                {"name": shown},
            )
        active = _active_content(reader.trailer)
    except Refused:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, RecursionError) as e:
        raise Refused(
            field,
            f"{shown} is not a readable PDF ({type(e).__name__})",
            UNREADABLE_PDF,
            {"name": shown},
        ) from None
    if active is not None:
        raise Refused(
            field,
            f"{shown} is a PDF with {active}: not accepted",
            PDF_ACTIVE,
            {"name": shown, "what": active},
        )


def _active_content(root: Any) -> str | None:
    """The first active element anywhere in the PDF's object graph, or None."""
    seen: set[tuple[int, int]] = set()
    todo: list[Any] = [root]
    walked = 0
    while todo:
        node = todo.pop()
        walked += 1
        if walked > _PDF_MAX_OBJECTS:
            return "too many objects to check"
        if isinstance(node, IndirectObject):
            ident = (node.idnum, node.generation)
            if ident in seen:
                continue
            seen.add(ident)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            for key, value in node.items():
                if key in _PDF_ACTIVE:
                    return _PDF_ACTIVE[key]
                if key == "/S" and str(value) in _PDF_ACTIONS:
                    return _PDF_ACTIONS[str(value)]
                todo.append(value)
        elif isinstance(node, ArrayObject):
            todo.extend(node)
    return None


# -- office documents (zip) -------------------------------------------------------
def _office(data: bytes, shown: str, field: str, limits: AttachmentLimits) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
        if len(members) > limits.max_zip_entries:
            raise Refused(
                field,
                f"{shown} holds {len(members)} parts; at most {limits.max_zip_entries}",
                TOO_MANY_PARTS,
                {"name": shown, "count": len(members), "max": limits.max_zip_entries},
            )
        names = {m.filename for m in members}
        _inflate_all(archive, members, shown, field, limits, len(data))
        media_type = _office_type(archive, names)
    except Refused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        raise Refused(
            field,
            f"{shown} is not a readable office document ({e})",
            UNREADABLE_OFFICE,
            {"name": shown},
        ) from None
    if media_type is None:
        raise Refused(
            field,
            f"{shown} is a zip archive, not an office document: not accepted",
            ZIP_NOT_OFFICE,
            {"name": shown},
        )
    if any(n.lower().endswith("vbaproject.bin") for n in names) or "macroenabled" in (
        archive.read("[Content_Types].xml").decode("utf-8", "replace").lower()
        if "[Content_Types].xml" in names
        else ""
    ):
        raise Refused(
            field,
            f"{shown} contains macros: save it without them (.docx, .xlsx)",
            MACROS,
            {"name": shown},
        )
    return media_type


def _inflate_all(
    archive: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    shown: str,
    field: str,
    limits: AttachmentLimits,
    packed: int,
) -> None:
    """Inflate every part, counting real bytes: refused as soon as the total
    passes the limit or the ratio (never inflating more than that)."""
    most = min(limits.max_unpacked_bytes, packed * limits.max_zip_ratio)
    total = 0
    for member in members:
        with archive.open(member) as part:
            while chunk := part.read(1 << 16):
                total += len(chunk)
                if total > most:
                    raise Refused(
                        field,
                        f"{shown} unpacks to more than {_size(most)} "
                        f"(a zip bomb?): at most {_size(limits.max_unpacked_bytes)} "
                        f"and {limits.max_zip_ratio} times its size",
                        ZIP_BOMB,
                        {
                            "name": shown,
                            "size": _size(most),
                            "max": _size(limits.max_unpacked_bytes),
                            "ratio": limits.max_zip_ratio,
                        },
                    )


def _office_type(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    if "[Content_Types].xml" in names:
        for marker, (media_type, _ext) in OFFICE.items():
            if marker in names:
                return media_type
    if "mimetype" in names:
        declared = archive.read("mimetype").decode("ascii", "replace").strip()
        if declared in OPEN_DOCUMENT:
            return declared
    return None


# -- names ----------------------------------------------------------------------
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def safe_name(name: str, media_type: str | None) -> str:
    """The sender's file name with no path, no control or shell-special
    characters, at most 100 characters, ending in its real type's extension."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = _UNSAFE.sub("_", base).strip(" ._") or "file"
    if media_type is None:
        return base[:100]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    ext = EXTENSIONS[media_type]
    return f"{stem[: 99 - len(ext)].strip(' ._') or 'file'}.{ext}"


def _size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.0f} KiB"
    return f"{n} bytes"
