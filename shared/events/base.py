"""Base class for typed event data and the registry from type name to model."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class EventData(BaseModel):
    """Typed ``data`` of one event type. Subclasses register themselves by class name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Bumped when the data's shape changes; older stored data is upcast on read.
    schema_version: ClassVar[int] = 1
    registry: ClassVar[dict[str, type[EventData]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__ in EventData.registry:
            raise TypeError(f"event type {cls.__name__} registered twice")
        EventData.registry[cls.__name__] = cls

    @classmethod
    def event_type(cls) -> str:
        return cls.__name__


class UnknownEventType(KeyError):
    def __init__(self, event_type: str) -> None:
        super().__init__(event_type)
        self.event_type = event_type

    def __str__(self) -> str:
        return f"unknown event type {self.event_type!r}"


def model_for(event_type: str) -> type[EventData]:
    try:
        return EventData.registry[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None
