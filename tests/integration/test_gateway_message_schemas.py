"""The gateway serves the message schemas (``GET /schemas``), documents the
routes, and its AsyncAPI document carries the same schemas as payloads: every
operation's, each request's reply, and the events the relay publishes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from tousu.services.gateway.app import create_app
from tousu.shared.application import schemas
from tousu.shared.events import EventData
from tousu.shared.settings import Settings


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as c:
            yield c


async def test_the_index_and_each_schema_are_served_as_shipped(
    client: httpx.AsyncClient,
) -> None:
    folder = schemas.shipped()
    response = await client.get("/schemas")
    assert response.status_code == 200, response.text
    assert response.json() == json.loads(folder.joinpath(schemas.INDEX).read_text("utf-8"))
    submit = response.json()["subjects"]["{root}.cmd.intake.submit"]
    one = await client.get(f"/schemas/{submit['schema']}.json")
    assert one.status_code == 200, one.text
    assert one.headers["content-type"].startswith("application/schema+json")
    shipped = folder.joinpath(f"{submit['schema']}{schemas.SUFFIX}").read_text("utf-8")
    assert one.json() == json.loads(shipped)
    assert {"submission", "actor"} <= set(one.json()["properties"])
    missing = await client.get("/schemas/cmd.intake.nothing.json")
    assert missing.status_code == 404
    assert missing.json()["code"] == "schema_not_found"
    assert (await client.get("/schemas/..%2Findex.json")).status_code == 404


async def test_openapi_documents_the_schema_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert paths["/schemas"]["get"]["operationId"] == "schemas_index"
    one = paths["/schemas/{name}.json"]["get"]
    assert one["operationId"] == "schema"
    assert "application/schema+json" in one["responses"]["200"]["content"]
    assert "404" in one["responses"]


def resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[unquote(part)]
    return node


def payloads(doc: dict[str, Any], messages: list[dict[str, str]]) -> list[dict[str, Any]]:
    out = []
    for message in messages:
        payload = resolve(doc, message["$ref"])
        if "$ref" in payload:  # a channel's message refers to a component's
            payload = resolve(doc, payload["$ref"])
        schema = payload["payload"]
        out.append(resolve(doc, schema["$ref"]) if "$ref" in schema else schema)
    return out


async def test_every_asyncapi_operation_has_its_payload_schema(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.get("/asyncapi")
    assert response.status_code == 200, response.text
    doc = response.json()
    naming = settings.naming
    for name, operation in doc["operations"].items():
        for payload in payloads(doc, operation["messages"]):
            assert payload and payload.get("type") != "null", (name, payload)
            assert {"properties", "oneOf"} & set(payload), (name, payload)
        if operation["action"] == "receive" and ".cmd." in resolve(
            doc, operation["channel"]["$ref"]
        ).get("address", ""):
            (reply,) = payloads(doc, operation["reply"]["messages"])
            assert reply["oneOf"], name
    submit = next(
        op
        for op in doc["operations"].values()
        if resolve(doc, op["channel"]["$ref"])["address"] == naming.command("intake", "submit")
    )
    (payload,) = payloads(doc, submit["messages"])
    assert {"submission", "actor"} <= set(payload["properties"])
    # The events the relay publishes, each type on its subject.
    published = {
        resolve(doc, op["channel"]["$ref"])["address"]
        for op in doc["operations"].values()
        if op["action"] == "send"
    }
    assert published == {
        f"{naming.root}.events.{{department}}.{event_type}" for event_type in EventData.registry
    }
    one = (await client.get("/asyncapi/intake")).json()
    assert all(op["messages"] for op in one["operations"].values())
    page = await client.get("/asyncapi.html")
    assert page.status_code == 200 and "cmd.intake.submit" in page.text
