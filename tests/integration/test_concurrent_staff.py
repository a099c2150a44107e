"""Two staff acting on one case at the same moment: one wins, no update is lost.

Hypothesis draws a case's situation, two commands staff could send on it,
and whether each carries the version its sender saw (If-Match); both go
through the command executor concurrently against the real PostgreSQL store.
Whatever the interleaving, the stored stream must be what applying the
winners one after the other gives, with contiguous versions, and every loser
must have been told the case's current state (and version).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from faststream.nats import NatsBroker
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from tests.domain_kit import (
    HANDLER,
    OPERATOR,
    START,
    SUPERVISOR,
    ReplayExecutor,
    as_it_happens,
)
from tests.lifecycle import staff_tokens
from tests.web_kit import add_user, gateway_client, hidden, sign_in
from tousu.services.gateway.complaints.actions import ACTIONS
from tousu.services.gateway.problems import PROBLEM_JSON
from tousu.shared.application.credentials import credential_key
from tousu.shared.application.executor import CommandExecutor, Outcome
from tousu.shared.application.nats_commands import register_commands
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import (
    DomainError,
    IllegalTransition,
    StaleVersion,
    decide,
    evolve,
    replay,
)
from tousu.shared.events import Actor, complaint_stream
from tousu.shared.events.types import Channel, Complainant, PlanMeasure, Satisfaction
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

# A second handler of the same department: claim races are between colleagues.
COLLEAGUE = Actor(id="h-qian", role="handler", department="water")
STEP = timedelta(hours=1)
PLAN_MEASURE = PlanMeasure(measure="恢复供水并公告", owner="h-zhao")

Make = Callable[[Actor], c.Command]  # a command type with its fields, for an actor


def _setup(n: int) -> list[tuple[Actor, type[c.Command], dict[str, Any]]]:
    """The first ``n`` steps of a case's life after submission."""
    steps: list[tuple[Actor, type[c.Command], dict[str, Any]]] = [
        (OPERATOR, c.AcceptComplaint, {"category": "service_quality"}),
        (OPERATOR, c.RouteComplaint, {"department": "water"}),
        (HANDLER, c.ClaimCase, {}),
        (HANDLER, c.RecordInvestigation, {"findings": "管网维修未公告", "methods": ["现场勘查"]}),
        (HANDLER, c.ProposePlan, {"measures": [PLAN_MEASURE]}),
        (HANDLER, c.RecordConsultation, {"agrees": True}),
        (HANDLER, c.ResolveComplaint, {"result": "已恢复供水", "basis": "供水条例"}),
        (HANDLER, c.SendFeedback, {}),
    ]
    return steps[:n]


# What each situation's staff might do (actor, command, fields).
CANDIDATES: dict[int, list[tuple[Actor, type[c.Command], dict[str, Any]]]] = {
    2: [  # routed to water, unclaimed
        (HANDLER, c.ClaimCase, {}),
        (COLLEAGUE, c.ClaimCase, {}),
        (HANDLER, c.ReturnCase, {"reason": "不属本部门", "basis": "职责清单"}),
    ],
    3: [  # claimed by HANDLER
        (HANDLER, c.ReturnCase, {"reason": "不属本部门", "basis": "职责清单"}),
        (HANDLER, c.RecordInvestigation, {"findings": "现场核实", "methods": ["走访"]}),
        (HANDLER, c.ResolveComplaint, {"result": "已处理", "basis": "规定"}),
    ],
    4: [  # investigated: the plan is next, the result not yet
        (HANDLER, c.ProposePlan, {"measures": [PLAN_MEASURE]}),
        (COLLEAGUE, c.ProposePlan, {"measures": [PLAN_MEASURE]}),
        (HANDLER, c.ResolveComplaint, {"result": "已处理", "basis": "规定"}),
    ],
    6: [  # planned and put to the complainant: ready for the result
        (HANDLER, c.ResolveComplaint, {"result": "已处理", "basis": "规定"}),
        (COLLEAGUE, c.ResolveComplaint, {"result": "已整改", "basis": "条例"}),
        (HANDLER, c.ReturnCase, {"reason": "不属本部门", "basis": "职责清单"}),
    ],
    8: [  # result fed back, awaiting the follow-up
        (OPERATOR, c.RecordFollowUp, {"satisfaction": Satisfaction.SATISFIED}),
        (OPERATOR, c.RecordFollowUp, {"satisfaction": Satisfaction.DISSATISFIED}),
        (SUPERVISOR, c.ReopenComplaint, {"reason": "处理不彻底"}),
    ],
}


