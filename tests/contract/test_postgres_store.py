from __future__ import annotations

import pytest

from shared.store.postgres import PostgresEventStore
from tests.contract.store_contract import EventStoreContract


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    def event_store(self, store: PostgresEventStore) -> PostgresEventStore:
        return store
