"""Notice texts sent to complainants (告知书), rendered from ``data/notices.yaml``.

``render_notice(kind, lang, **fields)`` checks the fields a kind needs (a
pydantic model per kind; unknown fields are refused, so a misspelt one fails
loudly), turns codes into names in the notice's language (category, service
item, department), writes dates as the reader expects (2026年10月15日, 15
October 2026, in Asia/Shanghai) and fills the templates. Output is plain
text; values are inserted as given.

The access code is never part of a notice stored in an event: only the code's
hash may be stored. The one notice that carries it (``access_code``, sent once
when staff register a complaint) goes straight to the outbox with the code
sealed (services/followup/code_notice.py).

The texts live here, not with the rest of the notices in the followup service
(services/followup/notices/: outbox, senders, PDFs), because decisions render
them: every deciding service's context carries :class:`NoticeTexts`
(shared/application/context_source.py), and shared/ imports no service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from string import Template
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from tousu.shared.calendar import TZ
from tousu.shared.datafiles import load_packaged
from tousu.shared.events.types import FileRef
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.i18n import Lang, Localized, NonEmpty, normalize_lang
from tousu.shared.intake.taxonomy import Taxonomy

DATA_FILE = "notices.yaml"
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class NoticeKind(StrEnum):
    ACCEPTANCE = "acceptance"  # 受理告知书
    REJECTION = "rejection"  # 不予受理告知书
    EXTENSION = "extension"  # 延期告知
    PROGRESS = "progress"  # 处理进展
    RESULT = "result"  # 处理结果反馈
    FOLLOW_UP_SURVEY = "follow_up_survey"  # 回访/满意度调查
    ACCESS_CODE = "access_code"  # 查询码告知 (staff-registered complaints)
    RECEIPT = "receipt"  # 投诉登记回执 (printed at the desk, never stored)


@dataclass(frozen=True, slots=True)
class RenderedNotice:
    title: str
    body: str

    @property
    def text(self) -> str:
        """Title and body as one text, as stored in an event's ``notice_text``."""
        return f"{self.title}\n\n{self.body}"


def format_date(value: date | datetime, lang: str) -> str:
    """A day as people write it: ``2026年10月15日`` / ``15 October 2026``.

    An instant is read in Asia/Shanghai, where every deadline ends.
    """
    day = value.astimezone(TZ).date() if isinstance(value, datetime) else value
    if normalize_lang(lang) == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


# -- the fields each kind takes --------------------------------------------------
def _blank_to_none(value: Any) -> Any:
    # Callers pass "" for "no reason given"; a notice then leaves the line out.
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


OptText = Annotated[str | None, BeforeValidator(_blank_to_none)]
Day = AwareDatetime | date  # a deadline instant or a plain day


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NoticeContacts(_Model):
    """Who sends notices and where the public reports on complaint handling
    (监督举报电话和邮箱, policy 一(五)1); from the deployment's configuration."""

    org_name: Localized
    supervision_phone: NonEmpty
    supervision_email: NonEmpty
    hotline: NonEmpty | None = None
    lookup_url: NonEmpty | None = None


@dataclass(frozen=True, slots=True)
class _Lookups:
    taxonomy: Taxonomy
    register: CommitmentRegister
    lang: Lang

    def department(self, code: str | None) -> str | None:
        return None if code is None else self.register.department(code).name.get(self.lang)

    def day(self, value: Day | None) -> str | None:
        return None if value is None else format_date(value, self.lang)


class _Fields(_Model):
    tracking_no: NonEmpty
    contacts: NoticeContacts
    complainant_name: OptText = None
    subject: OptText = None
    issued_at: Day | None = None  # the date under the signature

    def values(self, at: _Lookups) -> dict[str, str | None]:
        c = self.contacts
        return {
            "tracking_no": self.tracking_no,
            "complainant_name": self.complainant_name,
            "subject": self.subject,
            "org_name": c.org_name.get(at.lang),
            "supervision_phone": c.supervision_phone,
            "supervision_email": c.supervision_email,
            "hotline": c.hotline,
            "lookup_url": c.lookup_url,
            "issued_on": at.day(self.issued_at),
        }


