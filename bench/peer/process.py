"""One of the peer's two OS processes: `python -m bench.peer.process intake|routing`.

intake is the peer's network front: it consumes the submissions the load
generator publishes to a JetStream stream, through a durable pull consumer
(PEER_NATS_URL, PEER_STREAM, PEER_DURABLE, PEER_FETCH_TIMEOUT), saves each complaint (received and
accepted) and acks the message after the save; a message redelivered after its
save (the ack lost) finds its complaint stored and is acked again, so every
submission is saved once. routing follows intake's notification log through
PostgreSQL's LISTEN/NOTIFY (eventsourcing's subscription, no polling) and writes
each complaint it routed to stdout, for the bench to time. Both print ``ready``
once started. Persistence comes from the environment
(PERSISTENCE_MODULE=eventsourcing.postgres)."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import nats
from eventsourcing.persistence import IntegrityError, Tracking

from bench.peer.apps import ACCEPTED_TOPIC, Intake, Routing

# Messages a fetch brings at most, and how long an idle fetch waits for the first
# (seconds): tousu's consumers' defaults.
BATCH = 100
FETCH_TIMEOUT = 5.0


async def _intake() -> None:
    intake = Intake()
    nc = await nats.connect(os.environ["PEER_NATS_URL"], name="peer-intake")
    js = nc.jetstream()
    timeout = float(os.environ.get("PEER_FETCH_TIMEOUT", FETCH_TIMEOUT))
    sub = await js.pull_subscribe_bind(
        durable=os.environ["PEER_DURABLE"], stream=os.environ["PEER_STREAM"]
    )
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    while True:
        try:
            msgs = await sub.fetch(BATCH, timeout=timeout)
        except TimeoutError:  # nats-py raises asyncio's (the builtin) or its own subclass
            continue
        for msg in msgs:
            submission = json.loads(msg.data)
            try:
                intake.receive(submission["ref"], submission["subject"], submission["description"])
            except IntegrityError:
                pass  # redelivered after its save: the complaint is already stored
            await msg.ack()


def run_intake() -> None:
    asyncio.run(_intake())


def run_routing() -> None:
    intake = Intake()  # read-only here: its recorder is the leader's notification log
    routing = Routing()
    start = routing.recorder.max_tracking_id(intake.name)
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    with intake.recorder.subscribe(gt=start, topics=[ACCEPTED_TOPIC]) as subscription:
        for notification in subscription:
            domain_event = intake.mapper.to_domain_event(notification)
            routing.process_event(domain_event, Tracking(intake.name, notification.id))
            out.write(f"{domain_event.originator_id}\n")
            out.flush()


if __name__ == "__main__":
    {"intake": run_intake, "routing": run_routing}[sys.argv[1]]()
