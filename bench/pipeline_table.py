"""The pipeline's figures as a short table on stderr (stdout carries the JSON)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _ms(latency: dict[str, Any], key: str) -> str:
    value = latency.get(key)
    return "–" if value is None else f"{value:,.0f}"


def pipeline_table(pipeline: dict[str, Any]) -> None:
    table = Table(title="pipeline: submitted → accepted → routed", title_justify="left")
    for column in ("phase", "offered", "complaints/s", "events/s", "shed", "unfinished"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for column in ("accepted p50/p99 ms", "routed p50/p95/p99 ms", "CPU ms/complaint"):
        table.add_column(column, justify="right")
    for name, phase in pipeline["phases"].items():
        accepted, routed = phase["latency_ms"]["accepted"], phase["latency_ms"]["routed"]
        per_complaint = phase["cpu_ms_per_complaint"]
        table.add_row(
            name,
            phase["offered"],
            f"{phase['complaints_per_s']:,.1f}",
            f"{phase['events_per_s']:,.1f}",
            str(phase["shed"]),
            str(phase["unfinished"]),
            f"{_ms(accepted, 'p50')} / {_ms(accepted, 'p99')}",
            f"{_ms(routed, 'p50')} / {_ms(routed, 'p95')} / {_ms(routed, 'p99')}",
            "–" if per_complaint is None else f"{per_complaint:,.0f}",
        )
    console = Console(stderr=True, width=150)
    console.print(table)
    cpu = Table(title="CPU seconds per process, in each phase's window", title_justify="left")
    cpu.add_column("process")
    phases = list(pipeline["phases"])
    for name in phases:
        cpu.add_column(name, justify="right")
    # The processes, then PostgreSQL's backends when they could be measured.
    measured = {name for p in phases for name in pipeline["phases"][p]["cpu_s"]}
    for process in [*pipeline["processes"], *sorted(measured - set(pipeline["processes"]))]:
        cpu.add_row(
            process, *(f"{pipeline['phases'][p]['cpu_s'].get(process, 0):.1f}" for p in phases)
        )
    cpu.add_row(
        "(load generator: this bench)",
        *(f"{pipeline['phases'][p].get('load_generator_cpu_s', 0):.1f}" for p in phases),
    )
    console.print(cpu)
