"""Notices as PDF: the documents read from a complaint's events, and the pages
rendered from them, checked by reading the text back with ``pdftotext``."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from datetime import date, datetime

import pytest

from tests.domain_kit import CALENDAR, HANDLER, OPERATOR, SUPERVISOR, Case
from tousu.services.followup.notices.documents import DocumentKind, NoticeDocument, notice_documents
from tousu.services.followup.notices.pdf import render_notice_pdf
from tousu.services.followup.notices.wrap import NO_LINE_START, wrap
from tousu.services.gateway.notices.download import content_disposition
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext
from tousu.shared.events.types import Channel, Complainant, PlanMeasure
from tousu.shared.intake.i18n import Localized
from tousu.shared.intake.notices import NoticeContacts, NoticeTexts

ORG = Localized(zh="某市政务服务中心", en="City Government Service Centre")
RENDER = NoticeTexts(
    NoticeContacts(org_name=ORG, supervision_phone="12345", supervision_email="jd@example.cn")
)
TRACKING_NO = "TS2603-48273-91562"
SCRIPT = '<script>alert(1)</script> &lt; & "quoted"'


class TemplatedCase(Case):
    """A case whose notices are rendered from the real templates."""

    def context(self) -> DecisionContext:
        return DecisionContext(calendar=CALENDAR, now=self.now or self.recording, render=RENDER)


def received(lang: str, name: str | None = "王五") -> TemplatedCase:
    case = TemplatedCase()
    case.do(
        c.SubmitComplaint,
        OPERATOR,
        channel=Channel.PHONE,
        tracking_no=TRACKING_NO,
        complainant=Complainant(name=name, phone="13700000000"),
        subject="工地夜间施工噪音" if lang == "zh" else "Night-time construction noise",
        description="夜间施工",
        language="zh-CN" if lang == "zh" else "en",
    )
    return case


def handled(lang: str) -> TemplatedCase:
    """Accepted, extended once (one refusal first), resolved and fed back."""
    zh = lang == "zh"
    case = received(lang)
    case.do(c.AcceptComplaint, OPERATOR, category="service_quality")
    case.do(c.RouteComplaint, OPERATOR, department="water")
    case.do(c.ClaimCase, HANDLER)
    case.do(c.RequestExtension, HANDLER, working_days=3, reason="site visit")
    case.do(c.DecideExtension, SUPERVISOR, approved=False, reason="no")
    case.do(c.RequestExtension, HANDLER, working_days=5, reason="site visit")
    case.do(
        c.DecideExtension,
        SUPERVISOR,
        approved=True,
        reason="需要现场勘查，协调施工单位" if zh else "A site visit is needed",
    )
    case.do(
        c.RecordInvestigation, HANDLER, findings="夜间施工属实" if zh else "Night work confirmed"
    )
    measures = [PlanMeasure(measure="责令停工" if zh else "Stop the night work", owner=HANDLER.id)]
    case.do(c.ProposePlan, HANDLER, measures=measures)
    case.do(c.RecordConsultation, HANDLER, agrees=True)
    case.do(
        c.ResolveComplaint,
        HANDLER,
        result="已责令施工单位停止夜间施工并处罚款" if zh else "The contractor stopped night work",
        basis="《噪声污染防治法》第四十三条" if zh else "Noise Pollution Law, article 43",
    )
    case.do(c.SendFeedback, HANDLER)
    return case


def rejected(lang: str) -> TemplatedCase:
    case = received(lang)
    zh = lang == "zh"
    case.do(
        c.RejectComplaint,
        OPERATOR,
        reason="属于民事纠纷" if zh else "A private dispute",
        suggestion="建议向人民法院起诉" if zh else "Take it to a court",
    )
    return case


def pdftotext(pdf: bytes) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: apt-get install poppler-utils")
    done = subprocess.run([tool, "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.decode("utf-8")


def squeeze(text: str) -> str:
    # Lines wrap anywhere in Chinese and at spaces in English: compare without breaks.
    return re.sub(r"\s+", "", text)


# -- the documents of a complaint ----------------------------------------------------
def test_each_notice_is_a_document_named_by_its_event() -> None:
    case = handled("zh")
    docs = notice_documents(case.envelopes, ORG, RENDER)
    assert [d.kind for d in docs] == [
        DocumentKind.ACCEPTANCE,
        DocumentKind.EXTENSION,  # the refused extension sent nothing
        DocumentKind.FEEDBACK,
    ]
    carriers = {e.event_id: e for e in case.envelopes}
    for doc in docs:
        envelope = carriers[doc.notice_id]
        assert doc.issued_at == envelope.occurred_at
        assert doc.issued_on == envelope.occurred_at.astimezone(TZ).date()
        assert (doc.language, doc.tracking_no, doc.recipient_name) == ("zh", TRACKING_NO, "王五")
        assert doc.organisation == "某市政务服务中心"
    assert [d.title for d in docs] == ["受理告知书", "延期告知书", "处理结果反馈"]
    # The page sets the salutation and the signature itself: not twice.
    assert not docs[0].body.startswith("您好")
    assert "某市政务服务中心" not in docs[0].body
    assert "已于" in docs[0].body and "监督举报" in docs[0].body
    assert "已责令施工单位停止夜间施工并处罚款" in docs[2].body
    # Read again, the same documents: a reprint matches.
    assert notice_documents(case.envelopes, ORG, RENDER) == docs


def test_without_a_renderer_a_feedback_with_no_stored_text_is_left_out() -> None:
    docs = notice_documents(handled("en").envelopes, ORG)
    assert [d.kind for d in docs] == [DocumentKind.ACCEPTANCE, DocumentKind.EXTENSION]
    assert docs[0].language == "en" and docs[0].organisation == ORG.en


def test_an_untitled_text_gets_the_kind_s_title() -> None:
    case = Case()  # the plain renderer of tests: no title line
    case.do(
        c.SubmitComplaint,
        OPERATOR,
        channel=Channel.WEB,
        tracking_no=TRACKING_NO,
        complainant=Complainant(anonymous=True, email="a@example.cn"),
        subject="s",
        description="d",
    )
    case.do(c.AcceptComplaint, OPERATOR, category="service_quality")
    [doc] = notice_documents(case.envelopes, "某中心")
    assert (doc.title, doc.recipient_name, doc.organisation) == ("受理告知书", None, "某中心")
    assert doc.body.startswith("[acceptance]")


# -- the pages --------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_kind_reads_back_as_text(lang: str) -> None:
    docs = notice_documents(handled(lang).envelopes, ORG, RENDER)
    docs += notice_documents(rejected(lang).envelopes, ORG, RENDER)
    # The receipt is printed at the desk, not read from events (test_notices_say_right.py).
    assert {d.kind for d in docs} == set(DocumentKind) - {DocumentKind.RECEIPT}
    for doc in docs:
        pdf = render_notice_pdf(doc)
        assert pdf.startswith(b"%PDF-")
        text = squeeze(pdftotext(pdf))
        expected = [doc.title, TRACKING_NO, doc.organisation, str(doc.notice_id)]
        expected += [line for line in doc.body.splitlines() if line.strip()]
        expected.append("尊敬的王五：" if lang == "zh" else "Dear 王五,")
        for part in expected:
            assert squeeze(part) in text, (doc.kind, lang, part)


def test_dates_are_written_as_the_reader_expects() -> None:
    doc = document("zh", "正文。")
    assert "2026年3月2日" in pdftotext(render_notice_pdf(doc))
    doc = document("en", "Body.")
    assert "2 March 2026" in pdftotext(render_notice_pdf(doc))


def document(lang: str, body: str, title: str = "受理告知书") -> NoticeDocument:
    return NoticeDocument(
        kind=DocumentKind.ACCEPTANCE,
        language="zh" if lang == "zh" else "en",
        title=title,
        tracking_no=TRACKING_NO,
        recipient_name=None,
        body=body,
        organisation=ORG.get(lang),
        issued_on=date(2026, 3, 2),
        notice_id=uuid.UUID("5d539d05-ed73-4077-9e5b-d3c5b86c248e"),
        issued_at=datetime(2026, 3, 2, 9, tzinfo=TZ),
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_markup_in_a_notice_is_printed_as_it_is(lang: str) -> None:
    text = pdftotext(render_notice_pdf(document(lang, f"理由：{SCRIPT}")))
    assert SCRIPT in text
    assert "您好：" in text if lang == "zh" else "Dear complainant," in text


def test_a_long_notice_wraps_and_goes_on_to_further_pages() -> None:
    sentence = "经现场核查，施工单位确有夜间违规施工行为，已责令其停止夜间施工并处以罚款。"
    body = "\n".join([sentence * 12] * 6)
    pdf = render_notice_pdf(document("zh", body))
    pages = pdftotext(pdf).rstrip("\f").split("\f")
    assert len(pages) >= 2
    assert f"第1页/共{len(pages)}页" in squeeze(pages[0])
    assert all(str(document("zh", "").notice_id) in page for page in pages)
    # Everything arrives, in order, and the signature comes last.
    footer = re.compile(r"^(通知编号：.*|第 ?\d+ ?页.*)$", re.M)
    flow = squeeze("".join(footer.sub("", page) for page in pages))
    assert flow.count(sentence) == 72
    assert "某市政务服务中心" in pages[-1]
    # Wrapped: no printed line is anywhere near a whole paragraph long.
    lines = [line for page in pages for line in page.splitlines()]
    assert max(len(line) for line in lines) < 45


def test_the_same_notice_renders_to_the_same_bytes() -> None:
    doc = document("zh", "正文。")
    assert render_notice_pdf(doc) == render_notice_pdf(doc)


# -- line breaking ------------------------------------------------------------------
def test_lines_fit_and_punctuation_never_starts_a_line() -> None:
    def measure(text: str) -> float:
        return sum(1.0 if ord(ch) > 0x2E80 else 0.5 for ch in text)

    text = (
        "您好，这是一段很长的告知书正文，其中夹有 English words 和网址 https://example.gov.cn/a/very/long/path/that/cannot/fit。"
        * 3
    )
    lines = wrap(text, 10, measure, first_indent=2)
    assert measure(lines[0]) <= 8
    assert all(measure(line) <= 10 for line in lines)
    assert not any(line[0] in NO_LINE_START for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert "English words" in " ".join(lines) or "English" in lines[0] + lines[1]


def test_a_non_ascii_file_name_is_sent_as_rfc_5987() -> None:
    assert content_disposition("TS2603-1-acceptance.pdf") == (
        'attachment; filename="TS2603-1-acceptance.pdf"'
    )
    value = content_disposition("受理告知书.pdf")
    assert value.startswith('attachment; filename="_____.pdf"; ')
    assert value.endswith("filename*=UTF-8''%E5%8F%97%E7%90%86%E5%91%8A%E7%9F%A5%E4%B9%A6.pdf")
