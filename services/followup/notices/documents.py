"""The printable notices of one complaint (告知书), read from its events.

A notice is identified by the event that carries it, so a document printed
today and reprinted next year carry the same ``notice_id``. Its text is the
one the event stored (``notice_text``: title, blank line, body), cut into the
parts a printed page sets apart: the salutation is set from the recipient's
name, and the signature (organisation, date) goes bottom right.

The result feedback is the exception: ``ResultFeedbackSent`` stores no text,
and the notifier renders it from the round's ``ComplaintResolved`` when it
sends it; ``render`` does the same here, so that the PDF says what was sent.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from tousu.shared.calendar import TZ
from tousu.shared.domain.context import NoticeRenderer
from tousu.shared.domain.imports import imported_versions
from tousu.shared.events import Envelope, decode
from tousu.shared.events import types as ev
from tousu.shared.intake.i18n import Lang, Localized, UnsupportedLanguage, normalize_lang


class DocumentKind(StrEnum):
    ACCEPTANCE = "acceptance"  # 受理告知书
    REJECTION = "rejection"  # 不予受理告知书
    EXTENSION = "extension"  # 延期告知
    FEEDBACK = "feedback"  # 处理结果反馈
    RECEIPT = "receipt"  # 投诉登记回执: printed at the desk, not an event's


# For a stored text without a title line (the plain renderer of tests and tools).
TITLES: dict[DocumentKind, Localized] = {
    DocumentKind.ACCEPTANCE: Localized(zh="受理告知书", en="Notice of Acceptance"),
    DocumentKind.REJECTION: Localized(zh="不予受理告知书", en="Notice of Non-acceptance"),
    DocumentKind.EXTENSION: Localized(zh="延期告知书", en="Notice of Extension"),
    DocumentKind.FEEDBACK: Localized(zh="处理结果反馈", en="Result of Your Complaint"),
    DocumentKind.RECEIPT: Localized(zh="投诉登记回执", en="Complaint Receipt"),
}
# The salutations of shared/intake/data/notices.yaml; the page sets its own.
_SALUTATION = re.compile(r"^(您好：|尊敬的.{1,40}：|Dear .{1,80},)$")
_TITLE_MAX = 40  # a first paragraph longer than this is body, not a title


@dataclass(frozen=True, slots=True)
class NoticeDocument:
    kind: DocumentKind
    language: Lang
    title: str
    tracking_no: str
    recipient_name: str | None
    body: str  # paragraphs, one a line; a blank line separates sections
    organisation: str
    issued_on: date
    notice_id: uuid.UUID  # the id of the event that carries the notice
    issued_at: datetime


def _language(tag: str) -> Lang:
    try:
        return normalize_lang(tag)
    except UnsupportedLanguage:
        return "zh"  # the language of record


def _split(text: str, kind: DocumentKind, lang: Lang) -> tuple[str, str]:
    title, sep, body = text.strip().partition("\n\n")
    if not sep or "\n" in title or len(title) > _TITLE_MAX:
        return TITLES[kind].get(lang), text.strip()
    return title.strip(), body


def _without_frame(body: str, signatures: set[str]) -> str:
    """The body without the salutation and the signature section."""
    sections = [s.strip("\n") for s in re.split(r"\n\s*\n", body.strip()) if s.strip()]
    if sections:
        first, _, rest = sections[0].partition("\n")
        if _SALUTATION.match(first.strip()):
            sections[0] = rest
    if sections and sections[-1].splitlines()[0].strip() in signatures:
        sections.pop()
    return "\n\n".join(s for s in sections if s.strip())


class _Collector:
    def __init__(self, organisation: Localized | str, render: NoticeRenderer | None) -> None:
        self.organisation = organisation
        self.render = render
        self.received: ev.ComplaintReceived | None = None
        self.resolved: dict[int, ev.ComplaintResolved] = {}

    @property
    def lang(self) -> Lang:
        return _language(self.received.language if self.received else "zh")

    def org_name(self) -> str:
        org = self.organisation
        return org if isinstance(org, str) else org.get(self.lang)

    def signatures(self) -> set[str]:
        org = self.organisation
        return {org} if isinstance(org, str) else {org.zh, org.en}

    def feedback_text(self, envelope: Envelope, data: ev.ResultFeedbackSent) -> str | None:
        if data.notice_text:
            return data.notice_text
        resolved = self.resolved.get(data.round)
        if resolved is None or self.render is None or self.received is None:
            return None
        # As the notifier renders it when it sends the feedback.
        return self.render(
            "result",
            self.received.language,
            tracking_no=self.received.tracking_no,
            subject=self.received.subject,
            result=resolved.result,
            basis=resolved.basis,
            improvements=resolved.improvements,
            department=envelope.department,
            attachments=resolved.attachments,
        )

    def notice(self, envelope: Envelope) -> tuple[DocumentKind, str] | None:
        data = decode(envelope)
        match data:
            case ev.ComplaintReceived():
                self.received = data
            case ev.ComplaintResolved():
                self.resolved[data.round] = data
            case ev.ComplaintAccepted():
                return DocumentKind.ACCEPTANCE, data.notice_text
            case ev.ComplaintRejected():
                return DocumentKind.REJECTION, data.notice_text
            case ev.ExtensionDecided() if data.approved and data.notice_text:
                return DocumentKind.EXTENSION, data.notice_text
            case ev.ResultFeedbackSent():
                text = self.feedback_text(envelope, data)
                return (DocumentKind.FEEDBACK, text) if text else None
        return None

    def document(self, envelope: Envelope, kind: DocumentKind, text: str) -> NoticeDocument:
        assert self.received is not None  # every notice follows the complaint's first event
        who = self.received.complainant
        title, body = _split(text, kind, self.lang)
        return NoticeDocument(
            kind=kind,
            language=self.lang,
            title=title,
            tracking_no=self.received.tracking_no,
            recipient_name=None if who.anonymous else (who.name or None),
            body=_without_frame(body, self.signatures()),
            organisation=self.org_name(),
            issued_on=envelope.occurred_at.astimezone(TZ).date(),
            notice_id=envelope.event_id,
            issued_at=envelope.occurred_at,
        )


def notice_documents(
    history: list[Envelope],
    organisation: Localized | str,
    render: NoticeRenderer | None = None,
) -> list[NoticeDocument]:
    """The notices ``history`` (one complaint's events, in order) sent, oldest first.

    ``render`` renders a result feedback whose event stores no text; without
    it such a feedback is left out.
    """
    collector = _Collector(organisation, render)
    # An earlier system's history (tousu import): tousu sent none of its
    # notices (the notifier skips them), so it has no document of them.
    imported = imported_versions(history)
    out: list[NoticeDocument] = []
    for envelope in history:
        found = collector.notice(envelope)  # read all: a later notice may need it
        if (
            found is not None
            and collector.received is not None
            and envelope.version not in imported
        ):
            out.append(collector.document(envelope, *found))
    return out


def receipt_document(
    text: str,
    *,
    tracking_no: str,
    recipient_name: str | None,
    language: str,
    organisation: Localized,
    issued_at: datetime,
    complaint_id: uuid.UUID,
) -> NoticeDocument:
    """The registration receipt (回执) rendered as ``text``, set as a notice
    is; numbered by its complaint (it carries the access code, so it is
    printed once, in the response that knows the code, and never stored)."""
    lang = _language(language)
    title, body = _split(text, DocumentKind.RECEIPT, lang)
    return NoticeDocument(
        kind=DocumentKind.RECEIPT,
        language=lang,
        title=title,
        tracking_no=tracking_no,
        recipient_name=recipient_name,
        body=_without_frame(body, {organisation.zh, organisation.en}),
        organisation=organisation.get(lang),
        issued_on=issued_at.astimezone(TZ).date(),
        notice_id=complaint_id,
        issued_at=issued_at,
    )


def find_document(documents: list[NoticeDocument], notice_id: uuid.UUID) -> NoticeDocument | None:
    return next((d for d in documents if d.notice_id == notice_id), None)
