"""One of the peer's two OS processes: `python -m bench.peer.process intake|routing`.

intake reads one JSON submission a line on stdin and saves the complaint (received
and accepted); routing follows intake's notification log through PostgreSQL's
LISTEN/NOTIFY (eventsourcing's subscription, no polling) and writes each complaint
it routed to stdout, for the bench to time. Both print ``ready`` once started.
Persistence comes from the environment (PERSISTENCE_MODULE=eventsourcing.postgres)."""

from __future__ import annotations

import json
import sys

from eventsourcing.persistence import Tracking

from bench.peer.apps import ACCEPTED_TOPIC, Intake, Routing


def run_intake() -> None:
    intake = Intake()
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin.buffer:
        sub = json.loads(line)
        intake.receive(sub["ref"], sub["subject"], sub["description"])


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
