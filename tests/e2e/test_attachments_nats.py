"""A channel adapter's files over NATS, by reference (docs/attachments.md):
the adapter uploads the photo over HTTP first (the staff API, with its
operator account's token), then names the reference in the submission it
publishes on ``<root>.intake.<channel>``; intake registers the complaint
with the file. A submission naming a file that was never uploaded is
refused by intake's decider and dead-lettered with the reason."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from nats.js import JetStreamContext

from tests.attachment_files import photo_with_gps
from tests.e2e.kit import Headers
from tests.helpers import eventually
from tousu.shared.consumer import headers as h
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

PHONE = "13912345678"


def wechat(ref: str, files: list[dict[str, Any]]) -> bytes:
    body = {
        "channel": "wechat",
        "external_ref": ref,
        "subject": "水泵漏水",
        "description": "小区水泵漏水三天，照片见附件。",
        "complainant": {"phone": PHONE},
        "attachments": files,
    }
    return json.dumps(body, ensure_ascii=False).encode()


async def test_an_adapter_uploads_then_names_the_file_in_its_submission(
    running_services: Path,
    gateway: httpx.AsyncClient,
    staff: dict[str, Headers],
    js: JetStreamContext,
    settings: Settings,
    store: PostgresEventStore,
) -> None:
    uploaded = await gateway.post(
        "/api/v1/attachments",
        files={"file": ("IMG_0001.jpg", photo_with_gps(), "image/jpeg")},
        data={"phone": PHONE},
        headers=staff["op-li"],  # the adapter's account
    )
    assert uploaded.status_code == 201, uploaded.text
    photo = uploaded.json()

    ref = f"wx-{uuid.uuid4()}"
    subject = settings.naming.intake("wechat")
    await js.publish(subject, wechat(ref, [photo]), headers={"Nats-Msg-Id": f"wechat:{ref}"})

    received: dict[str, Any] = {}

    async def registered() -> bool:
        nonlocal received
        row = await store.pool.fetchrow(
            "SELECT stream_id, data FROM events WHERE type = 'ComplaintReceived' "
            "AND data ->> 'external_ref' = $1",
            ref,
        )
        if row is None:
            return False
        data = row["data"]
        received = json.loads(data) if isinstance(data, str) else dict(data)
        return True

    await eventually(registered, "the WeChat submission registered", timeout=30)
    assert received["attachments"] == [photo]
    # Sealed with the key intake sealed the complainant's details with.
    assert received["complainant"]["key"] == photo["owner"]

    never = {**photo, "sha256": "f" * 64}
    forged = f"wx-{uuid.uuid4()}"
    await js.publish(subject, wechat(forged, [never]), headers={"Nats-Msg-Id": f"wechat:{forged}"})
    dlq = settings.naming.dlq("intake-submissions")
    error = ""

    async def dead_lettered() -> bool:
        nonlocal error
        try:
            msg = await js.get_last_msg(settings.naming.dlq_stream, dlq)
        except Exception:
            return False
        if json.loads(msg.data or b"{}").get("external_ref") != forged:
            return False
        error = h.decode_text((msg.headers or {}).get(h.ERROR))
        return True

    await eventually(dead_lettered, "the submission naming no stored file dead-lettered", 30)
    assert "upload it first" in error
    registered_forged = await store.pool.fetchval(
        "SELECT count(*) FROM events WHERE data ->> 'external_ref' = $1", forged
    )
    assert registered_forged == 0
