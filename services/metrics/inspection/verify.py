"""A month's sample drawn again from its recorded seed, share and minimum over
the population as the store stood when it was drawn, and compared with the
recorded one: whether anyone could have chosen the cases."""

from __future__ import annotations

from dataclasses import dataclass

from tousu.services.metrics.inspection.population import closed_cases
from tousu.shared.domain.inspection import draw_sample, replay, stream_of
from tousu.shared.events.quality import SampledCase
from tousu.shared.store.postgres import PostgresEventStore


@dataclass(frozen=True)
class Verification:
    period: str
    seed: int
    recorded: list[SampledCase]
    redrawn: list[SampledCase]
    recorded_population: dict[str, int]
    redrawn_population: dict[str, int]

    @property
    def same(self) -> bool:
        return (
            _keyed(self.recorded) == _keyed(self.redrawn)
            and self.recorded_population == self.redrawn_population
        )

    @property
    def missing(self) -> list[str]:
        """Recorded cases the redraw does not give (or gives for other reasons)."""
        again = _keyed(self.redrawn)
        return sorted(k for k, v in _keyed(self.recorded).items() if again.get(k) != v)

    @property
    def extra(self) -> list[str]:
        """Cases the redraw gives that the record does not have."""
        recorded = _keyed(self.recorded)
        return sorted(k for k in _keyed(self.redrawn) if k not in recorded)


def _keyed(cases: list[SampledCase]) -> dict[str, tuple[str, ...]]:
    return {c.complaint_id: (c.department, *sorted(c.reasons)) for c in cases}


async def verify(store: PostgresEventStore, period: str) -> Verification:
    """Raises LookupError when the month has no sample."""
    history = await store.read_stream(stream_of(period))
    state = replay(history)
    drawn = state.drawn
    if drawn is None or state.drawn_at is None:
        raise LookupError(f"no inspection sample has been drawn for {period}")
    population = await closed_cases(store.pool, drawn.window_from, drawn.window_to, state.drawn_at)
    redrawn, sizes = draw_sample(
        population, seed=drawn.seed, period=period, share=drawn.share, minimum=drawn.minimum
    )
    return Verification(period, drawn.seed, drawn.cases, redrawn, drawn.population, sizes)
