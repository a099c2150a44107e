from __future__ import annotations

import pytest

from shared.store.memory import InMemoryEventStore
from tests.contract.store_contract import EventStoreContract


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def event_store(self) -> InMemoryEventStore:
        return InMemoryEventStore()
