"""Notices on real PostgreSQL and a real local SMTP server (aiosmtpd): the outbox,
the dispatcher's retries and leases, and each notice sent exactly once."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from structlog.testing import capture_logs

from tests.helpers import eventually
from tousu.services.followup.notices import (
    Dispatcher,
    LetterSender,
    LoggingSmsSender,
    NoticeChannel,
    NoticeKind,
    NoticeStatus,
    Notification,
    RetryPolicy,
    Sender,
    SmtpSender,
    WebSender,
    channel_for,
    enqueue,
    enqueue_all,
    get_notification,
    list_notifications,
)
from tousu.services.followup.notices.claims import Delivery, claim_due, mark_sent
from tousu.shared.events.types import Channel
from tousu.shared.settings import NotifySection, SmtpSection
from tousu.shared.store.postgres import PostgresEventStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
FROM = "noreply@tousu.test"
TITLE = "投诉受理告知书（编号 TS-2026-000123）"
BODY = "您好：\n您于2026年11月20日提交的投诉已受理。\n我们将在15个工作日内反馈处理结果。"
# As sent: addressed by the (sealed) name at send time, as the preview shows it.
SENT_BODY = BODY.replace("您好：", "尊敬的张三：", 1)


# -- a real SMTP server ----------------------------------------------------


class Inbox:
    """aiosmtpd handler: keeps what it accepts; can refuse on demand.

    Runs in aiosmtpd's own thread, hence the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[EmailMessage] = []
        self._refusals: deque[str] = deque()
        self.refuse_all: str | None = None

    def refuse_next(self, count: int, reply: str) -> None:
        with self._lock:
            self._refusals.extend([reply] * count)

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.refuse_all:
                return self.refuse_all
            if self._refusals:
                return self._refusals.popleft()
            msg = email.message_from_bytes(envelope.content, policy=default_policy)
            assert isinstance(msg, EmailMessage)
            msg["X-Test-Rcpt-To"] = ",".join(envelope.rcpt_tos)
            self._messages.append(msg)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings(self) -> SmtpSection:
        return SmtpSection(host="127.0.0.1", port=self.port, from_address=FROM, timeout=5)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- helpers -----------------------------------------------------------------


def notice(
    channel: NoticeChannel = NoticeChannel.EMAIL,
    kind: NoticeKind = NoticeKind.ACCEPTANCE,
    *,
    source: uuid.UUID | None = None,
    recipient: str | None = "zhang.san@example.com",
    tracking_no: str = "TS-2026-000123",
    **fields: Any,
) -> Notification:
    values: dict[str, Any] = {
        "source_event_id": source or uuid.uuid4(),
        "complaint_id": uuid.uuid4(),
        "tracking_no": tracking_no,
        "kind": kind,
        "channel": channel,
        "recipient": recipient,
        "recipient_name": "张三",
        "title": TITLE,
        "body": BODY,
        **fields,
    }
    return Notification(**values)


def quick(**overrides: Any) -> NotifySection:
    values: dict[str, Any] = {
        "backoff_base": 0.05,
        "backoff_max": 0.2,
        "max_attempts": 5,
        "lease": 10.0,
        "recheck": 0.5,
        "batch_size": 5,
        **overrides,
    }
    return NotifySection(**values)


def dispatcher(
    store: PostgresEventStore,
    database_url: str,
    senders: dict[NoticeChannel, Sender],
    *,
    pool: asyncpg.Pool | None = None,
    name: str | None = None,
    **settings: Any,
) -> Dispatcher:
    return Dispatcher(
        pool or store.pool,
        senders,
        database_url=database_url,
        settings=quick(**settings),
        name=name,
    )


async def put(store: PostgresEventStore, *notices: Notification) -> None:
    async with store.pool.acquire() as conn, conn.transaction():
        for n in notices:
            await enqueue(conn, n)


async def status_of(store: PostgresEventStore, n: Notification) -> NoticeStatus | None:
    found = await get_notification(store.pool, n.id)
    return found.status if found else None


def has_status(store: PostgresEventStore, n: Notification, status: NoticeStatus) -> Any:
    async def check() -> bool:
        return await status_of(store, n) == status

    return check


async def count_rows(store: PostgresEventStore) -> int:
    return int(await store.pool.fetchval("SELECT count(*) FROM notifications"))


