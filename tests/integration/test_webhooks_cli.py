"""`tousu webhooks` as an administrator uses it: add (the secret once, stored
sealed), replay, the delivery log with what failed, the list after a removal."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from tests.domain_kit import OPERATOR, ReplayExecutor
from tests.helpers import tousu
from tests.lifecycle import register
from tousu.services.followup.webhooks import endpoints
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.store.postgres import PostgresEventStore

URL = "http://127.0.0.1:9/hooks"


async def test_an_administrator_configures_watches_and_replays(
    child_env: dict[str, str], store: PostgresEventStore, pool: asyncpg.Pool
) -> None:
    code, secret, err = await tousu(child_env, "webhooks", "add", "water", URL)
    assert code == 0, err
    secret = secret.strip()
    assert secret.startswith("whsec_") and "shown this once" in err
    # Kept sealed: not in the table, yet it opens to what was printed.
    row = await pool.fetchrow("SELECT id, sealed_secret FROM department_webhooks")
    assert secret not in row["sealed_secret"]
    assert endpoints.open_secret(row["id"], row["sealed_secret"]) == secret

    when = datetime(2026, 9, 15, 10, tzinfo=TZ)
    await register(
        ReplayExecutor(store),
        datetime(2026, 9, 14, tzinfo=TZ),
        1,
        (when, c.AcceptComplaint, OPERATOR, {"category": "service_quality"}),
        (when, c.RouteComplaint, OPERATOR, {"department": "water"}),
    )
    code, out, err = await tousu(child_env, "webhooks", "replay", "water", "--from", "1")
    assert code == 0, err
    assert "1 deliveries queued for water (replay)" in out
    # Given up (as the dispatcher leaves one after TOUSU_WEBHOOKS_GIVE_UP_HOURS).
    await pool.execute(
        "UPDATE webhook_deliveries SET status = 'failed', attempts = 9, last_status_code = 500, "
        "last_error = 'HTTP 500: boom'"
    )
    code, out, err = await tousu(child_env, "webhooks", "deliveries", "water", "--failed", "--json")
    assert code == 0, err
    [failed] = [json.loads(line) for line in out.splitlines()]
    assert failed["event"] == "ComplaintRouted" and failed["tracking_no"] == "TS-2026-000001"
    assert failed["status"] == "failed (replay)" and failed["last_error"] == "HTTP 500: boom"

    assert await endpoints.remove(pool, "water")
    code, out, err = await tousu(child_env, "webhooks", "list", "--json")
    assert code == 0, err
    [listed] = [json.loads(line) for line in out.splitlines()]
    assert listed["department"] == "water" and listed["active"] is False
    assert listed["failed"] == 1 and listed["url"] == URL
