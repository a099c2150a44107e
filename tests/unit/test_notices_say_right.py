"""Notices that say what the policy says they say: the extension notice gives
the department's reason and its dates, the rejection notice is dated, a notice
addressed to the complainant is the one previewed, and the access code goes
to the outbox sealed, put in only when sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from structlog.testing import capture_logs

from tests.domain_kit import HANDLER, OPERATOR, SUPERVISOR
from tests.unit.test_notice_pdf import ORG, RENDER, TRACKING_NO, pdftotext, received, squeeze
from tousu.services.followup.code_notice import code_notice
from tousu.services.followup.notices import LoggingSmsSender, NoticeChannel, NoticeKind, SmsSender
from tousu.services.followup.notices.documents import receipt_document
from tousu.services.followup.notices.model import ACCESS_CODE_SLOT
from tousu.services.followup.notices.pdf import render_notice_pdf
from tousu.shared.domain import commands as c
from tousu.shared.events import Envelope
from tousu.shared.events import types as ev
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.intake.notices import addressed, format_date, render_notice


def extended(lang: str = "zh") -> ev.ExtensionDecided:
    case = received(lang)
    case.do(c.AcceptComplaint, OPERATOR, category="service_quality")
    case.do(c.RouteComplaint, OPERATOR, department="water")
    case.do(c.ClaimCase, HANDLER)
    case.do(c.RequestExtension, HANDLER, working_days=5, reason="需要协调管网维修单位")
    before = case.state.deadlines[ev.DeadlineKind.FEEDBACK].due_at
    [decided] = case.do(c.DecideExtension, SUPERVISOR, approved=True, reason="同意")
    assert isinstance(decided, ev.ExtensionDecided) and decided.feedback_deadline is not None
    # The notice, byte for byte, as the template says it with every field.
    expected = render_notice(
        "extension",
        "zh-CN",
        contacts=RENDER.contacts,
        tracking_no=TRACKING_NO,
        subject="工地夜间施工噪音",
        feedback_due=decided.feedback_deadline.due_at,
        reason="需要协调管网维修单位",
        previous_due=before,
        working_days=5,
        issued_at=case.envelopes[-1].occurred_at,
    ).text
    assert decided.notice_text == expected
    return decided


def test_the_extension_notice_gives_the_departments_reason_and_fills_its_lines() -> None:
    text = extended().notice_text
    assert text is not None
    assert "延期原因：需要协调管网维修单位" in text
    assert "同意" not in text  # the approver's comment is not the reason
    assert "投诉事项：工地夜间施工噪音" in text
    assert "原定反馈日期：" in text and "延长期限：5个工作日" in text


def test_the_rejection_notice_is_dated() -> None:
    case = received("zh")
    [rejected] = case.do(
        c.RejectComplaint, OPERATOR, reason="属于民事纠纷", suggestion="建议向人民法院起诉"
    )
    assert isinstance(rejected, ev.ComplaintRejected)
    day = format_date(case.envelopes[-1].occurred_at, "zh")
    assert rejected.notice_text.rstrip().endswith(day)


def test_a_notice_addressed_by_name_keeps_everything_else() -> None:
    case = received("zh")
    [accepted] = case.do(c.AcceptComplaint, OPERATOR, category="service_quality")
    assert isinstance(accepted, ev.ComplaintAccepted)
    stored = accepted.notice_text
    assert "\n\n您好：\n" in stored
    sent = addressed(stored, "王芳", "zh-CN")
    assert sent == stored.replace("\n\n您好：\n", "\n\n尊敬的王芳：\n", 1)
    assert addressed(stored, None, "zh-CN") == stored
    english = addressed("Notice\n\nDear complainant,\nBody", "Wang Fang", "en")
    assert english == "Notice\n\nDear Wang Fang,\nBody"


def _received(channel: Channel, who: Complainant) -> Envelope:
    case = received("zh")
    data = case.envelopes[0].data | {
        "channel": channel.value,
        "complainant": {"key": str(uuid.uuid4())},
    }
    return case.envelopes[0].model_copy(update={"data": data})


def test_the_access_code_notice_goes_on_the_chosen_channel_with_the_code_sealed() -> None:
    who = Complainant(name="王芳", phone="13800000000", email="wf@example.cn")
    due = datetime(2026, 12, 9, 15, 59, 59, tzinfo=UTC)
    # Asked for e-mail: the code goes by e-mail, not by SMS to the caller's phone.
    by_mail = code_notice(
        _received(Channel.PHONE, who),
        who.model_copy(update={"preferred_channel": Channel.WEB}),
        "ABCD-EFGH",
        due,
        RENDER,
    )
    assert by_mail is not None
    assert by_mail.kind == NoticeKind.ACCESS_CODE and by_mail.channel == NoticeChannel.EMAIL
    assert by_mail.recipient == "wf@example.cn"
    # Stored with a placeholder; the code only in the sealed field.
    assert "ABCD-EFGH" not in by_mail.body and ACCESS_CODE_SLOT in by_mail.body
    assert "ABCD-EFGH" not in repr(by_mail) and "access_code" not in by_mail.model_dump()
    # The name is sealed too: the stored body is as decided, addressed when sent.
    assert by_mail.body.startswith("您好：\n") and "王芳" not in by_mail.body
    assert by_mail.sendable().body.startswith("尊敬的王芳：\n")
    assert "查询码：ABCD-EFGH" in by_mail.sendable().body
    # No preference: a phone complaint's notices go by SMS.
    by_sms = code_notice(_received(Channel.PHONE, who), who, "ABCD-EFGH", due, RENDER)
    assert by_sms is not None and by_sms.channel == NoticeChannel.SMS
    # A web complaint saw its code on screen: no notice.
    assert code_notice(_received(Channel.WEB, who), who, "ABCD-EFGH", due, RENDER) is None
    # Nothing to send it to but the web page: no notice either.
    nobody = Complainant(name="王芳")
    assert code_notice(_received(Channel.WALK_IN, nobody), nobody, "X", due, RENDER) is None


def test_the_receipt_prints_the_code_and_the_registers_deadlines() -> None:
    text = RENDER(
        "receipt",
        "zh-CN",
        tracking_no=TRACKING_NO,
        subject="水管爆裂无人维修",
        access_code="7KQ2-M9XD",
        received_at=datetime(2026, 12, 7, 2, 0, tzinfo=UTC),
        acceptance_due=datetime(2026, 12, 9, 15, 59, 59, tzinfo=UTC),
        acceptance_days=2,
        feedback_days=5,
        follow_up_days=3,
        reply_channel="短信",
        service_item="water_repair",
    )
    complaint_id = uuid.uuid4()
    doc = receipt_document(
        text,
        tracking_no=TRACKING_NO,
        recipient_name="王芳",
        language="zh-CN",
        organisation=ORG,
        issued_at=datetime(2026, 12, 7, 2, 5, tzinfo=UTC),
        complaint_id=complaint_id,
    )
    printed = squeeze(pdftotext(render_notice_pdf(doc)))
    for part in (
        "投诉登记回执",
        "尊敬的王芳：",
        f"受理编号：{TRACKING_NO}",
        "查询码：7KQ2-M9XD",
        "服务事项：供水维修",
        "答复方式：短信",
        "2个工作日内（2026年12月9日前）决定是否受理",
        "受理后5个工作日内",
        "3个工作日内对您进行回访",
        "查询码只在本回执上告知一次",
        ORG.zh,
        "2026年12月7日",
        str(complaint_id),
    ):
        assert squeeze(part) in printed, part


class _Gateway(SmsSender):
    """An SMS gateway that keeps what it was handed."""

    def __init__(self) -> None:
        super().__init__("某市政务服务中心")
        self.texts: list[str] = []

    async def deliver(self, phone: str, text: str, reference: str) -> str:
        self.texts.append(text)
        return reference


async def test_the_sms_carries_the_code_and_the_name_and_the_log_neither() -> None:
    who = Complainant(name="王芳", phone="13800000000")
    notice = code_notice(_received(Channel.PHONE, who), who, "ABCD-EFGH", None, RENDER)
    assert notice is not None and notice.channel == NoticeChannel.SMS
    gateway = _Gateway()
    await gateway.send(notice)
    [sent] = gateway.texts
    assert "查询码：ABCD-EFGH" in sent and "尊敬的王芳：" in sent
    with capture_logs() as logs:
        await LoggingSmsSender("某市政务服务中心").send(notice)
    [line] = [e for e in logs if e["event"] == "sms (logged, not sent)"]
    assert "ABCD-EFGH" not in str(line) and "王芳" not in str(line)
