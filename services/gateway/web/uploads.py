"""Files sent with a web form (the public complaint form, the staff desk's
registration): read from the multipart body, all checked before any is
stored, each refusal's reason at the form's file field.

The order keeps the record whole (docs/attachments.md): every file is
checked first, so one refused file leaves none of the others stored; the
accepted ones are stored, sealed with the complainant's key, before the
command that names them is sent; a command that then fails leaves them to
the sweep.
"""

from __future__ import annotations

import uuid
from typing import Final

import asyncpg
from starlette.datastructures import UploadFile
from starlette.requests import Request

from tousu.services.gateway.problems import Lang
from tousu.services.gateway.web.complaint_form import Form
from tousu.services.gateway.web.i18n import N_
from tousu.services.gateway.web.refusals import reason
from tousu.shared.attachments.checks import Kept, Refused
from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.owners import owner_for_contact
from tousu.shared.events.types import FileRef
from tousu.shared.intake.duplicates import normalize_email, normalize_phone

FIELD: Final = "attachments"
# What the file inputs take: photos (the phone's camera too) and PDFs; the
# store decides from the content whatever the browser lets through.
ACCEPT: Final = "image/*,application/pdf"
# The staff desk takes the office documents people bring in too.
DESK_ACCEPT: Final = f"{ACCEPT},.docx,.xlsx,.pptx,.odt,.ods,.odp"

TOO_MANY = N_("Please choose at most %(max)s files (now %(count)s).")
REFUSED = N_("Not accepted: %(reasons)s")
CHOOSE_AGAIN = N_("Your files were not kept because of the errors above: please choose them again.")


def attachments_of(request: Request) -> Attachments:
    attachments: Attachments = request.app.state.connections.attachments
    return attachments


async def chosen_files(request: Request, field: str = FIELD) -> list[tuple[str, bytes]]:
    """(name, bytes) of each file chosen in the form's file inputs named
    ``field``; an input left empty sends a part without a name, which is no
    file. The staff evidence forms read theirs here too."""
    form = await request.form()
    out: list[tuple[str, bytes]] = []
    for item in form.getlist(field):
        if isinstance(item, UploadFile) and item.filename:
            out.append((item.filename, await item.read()))
    return out


# A refusal for the file field: a catalogue message and its values, which
# each form words its own way (the public form and desk; the case page).
Problem = tuple[str, dict[str, object]]


async def check_all(
    attachments: Attachments,
    files: list[tuple[str, bytes]],
    lang: Lang,
    *,
    field: str,
    too_many: str,
    refused: str,
) -> tuple[list[Kept], Problem | None]:
    """What would be kept of each file, nothing stored; or, when there are
    too many or any is refused, none kept and the problem for the file field
    (``too_many`` with the limit and count, or ``refused`` with every refused
    file's reason in ``lang``). Every web form with files checks them here,
    so one refused file leaves none of the others stored."""
    limit = attachments.limits.max_files
    if len(files) > limit:
        return [], (too_many, {"max": limit, "count": len(files)})
    kept: list[Kept] = []
    reasons: list[str] = []
    for name, data in files:
        try:
            kept.append(await attachments.check(data, name, field=field))
        except Refused as refusal:
            reasons.append(reason(refusal, lang))
    if reasons:
        return [], (refused, {"reasons": "; ".join(reasons)})
    return kept, None


async def checked(
    attachments: Attachments, files: list[tuple[str, bytes]], form: Form, lang: Lang
) -> list[Kept]:
    """What would be kept of each file; nothing stored. A problem goes to
    the form's file field (every refused file's reason, in one message)."""
    kept, problem = await check_all(
        attachments, files, lang, field=FIELD, too_many=TOO_MANY, refused=REFUSED
    )
    if problem is not None:
        message, values = problem
        form.error(FIELD, message, lang, **values)
    return kept


async def owner_of_new_complaint(
    pool: asyncpg.Pool, phone: str | None, email: str | None
) -> uuid.UUID:
    """The key the new complaint's personal fields will be sealed with: found
    from the phone and e-mail exactly as intake records them (normalised)."""
    return await owner_for_contact(
        pool,
        normalize_phone(phone) if phone else None,
        normalize_email(email) if email else None,
    )


async def stored(attachments: Attachments, owner: uuid.UUID, kept: list[Kept]) -> list[FileRef]:
    return [await attachments.keep(owner, k) for k in kept]
