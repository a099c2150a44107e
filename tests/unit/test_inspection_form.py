"""The reviewer's forms read as the requests want them, and a service's
refusal put back at the field that caused it."""

from __future__ import annotations

from datetime import UTC, datetime

from tousu.services.gateway.web.staff.inspection import (
    last_month,
    read_draw,
    read_review,
    refusal_field,
)
from tousu.services.metrics.inspection.checklist import checklists

SHEET = checklists().current


def full_form(**changes: str) -> dict[str, str]:
    form = {f"points-{i.code}": f"{i.max_points:g}" for i in SHEET.items}
    form.update(changes)
    return form


def test_a_full_form_is_the_review_request() -> None:
    body, errors = read_review(full_form(**{"note-reply_clear": " 用语规范 "}), SHEET, "zh")
    assert errors == {}
    assert body["action"] == "none" and len(body["scores"]) == len(SHEET.items)
    assert {"item": "reply_clear", "points": 10.0, "note": "用语规范"} in body["scores"]


def test_bad_points_and_a_missing_reason_are_at_their_fields() -> None:
    form = full_form(**{"points-reply_clear": "11", "points-basis_sound": "", "action": "reopen"})
    form["points-steps_in_order"] = "nan"
    _, errors = read_review(form, SHEET, "en")
    assert errors == {
        "points-reply_clear": "Enter points from 0 to 10.",
        "points-basis_sound": "Please fill in this field.",
        "points-steps_in_order": "Enter points from 0 to 10.",
        "reason": "Give the reason the department is told.",
    }


def test_the_services_refusals_go_back_to_the_field() -> None:
    third = SHEET.items[2]
    at_points = {"code": "invalid_command", "message": "x", "details": {"field": "scores.2.points"}}
    assert refusal_field(at_points, SHEET, "en") == (
        f"points-{third.code}",
        f"Enter points from 0 to {third.max_points:g}.",
    )
    passed = {"code": "invalid_command", "message": "x", "details": {"field": "action"}}
    assert refusal_field(passed, SHEET, "zh")[0] == "action"
    twice = {
        "code": "invalid_command",
        "message": "reviewed already",
        "details": {"field": "complaint_id"},
    }
    assert refusal_field(twice, SHEET, "en") == (
        "",
        "This case was reviewed already: one review per case.",
    )


def test_the_draw_form() -> None:
    assert read_draw({"share": "0.2", "minimum": "3", "seed": ""}, "en") == (
        {"share": 0.2, "minimum": 3},
        {},
    )
    _, errors = read_draw({"share": "0", "minimum": "-1", "seed": "x"}, "en")
    assert set(errors) == {"share", "minimum", "seed"}
    assert last_month(datetime(2026, 12, 31, 17, tzinfo=UTC)) == "2026-12"  # Jan 1st in Shanghai
    assert last_month(datetime(2026, 1, 5, tzinfo=UTC)) == "2025-12"