class AcceptanceFields(_Fields):
    category: NonEmpty  # taxonomy codes, named in the notice's language
    subcategory: OptText = None
    service_item: OptText = None  # a commitment register item code
    department: OptText = None  # known when routed at once
    received_at: AwareDatetime | None = None
    accepted_at: AwareDatetime
    feedback_due: Day

    def values(self, at: _Lookups) -> dict[str, str | None]:
        item = self.service_item
        handled_by = at.department(self.department)
        default_handler = "责任部门" if at.lang == "zh" else "the responsible department"
        return super().values(at) | {
            "category_name": at.taxonomy.label(self.category, self.subcategory, at.lang),
            "service_item_name": at.register.item(item).name.get(at.lang) if item else None,
            "handled_by": handled_by or default_handler,
            "received_on": at.day(self.received_at),
            "accepted_on": at.day(self.accepted_at),
            "feedback_due": at.day(self.feedback_due),
            "issued_on": at.day(self.issued_at or self.accepted_at),
        }


class RejectionFields(_Fields):
    """``reason_code`` (an out-of-scope kind) supplies the reason and the
    suggestion in the notice's language; ``reason``/``suggestion`` override."""

    reason: OptText = None
    suggestion: OptText = None
    reason_code: OptText = None

    @model_validator(mode="after")
    def _has_reason(self) -> Self:
        if self.reason_code is None and (self.reason is None or self.suggestion is None):
            raise ValueError("give reason and suggestion, or a reason_code")
        return self

    def values(self, at: _Lookups) -> dict[str, str | None]:
        kind = at.taxonomy.out_of_scope(self.reason_code) if self.reason_code else None
        return super().values(at) | {
            "reason": self.reason or (kind.reason.get(at.lang) if kind else None),
            "suggestion": self.suggestion or (kind.referral.get(at.lang) if kind else None),
        }


class ExtensionFields(_Fields):
    feedback_due: Day  # the new date
    reason: OptText = None
    previous_due: Day | None = None
    working_days: int | None = Field(default=None, ge=1, le=10)

    def values(self, at: _Lookups) -> dict[str, str | None]:
        days = self.working_days
        if days is None:
            length = None
        elif at.lang == "zh":
            length = f"{days}个工作日"
        else:
            length = f"{days} working day{'' if days == 1 else 's'}"
        return super().values(at) | {
            "feedback_due": at.day(self.feedback_due),
            "reason": self.reason,
            "previous_due": at.day(self.previous_due),
            "extension_length": length,
        }


class ProgressFields(_Fields):
    progress: NonEmpty
    department: OptText = None
    feedback_due: Day | None = None

    def values(self, at: _Lookups) -> dict[str, str | None]:
        return super().values(at) | {
            "progress": self.progress,
            "department_name": at.department(self.department),
            "feedback_due": at.day(self.feedback_due),
        }


# What a result's files are called in a notice, by their kept type.
FILE_KINDS: dict[str, Localized] = {
    "image/jpeg": Localized(zh="JPEG 图片", en="JPEG image"),
    "image/png": Localized(zh="PNG 图片", en="PNG image"),
    "image/webp": Localized(zh="WebP 图片", en="WebP image"),
    "application/pdf": Localized(zh="PDF 文件", en="PDF document"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": Localized(
        zh="Word 文档", en="Word document"
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": Localized(
        zh="Excel 表格", en="Excel workbook"
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": Localized(
        zh="PowerPoint 演示文稿", en="PowerPoint presentation"
    ),
    "application/vnd.oasis.opendocument.text": Localized(zh="ODF 文档", en="ODF text"),
    "application/vnd.oasis.opendocument.spreadsheet": Localized(
        zh="ODF 表格", en="ODF spreadsheet"
    ),
    "application/vnd.oasis.opendocument.presentation": Localized(
        zh="ODF 演示文稿", en="ODF presentation"
    ),
}


