"""Personal data through the running services: sealed on NATS as in the
store, opened only by the notifier for the recipient, and erased from the
notification outbox along with the key."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from tests.e2e.test_intake import OPERATOR, command, submission, submit
from tests.helpers import eventually, tousu
from tousu.services.followup.notices import NoticeChannel, list_notifications
from tousu.shared.privacy.erase import ERASED_RECIPIENT
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

PHONE = "13912345678"
NAME = "孙七"
EMAIL = "sun.qi@example.com"
ID_NUMBER = "11010519491231002X"


async def test_nats_carries_ciphertext_and_erasure_reaches_the_outbox(
    running_services: Path,
    nats_client: NatsClient,
    js: JetStreamContext,
    settings: Settings,
    store: PostgresEventStore,
    child_env: dict[str, str],
) -> None:
    who = {"name": NAME, "phone": "139 1234 5678", "email": EMAIL, "id_number": ID_NUMBER}
    filed = (await submit(nats_client, settings, submission("phone", complainant=who)))["result"]
    cid = filed["complaint_id"]
    await command(
        nats_client, settings, "intake", "accept", cid, OPERATOR, category="service_quality"
    )

    # The relay publishes the stored data: sealed.
    subject = settings.naming.event(None, "ComplaintReceived")
    published: list[bytes] = []

    async def relayed() -> bool:
        try:
            msg = await js.get_last_msg(settings.naming.events_stream, subject)
        except NotFoundError:
            return False
        published.append(msg.data or b"")
        return True

    await eventually(relayed, "the ComplaintReceived on JetStream", 30)
    raw = published[-1]
    text = json.dumps(json.loads(raw), ensure_ascii=False)
    assert cid in text and '"sealed"' in text
    assert [p for p in (PHONE, NAME, EMAIL, ID_NUMBER) if p in text or p.encode() in raw] == []

    # The notifier opened the recipient for the acceptance notice (SMS to the phone).
    async def texted() -> bool:
        rows = await list_notifications(store.pool, complaint_id=uuid.UUID(cid))
        return any(r.channel == NoticeChannel.SMS and r.recipient == PHONE for r in rows)

    await eventually(texted, "the acceptance notice by SMS", 30)

    # Seeing the name on the command line is a view of personal data too.
    code, out, err = await tousu(child_env, "complaint", "show", filed["tracking_no"], "--json")
    assert code == 0 and json.loads(out)["complainant"] == NAME, err
    code, out, err = await tousu(child_env, "privacy", "views", "--case", cid, "--json")
    assert code == 0, err
    [view] = [json.loads(line) for line in out.splitlines()]
    assert (view["role"], view["view"], view["complaint_id"]) == ("cli", "cli_show", cid)

    code, out, err = await tousu(child_env, "privacy", "erase", PHONE, "--yes", "--json")
    assert code == 0, err
    assert json.loads(out)["complaints"] == [cid]
    rows = await store.pool.fetch(
        "SELECT row_to_json(n)::text AS row, channel, recipient, recipient_name, status "
        "FROM notifications n WHERE complaint_id = $1",
        uuid.UUID(cid),
    )
    assert rows and all(PHONE not in r["row"] and NAME not in r["row"] for r in rows)
    assert {r["recipient"] for r in rows if r["channel"] == "sms"} == {ERASED_RECIPIENT}
    assert all(r["status"] in ("sent", "dead") for r in rows)
