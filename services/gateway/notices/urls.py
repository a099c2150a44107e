"""Where a notice's PDF is, for the responses that link to it."""

from __future__ import annotations

import uuid

# The events whose notice has a PDF (followup's notice_documents).
PDF_EVENTS = frozenset(
    {"ComplaintAccepted", "ComplaintRejected", "ExtensionDecided", "ResultFeedbackSent"}
)


def staff_pdf_url(complaint_id: uuid.UUID, notice_id: uuid.UUID) -> str:
    return f"/api/v1/complaints/{complaint_id}/notices/{notice_id}.pdf"


def public_pdf_url(tracking_no: str, notice_id: uuid.UUID) -> str:
    """Without the access code: the client adds ``?code=`` as for the lookup
    (the code is shown once, at filing, and never sent back)."""
    return f"/api/v1/public/complaints/{tracking_no}/notices/{notice_id}.pdf"
