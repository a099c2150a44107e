"""A refused file's reason in the page's language: the checks give a stable
code and its values (shared/attachments/checks.py), this module holds the
catalogue message of each code (locale/*/LC_MESSAGES/attachment_reasons.po).
A code without a message here falls back to the checks' English sentence."""

from __future__ import annotations

from typing import Final

from tousu.services.gateway.problems import Lang
from tousu.services.gateway.web.i18n import N_, gettext
from tousu.shared.attachments import checks

MESSAGES: Final[dict[str, str]] = {
    checks.EMPTY: N_("%(name)s is empty"),
    checks.TOO_LARGE: N_("%(name)s is %(size)s; at most %(max)s per file"),
    checks.TOO_MANY_PIXELS: N_(
        "%(name)s is %(width)s×%(height)s pixels; at most %(max)s pixels per image"
    ),
    checks.UNREADABLE_IMAGE: N_("%(name)s is not a readable image"),
    checks.IMAGE_TYPE: N_("%(name)s is a %(kind)s image: JPEG, PNG or WebP only"),
    checks.SVG: N_(
        "%(name)s is an SVG image, which can carry scripts: not accepted (send a JPEG or PNG)"
    ),
    checks.HTML: N_("%(name)s is HTML (whatever its name says): not accepted"),
    checks.OLD_OFFICE: N_(
        "%(name)s is an old-style Office file (.doc/.xls/.ppt), which can carry macros: "
        "save it as .docx, .xlsx or .pptx"
    ),
    checks.TYPE_NOT_ACCEPTED: N_(
        "%(name)s is not a type accepted: photos (JPEG, PNG, WebP), PDF and office "
        "documents (docx, xlsx, pptx, odt, ods, odp)"
    ),
    checks.PDF_ENCRYPTED: N_("%(name)s is an encrypted PDF, which cannot be checked"),
    checks.UNREADABLE_PDF: N_("%(name)s is not a readable PDF"),
    checks.PDF_ACTIVE: N_("%(name)s is a PDF with %(what)s: not accepted"),
    checks.TOO_MANY_PARTS: N_("%(name)s holds %(count)s parts; at most %(max)s"),
    checks.UNREADABLE_OFFICE: N_("%(name)s is not a readable office document"),
    checks.ZIP_NOT_OFFICE: N_("%(name)s is a zip archive, not an office document: not accepted"),
    checks.MACROS: N_("%(name)s contains macros: save it without them (.docx, .xlsx)"),
    checks.ZIP_BOMB: N_(
        "%(name)s unpacks to more than %(size)s (a zip bomb?): at most %(max)s "
        "and %(ratio)s times its size"
    ),
}
# What a PDF was refused for (the checks' English phrases, its ``what``).
PDF_ACTIVE_WHAT: Final = frozenset(
    {
        N_("JavaScript"),
        N_("embedded files"),
        N_("an XFA form"),
        N_("rich media"),
        N_("an action that launches a program"),
        N_("an action that imports data"),
        N_("an action that sends a form"),
        N_("an action that opens another file"),
        N_("an action that opens an embedded file"),
        N_("too many objects to check"),
    }
)


def reason(refused: checks.Refused, lang: Lang) -> str:
    """Why the file was refused, in ``lang``."""
    message = MESSAGES.get(refused.code)
    if message is None:
        return refused.reason
    values = dict(refused.values)
    what = values.get("what")
    if isinstance(what, str) and what in PDF_ACTIVE_WHAT:
        values["what"] = gettext(lang, what)
    try:
        return gettext(lang, message, **values)
    except (KeyError, TypeError, ValueError):
        # A code whose values do not fit its message: the English sentence.
        return refused.reason