_context = as_it_happens()


async def _new_case(executor: CommandExecutor, situation: int) -> tuple[uuid.UUID, int]:
    """A fresh complaint driven to ``situation``; (its id, its version)."""
    cid = uuid.uuid4()
    outcome = await executor.execute(
        cid,
        c.SubmitComplaint(
            actor=OPERATOR,
            occurred_at=START,
            channel=Channel.PHONE,
            tracking_no=f"TS2603-{cid.hex[:4]}-00",
            complainant=Complainant(name="王五", phone="13700000000"),
            subject="停水",
            description="小区停水两天",
        ),
    )
    for i, (actor, kind, fields) in enumerate(_setup(situation), start=1):
        outcome = await executor.execute(
            cid, kind(actor=actor, occurred_at=START + i * STEP, **fields)
        )
    return cid, outcome.state.version


race = st.tuples(
    st.sampled_from(sorted(CANDIDATES)),
    st.integers(0, 2),
    st.integers(0, 2),
    st.booleans(),  # first sender says which version they saw
    st.booleans(),  # second sender too
)


@examples(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=race)
async def test_two_staff_on_one_case(
    store: PostgresEventStore, drawn: tuple[int, int, int, bool, bool]
) -> None:
    situation, a, b, a_seen, b_seen = drawn
    executor = ReplayExecutor(store, _context)
    cid, seen = await _new_case(executor, situation)
    at = START + (situation + 1) * STEP
    commands = [
        kind(
            actor=actor,
            occurred_at=at,
            command_id=uuid.uuid4(),
            correlation_id=uuid.uuid4(),
            expected_version=seen if with_version else None,
            **fields,
        )
        for (actor, kind, fields), with_version in (
            (CANDIDATES[situation][a], a_seen),
            (CANDIDATES[situation][b], b_seen),
        )
    ]
    results = await asyncio.gather(
        *(executor.execute(cid, command) for command in commands), return_exceptions=True
    )

    stream = await store.read_stream(complaint_stream(cid))
    final = replay(stream)
    assert [e.version for e in stream] == list(range(1, len(stream) + 1))
    for result in results:
        # Refused by the domain with the state it saw, never an unhandled race.
        assert isinstance(result, Outcome | DomainError), repr(result)

    # The stream is the winners applied one after the other, in stored order.
    won = sorted(
        (
            (r.events[0].version, cmd)
            for r, cmd in zip(results, commands, strict=True)
            if isinstance(r, Outcome)
        ),
        key=lambda pair: pair[0],
    )
    state = replay(stream[:seen])
    for _, command in won:
        # Decided again as it was then, when it was recorded.
        for event in decide(state, command, replace(_context(), now=command.occurred_at)):
            stored = stream[state.version]
            assert (stored.event_id, stored.type, stored.data) == (
                event.event_id,
                event.type,
                event.data,
            )
            state = evolve(state, stored)
    assert state.version == final.version == len(stream)

    if a_seen and b_seen:
        assert len(won) <= 1, "two commands for the same version both applied"
    for result, command in zip(results, commands, strict=True):
        if not isinstance(result, DomainError):
            continue
        if isinstance(result, StaleVersion | IllegalTransition):
            # The loser is told the state it was refused in: one the stream went
            # through, and for a stale version, the one it lost to.
            version = result.details["version"]
            assert isinstance(version, int)
            assert result.details["current_state"] == replay(stream[:version]).status
            if isinstance(result, StaleVersion):
                assert version == final.version > seen
        # Serially after the winners, the loser would have been refused as well.
        try:
            decide(final, command, _context())
        except DomainError:
            pass
        else:
            raise AssertionError(f"{command.name()} was refused but applies to the final state")