# -- the outbox ----------------------------------------------------------------


async def test_enqueue_twice_for_one_event_is_one_row(store: PostgresEventStore) -> None:
    source = uuid.uuid4()
    first = notice(source=source)
    async with store.pool.acquire() as conn:
        assert await enqueue(conn, first) is True
        assert await enqueue(conn, notice(source=source)) is False
        # The same event's notice on another channel is another notice.
        assert await enqueue(conn, notice(NoticeChannel.WEB, source=source, recipient=None))
    assert await count_rows(store) == 2
    stored = await get_notification(store.pool, first.id)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.title) == (NoticeStatus.PENDING, 0, TITLE)


async def test_enqueue_all_writes_the_new_ones_in_one_statement(
    store: PostgresEventStore,
) -> None:
    source = uuid.uuid4()
    mail = notice(source=source)
    web = notice(NoticeChannel.WEB, source=source, recipient=None)
    letter = notice(NoticeChannel.LETTER, source=source, recipient="北京市朝阳区某路 1 号")
    async with store.pool.acquire() as conn:
        assert await enqueue_all(conn, []) == 0
        assert await enqueue(conn, mail) is True
        # The one already there is left as it is; the other two are new.
        assert await enqueue_all(conn, [mail, web, letter]) == 2
        assert await enqueue_all(conn, [web, letter]) == 0
    assert await count_rows(store) == 3
    stored = [await get_notification(store.pool, n.id) for n in (mail, web, letter)]
    assert [(r.channel, r.recipient) for r in stored if r] == [
        (NoticeChannel.EMAIL, mail.recipient),
        (NoticeChannel.WEB, None),
        (NoticeChannel.LETTER, "北京市朝阳区某路 1 号"),
    ]


async def test_enqueue_in_a_rolled_back_transaction_leaves_no_row(
    store: PostgresEventStore,
) -> None:
    class HandlerFailed(Exception):
        pass

    with pytest.raises(HandlerFailed):
        async with store.pool.acquire() as conn, conn.transaction():
            assert await enqueue(conn, notice())
            raise HandlerFailed
    assert await count_rows(store) == 0


def test_a_notice_other_than_web_needs_a_recipient() -> None:
    with pytest.raises(ValueError, match="needs a recipient"):
        notice(NoticeChannel.SMS, recipient=" ")
    assert notice(NoticeChannel.WEB, recipient=None).recipient is None


# -- e-mail ------------------------------------------------------------------------


def listening(store: PostgresEventStore, dispatchers: int = 1) -> Any:
    """Whether that many dispatchers have their LISTEN connection up."""

    async def check() -> bool:
        found = await store.pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%tousu_outbox%'"
        )
        return int(found) >= dispatchers

    return check


async def test_email_arrives_once_with_encoded_subject_body_and_message_id(
    store: PostgresEventStore, database_url: str, smtp: SmtpServer
) -> None:
    sender = SmtpSender(smtp.settings(), "某市政务服务中心")
    # A re-check far beyond the test's patience: only NOTIFY can wake it.
    d = dispatcher(store, database_url, {NoticeChannel.EMAIL: sender}, recheck=60)
    n = notice()
    async with d.running():
        await eventually(listening(store), "the dispatcher to LISTEN")
        await put(store, n)
        await eventually(has_status(store, n, NoticeStatus.SENT), "the e-mail to be sent")

    [msg] = smtp.inbox.messages
    assert msg["Subject"] == TITLE
    raw = msg.as_bytes()
    assert b"Subject: =?utf-8?" in raw  # RFC 2047, not raw UTF-8 in a header
    assert msg["Message-ID"] == f"<{n.id}@tousu.test>"
    assert msg["X-Test-Rcpt-To"] == "zhang.san@example.com"
    assert msg["To"].addresses[0].display_name == "张三"
    assert msg["From"].addresses[0].display_name == "某市政务服务中心"
    assert msg["From"].addresses[0].addr_spec == FROM
    assert msg.get_content_charset() == "utf-8"
    # Lines end in CRLF on the wire (and in 8-bit bodies as received).
    assert msg.get_content().replace("\r\n", "\n").strip() == SENT_BODY
    stored = await get_notification(store.pool, n.id)
    assert stored is not None
    assert stored.provider_message_id == msg["Message-ID"]
    assert (stored.attempts, stored.last_error) == (1, None)
    assert stored.sent_at is not None


