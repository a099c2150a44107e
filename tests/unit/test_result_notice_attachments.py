"""The result feedback lists the result's files shared with the complainant
(name, type, size): in the notice the notifier sends and, the same text, in
its PDF (read back with ``pdftotext``)."""

from __future__ import annotations

import hashlib

import pytest

from tests.domain_kit import HANDLER, OPERATOR
from tests.unit.test_notice_pdf import ORG, RENDER, TemplatedCase, pdftotext, received, squeeze
from tousu.services.followup.notices.documents import DocumentKind, notice_documents
from tousu.services.followup.notices.pdf import render_notice_pdf
from tousu.services.followup.notifier import notice_for
from tousu.shared.domain import commands as c
from tousu.shared.domain.state import replay
from tousu.shared.events.types import FileRef, PlanMeasure
from tousu.shared.intake.notices import file_size


def ref(name: str, media_type: str, size: int, *, shared: bool) -> FileRef:
    return FileRef(
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        size=size,
        media_type=media_type,
        name=name,
        shared_with_complainant=shared,
    )


PHOTO = ref("维修后现场.jpg", "image/jpeg", 250_880, shared=True)
REPORT = ref("整改报告.pdf", "application/pdf", 1_258_291, shared=True)
INTERNAL = ref("内部审批单.pdf", "application/pdf", 40_000, shared=False)


def handled_with(lang: str, files: list[FileRef]) -> TemplatedCase:
    """Investigated, planned, agreed, resolved with ``files`` and fed back."""
    zh = lang == "zh"
    case = received(lang)
    case.do(c.AcceptComplaint, OPERATOR, category="service_quality")
    case.do(c.RouteComplaint, OPERATOR, department="water")
    case.do(c.ClaimCase, HANDLER)
    case.do(
        c.RecordInvestigation, HANDLER, findings="夜间施工属实" if zh else "Night work confirmed"
    )
    measures = [PlanMeasure(measure="责令停工" if zh else "Stop the night work", owner=HANDLER.id)]
    case.do(c.ProposePlan, HANDLER, measures=measures)
    case.do(c.RecordConsultation, HANDLER, agrees=True)
    case.do(
        c.ResolveComplaint,
        HANDLER,
        result="已责令施工单位停止夜间施工" if zh else "The contractor stopped night work",
        basis="《噪声污染防治法》第四十三条" if zh else "Noise Pollution Law, article 43",
        attachments=files,
    )
    case.do(c.SendFeedback, HANDLER)
    return case


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_feedback_pdf_lists_the_files_shared_with_the_complainant(lang: str) -> None:
    case = handled_with(lang, [PHOTO, REPORT, INTERNAL])
    docs = notice_documents(case.envelopes, ORG, RENDER)
    feedback = next(d for d in docs if d.kind is DocumentKind.FEEDBACK)
    text = squeeze(pdftotext(render_notice_pdf(feedback)))
    if lang == "zh":
        assert (
            squeeze("附件：维修后现场.jpg（JPEG 图片，245 KB）；整改报告.pdf（PDF 文件，1.2 MB）")
            in text
        )
    else:
        assert (
            squeeze(
                "Attachments: 维修后现场.jpg (JPEG image, 245 KB); "
                "整改报告.pdf (PDF document, 1.2 MB)"
            )
            in text
        )
    # The department's own file stays on the staff pages.
    assert "内部审批单" not in text
    # What the notifier sends is the text the PDF prints.
    at = next(i for i, e in enumerate(case.envelopes) if e.type == "ResultFeedbackSent")
    history = case.envelopes[: at + 1]
    notice = notice_for(history[-1], history, replay(history), RENDER)
    assert notice is not None
    sent_title, sent_body = notice.text.split("\n\n", 1)
    assert sent_title == feedback.title
    assert feedback.body in sent_body


def test_a_result_without_shared_files_reads_as_before() -> None:
    with_internal = notice_documents(handled_with("zh", [INTERNAL]).envelopes, ORG, RENDER)
    without = notice_documents(handled_with("zh", []).envelopes, ORG, RENDER)
    assert [d.body for d in with_internal] == [d.body for d in without]
    assert "附件" not in without[-1].body


def test_sizes_read_as_a_file_manager_writes_them() -> None:
    assert [file_size(n) for n in (820, 250_880, 1_258_291)] == ["820 B", "245 KB", "1.2 MB"]
