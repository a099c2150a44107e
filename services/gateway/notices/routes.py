"""``…/notices``: a complaint's notices (受理告知书, 不予受理告知书, 延期告知,
处理结果反馈) as PDF, read from its events.

Staff see the notices of the cases they may see (another department's case
is the same 404 as ``GET /api/v1/complaints/{id}``); the public gets them
with the tracking number and access code, as the public lookup does.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel

from tousu.services.followup.views import (
    DocumentKind,
    NoticeDocument,
    find_document,
    notice_documents,
)
from tousu.services.gateway.auth.dependencies import CurrentUser, get_pool
from tousu.services.gateway.complaints.personal import document_case, revealed_case
from tousu.services.gateway.complaints.reader import Case, visible_case
from tousu.services.gateway.complaints.routes import ComplaintId, get_store
from tousu.services.gateway.notices.download import no_such_notice, pdf_response
from tousu.services.gateway.notices.urls import staff_pdf_url
from tousu.services.gateway.problems import PROBLEM_JSON
from tousu.services.gateway.public.access import case_for_code
from tousu.services.gateway.public.routes import AccessCode, TrackingNo
from tousu.shared.application.context_source import ContextSource
from tousu.shared.domain.context import NoticeRenderer
from tousu.shared.intake.i18n import Localized
from tousu.shared.settings import Settings

NoticeId = Annotated[uuid.UUID, Path(description="The notice's id (the id of its event)")]
_PROBLEM: dict[str, Any] = {"content": {PROBLEM_JSON: {}}}
_PDF: dict[int | str, dict[str, Any]] = {
    200: {"description": "The notice, A4", "content": {"application/pdf": {}}},
    503: {"description": "No font to set Chinese is installed", **_PROBLEM},
}


class NoticeOut(BaseModel):
    id: uuid.UUID
    kind: DocumentKind
    title: str
    issued_at: datetime
    pdf_url: str


class _Documents:
    """A case's documents as the deployment signs them."""

    def __init__(self, settings: Settings) -> None:
        self.organisation = Localized(zh=settings.org_name_zh, en=settings.org_name_en)
        # Renders a result feedback the way the notifier did when it sent it.
        self.render: NoticeRenderer = ContextSource.for_settings(settings).render

    def __call__(self, case: Case) -> list[NoticeDocument]:
        return notice_documents(case.history, self.organisation, self.render)

    def one(self, case: Case, notice_id: uuid.UUID) -> NoticeDocument:
        document = find_document(self(case), notice_id)
        if document is None:
            raise no_such_notice()
        return document


def notices_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    documents = _Documents(settings)
    not_found: dict[int | str, dict[str, Any]] = {
        404: {"description": "No such complaint (or not yours), or notice", **_PROBLEM}
    }

    @router.get(
        "/complaints/{complaint_id}/notices",
        response_model=list[NoticeOut],
        responses=not_found,
        tags=["complaints"],
        operation_id="list_complaint_notices",
    )
    async def list_notices(
        complaint_id: ComplaintId, request: Request, principal: CurrentUser
    ) -> list[NoticeOut]:
        """The notices sent to the complainant, oldest first, each with its PDF."""
        case = await visible_case(get_store(request), complaint_id, principal)
        return [
            NoticeOut(
                id=d.notice_id,
                kind=d.kind,
                title=d.title,
                issued_at=d.issued_at,
                pdf_url=staff_pdf_url(complaint_id, d.notice_id),
            )
            for d in documents(case)
        ]

    @router.get(
        "/complaints/{complaint_id}/notices/{notice_id}.pdf",
        response_class=Response,
        responses={**_PDF, **not_found},
        tags=["complaints"],
        operation_id="complaint_notice_pdf",
    )
    async def notice_pdf(
        complaint_id: ComplaintId, notice_id: NoticeId, request: Request, principal: CurrentUser
    ) -> Response:
        """One notice as a PDF, in the complainant's language."""
        case = await document_case(get_store(request), complaint_id, principal, "api_notice_pdf")
        return await pdf_response(documents.one(case, notice_id))

    @router.get(
        "/public/complaints/{tracking_no}/notices/{notice_id}.pdf",
        response_class=Response,
        responses={
            **_PDF,
            404: {"description": "Unknown number, wrong code, or no such notice", **_PROBLEM},
        },
        tags=["public"],
        operation_id="public_notice_pdf",
    )
    async def public_notice_pdf(
        tracking_no: TrackingNo, notice_id: NoticeId, request: Request, code: AccessCode = None
    ) -> Response:
        """One of one's notices as a PDF (the lookup's ``pdf_url``, with ``?code=``)."""
        _, case = await case_for_code(request, tracking_no, code)
        # The complainant's own name, on their own notice: neither masked nor logged.
        case = await revealed_case(get_pool(request), case)
        return await pdf_response(documents.one(case, notice_id))

    return router
