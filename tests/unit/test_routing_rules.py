"""Routing rules: the file format, the matcher, and what automatic routing asks for."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests.domain_kit import HANDLER, OPERATOR, Case, ReplayExecutor
from tousu.services.routing import (
    FALLBACK_RULE_ID,
    RouteDecision,
    RoutingFacts,
    RuleSet,
    RulesFileError,
    load_rules,
    match,
    parse_rules,
)
from tousu.services.routing.auto import ACTOR, MANUAL_ROUTING, next_command
from tousu.services.routing.known import register_departments
from tousu.services.routing.main import auto_routing
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import Status
from tousu.shared.events import Envelope, NewEvent
from tousu.shared.service import Runtime
from tousu.shared.store import ConcurrencyConflict, UnitOfWork
from tousu.shared.store.memory import InMemoryEventStore

SMALL = """
version: 7
fallback_department: service_center
fallback_requirements: 综合协调
rules:
  - id: by-category
    when: {category: supervision}
    department: supervision
  - id: by-subcategory
    when: {subcategory: [bribery, abuse_of_power]}
    department: discipline_office
  - id: by-item
    when: {service_item: bus_service}
    department: transport
    requirements: 调取车载视频
  - id: by-place
    when: {category: service_environment, location: [政务服务中心, 市民中心]}
    department: service_center
  - id: water-words
    when: {keywords: [停水, 供水, GPS]}
    department: water
    requirements: 核实停水原因
  - id: water-backup
    when: {keywords: 停水}
    department: urban_management
