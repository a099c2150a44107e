"""The published JSON Schemas (tousu/kit/schemas): what the generator makes,
one for every message of the catalogue and every event type, and they say
what tousu itself accepts and sends."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from tousu.shared.application import replies, schemas
from tousu.shared.application.catalogue import CATALOGUE
from tousu.shared.events import EventData
from tousu.shared.intake.submission import SubmitRequest

SHIPPED = Path(str(schemas.shipped()))
REGENERATE = "run `tousu schemas export` and commit tousu/kit/schemas"


def shipped(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SHIPPED / f"{name}{schemas.SUFFIX}").read_text("utf-8"))
    return loaded


def errors(name: str, message: object) -> list[str]:
    validator = Draft202012Validator(shipped(name))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(message)]


def test_the_shipped_files_are_what_the_generator_makes() -> None:
    present = {p.name for p in SHIPPED.iterdir()}
    wanted = schemas.rendered(present)
    missing = sorted(set(wanted) - present)
    stale = sorted(present - set(wanted) - schemas.kept(present))
    differ = sorted(
        name
        for name in set(wanted) & present
        if (SHIPPED / name).read_text("utf-8") != wanted[name]
    )
    assert (missing, stale, differ) == ([], [], []), (
        f"tousu/kit/schemas is not what the models say (missing, stale, changed); {REGENERATE}"
    )


def test_every_file_is_a_valid_schema_and_the_index_names_only_shipped_ones() -> None:
    index = json.loads((SHIPPED / schemas.INDEX).read_text("utf-8"))
    named = set()
    for entry in index["subjects"].values():
        named |= {entry["schema"], entry.get("reply"), *entry.get("versions", {}).values()}
    named.discard(None)
    files = {p.name.removesuffix(schemas.SUFFIX) for p in SHIPPED.glob(f"*{schemas.SUFFIX}")}
    assert named == files
    for name in files:
        Draft202012Validator.check_schema(shipped(name))


def test_every_request_of_the_catalogue_and_every_event_type_has_its_schema() -> None:
    subjects = schemas.index()["subjects"]
    for service, entry in CATALOGUE.items():
        for name in [*entry.commands, *entry.requests, "ping"]:
            contract = subjects[f"{{root}}.cmd.{service}.{name}"]
            assert contract["schema"] == f"cmd.{service}.{name}"
            assert contract["reply"] == f"cmd.{service}.{name}.reply"
    for event_type, data in EventData.registry.items():
        contract = subjects[f"{{root}}.events.{{department}}.{event_type}"]
        assert contract["versions"][str(data.schema_version)] == contract["schema"]
    assert subjects["{root}.intake.{channel}"]["schema"] == "intake.submission"


def test_subject_patterns_match_one_token_per_placeholder() -> None:
    pattern = "{root}.events.{department}.CaseClaimed"
    assert schemas.subject_matches(pattern, "t1.events.water.CaseClaimed", "t1")
    assert schemas.subject_matches(pattern, "a.b.events._.CaseClaimed", "a.b")
    assert not schemas.subject_matches(pattern, "t1.events.water.CaseReturned", "t1")
    assert not schemas.subject_matches(pattern, "t1.events.a.b.CaseClaimed", "t1")


SUBMISSION = {
    "channel": "wechat",
    "external_ref": "wx-1",
    "complainant": {"phone": "13800000000"},
    "subject": "路灯不亮",
    "description": "小区门口的路灯坏了一周。",
}
ACTOR = {"id": "channel:wechat", "role": "system"}


def test_a_submission_tousu_accepts_is_valid_and_one_missing_a_field_is_not() -> None:
    request = {"submission": SUBMISSION, "actor": ACTOR}
    SubmitRequest.model_validate(request)
    assert errors("cmd.intake.submit", request) == []
    assert errors("intake.submission", SUBMISSION) == []
    broken = {"submission": {**SUBMISSION, "subject": ""}, "actor": {"role": "system"}}
    found = errors("cmd.intake.submit", broken)
    # A made-up actor (no id) is no actor.
    assert any(e.startswith("['actor']") for e in found), found
    assert any("['submission', 'subject']" in e for e in found), found
    assert errors("intake.submission", {**SUBMISSION, "colour": "red"}) != []


def test_the_reply_shapes_of_the_reply_helpers_are_the_schemas() -> None:
    outcome = {
        "complaint_id": str(uuid.uuid4()),
        "tracking_no": "TS2603-0001-00",
        "status": "received",
        "version": 1,
        "department": None,
        "repeated": False,
        "events": [
            {
                "event_id": str(uuid.uuid4()),
                "type": "ComplaintReceived",
                "version": 1,
                "global_position": 7,
            }
        ],
    }
    assert errors("cmd.handling.resolve.reply", replies.ok(outcome)) == []
    refused = replies.error("illegal_transition", "not now", {"command": "ResolveComplaint"})
    assert errors("cmd.handling.resolve.reply", refused) == []
    with pytest.raises(ValidationError) as invalid:
        SubmitRequest.model_validate({"submission": {}, "actor": ACTOR})
    assert errors("cmd.intake.submit.reply", replies.from_exception(invalid.value)) == []
    assert errors("cmd.intake.submit.reply", replies.ok(outcome)) != []


@pytest.fixture
def case_claimed_v2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """CaseClaimed as if its data had changed shape (schema_version 2)."""
    from tousu.shared.events.types import CaseClaimed

    monkeypatch.setattr(CaseClaimed, "schema_version", 2)
    schemas.generate.cache_clear()
    schemas.one.cache_clear()
    yield
    schemas.generate.cache_clear()
    schemas.one.cache_clear()


def test_a_new_event_version_is_exported_beside_the_old_one_which_stays(
    tmp_path: Path, case_claimed_v2: None
) -> None:
    from tousu.cli.schemas_cmds import export

    old = "event.CaseClaimed.v1.schema.json"
    (tmp_path / old).write_text((SHIPPED / old).read_text("utf-8"), "utf-8")
    (tmp_path / "cmd.intake.gone.schema.json").write_text("{}", "utf-8")
    written, _unchanged, removed = export(tmp_path)
    assert (tmp_path / old).read_text("utf-8") == (SHIPPED / old).read_text("utf-8")
    assert (tmp_path / "event.CaseClaimed.v2.schema.json").is_file()
    assert not (tmp_path / "cmd.intake.gone.schema.json").exists()
    assert removed == 1 and written == len(list(tmp_path.iterdir())) - 1
    index = json.loads((tmp_path / schemas.INDEX).read_text("utf-8"))
    claimed = index["subjects"]["{root}.events.{department}.CaseClaimed"]
    assert claimed["schema"] == "event.CaseClaimed.v2"
    assert claimed["versions"] == {"1": "event.CaseClaimed.v1", "2": "event.CaseClaimed.v2"}
    # Exported again: nothing changes, the old version is still kept.
    assert export(tmp_path) == (0, len(list(tmp_path.iterdir())) - 1, 0)
