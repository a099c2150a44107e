"""The web complaint form: reading its fields, checking them, and each error
message placed at the field it is about.

The form fills the public API's :class:`WebComplaint`, so its limits are the
API's; a few checks are the form's own (a phone number that can be dialled,
an e-mail address that can be written to, limits on the contact fields).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from pydantic import ValidationError

from tousu.services.gateway.contacts import LIMITS as CONTACT_LIMITS
from tousu.services.gateway.contacts import valid_email, valid_phone
from tousu.services.gateway.problems import Lang
from tousu.services.gateway.public.routes import WebComplaint
from tousu.services.gateway.web.i18n import N_, TAGS, gettext
from tousu.shared.calendar import TZ
from tousu.shared.domain.commands import SHORT, TEXT
from tousu.shared.events.types import Channel
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.identifiers import normalize_tracking_no
from tousu.shared.intake.submission import Submission
from tousu.shared.intake.taxonomy import Taxonomy

# Form field → longest accepted input (also the inputs' maxlength).
LIMITS: Final[dict[str, int]] = {
    **CONTACT_LIMITS,
    "subject": SHORT,
    "description": TEXT,
    "location": SHORT,
    "people_involved": SHORT,
    "demands": TEXT,
}
CONTACT: Final = ("name", "phone", "email", "address")
OPTIONAL_FACTS: Final = ("location", "people_involved", "demands")
# How the complainant wants to hear from us (the policy: their chosen channel).
REPLY_CHANNELS: Final = (Channel.PHONE, Channel.WEB, Channel.LETTER)

REQUIRED = N_("Please fill in this field.")
TOO_LONG = N_("Please keep this to at most %(max)s characters (now %(length)s).")
BAD_PHONE = N_("Enter a phone number we can call, e.g. 13912345678 or 010-12345678.")
BAD_EMAIL = N_("Enter an e-mail address, e.g. name@example.com.")
NO_CONTACT = N_(
    "Give a phone number or an e-mail address so that we can reply, or choose to stay anonymous."
)
BAD_TIME = N_("Enter a date and time, e.g. 2026-02-13 17:00.")
FUTURE_TIME = N_("This time has not come yet.")
BAD_CHOICE = N_("Choose one of the options.")
BAD_TRACKING_NO = N_("Enter a tracking number as it was given to you, e.g. TS2603-12345-67890.")
NO_SUCH_COMPLAINT = N_("No complaint has this tracking number: please check it.")
# The category of a report on how a complaint was handled (监督举报).
SUPERVISION_CATEGORY: Final = "supervision"
INVALID = N_("This is not valid.")

_TIME_FORMATS: Final = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


@dataclass
class Form:
    """A posted form: what was typed (to show again) and the errors by field."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def error(self, name: str, message: str, lang: Lang, **values: object) -> None:
        # The first problem of a field is the one to fix first; one line each.
        self.errors.setdefault(name, gettext(lang, message, **values))


@dataclass
class ComplaintForm(Form):
    """The public form, and the complaint when it is valid."""

    submission: Submission | None = None


def blank() -> ComplaintForm:
    return ComplaintForm(values={"form_id": str(uuid.uuid4())})


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_field(loc: Sequence[int | str]) -> str:
    """A validation error's location as the form field that shows it."""
    parts = [str(p) for p in loc if str(p) not in ("body", "submission")]
    match parts:
        case ["complainant"]:
            return "contact"
        case ["complainant", name, *_]:
            return name
        case ["category" | "subcategory", *_]:
            return "kind"
        case [name, *_]:
            return name
    return "form"


def error_for(error: Mapping[str, Any], values: Mapping[str, str]) -> tuple[str, dict[str, object]]:
    """A pydantic error as a catalogue message and its values."""
    kind = str(error.get("type", ""))
    if kind in ("missing", "string_too_short"):
        return REQUIRED, {}
    if kind == "string_too_long":
        ctx = error.get("ctx") or {}
        typed = values.get(form_field(error.get("loc", ())), "")
        return TOO_LONG, {"max": ctx.get("max_length", "?"), "length": len(typed)}
    if kind.startswith(("datetime", "timezone")):
        return BAD_TIME, {}
    if kind in ("literal_error", "enum"):
        return BAD_CHOICE, {}
    return INVALID, {}


def _parse_time(text: str, now: datetime) -> tuple[datetime | None, str | None]:
    for fmt in _TIME_FORMATS:
        try:
            local = datetime.strptime(text, fmt).replace(tzinfo=TZ)
        except ValueError:
            continue
        # A few minutes' slack for a browser clock running ahead.
        if local > now + timedelta(minutes=5):
            return None, FUTURE_TIME
        return local, None
    return None, BAD_TIME


def kinds(taxonomy: Taxonomy) -> set[str]:
    """The "type of complaint" choices: a category, or category/subcategory."""
    out: set[str] = set()
    for category in taxonomy.categories:
        out.add(category.code)
        out.update(f"{category.code}/{sub.code}" for sub in category.subcategories)
    return out


# -- the fields both complaint forms (public, and the staff desk's) read alike --


def check_lengths(form: Form, lang: Lang, limits: Mapping[str, int] = LIMITS) -> None:
    for name, limit in limits.items():
        if len(form.values[name]) > limit:
            form.error(name, TOO_LONG, lang, max=limit, length=len(form.values[name]))


