"""Notices end to end: the services as processes, a real SMTP server (aiosmtpd),
and each notice e-mailed exactly once (acceptance, rejection, result, survey)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient

from tests.e2e.kit import handle_and_feed_back, routed_by_rules
from tests.e2e.test_intake import HANDLER, OPERATOR, PUBLIC, command, submission, submit
from tests.helpers import eventually
from tests.integration.test_notify import SmtpServer
from tousu.services.followup.notices import NoticeStatus, list_notifications
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def child_env(child_env: dict[str, str], smtp: SmtpServer) -> dict[str, str]:
    # The spawned followup service's dispatcher sends e-mail to the test's server.
    return child_env | {
        "TOUSU_SMTP_HOST": "127.0.0.1",
        "TOUSU_SMTP_PORT": str(smtp.port),
        "TOUSU_SMTP_FROM": "noreply@tousu.test",
    }


def kinds_for(smtp: SmtpServer, tracking_no: str) -> Counter[str]:
    return Counter(
        str(m["X-Tousu-Notice-Kind"])
        for m in smtp.inbox.messages
        if m["X-Tousu-Tracking-No"] == tracking_no
    )


async def settled(store: PostgresEventStore, complaint_id: str) -> bool:
    """No notice of the complaint waits or is being sent any more."""
    rows = await list_notifications(store.pool, complaint_id=uuid.UUID(complaint_id))
    return bool(rows) and all(r.status in (NoticeStatus.SENT, NoticeStatus.DEAD) for r in rows)


async def test_acceptance_rejection_and_result_notices_are_emailed_once(
    water_handler: object,
    running_services: Path,
    nats_client: NatsClient,
    settings: Settings,
    store: PostgresEventStore,
    smtp: SmtpServer,
) -> None:
    web = submission("web", complainant={"email": "li.si@example.com", "name": "李四"})
    accepted = (await submit(nats_client, settings, web, PUBLIC))["result"]
    cid, tno = accepted["complaint_id"], accepted["tracking_no"]
    other = submission("web", complainant={"email": "wang@example.com"}, subject="咨询户口政策")
    rejected = (await submit(nats_client, settings, other, PUBLIC))["result"]

    await command(
        nats_client, settings, "intake", "accept", cid, OPERATOR, category="service_quality"
    )
    await command(
        nats_client,
        settings,
        "intake",
        "reject",
        rejected["complaint_id"],
        OPERATOR,
        reason="属于政策咨询，不属于投诉受理范围",
        suggestion="请拨打12345政务服务便民热线咨询",
    )
    await eventually(lambda: kinds_for(smtp, tno)["acceptance"] == 1, "acceptance e-mail", 30)
    [acceptance] = [m for m in smtp.inbox.messages if m["X-Tousu-Tracking-No"] == tno]
    assert "受理告知书" in str(acceptance["Subject"])
    assert tno in acceptance.get_body().get_content()  # type: ignore[union-attr]
    assert acceptance["X-Test-Rcpt-To"] == "li.si@example.com"
    rejected_no = rejected["tracking_no"]
    await eventually(lambda: kinds_for(smtp, rejected_no)["rejection"] == 1, "rejection", 30)

    await routed_by_rules(store, cid)

    async def send(service: str, name: str, cid: str, actor: dict[str, Any], **f: Any) -> None:
        await command(nats_client, settings, service, name, cid, actor, **f)

    await handle_and_feed_back(
        send, cid, HANDLER, result="已安排维修人员上门修复", basis="供水服务承诺"
    )
    await eventually(lambda: kinds_for(smtp, tno)["result"] == 1, "result e-mail", 30)
    [result] = [m for m in smtp.inbox.messages if m["X-Tousu-Notice-Kind"] == "result"]
    assert "已安排维修人员上门修复" in result.get_body().get_content()  # type: ignore[union-attr]

    for complaint_id in (cid, rejected["complaint_id"]):

        async def done(complaint_id: str = complaint_id) -> bool:
            return await settled(store, complaint_id)

        await eventually(done, "the outbox settled", 30)
    assert kinds_for(smtp, tno) == {"acceptance": 1, "result": 1, "follow_up_survey": 1}
    assert kinds_for(smtp, rejected_no) == {"rejection": 1}
    rows = await list_notifications(store.pool, complaint_id=uuid.UUID(cid))
    assert all(r.status == NoticeStatus.SENT for r in rows)
    # The public lookup page shows every notice too.
    assert Counter((r.kind.value, r.channel.value) for r in rows) == {
        (kind, channel): 1
        for kind in ("acceptance", "result", "follow_up_survey")
        for channel in ("email", "web")
    }
