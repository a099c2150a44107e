"""Personal data at rest: the outbox holds contacts sealed with the
complainant's key (opened only to send), erasure reaches them, complainant
keys are wrapped by default with a key-encryption key kept in the data folder,
and what earlier versions stored plain is protected by the upgrade."""

from __future__ import annotations

import hashlib
import hmac
import stat
import uuid
from pathlib import Path

import pytest

from tests.helpers import tousu
from tousu.services.followup.notices import (
    NoticeChannel,
    NoticeKind,
    Notification,
    enqueue_all,
    get_notification,
    list_notifications,
)
from tousu.services.followup.notices.claims import claim_due
from tousu.services.followup.notices.dispatcher import Dispatcher
from tousu.services.followup.notices.sender import SendError
from tousu.shared.events import NewEvent
from tousu.shared.privacy import erase as erasure
from tousu.shared.privacy.crypto import (
    LEGACY_DIGEST_KEY,
    MASTER_KEY_ENV,
    MASTER_KEY_FILE,
    SealError,
)
from tousu.shared.privacy.keys import data_keys, key_for
from tousu.shared.privacy.upgrade import Upgraded, upgrade
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

PHONE = "13655550199"
NAME = "周八"
ADDRESS = "上海市黄浦区某路 8 号"


def notice(channel: NoticeChannel, recipient: str | None, owner: uuid.UUID | None) -> Notification:
    return Notification(
        source_event_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        tracking_no="TS2612-00001-00001",
        kind=NoticeKind.ACCEPTANCE,
        channel=channel,
        recipient=recipient,
        recipient_name=NAME,
        complainant=owner,
        title="受理告知书",
        body="您的投诉已受理。",
    )


async def raw_rows(store: PostgresEventStore) -> str:
    rows = await store.pool.fetch("SELECT row_to_json(n)::text AS row FROM notifications n")
    return "\n".join(r["row"] for r in rows)


@pytest.fixture(autouse=True)
def no_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)


async def test_the_outbox_seals_contacts_opens_them_to_send_and_erasure_reaches_them(
    store: PostgresEventStore, settings: Settings
) -> None:
    async with store.pool.acquire() as conn, conn.transaction():
        owner, _ = await key_for(conn, PHONE, None)
        sms = notice(NoticeChannel.SMS, PHONE, owner)
        web = notice(NoticeChannel.WEB, None, owner)
        letter = notice(NoticeChannel.LETTER, ADDRESS, None)  # no events' key: one is made
        assert await enqueue_all(conn, [sms, web, letter]) == 3

    stored = await raw_rows(store)
    assert [p for p in (PHONE, NAME, ADDRESS) if p in stored] == []
    opened = await get_notification(store.pool, sms.id)
    assert opened is not None and (opened.recipient, opened.recipient_name) == (PHONE, NAME)
    # The dispatcher gets the contact opened, at send time.
    _, claimed = await claim_due(
        store.pool, channels=["sms", "letter"], limit=10, lease=5, max_attempts=3, claimed_by="t"
    )
    assert {(n.channel, n.recipient) for n in claimed} == {
        (NoticeChannel.SMS, PHONE),
        (NoticeChannel.LETTER, ADDRESS),
    }

    async with store.pool.acquire() as conn:
        found = await erasure.find(conn, PHONE)
        assert [f.complainant_id for f in found] == [owner]
        assert await erasure.erase(conn, found, "test") == 1
    after = {n.id: n for n in await list_notifications(store.pool)}
    assert (after[sms.id].recipient, after[sms.id].recipient_name) == (
        erasure.ERASED_RECIPIENT,
        None,
    )
    assert after[sms.id].status == "dead" and after[web.id].recipient_name is None
    assert after[letter.id].recipient == ADDRESS  # someone else's
    stored = await raw_rows(store)
    assert PHONE not in stored and NAME not in stored

    # A notice enqueued after the erasure (a redelivered event) names no one.
    async with store.pool.acquire() as conn, conn.transaction():
        late = [notice(NoticeChannel.SMS, PHONE, owner), notice(NoticeChannel.WEB, None, owner)]
        assert await enqueue_all(conn, late) == 1
    assert PHONE not in await raw_rows(store)