def check_phone_and_email(form: Form, lang: Lang) -> None:
    """The public API's rule too (tousu.services.gateway.contacts)."""
    phone, email = form.values["phone"], form.values["email"]
    if phone and not valid_phone(phone):
        form.error("phone", BAD_PHONE, lang)
    if email and not valid_email(email):
        form.error("email", BAD_EMAIL, lang)


def read_time(form: Form, name: str, data: dict[str, Any], lang: Lang, now: datetime) -> None:
    """A typed date and time (Beijing time, not in the future) into ``data[name]``."""
    when, problem = _parse_time(form.values[name], now)
    if problem:
        form.error(name, problem, lang)
    else:
        data[name] = when


def read_kind(form: Form, data: dict[str, Any], lang: Lang, taxonomy: Taxonomy) -> None:
    """A chosen "type of complaint" into ``data``'s category and subcategory."""
    if form.values["kind"] in kinds(taxonomy):
        category, _, sub = form.values["kind"].partition("/")
        data["category"] = category
        if sub:
            data["subcategory"] = sub
    else:
        form.error("kind", BAD_CHOICE, lang)


def read_service_item(
    form: Form, data: dict[str, Any], lang: Lang, register: CommitmentRegister
) -> None:
    """A chosen service item (服务事项) of the commitment register into ``data``."""
    if form.values["service_item"] in {item.code for item in register.items}:
        data["service_item"] = form.values["service_item"]
    else:
        form.error("service_item", BAD_CHOICE, lang)


def read_reply_channel(form: Form, data: dict[str, Any], lang: Lang) -> None:
    """The chosen reply channel (答复方式) into ``data``'s complainant."""
    if form.values["preferred_channel"] in {channel.value for channel in REPLY_CHANNELS}:
        data["complainant"]["preferred_channel"] = form.values["preferred_channel"]
    else:
        form.error("preferred_channel", BAD_CHOICE, lang)


def model_errors(
    form: Form,
    refused: ValidationError,
    lang: Lang,
    field_name: Callable[[Sequence[int | str]], str] = form_field,
) -> None:
    """The model's refusals, each at the field that shows it."""
    for error in refused.errors():
        message, params = error_for(error, form.values)
        form.error(field_name(error["loc"]), message, lang, **params)


def _check_contact(form: ComplaintForm, lang: Lang) -> None:
    check_phone_and_email(form, lang)
    values = form.values
    if not (values["phone"] or values["email"] or values["anonymous"]):
        form.error("contact", NO_CONTACT, lang)


def read(
    raw: Mapping[str, Any],
    lang: Lang,
    now: datetime,
    taxonomy: Taxonomy,
    register: CommitmentRegister,
) -> ComplaintForm:
    """The posted form, checked; ``submission`` is set only when nothing is wrong."""
    names = (
        *LIMITS,
        "happened_at",
        "kind",
        "service_item",
        "preferred_channel",
        "form_id",
        "related_tracking_no",
    )
    values = {name: _text(raw, name) for name in names}
    values["anonymous"] = "1" if _text(raw, "anonymous") else ""
    form = ComplaintForm(values=values)
    check_lengths(form, lang)
    _check_contact(form, lang)

    data: dict[str, Any] = {
        "complainant": {k: values[k] for k in CONTACT if values[k]},
        "language": TAGS[lang],
    }
    if values["anonymous"]:
        data["complainant"]["anonymous"] = True
    if values["preferred_channel"]:
        read_reply_channel(form, data, lang)
    for name in ("subject", "description", *OPTIONAL_FACTS):
        if values[name]:
            data[name] = values[name]
    if values["happened_at"]:
        read_time(form, "happened_at", data, lang, now)
    if values["kind"]:
        read_kind(form, data, lang, taxonomy)
    if values["service_item"]:
        read_service_item(form, data, lang, register)

    _related(form, data, lang)
    try:
        complaint = WebComplaint.model_validate(data)
    except ValidationError as exc:
        model_errors(form, exc, lang)
        return form
    if form.errors:
        return form
    submission = _with_form_id(complaint.submission(), values["form_id"])
    for name, _ in submission.missing():
        form.error(form_field(name.split(".")), REQUIRED, lang)
    if not form.errors:
        form.submission = submission
    return form


def _related(form: ComplaintForm, data: dict[str, Any], lang: Lang) -> None:
    """The earlier complaint a report on its handling names (监督举报): a
    well-formed tracking number (intake then checks that it exists); such a
    report goes to the supervision office unless another type was chosen."""
    typed = form.values["related_tracking_no"]
    if not typed:
        return
    number = normalize_tracking_no(typed)
    if number is None or len(typed) > 40:
        form.error("related_tracking_no", BAD_TRACKING_NO, lang)
        return
    data["related_tracking_no"] = number
    data.setdefault("category", SUPERVISION_CATEGORY)


def _with_form_id(submission: Submission, form_id: str) -> Submission:
    # The form's id as the channel reference: sending the same form twice (a
    # double click, a retry after a timeout) files one complaint.
    try:
        ref = str(uuid.UUID(form_id))
    except ValueError:
        return submission
    return Submission.model_validate(
        {**submission.model_dump(exclude_unset=True), "external_ref": f"form-{ref}"}
    )