async def test_smtp_server_down_is_retried_with_backoff_until_it_is_back(
    store: PostgresEventStore, database_url: str, smtp: SmtpServer
) -> None:
    smtp.stop()
    d = dispatcher(
        store,
        database_url,
        {NoticeChannel.EMAIL: SmtpSender(smtp.settings())},
        backoff_base=1.0,
        backoff_max=2.0,
    )
    n = notice()
    await put(store, n)

    assert await d.run_once() == 1
    failed = await get_notification(store.pool, n.id)
    assert failed is not None
    assert (failed.status, failed.attempts) == (NoticeStatus.FAILED, 1)
    assert failed.last_error and "Connect" in failed.last_error
    wait = await store.pool.fetchval(
        "SELECT extract(epoch FROM next_attempt_at - now()) FROM notifications WHERE id = $1", n.id
    )
    assert 0.5 < float(wait) <= 1.0
    assert await d.run_once() == 0  # not due yet: the back-off holds

    smtp.start()
    async with d.running():
        await eventually(has_status(store, n, NoticeStatus.SENT), "the retry to succeed")
    assert [m["Message-ID"] for m in smtp.inbox.messages] == [f"<{n.id}@tousu.test>"]
    sent = await get_notification(store.pool, n.id)
    assert sent is not None and sent.attempts == 2 and sent.last_error is None


async def test_temporary_refusals_are_retried_then_the_notice_is_sent(
    store: PostgresEventStore, database_url: str, smtp: SmtpServer
) -> None:
    smtp.inbox.refuse_next(2, "451 4.3.0 Try again later")
    d = dispatcher(store, database_url, {NoticeChannel.EMAIL: SmtpSender(smtp.settings())})
    n = notice()
    await put(store, n)
    async with d.running():
        await eventually(has_status(store, n, NoticeStatus.SENT), "the third try to succeed")
    assert len(smtp.inbox.messages) == 1
    sent = await get_notification(store.pool, n.id)
    assert sent is not None and sent.attempts == 3


def test_backoff_doubles_up_to_its_cap_then_gives_up() -> None:
    policy = RetryPolicy(max_attempts=5, backoff_base=0.05, backoff_max=0.2)
    assert [policy.retry_in(a) for a in range(1, 6)] == [0.05, 0.1, 0.2, 0.2, None]


async def test_after_the_last_try_or_a_permanent_refusal_the_notice_is_dead(
    store: PostgresEventStore, database_url: str, smtp: SmtpServer
) -> None:
    temporary, permanent = notice(), notice(recipient="nobody@example.com")
    d = dispatcher(
        store, database_url, {NoticeChannel.EMAIL: SmtpSender(smtp.settings())}, max_attempts=3
    )
    smtp.inbox.refuse_all = "451 4.3.0 Try again later"
    await put(store, temporary)
    async with d.running():
        await eventually(has_status(store, temporary, NoticeStatus.DEAD), "the tries to run out")
        smtp.inbox.refuse_all = "550 5.1.1 No such user"
        await put(store, permanent)
        await eventually(has_status(store, permanent, NoticeStatus.DEAD), "a permanent refusal")

    dead = {r.recipient: r for r in await list_notifications(store.pool, status="dead")}
    assert len(dead) == 2
    gave_up = dead["zhang.san@example.com"]
    assert gave_up.attempts == 3 and gave_up.last_error and "451" in gave_up.last_error
    refused = dead["nobody@example.com"]
    assert refused.attempts == 1 and refused.last_error and "550" in refused.last_error
    assert await list_notifications(store.pool, status=NoticeStatus.PENDING) == []
    assert smtp.inbox.messages == []


class MeetingSender:
    """Holds its dispatcher's sends until the other dispatcher sends too, so
    the two claim and send side by side rather than one doing all the work."""

    def __init__(self, inner: Sender, mine: asyncio.Event, other: asyncio.Event) -> None:
        self.inner, self.mine, self.other = inner, mine, other

    async def send(self, n: Notification) -> str:
        self.mine.set()
        async with asyncio.timeout(10):
            await self.other.wait()
        return await self.inner.send(n)


