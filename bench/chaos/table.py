"""The chaos run's figures as a short table for people (the JSON has them all)."""

from __future__ import annotations

from typing import Any


def chaos_table(figures: dict[str, Any]) -> list[tuple[str, str]]:
    complaints = figures["complaints"]
    notices = figures["notifications"]
    kills = ", ".join(f"{k['process']} ({k['down_s']}s)" for k in figures["kills"])
    lost = figures["lost"]
    duplicated = figures["duplicated"]
    return [
        ("complaints closed", f"{complaints['closed']} / {complaints['driven']}"),
        ("of which reopened once", str(complaints["reopened_and_closed"])),
        ("kills (SIGKILL, down for)", kills),
        ("commands acknowledged", str(figures["commands"]["acknowledged"])),
        ("commands resent (answer lost)", str(figures["commands"]["resent_after_lost_answer"])),
        (
            "events stored / published",
            f"{figures['events']['stored']} / {figures['events']['published']}",
        ),
        ("events lost", str(sum(lost.values()))),
        ("duplicated by event id", str(duplicated["by_event_id"])),
        ("duplicated by effect", str(duplicated["by_effect"] + duplicated["notices_by_effect"])),
        ("notices sent", str(notices["by_status"].get("sent", 0))),
        ("notifications sent twice", str(notices["sent_twice"])),
        ("  again after a lease takeover", str(notices["sent_twice_after_takeover"])),
        ("consumers resumed", "yes" if figures["consumers_resumed"] else "NO"),
        (
            "projection rows not as the events say",
            ", ".join(f"{k} {v}" for k, v in figures["projections_differing_rows"].items()),
        ),
        ("dead letters", str(figures["dlq"])),
        ("crashed and restarted", str(figures.get("crashed_and_restarted") or "none")),
        (
            "duration",
            f"{figures['duration_s']['total']} s (drive {figures['duration_s']['drive']} s)",
        ),
    ]
