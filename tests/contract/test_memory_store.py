from __future__ import annotations

import pytest

from tests.contract.store_contract import EventStoreContract
from tousu.shared.store.memory import InMemoryEventStore


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    def event_store(self) -> InMemoryEventStore:
        return InMemoryEventStore()
