"""Evidence on the staff case page: the files a handler attaches to the
investigation, the plan, a progress report or the result, and a supervisor
to a 督办, each with the choice to share them with the complainant
(docs/attachments.md, "On the staff case page").

The order keeps the record whole: every file is checked before any is
stored, so one refused file leaves none of the others stored and its reason
is shown at the form's file field (the typed values are kept); the accepted
files are stored, sealed with the case's complainant key, before the command
that names them is sent; a command that then fails leaves them to the sweep.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import asyncpg
from starlette.requests import Request

from tousu.services.gateway.case_files import staff_file_url
from tousu.services.gateway.problems import Lang
from tousu.services.gateway.web.i18n import N_, gettext
from tousu.services.gateway.web.staff.actions import EVIDENCE_FIELD, SHARE_FIELD
from tousu.services.gateway.web.uploads import check_all, chosen_files
from tousu.shared.attachments.checks import Kept
from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.owners import owner_of_case
from tousu.shared.events.types import FileRef

FIELD: Final = EVIDENCE_FIELD
# What the file input offers; the store decides from the content whatever
# the browser lets through (images, PDF, the office formats it accepts).
ACCEPT: Final = "image/*,application/pdf,.docx,.xlsx,.pptx,.odt,.ods,.odp"

LABEL = N_("Evidence (photos, documents)")
HINT = N_(
    "Optional: up to %(max)s files, each at most %(mb)s MB: photos (JPEG, PNG, WebP), "
    "PDF or office documents. Photos are stored without their location data."
)
SHARE = N_("Share these files with the complainant (shown when they track the complaint)")
TOO_MANY = N_("At most %(max)s files may be attached to a step (now %(count)s).")
REFUSED = N_("Files refused: %(reasons)s")
CHOOSE_AGAIN = N_("The files were not kept because of the errors above: please choose them again.")
SHARED = N_("shared with the complainant")


async def chosen(request: Request) -> list[tuple[str, bytes]]:
    """(name, bytes) of each file chosen; an empty input sends a part without a name."""
    return await chosen_files(request, FIELD)


async def checked(
    attachments: Attachments, files: list[tuple[str, bytes]], lang: Lang
) -> tuple[list[Kept], str | None]:
    """What would be kept of each file, nothing stored; or the message for
    the file field (every refused file's reason)."""
    kept, problem = await check_all(
        attachments, files, lang, field=FIELD, too_many=TOO_MANY, refused=REFUSED
    )
    if problem is None:
        return kept, None
    message, values = problem
    return [], gettext(lang, message, **values)


async def stored(
    attachments: Attachments,
    pool: asyncpg.Pool,
    complaint_id: uuid.UUID,
    kept: list[Kept],
    *,
    shared: bool,
) -> list[FileRef]:
    """Store the checked files sealed with the case's complainant key."""
    if not kept:
        return []
    owner = await owner_of_case(pool, complaint_id)
    return [await attachments.keep(owner, k, shared_with_complainant=shared) for k in kept]


def shared_chosen(raw: Mapping[str, Any]) -> bool:
    return bool(str(raw.get(SHARE_FIELD, "")).strip())


@dataclass(frozen=True)
class ShownFile:
    """A file as the staff timeline shows it: a link, a thumbnail for an image."""

    name: str
    url: str
    thumb: str | None
    media_type: str
    size: int
    shared: bool


def shown(complaint_id: uuid.UUID, files: list[FileRef]) -> list[ShownFile]:
    return [
        ShownFile(
            name=ref.name,
            url=staff_file_url(complaint_id, ref),
            thumb=staff_file_url(complaint_id, ref, thumbnail=True) if ref.thumbnail else None,
            media_type=ref.media_type,
            size=ref.size,
            shared=ref.shared_with_complainant,
        )
        for ref in files
    ]
