"""Opening sealed personal fields where they are needed, or marking them erased."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tousu.shared.events import Envelope
from tousu.shared.events.types import Complainant
from tousu.shared.privacy.crypto import open_box
from tousu.shared.privacy.keys import Queryable, data_keys


async def reveal(conn: Queryable, who: Complainant) -> Complainant:
    """``who`` with its personal fields opened; ``erased`` if its key is gone."""
    return (await reveal_all(conn, [who]))[0]


async def reveal_all(conn: Queryable, people: Sequence[Complainant]) -> list[Complainant]:
    keys = await data_keys(conn, [p.key for p in people if p.key and p.sealed])
    out = []
    for who in people:
        if who.key is None or who.sealed is None:
            out.append(who)  # nothing sealed: anonymous, or stored before sealing
            continue
        key = keys.get(who.key)
        if key is None:
            out.append(who.model_copy(update={"sealed": None, "erased": True}))
        else:
            fields = open_box(key, who.key, who.sealed)
            out.append(who.model_copy(update={**fields, "sealed": None}))
    return out


async def reveal_history(conn: Queryable, history: Sequence[Envelope]) -> list[Envelope]:
    """``history`` with the complainant of its ``ComplaintReceived`` revealed."""
    at = [
        i
        for i, e in enumerate(history)
        if e.type == "ComplaintReceived" and isinstance(e.data.get("complainant"), dict)
    ]
    people = await reveal_all(
        conn, [Complainant.model_validate(history[i].data["complainant"]) for i in at]
    )
    opened = dict(zip(at, people, strict=True))
    return [_with_complainant(e, opened[i]) if i in opened else e for i, e in enumerate(history)]


def replace_complainants(
    history: Sequence[Envelope], change: Callable[[Complainant], Complainant]
) -> list[Envelope]:
    """``history`` with ``change`` applied to the complainant of its ``ComplaintReceived``."""
    return [
        _with_complainant(e, change(Complainant.model_validate(e.data["complainant"])))
        if e.type == "ComplaintReceived" and isinstance(e.data.get("complainant"), dict)
        else e
        for e in history
    ]


def _with_complainant(envelope: Envelope, who: Complainant) -> Envelope:
    data = {**envelope.data, "complainant": who.model_dump(mode="json", exclude_none=True)}
    return envelope.model_copy(update={"data": data})
