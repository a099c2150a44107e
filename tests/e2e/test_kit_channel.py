"""A channel adapter built on the kit alone (docs/examples/channel_adapter.py),
run as the outside program it is against running services and the gateway:
it files complaints with their photos and reads their tracking numbers back;
run again with the same forms, it files nothing new. The kit's refusals: a
submission breaking the published schema is refused before it is sent, one
for another channel by tousu."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.attachment_files import photo_with_gps
from tests.e2e.kit import Headers
from tests.e2e.kit_processes import example_env, gateway_process, run_example
from tousu.kit import ChannelClient, Refused, Retry, Unavailable
from tousu.shared.application.credentials import credential_key, issue
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


def forms(photo: str) -> list[dict[str, Any]]:
    run = uuid.uuid4().hex[:8]
    return [
        {
            "reference": f"kiosk-{run}-1",
            "name": "王芳",
            "phone": "13912345678",
            "subject": "大厅取号机故障",
            "description": "服务大厅取号机坏了一上午，无人处理。",
            "location": "市民服务中心一楼",
            "photos": [photo],
        },
        {
            "reference": f"kiosk-{run}-2",
            "name": "李强",
            "phone": "13800001111",
            "subject": "窗口工作人员态度差",
            "description": "3号窗口工作人员不耐烦，拒绝解释材料要求。",
            "photos": [photo],
        },
    ]


async def received_rows(store: PostgresEventStore, references: list[str]) -> dict[str, Any]:
    rows = await store.pool.fetch(
        "SELECT data FROM events WHERE type = 'ComplaintReceived' "
        "AND data ->> 'external_ref' = any($1::text[])",
        references,
    )
    out = {}
    for row in rows:
        data = json.loads(row["data"]) if isinstance(row["data"], str) else dict(row["data"])
        out[data["external_ref"]] = data
    return out


async def test_the_example_adapter_files_with_photos_and_a_resend_files_nothing(
    running_services: Path,
    staff: dict[str, Headers],
    child_env: dict[str, str],
    settings: Settings,
    store: PostgresEventStore,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "kiosk"
    folder.mkdir()
    (folder / "IMG_0001.jpg").write_bytes(photo_with_gps())
    filled = forms("IMG_0001.jpg")
    (folder / "forms.json").write_text(json.dumps(filled, ensure_ascii=False), encoding="utf-8")
    references = [f["reference"] for f in filled]

    async with gateway_process(child_env, running_services) as url:
        env = example_env(
            child_env,
            TOUSU_NATS_URL=str(settings.nats_url),
            TOUSU_SUBJECT_ROOT=settings.subject_root,
            TOUSU_CREDENTIAL=issue(credential_key(settings), "channel", "walk_in"),
            TOUSU_GATEWAY_URL=url,
            TOUSU_API_TOKEN=staff["op-li"]["Authorization"].removeprefix("Bearer "),
        )
        code, out, err = await run_example("channel_adapter.py", env, "forms.json", cwd=folder)
        assert code == 0, out + err
        first = [json.loads(line) for line in out.splitlines()]
        code, out, err = await run_example("channel_adapter.py", env, "forms.json", cwd=folder)
        assert code == 0, out + err
        again = [json.loads(line) for line in out.splitlines()]
        await refused(settings, store)

    assert [line["reference"] for line in first] == references
    stored = await received_rows(store, references)
    for line in first:
        assert line["repeated"] is False
        assert line["attachments"] == 1
        data = stored[line["reference"]]
        # The number the kiosk printed is the complaint's, read back from tousu.
        assert line["tracking_no"] == data["tracking_no"]
        assert line["status"] == "received"
        (photo,) = data["attachments"]
        assert photo["media_type"] == "image/jpeg"
        # Sealed with the key of the visitor the submission names.
        assert photo["owner"] == data["complainant"]["key"]
        assert data["channel"] == "walk_in"
    # The same forms again: the same complaints, nothing new filed.
    assert [(x["tracking_no"], x["repeated"]) for x in again] == [
        (x["tracking_no"], True) for x in first
    ]
    count = await store.pool.fetchval(
        "SELECT count(*) FROM events WHERE type = 'ComplaintReceived' "
        "AND data ->> 'external_ref' = any($1::text[])",
        references,
    )
    assert count == 2


async def refused(settings: Settings, store: PostgresEventStore) -> None:
    """A submission breaking the schema, by the kit; another channel's, by tousu."""
    credential = issue(credential_key(settings), "channel", "walk_in")
    good = {
        "channel": "walk_in",
        "complainant": {"name": "王芳", "phone": "13912345678"},
        "subject": "取号机故障",
        "description": "取号机坏了。",
    }
    url = str(settings.nats_url)
    # Checked against the published schema before anything is sent: on a root
    # where nothing answers, the refusal can only be the kit's own.
    once = Retry(attempts=1, timeout=1.0)
    async with ChannelClient(url, credential, subject_root="nobody", retry=once) as alone:
        with pytest.raises(Refused) as broken:
            await alone.submit({**good, "subject": ""}, reference=f"k-{uuid.uuid4()}")
        assert broken.value.code == "validation_error"
        assert {d["field"] for d in broken.value.details} == {"subject"}
        with pytest.raises(Unavailable):  # the same, unbroken, is sent
            await alone.submit(good, reference=f"k-{uuid.uuid4()}")
    async with ChannelClient(url, credential, subject_root=settings.subject_root) as kit:
        # The walk-in kiosk's credential files walk-ins only.
        other = f"k-{uuid.uuid4()}"
        with pytest.raises(Refused) as web:
            await kit.submit({**good, "channel": "web"}, reference=other)
        assert web.value.code == "wrong_channel"
    count = await store.pool.fetchval(
        "SELECT count(*) FROM events WHERE data ->> 'external_ref' = $1", other
    )
    assert count == 0