"""


@pytest.fixture
def rules() -> RuleSet:
    return parse_rules(SMALL)


def facts(**fields: Any) -> RoutingFacts:
    return RoutingFacts(**fields)


# -- the matcher ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "rule_id"),
    [
        ({"category": "supervision", "subject": "停水"}, "by-category"),
        ({"category": "misconduct", "subcategory": "bribery"}, "by-subcategory"),
        ({"service_item": "bus_service"}, "by-item"),
        ({"category": "service_environment", "location": "市政务服务中心二楼"}, "by-place"),
        ({"subject": "小区停水三天"}, "water-words"),
        ({"subject": "投诉", "description": "自来水供水不正常"}, "water-words"),
        ({"subject": "ＧＰＳ定位错误"}, "water-words"),  # full-width folds to half-width
    ],
)
def test_each_condition_kind_matches(rules: RuleSet, given: dict[str, Any], rule_id: str) -> None:
    decision = match(rules, facts(**given))
    assert decision is not None and decision.rule_id == rule_id
    assert decision.rule_version == 7


def test_all_conditions_of_a_rule_must_hold(rules: RuleSet) -> None:
    # The place alone, or the category alone, is not enough for by-place.
    assert match(rules, facts(location="市民中心")) == RouteDecision(
        "service_center", FALLBACK_RULE_ID, 7, "综合协调"
    )
    env = facts(category="service_environment", location="地铁站")
    assert match(rules, env).rule_id == FALLBACK_RULE_ID  # type: ignore[union-attr]


def test_location_keywords_look_at_the_location_only(rules: RuleSet) -> None:
    text = facts(category="service_environment", description="在市民中心等了很久")
    assert match(rules, text).rule_id == FALLBACK_RULE_ID  # type: ignore[union-attr]


def test_the_first_matching_rule_wins_and_carries_its_requirements(rules: RuleSet) -> None:
    decision = match(rules, facts(subject="停水", service_item="bus_service"))
    assert decision == RouteDecision("transport", "by-item", 7, "调取车载视频")
    assert match(rules, facts(subject="停水")) == RouteDecision(
        "water", "water-words", 7, "核实停水原因"
    )


def test_excluded_departments_are_skipped(rules: RuleSet) -> None:
    assert match(rules, facts(subject="停水"), exclude={"water"}) == RouteDecision(
        "urban_management", "water-backup", 7, None
    )
    decision = match(rules, facts(subject="停水"), exclude={"water", "urban_management"})
    assert decision == RouteDecision("service_center", FALLBACK_RULE_ID, 7, "综合协调")


def test_nothing_left_when_the_fallback_is_excluded_too(rules: RuleSet) -> None:
    assert match(rules, facts(subject="无关"), exclude={"service_center"}) is None
    assert match(rules, facts(subject="停水"), exclude={"service_center"}) is not None


# -- the rules file --------------------------------------------------------------
def problems(text: str, **kwargs: Any) -> str:
    with pytest.raises(RulesFileError) as caught:
        parse_rules(text, "test.yaml", **kwargs)
    assert caught.value.source == "test.yaml"
    return "\n".join(caught.value.problems)


HEAD = "version: 1\nfallback_department: service_center\nrules:\n"


def test_duplicate_rule_ids_are_refused() -> None:
    text = HEAD + (
        "  - {id: a, when: {keywords: 停水}, department: water}\n"
        "  - {id: a, when: {keywords: 公交}, department: transport}\n"
    )
    assert "rule id 'a' is used 2 times" in problems(text)


def test_the_fallback_id_is_reserved() -> None:
    text = HEAD + "  - {id: fallback, when: {keywords: 停水}, department: water}\n"
    assert "reserved" in problems(text)


def test_a_rule_without_conditions_is_refused() -> None:
    text = HEAD + "  - {id: a, when: {}, department: water}\n"
    assert "rules.0.when: Value error, a rule needs at least one condition" in problems(text)


def test_unknown_fields_codes_and_versions_are_refused() -> None:
    text = (
        "version: 0\nfallback_department: Service Center\nrules:\n"
        "  - {id: a, when: {keyword: 停水}, department: water}\n"
    )
    found = problems(text)
    assert "version:" in found
    assert "fallback_department:" in found
    assert "rules.0.when.keyword: Extra inputs are not permitted" in found


def test_unknown_departments_are_refused_when_a_register_is_given() -> None:
    text = HEAD + "  - {id: a, when: {keywords: 停水}, department: waterworks}\n"
    parse_rules(text)  # no register to check against: the codes are only well-formed
    found = problems(text, departments={"service_center", "water"})
    assert "rules.0.department (a): unknown department 'waterworks'" in found
    assert "fallback" not in found
    assert "fallback_department: unknown department 'service_center'" in problems(
        text, departments={"waterworks"}
    )


def test_a_repeated_yaml_key_is_a_lost_edit_and_refused() -> None:
    text = HEAD + "  - {id: a, when: {keywords: 停水}, department: water, department: x}\n"
    assert "duplicate key 'department'" in problems(text)


def test_yaml_syntax_errors_are_reported() -> None:
    assert "line" in problems("version: [1\n")


def test_an_operator_file_replaces_the_packaged_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(HEAD + "  - {id: a, when: {keywords: 停水}, department: water}\n", "utf-8")
    assert load_rules(path).rules[0].id == "a"
    with pytest.raises(RulesFileError, match="unknown department 'water'"):
        load_rules(path, departments={"service_center"})


# -- the packaged rules ------------------------------------------------------------
@pytest.fixture(scope="module")
def packaged() -> RuleSet:
    departments = register_departments()
    assert departments is not None  # the commitment register exists: check against it
    return load_rules(departments=departments)


@pytest.mark.parametrize(
    ("given", "department"),
    [
        ({"subject": "停水未通知", "description": "小区连续两天停水"}, "water"),
        ({"subject": "公交车拒载", "description": "12路公交司机不停站"}, "transport"),
        ({"subject": "补办身份证太慢"}, "public_security"),
        ({"subject": "社保转移", "description": "养老保险关系转不过来"}, "human_resources"),
        ({"subject": "不动产登记", "description": "房产证三个月没办下来"}, "natural_resources"),
        ({"subject": "医保报销", "description": "异地就医结算失败"}, "healthcare_security"),
        ({"subject": "路灯不亮", "location": "人民路"}, "urban_management"),
        ({"service_item": "water_repair", "subject": "维修人员态度差"}, "water"),
        # A report on how an earlier complaint (about water) was handled.
        ({"category": "supervision", "subject": "上次投诉停水没人管"}, "supervision"),
        # Misconduct goes to the department concerned, not to supervision.
        ({"category": "misconduct", "subject": "社保窗口工作人员索要好处费"}, "human_resources"),
        (
            {"category": "service_environment", "subject": "空调坏了", "location": "市民中心"},
            "service_center",
        ),
        ({"subject": "其他问题", "description": "无法归类"}, "service_center"),
    ],
)
def test_the_packaged_rules_route_a_city_s_complaints(
    packaged: RuleSet, given: dict[str, Any], department: str
) -> None:
    decision = match(packaged, facts(**given))
    assert decision is not None and decision.department == department
    assert decision.requirements  # every packaged rule says what is required


# -- automatic routing: which command a triggering event yields ---------------------
def last(case: Case, event_type: str) -> Envelope:
    return next(e for e in reversed(case.envelopes) if e.type == event_type)


def execute(case: Case, command: c.Command) -> None:
    fields = command.model_dump(exclude={"actor"})
    case.do(type(command), command.actor, **fields)


def test_an_accepted_case_is_routed_by_the_rules(packaged: RuleSet) -> None:
    case = Case().submit().accept()
    trigger = last(case, "ComplaintAccepted")
    command = next_command(case.envelopes, trigger, packaged)
    assert isinstance(command, c.RouteComplaint)
    assert (command.department, command.rule_id, command.rule_version) == (
        "water",
        "water-supply",
        packaged.version,
    )
    assert command.requirements and "停水" in command.requirements
    assert command.actor == ACTOR and ACTOR.role == "system"
    assert command.occurred_at == trigger.occurred_at
    assert command.causation_id == trigger.event_id
    assert command.correlation_id == trigger.correlation_id
    # A redelivered trigger asks for the very same command: its events are stored once.
    assert next_command(case.envelopes, trigger, packaged) == command
    execute(case, command)
    assert case.state.status == Status.ROUTED and case.state.department == "water"


def test_a_return_is_re_routed_past_the_departments_that_returned_it(packaged: RuleSet) -> None:
    case = Case().submit().accept().route("water")
    case.do(c.ReturnCase, HANDLER, reason="非本单位职责", basis="三定方案")
    command = next_command(case.envelopes, last(case, "CaseReturned"), packaged)
    assert isinstance(command, c.RouteComplaint)
    assert (command.department, command.rule_id) == ("service_center", FALLBACK_RULE_ID)
    execute(case, command)
    assert case.state.department == "service_center"


def test_no_automatic_routing_in_arbitration(packaged: RuleSet) -> None:
    case = Case().submit().accept().route("water")
    case.do(c.ReturnCase, HANDLER, reason="非本单位职责", basis="三定方案")
    case.route("transport")
    other = HANDLER.model_copy(update={"department": "transport"})
    case.do(c.ReturnCase, other, reason="非本单位职责", basis="三定方案")
    assert case.state.needs_arbitration
    assert next_command(case.envelopes, last(case, "CaseReturned"), packaged) is None


def test_an_event_the_case_has_moved_past_does_nothing(packaged: RuleSet) -> None:
    case = Case().submit().accept()
    accepted = last(case, "ComplaintAccepted")
    case.route("transport", actor=OPERATOR)  # routed by hand before the rules ran
    assert next_command(case.envelopes, accepted, packaged) is None
    case.do(
        c.ReturnCase,
        HANDLER.model_copy(update={"department": "transport"}),
        reason="非本单位职责",
        basis="三定方案",
    )
    # Now returned: the return routes it, the late acceptance still does not.
    assert next_command(case.envelopes, accepted, packaged) is None
    command = next_command(case.envelopes, last(case, "CaseReturned"), packaged)
    assert isinstance(command, c.RouteComplaint) and command.department == "water"


def test_when_every_department_returned_it_a_person_is_asked(packaged: RuleSet) -> None:
    case = Case().submit(subject="其他问题", description="无法归类的事项").accept()
    case.route("service_center")
    head = HANDLER.model_copy(update={"department": "service_center"})
    case.do(c.ReturnCase, head, reason="非本中心职责", basis="职责清单")
    trigger = last(case, "CaseReturned")
    command = next_command(case.envelopes, trigger, packaged)
    assert isinstance(command, c.RaiseSupervision)
    assert command.kind == MANUAL_ROUTING
    assert command.command_id == uuid.uuid5(trigger.event_id, "routing:manual")
    execute(case, command)
    assert case.state.status == Status.RETURNED  # waiting for an operator or supervisor


# -- the routing service's handler: the stream must not move under its decision ---
Race = Callable[[UnitOfWork], Awaitable[None]]


class _RacedUnitOfWork(UnitOfWork):
    """Another write lands on the stream just after the handler's first read
    (PostgreSQL reads committed data, so a concurrent commit can do that)."""

    def __init__(self, inner: UnitOfWork, race: Race) -> None:
        self._inner = inner
        self._race: Race | None = race

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[Envelope]:
        return await self._inner.append(stream_id, expected_version, events)

    async def read_stream(self, stream_id: str, from_version: int = 1) -> list[Envelope]:
        found = await self._inner.read_stream(stream_id, from_version)
        race, self._race = self._race, None
        if race is not None:
            await race(self._inner)
        return found

    async def processed_among(
        self, consumer: str, event_ids: Sequence[uuid.UUID]
    ) -> set[uuid.UUID]:
        return await self._inner.processed_among(consumer, event_ids)

    async def mark_processed(self, consumer: str, event_id: uuid.UUID) -> None:
        await self._inner.mark_processed(consumer, event_id)

    @property
    def writes(self) -> int:
        return self._inner.writes


async def test_the_handler_never_appends_a_decision_made_on_a_stale_read(
    packaged: RuleSet,
) -> None:
    store = InMemoryEventStore()
    executor = ReplayExecutor(store)
    case = Case().submit().accept()
    async with store.unit_of_work() as uow:
        await uow.append(case.stream_id, 0, [_new(e) for e in case.envelopes])
    trigger = case.envelopes[-1]
    consumer = auto_routing(cast(Runtime, SimpleNamespace(executor=executor)), packaged)

    async def routed_by_hand(uow: UnitOfWork) -> None:
        route = c.RouteComplaint(
            actor=OPERATOR, occurred_at=trigger.occurred_at, department="transport"
        )
        await executor.execute_in(uow, case.complaint_id, route)

    # Decided on "accepted", the executor would re-route the case routed by
    # hand meanwhile (a routed case may be re-routed): refused and rolled back,
    # the consumer calls the handler again and it finds the case routed.
    with pytest.raises(ConcurrencyConflict):
        async with store.unit_of_work() as uow:
            await consumer.handle(trigger, _RacedUnitOfWork(uow, routed_by_hand))
    assert len(await store.read_stream(case.stream_id)) == len(case.envelopes)

    async with store.unit_of_work() as uow:  # no race: routed by the rules
        await consumer.handle(trigger, uow)
    stream = await store.read_stream(case.stream_id)
    assert (stream[-1].type, stream[-1].data["department"]) == ("ComplaintRouted", "water")


def _new(envelope: Envelope) -> NewEvent:
    return NewEvent(
        **envelope.model_dump(
            include={
                "event_id",
                "type",
                "data",
                "occurred_at",
                "correlation_id",
                "causation_id",
                "actor",
                "schema_version",
                "department",
            }
        )
    )
