"""POST requests: the spec's form fields → a Submission on the ``open311`` channel.

What the complaint facts have no field for — coordinates, the client's own
ids, a media link — is kept beside it (:class:`Extras`, table
``open311_requests``); the coordinates and a media link also go into the
facts (``location``, the description), so that staff see them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from tousu.services.gateway.open311.attributes import COMMON, Attribute, attributes_for
from tousu.services.gateway.open311.formats import Open311Error
from tousu.services.gateway.problems import Lang
from tousu.shared.domain.commands import SHORT
from tousu.shared.events.types import Channel
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.submission import Submission
from tousu.shared.intake.taxonomy import Taxonomy, UnknownCode

SUBJECT_CHARS = 60  # a subject made from the description's first line


@dataclass(frozen=True)
class Extras:
    lat: float | None = None
    long: float | None = None
    address_id: str | None = None
    media_url: str | None = None
    device_id: str | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class Filing:
    submission: Submission
    extras: Extras
    problems: list[str] = field(default_factory=list)


Form = Mapping[str, Sequence[str]]


def _one(form: Form, name: str) -> str | None:
    values = [v.strip() for v in form.get(name, ()) if v.strip()]
    return values[0] if values else None


def _coordinate(form: Form, name: str, limit: float, problems: list[str]) -> float | None:
    text = _one(form, name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > limit:
        problems.append(f"{name} must be a number from -{limit:g} to {limit:g}")
        return None
    return value


def _name(first: str | None, last: str | None) -> str | None:
    parts = [p for p in (first, last) if p]
    if not parts:
        return None
    if any(_is_cjk(p) for p in parts):
        return "".join(p for p in (last, first) if p)  # 张 + 三 → 张三
    return " ".join(parts)


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _subject(description: str) -> str:
    line = description.strip().splitlines()[0].strip() if description.strip() else ""
    return line if len(line) <= SUBJECT_CHARS else line[: SUBJECT_CHARS - 1] + "…"


def _attribute_value(
    attribute: Attribute, text: str, taxonomy: Taxonomy, problems: list[str]
) -> Any:
    name = f"attribute[{attribute.code}]"
    match attribute.datatype:
        case "datetime":
            try:
                at = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                at = None
            if at is None or at.tzinfo is None:
                problems.append(f"{name} must be an ISO 8601 date and time with an offset")
            return at
        case "number":
            try:
                return float(text)
            except ValueError:
                problems.append(f"{name} must be a number")
                return None
        case "singlevaluelist":
            keys = [k for k, _ in attribute.choices(taxonomy)]
            if text not in keys:
                problems.append(f"{name} must be one of: {', '.join(keys)}")
                return None
            return text
    return text


def _attributes(
    form: Form, service_code: str, taxonomy: Taxonomy, problems: list[str], lang: Lang
) -> tuple[dict[str, Any], list[str]]:
    """(submission fields, "name: value" lines) from the ``attribute[code]`` fields."""
    known = {a.code: a for a in attributes_for(service_code)}
    for key in form:
        if key.startswith("attribute[") and key.removesuffix("[]")[10:-1] not in known:
            problems.append(f"{key} is not an attribute of service {service_code}")
    fields: dict[str, Any] = {}
    lines: list[str] = []
    for code, attribute in known.items():
        text = _one(form, f"attribute[{code}]")
        if text is None:
            if attribute.required:
                problems.append(f"attribute[{code}] is required")
            continue
        value = _attribute_value(attribute, text, taxonomy, problems)
        if value is None:
            continue
        if attribute.field is not None:
            fields[attribute.field] = value
        else:
            lines.append(f"{attribute.description.get(lang)}: {text}")
    return fields, lines


def parse(form: Form, register: CommitmentRegister, taxonomy: Taxonomy, lang: Lang) -> Filing:
    """Raises Open311Error (400) naming every problem; nothing is sent then."""
    service_code = _one(form, "service_code")
    if service_code is None:
        raise Open311Error(400, "service_code is required")
    try:
        register.item(service_code)
    except UnknownCode:
        raise Open311Error(400, f"service_code {service_code!r} was not found") from None
    problems: list[str] = []
    lat = _coordinate(form, "lat", 90, problems)
    long = _coordinate(form, "long", 180, problems)
    if (lat is None) != (long is None) and not problems:
        problems.append("lat and long go together")
    address = _one(form, "address_string")
    address_id = _one(form, "address_id")
    if lat is None and address is None and address_id is None and not problems:
        problems.append("a location is required: lat and long, address_string or address_id")
    description = _one(form, "description")
    if description is None:
        problems.append("description is required")
    fields, lines = _attributes(form, service_code, taxonomy, problems, lang)
    media_url = _one(form, "media_url")
    if media_url is not None and not media_url.lower().startswith(("http://", "https://")):
        problems.append("media_url must be an http(s) URL")
    if problems:
        raise Open311Error(400, *problems)
    assert description is not None
    place = [p for p in (address, f"address_id {address_id}" if address_id else None) if p]
    if lat is not None and long is not None:
        place.append(f"{lat:.6f}, {long:.6f}")
    if media_url:
        lines.append(f"media_url: {media_url}")
    text = description + ("\n\n" + "\n".join(lines) if lines else "")
    email, phone = _one(form, "email"), _one(form, "phone")
    data: dict[str, Any] = {
        "channel": Channel.OPEN311,
        "service_item": service_code,
        "subject": _subject(description),
        "description": text,
        "location": " / ".join(place)[:SHORT],
        "language": "en" if lang == "en" else "zh-CN",
        "complainant": {
            "name": _name(_one(form, "first_name"), _one(form, "last_name")),
            "email": email,
            "phone": phone,
        },
        **fields,
    }
    try:
        submission = Submission.model_validate(data)
    except ValidationError as exc:
        raise Open311Error(400, *(_problem(e) for e in exc.errors())) from None
    extras = Extras(
        lat=lat,
        long=long,
        address_id=address_id,
        media_url=media_url,
        device_id=_one(form, "device_id"),
        account_id=_one(form, "account_id"),
    )
    return Filing(submission, extras)


# The form's names for the submission's fields, to name them in errors.
_FORM_NAMES = {
    "complainant.email": "email",
    "complainant.phone": "phone",
    "complainant.name": "first_name/last_name",
    "location": "address_string",
    **{a.field: f"attribute[{a.code}]" for a in COMMON if a.field},
}


def _problem(error: Mapping[str, Any]) -> str:
    path = ".".join(str(p) for p in error.get("loc", ()))
    return f"{_FORM_NAMES.get(path, path)}: {error.get('msg', 'invalid')}"
