"""Real files for the attachment tests, made here: a phone photo with GPS in
its EXIF, and the uploads the store must refuse (HTML named .jpg, SVG with a
script, PDFs that run code, a zip bomb dressed as a .docx, a macro document)."""

from __future__ import annotations

import io
import zipfile

from PIL import ExifTags, Image
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

# Tiananmen Square, as a phone would write it.
GPS_LATITUDE = (39.0, 54.0, 26.0)
GPS_LONGITUDE = (116.0, 23.0, 29.0)


def photo_with_gps(width: int = 1600, height: int = 1200) -> bytes:
    """A JPEG like a phone's: camera make and model, orientation, GPS position."""
    # Gradients and noise, so it compresses like a photograph, not a flat colour.
    across = Image.linear_gradient("L").rotate(90).resize((width, height))
    down = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (across, down, Image.effect_noise((width, height), 60)))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone 15"
    exif[ExifTags.Base.Orientation] = 1
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = GPS_LONGITUDE
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (10, 120, 200, 128)).save(out, "PNG")
    return out.getvalue()


HTML_AS_JPG = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
)


def pdf(*, javascript: bool = False, open_action: bool = False) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if javascript:
        # A document-level script, as the names tree holds it.
        script = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert('hello');"),
            }
        )
        scripts = DictionaryObject(
            {
                NameObject("/Names"): ArrayObject(
                    [TextStringObject("hello"), writer._add_object(script)]
                )
            }
        )
        writer._root_object[NameObject("/Names")] = DictionaryObject(
            {NameObject("/JavaScript"): writer._add_object(scripts)}
        )
    if open_action:
        action = DictionaryObject(
            {
                NameObject("/S"): NameObject("/Launch"),
                NameObject("/F"): TextStringObject("calc.exe"),
            }
        )
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _office(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            b'2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
            b"</Types>",
        )
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def docx() -> bytes:
    return _office(
        {"word/document.xml": b"<w:document>" + "处理结果".encode() * 50 + b"</w:document>"}
    )


def docx_with_macros() -> bytes:
    return _office({"word/document.xml": b"<w:document/>", "word/vbaProject.bin": b"\x00" * 64})


def zip_bomb(unpacked: int = 300 << 20) -> bytes:
    """A .docx-shaped zip whose one part inflates to ``unpacked`` bytes of zeros
    (about a thousand times its packed size)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            block = b"\x00" * (1 << 20)
            for _ in range(unpacked >> 20):
                part.write(block)
    return out.getvalue()