async def test_two_dispatchers_send_each_of_50_notices_exactly_once(
    store: PostgresEventStore, database_url: str, smtp: SmtpServer
) -> None:
    notices = [notice(tracking_no=f"TS-2026-{i:06d}") for i in range(50)]
    pools = [await asyncpg.create_pool(database_url, min_size=1, max_size=4) for _ in range(2)]
    sending = [asyncio.Event(), asyncio.Event()]
    try:
        replicas = [
            dispatcher(
                store,
                database_url,
                {
                    NoticeChannel.EMAIL: MeetingSender(
                        SmtpSender(smtp.settings()), sending[i], sending[1 - i]
                    )
                },
                pool=pool,
                name=f"replica-{i}",
            )
            for i, pool in enumerate(pools)
        ]
        async with replicas[0].running(), replicas[1].running():
            await eventually(listening(store, 2), "both dispatchers to LISTEN")
            await put(store, *notices)

            async def all_sent() -> bool:
                return len(await list_notifications(store.pool, status="sent", limit=100)) == 50

            await eventually(all_sent, "all 50 notices to be sent", timeout=20)
    finally:
        for pool in pools:
            await pool.close()

    received = Counter(m["Message-ID"] for m in smtp.inbox.messages)
    assert received == Counter({f"<{n.id}@tousu.test>": 1 for n in notices})
    rows = await store.pool.fetch("SELECT claimed_by, count(*) FROM notifications GROUP BY 1")
    by_replica: dict[str, int] = {r["claimed_by"]: r["count"] for r in rows}
    assert sum(by_replica.values()) == 50
    assert set(by_replica) == {"replica-0", "replica-1"}


async def test_a_notice_claimed_by_a_dispatcher_that_died_is_sent_after_the_lease(
    store: PostgresEventStore, database_url: str, smtp: SmtpServer
) -> None:
    n = notice()
    await put(store, n)
    # A dispatcher claims it and dies before sending.
    dead_token, [claimed] = await claim_due(
        store.pool,
        channels=["email"],
        limit=10,
        lease=0.5,
        max_attempts=5,
        claimed_by="crashed",
    )
    assert claimed.status == NoticeStatus.SENDING
    d = dispatcher(store, database_url, {NoticeChannel.EMAIL: SmtpSender(smtp.settings())})
    assert await d.run_once() == 0  # leased: nobody else may send it

    async with d.running():
        await eventually(has_status(store, n, NoticeStatus.SENT), "the lease to run out")
    assert len(smtp.inbox.messages) == 1
    # The dead claim cannot record an outcome over its successor's.
    assert await mark_sent(store.pool, [Delivery(n.id, dead_token, "late")]) == [False]
    sent = await get_notification(store.pool, n.id)
    assert sent is not None and sent.attempts == 2 and sent.provider_message_id != "late"


# -- letters, SMS, web ----------------------------------------------------------


async def test_deliveries_are_recorded_together_and_a_lost_claim_is_not(
    store: PostgresEventStore,
) -> None:
    notices = [notice() for _ in range(3)]
    await put(store, *notices)
    token, claimed = await claim_due(
        store.pool, channels=["email"], limit=10, lease=60, max_attempts=5, claimed_by="d"
    )
    assert len(claimed) == 3
    lost = uuid.uuid4()  # a claim another dispatcher took over
    kept = await mark_sent(
        store.pool,
        [
            Delivery(claimed[0].id, token, "p-0"),
            Delivery(claimed[1].id, lost, "p-1"),
            Delivery(claimed[2].id, token, "p-2"),
        ],
    )
    assert kept == [True, False, True]
    statuses = {n.id: await status_of(store, n) for n in notices}
    assert statuses[claimed[0].id] == statuses[claimed[2].id] == NoticeStatus.SENT
    assert statuses[claimed[1].id] == NoticeStatus.SENDING


