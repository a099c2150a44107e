"""The catalogue is what each service answers and consumes: every service's
ServiceSpec is built from its entry, the AsyncAPI document the gateway reads
from the catalogue is the one the service's own broker gives, and a service
that answers something its entry does not name is refused when composed."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from faststream.specification import AsyncAPI

from tousu.services.followup.main import SPEC as FOLLOWUP
from tousu.services.handling.main import SPEC as HANDLING
from tousu.services.intake.main import SPEC as INTAKE
from tousu.services.metrics.main import SPEC as METRICS
from tousu.services.routing.main import SPEC as ROUTING
from tousu.shared.application.catalogue import CATALOGUE
from tousu.shared.application.context_source import ContextSource
from tousu.shared.service import ServiceSpec, assemble, described
from tousu.shared.settings import Settings

SPECS = (INTAKE, ROUTING, HANDLING, FOLLOWUP, METRICS)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Brokers are assembled, never connected; the data folder holds the keys.
    return Settings(nats_url="nats://127.0.0.1:4222", data_dir=tmp_path)


def document(settings: Settings, spec: ServiceSpec) -> dict[str, Any]:
    # No store: nothing is called while a broker is only assembled.
    runtime, _app = assemble(settings, spec, None, ContextSource.for_settings(settings))  # type: ignore[arg-type]
    return AsyncAPI(runtime.broker, title=spec.name, version="0").to_specification().to_jsonable()  # type: ignore[no-any-return]


def test_every_service_is_built_from_its_entry() -> None:
    assert {spec.name: spec.entry for spec in SPECS} == dict(CATALOGUE)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
@pytest.mark.parametrize("auto_route", [True, False])
def test_the_catalogue_describes_the_service_as_it_runs(
    settings: Settings, spec: ServiceSpec, auto_route: bool
) -> None:
    settings = settings.model_copy(
        update={"routing": settings.routing.model_copy(update={"auto_route": auto_route})}
    )
    assert spec.entry is not None
    assert document(settings, described(spec.entry)) == document(settings, spec)


def test_a_request_the_entry_does_not_name_is_refused(settings: Settings) -> None:
    assert INTAKE.entry is not None
    fewer = dataclasses.replace(INTAKE.entry, requests={"submit": INTAKE.entry.requests["submit"]})
    with pytest.raises(ValueError, match="merge"):
        document(settings, dataclasses.replace(INTAKE, entry=fewer))