async def test_complainant_keys_are_wrapped_by_default_with_the_data_folder_key(
    store: PostgresEventStore, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with store.pool.acquire() as conn, conn.transaction():
        owner, key = await key_for(conn, PHONE, None)
    row = await store.pool.fetchrow(
        "SELECT data_key, wrapped FROM complainant_keys WHERE complainant_id = $1", owner
    )
    assert row is not None and row["wrapped"] and key not in row["data_key"]
    kek = settings.data_dir / MASTER_KEY_FILE
    assert stat.S_IMODE(kek.stat().st_mode) == 0o600
    assert (await data_keys(store.pool, [owner]))[owner] == key

    # The database without the data folder's key (a dump restored elsewhere) opens nothing.
    monkeypatch.setenv("TOUSU_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(SealError, match=MASTER_KEY_ENV):
        await data_keys(store.pool, [owner])


async def test_the_upgrade_wraps_old_keys_and_seals_old_outbox_rows(
    store: PostgresEventStore, settings: Settings, child_env: dict[str, str]
) -> None:
    owner, key = uuid.uuid4(), bytes(range(32))
    notice_id = uuid.uuid4()
    async with store.pool.acquire() as conn:
        # As an earlier version stored them: the key as it is, the contact plain.
        await conn.execute(
            "INSERT INTO complainant_keys (complainant_id, data_key, wrapped) "
            "VALUES ($1, $2, false)",
            owner,
            key,
        )
        await conn.execute(
            "INSERT INTO notifications (id, source_event_id, complaint_id, tracking_no, kind, "
            "channel, recipient, recipient_name, title, body) "
            "VALUES ($1, $2, $3, 'TS1', 'acceptance', 'sms', $4, $5, 't', 'b')",
            notice_id,
            uuid.uuid4(),
            uuid.uuid4(),
            PHONE,
            NAME,
        )
        assert await upgrade(conn) == Upgraded(keys_wrapped=1, notices_sealed=1)
        assert await upgrade(conn) == Upgraded(keys_wrapped=0, notices_sealed=0)
    assert (await data_keys(store.pool, [owner]))[owner] == key
    assert await store.pool.fetchval(
        "SELECT wrapped AND data_key <> $2 FROM complainant_keys WHERE complainant_id = $1",
        owner,
        key,
    )
    assert PHONE not in await raw_rows(store) and NAME not in await raw_rows(store)
    opened = await get_notification(store.pool, notice_id)
    assert opened is not None and (opened.recipient, opened.recipient_name) == (PHONE, NAME)

    # The command restricts the data folder too.
    letters = settings.data_dir / "letters" / "2026-12-01"
    letters.mkdir(parents=True, mode=0o755)
    (letters / "TS1-acceptance.txt").write_text(ADDRESS, encoding="utf-8")
    (letters / "TS1-acceptance.txt").chmod(0o644)
    code, _, err = await tousu(child_env, "privacy", "upgrade")
    assert code == 0, err
    assert stat.S_IMODE(letters.stat().st_mode) == 0o700
    assert stat.S_IMODE((letters / "TS1-acceptance.txt").stat().st_mode) == 0o600


async def test_the_upgrade_digests_legacy_contacts_again_with_a_secret_key(
    store: PostgresEventStore,
) -> None:
    complaint = uuid.uuid4()
    async with store.unit_of_work() as uow:
        await uow.append(
            f"complaint-{complaint}",
            0,
            [NewEvent(type="ComplaintReceived", data={"complainant": {"phone": PHONE}})],
        )
    # As an earlier version without a master key left it: the key unwrapped,
    # the phone digest keyed with the published constant.
    async with store.pool.acquire() as conn:
        owner = await conn.fetchval("SELECT complainant_id FROM complainant_keys")
        [key] = (await data_keys(conn, [owner])).values()
        legacy = hmac.new(LEGACY_DIGEST_KEY, PHONE.encode(), hashlib.sha256).digest()
        await conn.execute(
            "UPDATE complainant_keys SET data_key = $2, wrapped = false, phone_digest = $3 "
            "WHERE complainant_id = $1",
            owner,
            key,
            legacy,
        )
        assert await upgrade(conn) == Upgraded(keys_wrapped=1, notices_sealed=0)
        digest = await conn.fetchval("SELECT phone_digest FROM complainant_keys")
        assert digest is not None and digest != legacy
        # Still the same person to duplicates and erasure.
        assert [f.complainant_id for f in await erasure.find(conn, PHONE)] == [owner]


class Refusing:
    """A provider whose refusal quotes the recipient, as SMTP servers do."""

    async def send(self, n: Notification) -> str:
        raise SendError(f"550 5.1.1 <{n.recipient}>: no such user", retryable=False)


async def test_a_refusal_quoting_the_recipient_is_stored_without_it(
    store: PostgresEventStore, database_url: str
) -> None:
    mail = notice(NoticeChannel.EMAIL, "zhou.ba@example.com", None)
    async with store.pool.acquire() as conn, conn.transaction():
        await enqueue_all(conn, [mail])
    d = Dispatcher(store.pool, {NoticeChannel.EMAIL: Refusing()}, database_url=database_url)
    assert await d.run_once() == 1
    dead = await get_notification(store.pool, mail.id)
    assert dead is not None and dead.status == "dead" and dead.last_error
    assert "550" in dead.last_error and "zhou.ba@example.com" not in dead.last_error
    assert "zhou.ba" not in await raw_rows(store)
