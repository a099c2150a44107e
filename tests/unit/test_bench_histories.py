"""The KPI benchmark loads ``kpi_facts`` without events (bench/histories.py):
a clone's rows must be exactly what the projection computes from the clone's
events."""

from __future__ import annotations

import random
from datetime import timedelta

from bench.histories import (
    CALENDAR,
    _clone_facts,
    _envelopes,
    _place,
    _records,
    _template_facts,
    make_templates,
)
from tousu.services.metrics.projections import KpiFacts


def test_cloned_facts_are_the_projection_of_the_cloned_events() -> None:
    rng = random.Random(7)
    moved = 0
    for template in make_templates(60, rng):
        rows = _template_facts(template, rng)
        assert rows
        for _ in range(3):
            place = _place(template, rng, fresh=False)
            moved += place.shift != timedelta(0)
            events = _envelopes(_records(template, place, rng))
            assert _clone_facts(rows, place) == KpiFacts().rows(events, CALENDAR)
    assert moved > 100  # the instants did move