def file_size(size: int) -> str:
    """Bytes as people read them: 820 B, 245 KB, 1.2 MB (1024-based, as file managers)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def file_line(ref: FileRef, lang: Lang) -> str:
    """One attachment as a notice lists it: name (type, size)."""
    kind = FILE_KINDS[ref.media_type].get(lang) if ref.media_type in FILE_KINDS else ref.media_type
    if lang == "zh":
        return f"{ref.name}（{kind}，{file_size(ref.size)}）"
    return f"{ref.name} ({kind}, {file_size(ref.size)})"


class ResultFields(_Fields):
    result: NonEmpty  # 处理结果
    basis: NonEmpty  # 处理依据
    improvements: OptText = None  # 改进措施
    department: OptText = None
    follow_up_due: Day | None = None
    # The result's files: the notice lists those shared with the complainant
    # (the others are the department's record, on the staff pages only).
    attachments: tuple[FileRef, ...] = ()

    def values(self, at: _Lookups) -> dict[str, str | None]:
        shared = [f for f in self.attachments if f.shared_with_complainant]
        separator = "；" if at.lang == "zh" else "; "
        return super().values(at) | {
            "result": self.result,
            "basis": self.basis,
            "improvements": self.improvements,
            "department_name": at.department(self.department),
            "follow_up_due": at.day(self.follow_up_due),
            # Left out (the line with it) when there is none, so a result
            # without files reads exactly as before.
            "attachments": separator.join(file_line(f, at.lang) for f in shared) or None,
        }


class FollowUpSurveyFields(_Fields):
    fed_back_at: Day | None = None
    survey_url: OptText = None
    respond_by: Day | None = None

    def values(self, at: _Lookups) -> dict[str, str | None]:
        return super().values(at) | {
            "fed_back_on": at.day(self.fed_back_at),
            "survey_url": self.survey_url,
            "respond_by": at.day(self.respond_by),
        }


class AccessCodeFields(_Fields):
    """The access code goes into the notice as ``access_code``: the outbox
    stores the text with a placeholder and keeps the code sealed
    (services/followup/notices/model.py ``ACCESS_CODE_SLOT``)."""

    access_code: NonEmpty
    acceptance_due: Day | None = None

    def values(self, at: _Lookups) -> dict[str, str | None]:
        return super().values(at) | {
            "access_code": self.access_code,
            "acceptance_due": at.day(self.acceptance_due),
        }


class ReceiptFields(_Fields):
    """The slip handed or posted to a complainant staff registered: the code
    and the deadlines of the register entry that applies (its limits)."""

    access_code: NonEmpty
    received_at: Day
    acceptance_due: Day | None = None
    acceptance_days: int = Field(ge=1)
    feedback_days: int = Field(ge=1)
    follow_up_days: int = Field(ge=1)
    reply_channel: OptText = None  # 答复方式, in the notice's language
    service_item: OptText = None

    def values(self, at: _Lookups) -> dict[str, str | None]:
        item = self.service_item
        return super().values(at) | {
            "access_code": self.access_code,
            "received_on": at.day(self.received_at),
            "acceptance_due": at.day(self.acceptance_due),
            "acceptance_days": str(self.acceptance_days),
            "feedback_days": str(self.feedback_days),
            "follow_up_days": str(self.follow_up_days),
            "reply_channel": self.reply_channel,
            "service_item_name": at.register.item(item).name.get(at.lang) if item else None,
            "issued_on": at.day(self.issued_at or self.received_at),
        }


FIELDS: dict[NoticeKind, type[_Fields]] = {
    NoticeKind.ACCEPTANCE: AcceptanceFields,
    NoticeKind.REJECTION: RejectionFields,
    NoticeKind.EXTENSION: ExtensionFields,
    NoticeKind.PROGRESS: ProgressFields,
    NoticeKind.RESULT: ResultFields,
    NoticeKind.FOLLOW_UP_SURVEY: FollowUpSurveyFields,
    NoticeKind.ACCESS_CODE: AccessCodeFields,
    NoticeKind.RECEIPT: ReceiptFields,
}


# -- the templates -------------------------------------------------------------
def _check_template(line: str) -> str:
    if not Template(line).is_valid():
        raise ValueError(f"not a valid ${{placeholder}} template: {line!r}")
    return line


TemplateLine = Annotated[NonEmpty, AfterValidator(_check_template)]


class _Common(_Model):
    salutation_named: TemplateLine
    salutation: TemplateLine
    tail: tuple[TemplateLine, ...]
    signature: tuple[TemplateLine, ...]


class _KindTemplate(_Model):
    title: NonEmpty
    body: tuple[TemplateLine, ...] = Field(min_length=1)


class _NoticeData(_Model):
    version: int = Field(ge=1)
    common: dict[Lang, _Common]
    kinds: dict[NoticeKind, dict[Lang, _KindTemplate]]

    @model_validator(mode="after")
    def _complete(self) -> Self:
        langs: tuple[Lang, ...] = ("zh", "en")
        missing = [f"common.{lang}" for lang in langs if lang not in self.common]
        missing += [
            f"kinds.{kind}.{lang}"
            for kind in NoticeKind
            for lang in langs
            if lang not in self.kinds.get(kind, {})
        ]
        if missing:
            raise ValueError("missing templates: " + ", ".join(missing))
        return self


@cache
def _templates() -> _NoticeData:
    return load_packaged(_NoticeData, DATA_FILE)


@cache
def _parsed(line: str) -> tuple[Template, tuple[str, ...]]:
    # Each template line is parsed once: a notice is rendered with every
    # acceptance, and the lines are few and fixed (the packaged data).
    template = Template(line)
    return template, tuple(template.get_identifiers())


def _fill(lines: tuple[str, ...], values: dict[str, str | None], where: str) -> list[str]:
    out: list[str] = []
    for line in lines:
        template, names = _parsed(line)
        unknown = [n for n in names if n not in values]
        if unknown:
            raise KeyError(f"{DATA_FILE} {where}: unknown placeholder(s) {', '.join(unknown)}")
        if all(values[n] is not None for n in names):
            out.append(template.substitute({n: values[n] for n in names}))
    return out


def render_notice(
    kind: NoticeKind | str,
    lang: str,
    *,
    taxonomy: Taxonomy | None = None,
    register: CommitmentRegister | None = None,
    **fields: Any,
) -> RenderedNotice:
    """Render one notice. ``fields`` as the kind's model (``FIELDS[kind]``) takes them;
    ``contacts`` (a :class:`NoticeContacts`) is always needed."""
    kind = NoticeKind(kind)
    language = normalize_lang(lang)
    data = FIELDS[kind].model_validate(fields)
    lookups = _Lookups(taxonomy or Taxonomy.load(), register or CommitmentRegister.load(), language)
    values = data.values(lookups)
    templates = _templates()
    common = templates.common[language]
    text = templates.kinds[kind][language]
    where = f"{kind}.{language}"
    salutation = common.salutation_named if data.complainant_name else common.salutation
    sections = [
        _fill((salutation, *text.body), values, where),
        _fill(common.tail, values, f"common.{language}.tail"),
        _fill(common.signature, values, f"common.{language}.signature"),
    ]
    body = "\n\n".join("\n".join(lines) for lines in sections if lines)
    return RenderedNotice(title=text.title, body=body)


def addressed(text: str, name: str | None, lang: str) -> str:
    """``text`` (title, blank line, body, as events store it) addressed to
    ``name``: the anonymous salutation (您好：) becomes the named one
    (尊敬的王芳：). Decisions render without the name (deciding never opens
    personal data), and the outbox stores bodies without it (the name is
    sealed there); whatever shows or sends a notice addresses it with this,
    so that a preview and the notice sent are one text."""
    title, sep, body = text.partition("\n\n")
    if not sep:
        return text
    return f"{title}\n\n{addressed_body(body, name, lang)}"


def addressed_body(body: str, name: str | None, lang: str) -> str:
    """:func:`addressed` for a body without its title."""
    if not name:
        return body
    common = _templates().common[normalize_lang(lang)]
    first, nl, rest = body.partition("\n")
    if first != common.salutation:
        return body
    named = Template(common.salutation_named).substitute(complainant_name=name)
    return f"{named}{nl}{rest}"


@dataclass(frozen=True)
class NoticeTexts:
    """``render_notice`` bound to a deployment's contacts, with the call shape
    decisions use: ``(kind, language, **fields) -> str`` (title and body)."""

    contacts: NoticeContacts
    taxonomy: Taxonomy | None = None
    register: CommitmentRegister | None = None

    def __call__(self, kind: str, language: str, **fields: Any) -> str:
        return render_notice(
            kind,
            language,
            taxonomy=self.taxonomy,
            register=self.register,
            contacts=self.contacts,
            **fields,
        ).text
