"""Open311 GeoReport v2 end to end, with clients tousu did not write: plain
HTTP calls made from the spec's examples (form-encoded POST, ``.json`` and
``.xml`` paths), and the ``georeport`` package from PyPI (a GeoReport v2
reader) against the gateway on a real socket. The request is filed on the
``open311`` channel, accepted by an operator, routed by the rules, and read
back with its agency and deadline."""

from __future__ import annotations

import asyncio
import socket
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn

from tests.e2e.kit import Headers, Staff
from tests.helpers import eventually
from tousu.services.gateway.app import create_app
from tousu.services.gateway.open311 import keys
from tousu.services.gateway.open311.reads import DETAIL_FIELDS
from tousu.shared.settings import Settings

V2 = "/open311/v2"
WATER = "市水务集团"


@pytest.fixture
async def api_key(database_url: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        return (await keys.add_key(conn, "fix-app")).key
    finally:
        await conn.close()


def a_request(api_key: str) -> dict[str, str]:
    """POST requests' fields as the spec's example sends them."""
    return {
        "api_key": api_key,
        "service_code": "water_repair",
        "lat": "30.274085",
        "long": "120.155070",
        "address_string": "幸福里小区5栋",
        "email": "li@example.com",
        "first_name": "四",
        "last_name": "李",
        "description": "报修三天无人上门，热线答复推诿。",
        "attribute[happened_at]": "2026-03-01T08:00:00+08:00",
        "attribute[repair_ticket]": "WX-20260301-17",
        "media_url": "https://example.com/photo.jpg",
        "device_id": "phone-1",
    }


async def read_one(client: httpx.AsyncClient, request_id: str) -> dict[str, Any]:
    response = await client.get(f"{V2}/requests/{request_id}.json")
    assert response.status_code == 200, response.text
    (request,) = response.json()
    assert isinstance(request, dict)
    return request


async def read_one_detailed(settings: Settings, request_id: str) -> dict[str, Any]:
    """A request as a gateway whose operator opted in to public details reads it."""
    app = create_app(settings.model_copy(update={"open311_public_details": True}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            return await read_one(client, request_id)


async def test_a_client_files_a_request_and_follows_it(
    gateway: httpx.AsyncClient, staff: dict[str, Headers], api_key: str, settings: Settings
) -> None:
    services = (await gateway.get(f"{V2}/services.json")).json()
    assert "water_repair" in [s["service_code"] for s in services]
    definition = (await gateway.get(f"{V2}/services/water_repair.json")).json()
    assert "repair_ticket" in [a["code"] for a in definition["attributes"]]

    refused = await gateway.post(f"{V2}/requests.json", data=a_request("not-a-key"))
    assert refused.status_code == 403
    assert refused.json() == [{"code": 403, "description": "api_key is not valid"}]

    posted = await gateway.post(f"{V2}/requests.json", data=a_request(api_key))
    assert posted.status_code == 201, posted.text
    (created,) = posted.json()
    request_id, token = created["service_request_id"], created["token"]
    assert request_id.startswith("TS") and created["account_id"] is None
    assert request_id in created["service_notice"]

    # At once: from the event store if the projection has not caught up.
    request = await read_one(gateway, request_id)
    assert request["status"] == "open"
    assert (request["service_code"], request["agency_responsible"]) == ("water_repair", None)
    # Public: what the case is, never what the complainant wrote or where.
    assert [request[f] for f in DETAIL_FIELDS] == [None] * len(DETAIL_FIELDS)
    listed_now = await gateway.get(f"{V2}/requests.json", params={"service_request_id": request_id})
    for private in ("报修三天", "WX-20260301-17", "幸福里", "30.27", "photo.jpg", "李", "li@"):
        assert private not in listed_now.text and private not in posted.text, private
    # Unless the operator opts in (never the contacts, even then).
    detailed = await read_one_detailed(settings, request_id)
    assert (detailed["lat"], detailed["long"]) == (30.274085, 120.15507)
    assert detailed["media_url"] == "https://example.com/photo.jpg"
    assert detailed["description"].startswith("报修三天无人上门")
    assert "WX-20260301-17" in detailed["description"]
    assert "li@example.com" not in str(detailed) and "李" not in str(detailed)
    received = datetime.fromisoformat(request["requested_datetime"])
    acceptance_due = datetime.fromisoformat(request["expected_datetime"])
    assert timedelta(days=1) < acceptance_due - received < timedelta(days=12)

    token_answer = (await gateway.get(f"{V2}/tokens/{token}.json")).json()
    assert token_answer == [{"service_request_id": request_id, "token": token}]

    case = Staff(gateway, staff)
    assert await case.accept_and_await_routing(token) == "water"
    due = (await case.case(token))["deadlines"]["feedback"]["due_at"]

    async def routed() -> bool:
        nonlocal request
        request = await read_one(gateway, request_id)
        return bool(request["agency_responsible"] == WATER)

    await eventually(routed, "the request to show its agency", 30)
    assert request["status"] == "open"
    # To the second: the spec's w3 subset of ISO 8601.
    expected = datetime.fromisoformat(request["expected_datetime"])
    assert expected == datetime.fromisoformat(due).replace(microsecond=0)

    query = {"service_code": "water_repair,bus_service", "status": "open"}
    query["start_date"] = (received - timedelta(hours=1)).isoformat()

    async def listed() -> bool:
        found = (await gateway.get(f"{V2}/requests.json", params=query)).json()
        return [r["service_request_id"] for r in found] == [request_id]

    await eventually(listed, "the request in GET requests", 30)
    closed = await gateway.get(f"{V2}/requests.json", params={**query, "status": "closed"})
    assert closed.json() == []
    later = {**query, "start_date": (received + timedelta(hours=1)).isoformat()}
    assert (await gateway.get(f"{V2}/requests.json", params=later)).json() == []
    other = await gateway.get(f"{V2}/requests.json", params={"service_code": "bus_service"})
    assert other.json() == []

    xml = await gateway.get(f"{V2}/requests/{request_id}.xml")
    element = ET.fromstring(xml.content).find("request")
    assert element is not None
    assert element.findtext("service_request_id") == request_id
    assert element.findtext("agency_responsible") == WATER
    assert element.findtext("status") == "open"


@pytest.fixture
async def served(running_services: object, settings: Settings) -> AsyncIterator[str]:
    """The gateway on a real socket, for a client that speaks plain HTTP."""
    # Bound here and handed over: a port picked then freed could be taken meanwhile.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started, "the gateway to listen", 30)
    try:
        yield f"http://127.0.0.1:{port}{V2}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_the_georeport_package_reads_services_and_requests(served: str, api_key: str) -> None:
    georeport = pytest.importorskip("georeport")
    for output in ("json", "xml"):
        client = georeport.GeoReport(served, output_format=output)
        listed = await asyncio.to_thread(client.get_service_list)
        assert "bus_service" in [s["service_code"] for s in listed]
        definition = await asyncio.to_thread(client.get_service_definition, "bus_service")
        assert definition["service_code"] == "bus_service"

    # The package reads only; the POST is the spec's form, sent as any client does.
    async with httpx.AsyncClient(base_url=served) as http:
        posted = await http.post("/requests.xml", data=a_request(api_key))
    assert posted.status_code == 201, posted.text
    created = ET.fromstring(posted.content).find("request")
    assert created is not None
    request_id = created.findtext("service_request_id")
    assert request_id

    for output in ("json", "xml"):
        client = georeport.GeoReport(served, output_format=output)
        one = await asyncio.to_thread(client.get_service_request, request_id)
        assert (one["service_request_id"], one["status"]) == (request_id, "open")
        assert one["service_code"] == "water_repair"