async def test_letters_are_written_as_printable_files(
    store: PostgresEventStore, database_url: str, tmp_path: Path
) -> None:
    letters = tmp_path / "letters"
    sender = LetterSender(letters, "某市政务服务中心")
    address = "北京市东城区某某路1号\n2单元301室\n100010"
    first = notice(NoticeChannel.LETTER, recipient=address)
    progress = [
        notice(NoticeChannel.LETTER, NoticeKind.PROGRESS, recipient=address, title=f"进展{i}")
        for i in (1, 2)
    ]
    d = dispatcher(store, database_url, {NoticeChannel.LETTER: sender})
    await put(store, first, *progress)
    async with d.running():
        for n in (first, *progress):
            await eventually(has_status(store, n, NoticeStatus.SENT), "the letter to be written")

    stored = await get_notification(store.pool, first.id)
    assert stored is not None and stored.provider_message_id is not None
    path = letters / stored.provider_message_id
    day = path.parent.name
    assert stored.sent_at is not None
    assert day in {
        stored.created_at.astimezone(SHANGHAI).date().isoformat(),
        stored.sent_at.astimezone(SHANGHAI).date().isoformat(),
    }
    assert path.name == "TS-2026-000123-acceptance.txt"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("北京市东城区某某路1号\n2单元301室\n100010\n张三 收\n")
    for part in (
        TITLE,
        "投诉编号：TS-2026-000123",
        "尊敬的张三：",
        "某市政务服务中心",
        str(first.id),
    ):
        assert part in text
    assert "　　我们将在15个工作日内反馈处理结果。" in text
    assert "您好：" not in text  # one salutation, the letter's, by name
    # Two progress letters on one day: two files. A retried letter: the same file.
    assert len(list(path.parent.glob("TS-2026-000123-progress*.txt"))) == 2
    assert await sender.send(first) == stored.provider_message_id
    assert len(list(path.parent.iterdir())) == 3


async def test_sms_is_logged_and_web_notices_are_delivered(
    store: PostgresEventStore, database_url: str
) -> None:
    sms = notice(NoticeChannel.SMS, recipient="13812345678")
    web = notice(NoticeChannel.WEB, recipient=None)
    email_notice = notice()
    with capture_logs() as logs:
        senders: dict[NoticeChannel, Sender] = {
            NoticeChannel.SMS: LoggingSmsSender("某市政务服务中心"),
            NoticeChannel.WEB: WebSender(),
        }
        d = dispatcher(store, database_url, senders)
        await put(store, sms, web, email_notice)
        async with d.running():
            await eventually(has_status(store, sms, NoticeStatus.SENT), "the SMS")
            await eventually(has_status(store, web, NoticeStatus.SENT), "the web notice")

    [logged] = [e for e in logs if e["event"] == "sms (logged, not sent)"]
    assert logged["phone"] == "138****5678"
    # The log stand-in writes the text as stored: the name (sealed) is not in it.
    assert logged["text"] == f"【某市政务服务中心】{TITLE}：{BODY}"
    stored_sms = await get_notification(store.pool, sms.id)
    stored_web = await get_notification(store.pool, web.id)
    assert stored_sms is not None and stored_sms.provider_message_id == f"sms-log:{sms.id}"
    assert stored_web is not None and stored_web.provider_message_id == f"web:{web.id}"
    # No e-mail sender here: the e-mail waits for a dispatcher that has one.
    assert await status_of(store, email_notice) == NoticeStatus.PENDING


# -- choosing the channel --------------------------------------------------------

E, S, L, W = (NoticeChannel.EMAIL, NoticeChannel.SMS, NoticeChannel.LETTER, NoticeChannel.WEB)


@pytest.mark.parametrize(
    ("preferred", "email_", "phone", "address", "expected"),
    [
        (Channel.PHONE, False, True, False, [S, W]),
        (Channel.PHONE, True, True, True, [S, E, L, W]),
        (Channel.WEB, True, True, False, [E, S, W]),
        (Channel.WECHAT, False, True, False, [W, S]),
        (Channel.OPEN311, False, False, False, [W]),
        (Channel.LETTER, False, True, True, [L, S, W]),
        (Channel.WALK_IN, False, True, True, [S, L, W]),
        (Channel.WALK_IN, False, False, True, [L, W]),
        (Channel.PHONE, True, False, False, [E, W]),  # no phone after all
        (None, True, False, True, [E, L, W]),
        ("walk_in", False, False, False, [W]),
    ],
)
def test_channel_for(
    preferred: Channel | str | None,
    email_: bool,
    phone: bool,
    address: bool,
    expected: list[NoticeChannel],
) -> None:
    assert channel_for(preferred, email_, phone, address) == expected
