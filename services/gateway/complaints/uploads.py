"""Uploading a file for the staff API (and channel adapters): one file in,
its :class:`FileRef` out, to be named in a command's ``attachments``.

Two routes, by whose key the file is sealed with (docs/attachments.md):

- ``POST /api/v1/complaints/{id}/attachments``: evidence for a step of an
  existing case (investigation, plan, progress, result, 督办), sealed with the
  case's complainant key; whoever may see the case may upload to it;
- ``POST /api/v1/attachments``: a file for a complaint about to be registered
  (a scanned letter, a channel adapter's photo), sealed with the key of the
  complainant the ``phone`` or ``email`` sent with it name, the same key the
  submission's personal fields will be sealed with; registrars only.

The file is checked, kept and stored before the reference is answered; a
refusal is a 422 naming the form field, and stores nothing.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile, status

from tousu.services.gateway.auth import Principal
from tousu.services.gateway.auth.dependencies import CurrentUser, get_pool, require_roles
from tousu.services.gateway.complaints.reader import visible_case
from tousu.services.gateway.complaints.routes import _ACTION_RESPONSES, ComplaintId, get_store
from tousu.services.gateway.problems import Text, Unprocessable
from tousu.shared.attachments.checks import Refused
from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.owners import owner_for_contact, owner_of_case
from tousu.shared.events.types import FileRef

FIELD = "file"
REFUSED = Text("文件未被接受", "The file was not accepted")

Registrar = Annotated[Principal, Depends(require_roles("operator", "supervisor", "admin"))]
UploadedFile = Annotated[
    UploadFile, File(description="One file: an image, a PDF or an office document")
]
Shared = Annotated[
    bool,
    Form(description="Let the complainant see it (on the tracking page) once a step names it"),
]
Public = Annotated[
    bool, Form(description="Show it on public Open311 reads (`media_url`) once a step names it")
]

_RESPONSES: dict[int | str, dict[str, Any]] = {
    k: v for k, v in _ACTION_RESPONSES.items() if k in (403, 404, 422)
}
_RESPONSES[413] = {"description": "The request is larger than an upload may be"}
_RESPONSES[422] = {
    **_ACTION_RESPONSES[422],
    "description": "The file was refused (`errors[0].field` is `file`, with the reason)",
}


def get_attachments(request: Request) -> Attachments:
    attachments: Attachments = request.app.state.connections.attachments
    return attachments


async def keep(
    attachments: Attachments,
    owner: uuid.UUID,
    upload: UploadFile,
    *,
    field: str = FIELD,
    shared_with_complainant: bool = False,
    public: bool = False,
) -> FileRef:
    """``upload`` checked and stored for ``owner``; 422 naming ``field`` if refused."""
    # One byte past the limit is enough for the store to refuse it by size.
    data = await upload.read(attachments.limits.max_bytes + 1)
    try:
        return await attachments.add(
            owner,
            data,
            upload.filename or "",
            field=field,
            shared_with_complainant=shared_with_complainant,
            public=public,
        )
    except Refused as refusal:
        raise Unprocessable(
            REFUSED,
            errors=[
                {
                    "field": refusal.field,
                    "message": refusal.reason,
                    "type": "file_refused",
                    # Stable, for a client that shows the reason in its own words.
                    "code": refusal.code,
                }
            ],
        ) from None


def uploads_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["attachments"])

    @router.post(
        "/complaints/{complaint_id}/attachments",
        status_code=status.HTTP_201_CREATED,
        response_model=FileRef,
        responses=_RESPONSES,
        operation_id="upload_case_attachment",
    )
    async def upload_for_case(
        complaint_id: ComplaintId,
        file: UploadedFile,
        request: Request,
        principal: CurrentUser,
        shared_with_complainant: Shared = False,
        public: Public = False,
    ) -> FileRef:
        """Upload one file for a step of this case (any staff who may see it).
        Name the answered reference in the step's `attachments` (investigation,
        plan, progress, resolve, supervise); until then it is kept for the
        sweep's grace period only."""
        await visible_case(get_store(request), complaint_id, principal)
        owner = await owner_of_case(get_pool(request), complaint_id)
        return await keep(
            get_attachments(request),
            owner,
            file,
            shared_with_complainant=shared_with_complainant,
            public=public,
        )

    @router.post(
        "/attachments",
        status_code=status.HTTP_201_CREATED,
        response_model=FileRef,
        responses=_RESPONSES,
        operation_id="upload_attachment",
    )
    async def upload_for_submission(
        file: UploadedFile,
        request: Request,
        _principal: Registrar,
        phone: Annotated[
            str | None, Form(max_length=40, description="The complainant's phone number")
        ] = None,
        email: Annotated[
            str | None, Form(max_length=254, description="The complainant's e-mail")
        ] = None,
        wechat_openid: Annotated[
            str | None,
            Form(
                max_length=128,
                description="The complainant's WeChat OpenID, when they gave neither "
                "phone nor e-mail (the WeChat adapter)",
            ),
        ] = None,
    ) -> FileRef:
        """Upload one file for a complaint about to be registered (operators,
        supervisors, admins; and channel adapters with such an account's
        token). Send the complainant's `phone` or `email` as the submission
        will have them: the file is sealed with that person's key, so erasing
        them reaches it. Name the answered reference in the submission's
        `attachments`."""
        owner = await owner_for_contact(
            get_pool(request), phone or None, email or None, wechat_openid or None
        )
        return await keep(get_attachments(request), owner, file)

    return router
