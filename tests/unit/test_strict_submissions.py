"""Intake checks a submission once, with its model in pydantic's strict mode
for JSON, not with the model and then the published schema: so whatever
breaks the schema must be refused by the strict model, naming the field.

Each test takes a submission with every field set, breaks it in every place
in every way a sender might (a value of each JSON type, an empty string, an
overlong one, a number in a string, a field too many, a required one
missing) and checks both ways in: ``<root>.intake.<channel>``
(``parse_submission``, from the bytes) and ``<root>.cmd.intake.submit``
(``parse_request``, from the decoded body)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from pydantic import ValidationError

from tousu.services.intake.bad_input import RefusedSubmission, parse_submission
from tousu.services.intake.endpoints import parse_request
from tousu.shared.application import schemas

FULL: dict[str, Any] = {
    "channel": "wechat",
    "external_ref": "wx-1",
    "complainant": {
        "name": "张三",
        "phone": "13800000000",
        "email": "zhang@example.com",
        "address": "北京市东城区某街1号",
        "wechat_openid": "o-123",
        "anonymous": False,
        "preferred_channel": "phone",
    },
    "subject": "路灯不亮",
    "description": "小区门口的路灯坏了一周。",
    "happened_at": "2026-03-01T09:00:00+08:00",
    "location": "小区门口",
    "people_involved": "物业",
    "demands": "修好",
    "category": "service_quality",
    "subcategory": "attitude",
    "service_item": "x",
    "language": "zh-CN",
    "related_tracking_no": "TS2603-0001",
    "received_at": "2026-03-02T09:00:00+08:00",
    "late_reason": "补录",
    "attachments": [{"sha256": "a" * 64, "size": 10, "media_type": "image/png", "name": "p.png"}],
}
ACTOR = {"id": "gateway", "role": "operator", "department": None}
# A value of every JSON type, and strings a lenient reader would convert.
VALUES: list[Any] = [
    "yes",
    "",
    "3",
    "2026-03-01T09:00:00+08:00",
    "x" * 20001,
    1,
    0,
    1.5,
    True,
    False,
    None,
    [],
    {},
    [1],
]
UNKNOWN = "colour"


def _breakings(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(the field changed, a function of the document giving the changed one)."""
    for value in VALUES:
        yield path, value
    if isinstance(node, dict):
        yield (*path, UNKNOWN), ...
        for key, child in node.items():
            yield (*path, key), KeyError
            yield from _breakings(child, (*path, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _breakings(child, (*path, str(i)))


def _changed(document: Any, path: tuple[str, ...], change: Any) -> Any:
    if not path:
        return change
    head, rest = path[0], path[1:]
    if isinstance(document, list):
        copy = list(document)
        copy[int(head)] = _changed(copy[int(head)], rest, change)
        return copy
    out = dict(document)
    if not rest and change is KeyError:
        del out[head]
    elif not rest and change is ...:
        out[head] = "red"
    else:
        out[head] = _changed(out[head], rest, change)
    return out


def _broken(document: dict[str, Any], schema: str) -> Iterator[tuple[str, Any]]:
    """Each breaking of ``document`` the published schema ``schema`` refuses."""
    validator = Draft202012Validator(schemas.one(schema))
    assert validator.is_valid(document), list(validator.iter_errors(document))
    seen = 0
    for path, change in _breakings(document):
        if path == ():  # the whole document replaced: not a field to name
            continue
        broken = _changed(document, path, change)
        if not validator.is_valid(broken):
            seen += 1
            yield ".".join(path), broken
    assert seen > 100  # the breakings reach every field


def _names(reason: str, field: str) -> bool:
    # A field the model names at or inside the one broken ("attachments.0.size"
    # for "attachments.0" replaced by {}), or the object holding it (a missing
    # required field is named where it is missing).
    return (
        f"{field}: " in reason or f"{field}." in reason or field.rpartition(".")[0] + ":" in reason
    )


def test_what_breaks_the_submission_schema_is_refused_off_the_channel() -> None:
    for field, broken in _broken(FULL, schemas.SUBMISSION):
        channel = broken.get("channel") if isinstance(broken.get("channel"), str) else "wechat"
        with pytest.raises(RefusedSubmission) as refused:
            parse_submission(json.dumps(broken).encode(), channel or "wechat", 1_000_000)
        assert _names(str(refused.value), field), (field, str(refused.value))


def test_what_breaks_the_submit_schema_is_refused_on_request() -> None:
    request = {"submission": FULL, "actor": ACTOR}
    for field, broken in _broken(request, "cmd.intake.submit"):
        with pytest.raises(ValidationError) as refused:
            parse_request(broken)
        named = [".".join(map(str, e["loc"])) for e in refused.value.errors()]
        assert any(
            n == field or n.startswith(f"{field}.") or field.startswith(f"{n}.") for n in named
        ), (field, named)


def test_the_strings_the_schema_gives_are_read() -> None:
    """An instant, an enum's value: strings in JSON, read as such in strict mode."""
    request = parse_request({"submission": FULL, "actor": ACTOR})
    assert request.submission.happened_at is not None
    assert request.submission.happened_at.utcoffset() is not None
    assert request.submission.channel.value == "wechat"
    assert request.actor is not None and request.actor.role == "operator"
    submission = parse_submission(json.dumps(FULL).encode(), "wechat", 1_000_000)
    assert submission.complainant.preferred_channel is not None
    assert submission.attachments[0].size == 10