# -- over HTTP: the API's If-Match and the web form's version --------------------


@pytest.fixture
async def command_services(
    settings: Settings, store: PostgresEventStore
) -> AsyncIterator[CommandExecutor]:
    """The services' command endpoints, in process on the test's store."""
    executor = ReplayExecutor(store, _context)
    broker = NatsBroker(str(settings.nats_url))
    for service in {a.service for a in ACTIONS}:
        commands = {a.name: a.command for a in ACTIONS if a.service == service}
        register_commands(
            broker, settings.naming, service, commands, executor, key=credential_key(settings)
        )
    await broker.start()
    try:
        yield executor
    finally:
        await broker.stop()


async def test_over_http_the_second_of_two_claims_gets_409_with_the_current_state(
    settings: Settings, command_services: CommandExecutor, database_url: str
) -> None:
    cid, seen = await _new_case(command_services, 2)  # routed to water
    people = [("h.one", "handler", "water"), ("h.two", "handler", "water")]
    headers = await staff_tokens(database_url, people)  # type: ignore[arg-type]
    async with gateway_client(settings) as client:
        read = await client.get(f"/api/v1/complaints/{cid}", headers=headers["h.one"])
        assert read.headers["etag"] == f'"{seen}"'
        claims = await asyncio.gather(
            *(
                client.post(
                    f"/api/v1/complaints/{cid}/claim",
                    headers={**headers[who], "If-Match": read.headers["etag"]},
                )
                for who in ("h.one", "h.two")
            )
        )
        assert sorted(r.status_code for r in claims) == [200, 409], [r.text for r in claims]
        won, lost = sorted(claims, key=lambda r: r.status_code)
        assert won.json()["version"] == seen + 1
        assert lost.headers["content-type"] == PROBLEM_JSON
        problem = lost.json()
        assert problem["code"] == "stale_version"
        assert (problem["current_state"], problem["current_version"]) == ("claimed", seen + 1)
        assert "已被他人更新" in problem["detail"]

        # Without If-Match the claim meets the claimed case: 409 all the same.
        again = await client.post(f"/api/v1/complaints/{cid}/claim", headers=headers["h.two"])
        assert again.status_code == 409
        assert (again.json()["current_state"], again.json()["current_version"]) == (
            "claimed",
            seen + 1,
        )
        bad = {**headers["h.one"], "If-Match": "yesterday"}
        response = await client.post(f"/api/v1/complaints/{cid}/claim", headers=bad)
        assert response.status_code == 400 and response.json()["code"] == "bad_if_match"
    stream = await command_services.load(cid)
    assert stream.version == seen + 1  # one claim stored, nothing else


async def test_a_web_form_for_an_older_version_is_refused_with_the_current_state(
    settings: Settings, command_services: CommandExecutor, database_url: str
) -> None:
    cid, _ = await _new_case(command_services, 6)  # h-zhao's, plan agreed: carried out now
    pool = await asyncpg.connect(database_url)
    try:
        await add_user(pool, HANDLER.id, "handler", "water")
    finally:
        await pool.close()
    async with gateway_client(settings) as client:
        assert (await sign_in(client, HANDLER.id)).status_code == 303
        page = await client.get(f"/staff/cases/{cid}")
        form = {
            "csrf_token": hidden(page.text, "csrf_token"),
            "idempotency_key": str(uuid.uuid4()),
            "case_version": hidden(page.text, "case_version"),
            "progress": "已联系供水公司",
        }
        # Meanwhile the handler records progress from elsewhere.
        await command_services.execute(
            cid, c.ReportProgress(actor=HANDLER, occurred_at=START + 7 * STEP, progress="现场查看")
        )
        stale = await client.post(f"/staff/cases/{cid}/progress", data=form)
        assert stale.status_code == 409
        assert "Someone may have acted on the case meanwhile" in stale.text or "他人" in stale.text
        # The page is shown again at the current version: sent again, it applies.
        form["case_version"] = hidden(stale.text, "case_version")
        form["csrf_token"] = hidden(stale.text, "csrf_token")
        assert (await client.post(f"/staff/cases/{cid}/progress", data=form)).status_code == 303
