"""Department webhooks without servers: who is told, what the body says, the
signature and the back-off."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.domain_kit import HANDLER, SUPERVISOR, Case
from tousu.services.followup.webhooks import endpoints, payload, signing
from tousu.services.followup.webhooks.dispatcher import Backoff
from tousu.shared.domain import commands as c


def test_each_event_goes_to_the_department_it_concerns_and_no_other() -> None:
    case = Case().submit().accept().route("water")
    case.do(c.ReturnCase, HANDLER, reason="不属本部门", basis="职责清单")
    case.route("transport", actor=SUPERVISOR)
    case.do(c.RaiseSupervision, SUPERVISOR, kind="chase", note="请尽快")
    told = [(e.type, payload.target(e)) for e in case.envelopes]
    assert told == [
        ("ComplaintReceived", None),
        ("ComplaintAccepted", None),
        ("ComplaintRouted", "water"),
        ("CaseReturned", "water"),  # the department that gave it back, not the desk
        ("ComplaintRouted", "transport"),
        ("SupervisionRaised", "transport"),
    ]


def test_the_body_is_the_envelope_and_the_case_as_it_was_without_contacts() -> None:
    case = Case().submit(location="幸福路12号").accept().route("water").claim()
    routed = case.envelopes[2]
    delivery = payload.delivery_id("water", routed.event_id)
    text = payload.body(routed, case.envelopes, department="water", delivery=delivery)
    document = json.loads(text)
    assert document["id"] == str(delivery) and document["replay"] is False
    assert document["event"]["event_id"] == str(routed.event_id)
    summary = document["case"]
    # As at the routing: not yet claimed, though the history goes further.
    assert summary["status"] == "routed" and summary["handler"] is None
    assert summary["tracking_no"] == "TS2603-0001-00"
    assert summary["location"] == "幸福路12号" and summary["subject"] == "自来水停水未通知"
    assert {"claim", "feedback"} <= set(summary["deadlines"])
    assert "张三" not in text and "13800000000" not in text
    # The same event, the same id: a redelivery is recognisable.
    assert payload.delivery_id("water", routed.event_id) == delivery
    assert payload.delivery_id("transport", routed.event_id) != delivery


def test_a_signature_checks_as_documented() -> None:
    secret, body, now = signing.new_secret(), b'{"id":"x"}', 1_800_000_000
    got = signing.headers(secret, "d-1", "ComplaintRouted", body, now=now)
    mac = hmac.new(secret.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert got[signing.SIGNATURE_HEADER] == f"v1={mac}"
    assert got[signing.TIMESTAMP_HEADER] == str(now)
    ts, sig = got[signing.TIMESTAMP_HEADER], got[signing.SIGNATURE_HEADER]
    assert signing.verify(secret, body, ts, sig, now=now + 299)
    assert not signing.verify(secret, body, ts, sig, now=now + 301)  # too old: replayed
    assert not signing.verify(secret, body + b" ", ts, sig, now=now)  # body changed
    assert not signing.verify("whsec_other", body, ts, sig, now=now)
    assert not signing.verify(secret, body, str(now + 1), sig, now=now)  # timestamp changed


def test_back_off_doubles_is_capped_jittered_and_gives_up() -> None:
    policy = Backoff(base=5, maximum=60, give_up=timedelta(hours=1))
    first = datetime(2026, 12, 1, tzinfo=UTC)
    full = [policy.retry_in(n, first, first, jitter=lambda: 1.0) for n in range(1, 7)]
    assert full == [5, 10, 20, 40, 60, 60]
    half = [policy.retry_in(n, first, first, jitter=lambda: 0.0) for n in range(1, 4)]
    assert half == [2.5, 5, 10]
    assert policy.retry_in(3, first, first + timedelta(minutes=59)) is not None
    assert policy.retry_in(3, first, first + timedelta(hours=1)) is None


def test_a_webhook_needs_a_register_department_and_an_http_url() -> None:
    known = frozenset({"water", "transport"})
    endpoints.check("water", "https://ticket.example/hooks", known)
    with pytest.raises(endpoints.InvalidWebhook, match="unknown department 'nowhere'"):
        endpoints.check("nowhere", "https://ticket.example/hooks", known)
    with pytest.raises(endpoints.InvalidWebhook, match="not an http"):
        endpoints.check("water", "ftp://ticket.example/hooks", known)


def test_a_replayed_delivery_has_an_id_of_its_own() -> None:
    case = Case().submit().accept().route("water")
    routed = case.envelopes[2]
    delivery = uuid.uuid4()
    text = payload.body(
        routed, case.envelopes, department="water", delivery=delivery, replayed=True
    )
    document = json.loads(text)
    assert document["replay"] is True and document["id"] == str(delivery)
