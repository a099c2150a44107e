"""Consumer ``notifier``: turns the events a complainant must hear about into
notices in the outbox, and the dispatcher that sends them.

Channels: the complainant's primary channel (``channel_for``'s first choice)
and, always, the web page, so that the public lookup by tracking number shows
every notice whatever happened to the e-mail, SMS or letter. The fallbacks
``channel_for`` lists are not sent to up front: a complainant should hear once
through the channel they chose, not three times.

Each notice's id derives from the source event, kind and channel, so a
redelivered event enqueues nothing new; the notices commit with the consumer's
tracking row (``uow.defer``), so they exist if and only if the event counted
as handled.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from tousu.services.followup.notices import (
    OUTBOX_CHANNEL,
    Dispatcher,
    NoticeChannel,
    NoticeKind,
    Notification,
    build_senders,
    channel_for,
    enqueue_all,
)
from tousu.shared.application.catalogue import FOLLOWUP
from tousu.shared.consumer import Consumer
from tousu.shared.domain.context import NoticeRenderer
from tousu.shared.domain.imports import imported_versions
from tousu.shared.domain.state import ComplaintState, replay
from tousu.shared.events import Envelope, decode
from tousu.shared.events import types as ev
from tousu.shared.events.envelope import STREAM_PREFIX
from tousu.shared.logs import get_logger
from tousu.shared.privacy.reveal import reveal_history
from tousu.shared.service import Runtime
from tousu.shared.store import UnitOfWork
from tousu.shared.store.postgres import Connection, PgUnitOfWork

log = get_logger("tousu.notifier")

# Its name and the events it sends a notice on: the catalogue's.
(_ENTRY,) = [entry for entry in FOLLOWUP.consumers if entry.name == "notifier"]
CONSUMER = _ENTRY.name
EVENT_TYPES = _ENTRY.event_types
# A title for a text without one (the plain renderer of tests and tools).
_TITLES = {
    NoticeKind.ACCEPTANCE: "受理告知书",
    NoticeKind.REJECTION: "不予受理告知书",
    NoticeKind.EXTENSION: "延期告知",
    NoticeKind.PROGRESS: "处理进展",
    NoticeKind.RESULT: "处理结果反馈",
    NoticeKind.FOLLOW_UP_SURVEY: "回访满意度调查",
}


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    text: str  # title, blank line, body: as events store it

    @property
    def title_and_body(self) -> tuple[str, str]:
        title, sep, body = self.text.partition("\n\n")
        if not sep:
            return _TITLES[self.kind], self.text
        return title.strip(), body


def notice_for(
    envelope: Envelope, history: list[Envelope], state: ComplaintState, render: NoticeRenderer
) -> Notice | None:
    """The notice ``envelope`` calls for, or None (a refused extension, a silent progress)."""
    data = decode(envelope)
    match data:
        case ev.ComplaintAccepted():
            return Notice(NoticeKind.ACCEPTANCE, data.notice_text)
        case ev.ComplaintRejected():
            return Notice(NoticeKind.REJECTION, data.notice_text)
        case ev.ExtensionDecided() if data.approved and data.notice_text:
            return Notice(NoticeKind.EXTENSION, data.notice_text)
        case ev.ProgressReported() if data.notify_complainant and data.notice_text:
            return Notice(NoticeKind.PROGRESS, data.notice_text)
        case ev.ResultFeedbackSent():
            return Notice(NoticeKind.RESULT, data.notice_text or _result(history, state, render))
        case ev.FollowUpScheduled():
            text = render(
                NoticeKind.FOLLOW_UP_SURVEY.value,
                state.language,
                tracking_no=state.tracking_no,
                subject=state.subject,
                fed_back_at=envelope.occurred_at,
                respond_by=data.due.due_at,
            )
            return Notice(NoticeKind.FOLLOW_UP_SURVEY, text)
    return None


def _result(history: list[Envelope], state: ComplaintState, render: NoticeRenderer) -> str:
    resolved = next((decode(e) for e in reversed(history) if e.type == "ComplaintResolved"), None)
    if not isinstance(resolved, ev.ComplaintResolved):
        raise LookupError(f"{state.stream_id}: feedback sent without a ComplaintResolved")
    return render(
        NoticeKind.RESULT.value,
        state.language,
        tracking_no=state.tracking_no,
        subject=state.subject,
        result=resolved.result,
        basis=resolved.basis,
        improvements=resolved.improvements,
        department=state.department,
        attachments=resolved.attachments,
    )


def notifications(envelope: Envelope, state: ComplaintState, notice: Notice) -> list[Notification]:
    who = state.complainant or ev.Complainant()
    preferred = who.preferred_channel or state.channel
    usable = channel_for(
        preferred,
        bool(who.email),
        bool(who.phone),
        bool(who.address),
        has_wechat=bool(who.wechat_openid),
    )
    chosen = list(dict.fromkeys([*usable[:1], NoticeChannel.WEB]))
    recipients = {
        NoticeChannel.EMAIL: who.email,
        NoticeChannel.SMS: who.phone,
        NoticeChannel.LETTER: who.address,
        NoticeChannel.WECHAT: who.wechat_openid,
        NoticeChannel.WEB: None,
    }
    name = None if who.anonymous else who.name
    # Stored as decided (您好：); the dispatcher addresses it by the sealed
    # name when it sends it (Notification.sendable), as the preview shows it.
    title, body = notice.title_and_body
    assert state.tracking_no is not None  # every complaint has one from its first event
    return [
        Notification(
            source_event_id=envelope.event_id,
            complaint_id=uuid.UUID(envelope.stream_id.removeprefix(STREAM_PREFIX)),
            tracking_no=state.tracking_no,
            kind=notice.kind,
            channel=channel,
            recipient=recipients[channel],
            recipient_name=name,
            complainant=who.key,  # whose key seals the contact in the outbox
            language=state.language,
            title=title,
            body=body,
        )
        for channel in chosen
    ]


def notifier(render: NoticeRenderer) -> Consumer:
    async def handle(envelope: Envelope, uow: UnitOfWork) -> None:
        if not isinstance(uow, PgUnitOfWork):  # the outbox is a PostgreSQL table
            raise TypeError("the notifier needs the PostgreSQL event store")
        # The stream as it was at this event: a later event must not change
        # what an earlier notice says when it is redelivered.
        stream = await uow.read_stream(envelope.stream_id)
        if envelope.version in imported_versions(stream):
            # An earlier system's history (tousu import): that system told
            # its complainant at the time; nobody is told again years on.
            return
        history = [e for e in stream if e.version <= envelope.version]
        state = replay(history)
        notice = notice_for(envelope, history, state, render)
        if notice is None:
            return
        uow.defer(_enqueuer(envelope, history, notice))
        uow.wake_after_commit(OUTBOX_CHANNEL)
        log.info("notice enqueued", kind=notice.kind, tracking_no=state.tracking_no)

    # What it writes is decided by the history up to the event alone, so an
    # event that called for no notice calls for none when redelivered: it
    # is not tracked.
    return Consumer(
        CONSUMER, handle, event_types=EVENT_TYPES, record_no_ops=False, reads_streams=True
    )


def _enqueuer(
    envelope: Envelope, history: list[Envelope], notice: Notice
) -> Callable[[Connection], Awaitable[None]]:
    async def write(conn: Connection) -> None:
        # The recipient is the one place the notifier needs personal data:
        # opened here, on the transaction's connection, and nowhere else.
        state = replay(await reveal_history(conn, history))
        # Woken after the commit instead (wake_after_commit): a NOTIFY in
        # the transaction would serialise the commits of all notifiers.
        await enqueue_all(conn, notifications(envelope, state, notice), notify=False)

    return write


@asynccontextmanager
async def dispatching(runtime: Runtime) -> AsyncIterator[None]:
    """The outbox dispatcher, running for as long as the service does."""
    settings = runtime.settings
    assert settings.database_url is not None  # run_service checked it
    notify = settings.notify
    dispatcher = Dispatcher(
        runtime.store.pool,
        build_senders(settings, notify),
        database_url=settings.database_url,
        settings=notify,
        name=f"followup:{uuid.uuid4().hex[:8]}",
        registry=runtime.registry,
    )
    async with dispatcher.running():
        log.info("notice dispatcher running", channels=[c.value for c in dispatcher.senders])
        yield
