"""The quality inspection through the real metrics service over NATS: the
month's draw (reopened and late-entry cases always in, reproducible from its
seed), a failed review whose reopening is stored in the same transaction,
and refusals that store nothing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
from nats.aio.client import Client as NatsClient

from tests.helpers import tousu
from tests.inspection_cases import MONTH, closed_cases
from tests.processes import request
from tousu.services.metrics.inspection.checklist import checklists
from tousu.services.metrics.inspection.population import closed_cases as population
from tousu.services.metrics.inspection.verify import verify
from tousu.services.metrics.inspection.views import sample
from tousu.shared.application.credentials import HEADER, Kind, credential_key, issue
from tousu.shared.domain.inspection import month_window
from tousu.shared.events import Actor
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

SUPERVISOR = {"id": "sup-wang", "role": "supervisor"}


async def _counts(pool: asyncpg.Pool) -> list[tuple[str, int]]:
    rows = await pool.fetch(
        "SELECT stream_id, max(version) AS v FROM events GROUP BY stream_id ORDER BY stream_id"
    )
    return [(r["stream_id"], r["v"]) for r in rows]


def _scores(**points: float) -> list[dict[str, Any]]:
    rule = checklists().current.rule()
    return [{"item": k, "points": points.get(k, m)} for k, m in rule.max_points.items()]


async def test_draw_review_and_refusals_over_nats(
    running_services: Path,
    settings: Settings,
    child_env: dict[str, str],
    store: PostgresEventStore,
    pool: asyncpg.Pool,
    nats_client: NatsClient,
) -> None:
    cases = await closed_cases(store)
    frm, to = month_window(MONTH)
    found = {p.complaint_id: p for p in await population(pool, frm, to, to.replace(year=2027))}
    assert {str(c.complaint_id) for c in cases} == set(found)
    assert {k for k, p in found.items() if p.reopened} == {
        str(c.complaint_id) for c in cases if c.reopened
    }
    assert {k for k, p in found.items() if p.late_entry} == {
        str(c.complaint_id) for c in cases if c.late
    }

    draw = settings.naming.command("metrics", "inspection-draw")
    review = settings.naming.command("metrics", "inspection-review")
    body = {"actor": SUPERVISOR, "period": MONTH, "seed": 20261130, "share": 0.25, "minimum": 1}
    # A department's system may not draw; a handler named by a trusted sender neither.
    as_water = {HEADER: issue(credential_key(settings), Kind.DEPARTMENT, "water")}
    assert (await request(nats_client, draw, body, headers=as_water))["error"][
        "code"
    ] == "forbidden"
    handler = {"id": "h-water", "role": "handler", "department": "water"}
    refused = await request(nats_client, draw, {**body, "actor": handler})
    assert refused["error"]["code"] == "forbidden", refused
    refused = await request(nats_client, draw, {**body, "share": 0})
    assert refused["error"]["code"] == "validation_error", refused
    assert refused["error"]["details"][0]["field"] == "share"
    assert await sample(pool, MONTH) == []

    drawn = await request(nats_client, draw, body)
    assert drawn["ok"], drawn
    result = drawn["result"]
    assert result["population"] == {"roads": 2, "water": 4}
    reasons = {c["complaint_id"]: c["reasons"] for c in result["cases"]}
    for case in cases:
        if case.reopened:
            assert "reopened" in reasons[str(case.complaint_id)]
        if case.late:
            assert "late_entry" in reasons[str(case.complaint_id)]
    # ceil(0.25 × 4) = 1 drawn at random in water; max(1, ceil(0.5)) = 1 in roads.
    assert sum("random" in r for r in reasons.values()) == 2
    rows = await sample(pool, MONTH)
    assert {r.complaint_id: list(r.reasons) for r in rows} == reasons
    assert (await verify(store, MONTH)).same

    again = await request(nats_client, draw, {**body, "seed": 1})
    assert again["error"]["code"] == "invalid_command", again
    assert again["error"]["details"]["field"] == "period"

    # Review refusals: nothing stored.
    before = await _counts(pool)
    sampled = str(next(c.complaint_id for c in cases if c.reopened))
    outside = str(uuid.uuid4())
    review_body: dict[str, Any] = {
        "actor": SUPERVISOR,
        "period": MONTH,
        "complaint_id": sampled,
        "scores": _scores(result_answers_demands=0, basis_sound=0),
        "action": "reopen",
        "reason": "结果未回应诉求",
    }
    refusals: list[tuple[dict[str, Any], str, str | None]] = [
        ({"complaint_id": outside}, "invalid_command", "complaint_id"),
        ({"scores": _scores(reply_clear=12)}, "invalid_command", "scores.8.points"),
        ({"scores": _scores()[:-1]}, "invalid_command", "scores"),
        ({"scores": _scores()}, "invalid_command", "action"),
        ({"actor": handler}, "forbidden", None),
    ]
    for change, code, field in refusals:
        reply = await request(nats_client, review, {**review_body, **change})
        assert reply["ok"] is False and reply["error"]["code"] == code, (change, reply)
        if field:
            assert reply["error"]["details"]["field"] == field
    assert (await request(nats_client, review, review_body, headers=as_water))["error"][
        "code"
    ] == "forbidden"
    assert await _counts(pool) == before

    # A failed review asking for a reopening: the case is reopened in the same
    # transaction as the review is stored.
    reply = await request(nats_client, review, review_body)
    assert reply["ok"], reply
    assert reply["result"]["score"] == 75 and reply["result"]["passed"] is False
    assert reply["result"]["case_events"] == ["ComplaintReopened"]
    assert reply["result"]["case_status"] == "reopened"
    tx = await pool.fetch(
        "SELECT type, tx_id::text AS tx, department, data ->> 'action' AS action"
        " FROM events WHERE event_id = $1"
        " OR (stream_id = $2 AND type = 'ComplaintReopened' AND version ="
        "     (SELECT max(version) FROM events WHERE stream_id = $2))",
        uuid.UUID(reply["result"]["event_id"]),
        f"complaint-{sampled}",
    )
    assert {r["type"] for r in tx} == {"InspectionReviewed", "ComplaintReopened"}
    assert len({r["tx"] for r in tx}) == 1
    reviewed = next(r for r in tx if r["type"] == "InspectionReviewed")
    assert reviewed["department"] == "supervision" and reviewed["action"] == "reopen"
    row = next(r for r in await sample(pool, MONTH) if r.complaint_id == sampled)
    assert (row.score, row.passed, row.action, row.reviewer) == (75, False, "reopen", "sup-wang")

    # Reviewed twice: refused. The sample still verifies (the reopening came later).
    twice = await request(nats_client, review, review_body | {"action": "none", "reason": None})
    assert twice["error"]["code"] == "invalid_command", twice
    assert (await verify(store, MONTH)).same

    # Both or neither: a reopening the case refuses (it is reopened already,
    # by hand) stores no review either.
    other = next(r.complaint_id for r in await sample(pool, MONTH) if not r.reviewed)
    by_hand = await request(
        nats_client,
        settings.naming.command("followup", "reopen"),
        {
            "complaint_id": other,
            "command": {
                "actor": Actor.model_validate(SUPERVISOR).model_dump(),
                "occurred_at": reply["result"]["recorded_at"],
                "reason": "另案重办",
            },
        },
    )
    assert by_hand["ok"], by_hand
    before = await _counts(pool)
    reply = await request(nats_client, review, {**review_body, "complaint_id": other})
    assert reply["error"]["code"] == "illegal_transition", reply
    assert await _counts(pool) == before
    assert not next(r for r in await sample(pool, MONTH) if r.complaint_id == other).reviewed

    # The command line: the sample with its reasons, seed and scores; the redraw.
    rc, shown, _ = await tousu(child_env, "inspection", "show", MONTH)
    assert rc == 0, shown
    assert "seed 20261130" in shown and f"1 of {len(result['cases'])} reviewed" in shown
    reopened = next(c for c in cases if c.reopened)
    line = next(ln for ln in shown.splitlines() if reopened.tracking_no in ln and "75" in ln)
    assert "FAIL reopen" in line and "reopened" in line
    assert max(len(ln) for ln in shown.splitlines()) <= 80
    rc, said, _ = await tousu(child_env, "inspection", "verify", MONTH)
    assert rc == 0 and "the same sample" in said, said
    rc, _, refused_cli = await tousu(child_env, "inspection", "draw", "2026-10", "--as", "nobody")
    assert rc == 1 and "not an active supervisor" in refused_cli
