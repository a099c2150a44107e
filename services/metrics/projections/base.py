"""What a projection is: a table whose rows are a function of each complaint's events.

A projection maps one complaint's whole history to its rows. Live updates
recompute the rows of the complaints a batch of events touched; a rebuild
computes every complaint's rows from the store. Both use :meth:`rows`, so a
rebuilt table equals the live one row for row.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.events import Envelope
from tousu.shared.store.postgres import Connection

Row = tuple[Any, ...]


class Projection(ABC):
    name: str  # also its table's name
    # Bump when the table or the rows change: the service then rebuilds it.
    schema_version: int
    columns: tuple[str, ...]
    key: str = "complaint_id"  # the column naming the complaint a row belongs to

    @abstractmethod
    def create_sql(self, table: str) -> str:
        """DDL creating the table under the name ``table`` (and its indexes)."""

    @abstractmethod
    def rows(self, history: Sequence[Envelope], calendar: WorkdayCalendar) -> list[Row]:
        """One complaint's rows from its events in version order."""

    # Optional hooks (noqa B027: doing nothing is the default, not a stub).
    # A projection may keep summaries of its own rows beside it. They are
    # created by create_sql, swapped in with the table by a rebuild, and kept
    # in the transaction that rewrites the rows.
    def derived_tables(self, table: str) -> tuple[str, ...]:
        """The tables kept from ``table``'s rows."""
        return ()

    async def rows_leaving(self, conn: Connection, table: str, ids: list[Any]) -> None:  # noqa: B027
        """These complaints' rows are about to be deleted from ``table``."""

    async def rows_written(self, conn: Connection, table: str, ids: list[Any]) -> None:  # noqa: B027
        """These complaints' rows have been written to ``table``."""

    async def table_filled(self, conn: Connection, table: str, dsn: str) -> None:  # noqa: B027
        """A rebuild has written every complaint's rows to ``table`` (and
        committed them: ``dsn`` is the store's, for more connections)."""
