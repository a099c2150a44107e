"""A department's own system, following its cases in tousu and working them.

A water company's ticketing system, reduced to its talk with tousu: it follows
the cases routed to the department, reads each new one, claims it for one of
its staff, records the investigation, the plan and the complainant's
agreement, reports progress, records the result, and that it was fed back. A real
system does each step when its people do; this one answers each event with
the next step at once. It uses nothing of tousu but the adapter kit.

    TOUSU_NATS_URL=nats://127.0.0.1:4222 \\
    TOUSU_CREDENTIAL=$(tousu credentials issue department water) \\
    TOUSU_DEPARTMENT=water TOUSU_HANDLER=h-zhao \\
    python docs/examples/department_system.py

It prints one line of JSON per event it handled. Stop it (Ctrl-C, SIGTERM)
and start it again: it carries on after the last event it finished, and an
event it was in the middle of comes back; its commands are named after the
event they answer, so a step sent again is not taken twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from datetime import UTC, datetime
from typing import Any

from tousu.kit import Refused
from tousu.kit.department import DepartmentClient, Event

HANDLER = os.environ.get("TOUSU_HANDLER", "h-zhao")


async def work(tousu: DepartmentClient, event: Event) -> dict[str, Any]:
    """The next step of the case ``event`` is about; what was done."""
    case = event.complaint_id
    steps = {"claim", "progress", "investigation", "plan", "consultation", "resolve", "feedback"}
    name = {s: event.command_id(s) for s in steps}
    match event.type:
        case "ComplaintRouted":
            facts = await tousu.case(case)  # what the complaint is: not in the events
            await tousu.claim(case, handler=HANDLER, command_id=name["claim"])
            return {
                "did": "claim",
                "subject": facts["subject"],
                "tracking_no": facts["tracking_no"],
            }
        case "CaseClaimed":
            await tousu.investigation(
                case,
                findings="现场核实：管网阀门故障 / a faulty valve",
                methods=["现场查看"],
                command_id=name["investigation"],
            )
            return {"did": "investigation"}
        case "InvestigationRecorded":
            measures = [{"measure": "更换阀门并恢复供水", "owner": HANDLER}]
            await tousu.plan(case, measures=measures, command_id=name["plan"])
            return {"did": "plan"}
        case "HandlingPlanProposed":
            await tousu.consultation(case, agrees=True, command_id=name["consultation"])
            return {"did": "consultation"}
        case "ComplainantConsulted":
            # Carrying the plan out: the complainant hears how it goes.
            await tousu.progress(
                case,
                progress="正在更换阀门 / the valve is being replaced",
                command_id=name["progress"],
            )
            await tousu.resolve(
                case,
                result="已更换阀门，恢复供水 / the valve was replaced",
                basis="供水服务承诺",
                command_id=name["resolve"],
            )
            return {"did": "progress, resolve"}
        case "ComplaintResolved":
            await tousu.feedback(case, command_id=name["feedback"])
            return {"did": "feedback"}
    return {"did": None}


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)  # finish the event in hand, then stop

    async with DepartmentClient(
        os.environ["TOUSU_NATS_URL"],
        os.environ["TOUSU_CREDENTIAL"],
        os.environ["TOUSU_DEPARTMENT"],
        subject_root=os.environ.get("TOUSU_SUBJECT_ROOT", "tousu"),
    ) as tousu:

        async def handle(event: Event) -> None:
            arrived = datetime.now(UTC)
            try:
                done = await work(tousu, event)
            except Refused as refused:
                # The case moved on (another step was taken in the staff pages,
                # the case was returned): nothing to do for this event.
                done = {"refused": refused.code, "message": refused.message}
            line = {
                "event": event.type,
                "event_id": event.event_id,
                "complaint_id": event.complaint_id,
                "delivered": event.delivered,
                "arrived_at": arrived.isoformat(),
                "published_at": event.published_at.isoformat() if event.published_at else None,
                **done,
            }
            print(json.dumps(line, ensure_ascii=False), flush=True)

        print(json.dumps({"following": tousu.durable}), flush=True)
        await tousu.follow(handle, stop=stop)


if __name__ == "__main__":
    asyncio.run(main())
