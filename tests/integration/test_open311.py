"""Open311 GeoReport v2 without the services: discovery, services and their
definitions in JSON and XML, the spec's error arrays, and the API keys made
by `tousu open311 keys`. Filing and reading requests back: tests/e2e."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests.helpers import tousu
from tousu.services.gateway.app import create_app
from tousu.services.gateway.auth.tokens import token_digest
from tousu.services.gateway.open311 import keys
from tousu.services.gateway.open311.formats import to_xml
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.settings import Settings

V2 = "/open311/v2"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as c:
            yield c


async def test_discovery_names_the_endpoint_and_its_formats(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{V2}/discovery.json")).json()
    (endpoint,) = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://gw.test/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert body["changeset"] == "2026-12-07T00:00:00+08:00"  # register v2

    xml = await client.get(f"{V2}/discovery.xml")
    root = ET.fromstring(xml.content)
    assert [f.text for f in root.iterfind("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]


async def test_services_are_the_commitment_register(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{V2}/services.json", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    services = response.json()
    register = CommitmentRegister.load()
    assert [s["service_code"] for s in services] == [i.code for i in register.items]
    water = next(s for s in services if s["service_code"] == "water_repair")
    assert water["group"] == "Municipal Water Group"
    assert (water["metadata"], water["type"]) == (True, "realtime")
    assert set(water) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    window = (await client.get(f"{V2}/services.json")).json()[0]  # Chinese by default
    assert window["group"] == "市政务服务中心"
    assert "咨询引导" in window["keywords"].split(", ")


async def test_services_as_xml(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{V2}/services.xml")
    assert response.headers["content-type"].startswith("text/xml")
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(response.content)
    assert root.tag == "services"
    first = root.find("service")
    assert first is not None
    assert first.findtext("service_code") == "window_service"
    assert first.findtext("metadata") == "true"
    assert first.findtext("group") == "市政务服务中心"


async def test_a_service_definition_lists_its_attributes(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{V2}/services/bus_service.json")).json()
    assert body["service_code"] == "bus_service"
    codes = [a["code"] for a in body["attributes"]]
    assert codes == ["subject", "happened_at", "category", "people_involved", "demands", "route"]
    assert [a["order"] for a in body["attributes"]] == list(range(1, 7))
    category = body["attributes"][2]
    assert category["datatype"] == "singlevaluelist"
    assert {"key": "service_quality", "name": "服务质量"} in category["values"]
    assert set(category) == {
        "variable",
        "code",
        "datatype",
        "required",
        "datatype_description",
        "order",
        "description",
        "values",
    }

    root = ET.fromstring((await client.get(f"{V2}/services/bus_service.xml")).content)
    assert root.tag == "service_definition"
    keys_ = [v.text for v in root.iterfind("attributes/attribute/values/value/key")]
    assert "service_quality" in keys_


@pytest.mark.parametrize("suffix", ["json", "xml"])
async def test_errors_are_the_spec_error_array(client: httpx.AsyncClient, suffix: str) -> None:
    unknown = await client.get(f"{V2}/services/potholes.{suffix}")
    assert unknown.status_code == 404
    if suffix == "json":
        assert unknown.json() == [
            {"code": 404, "description": "service_code 'potholes' was not found"}
        ]
    else:
        error = ET.fromstring(unknown.content).find("error")
        assert error is not None and error.findtext("code") == "404"

    form = {"service_code": "water_repair", "description": "x", "address_string": "y"}
    missing = await client.post(f"{V2}/requests.{suffix}", data=form)
    assert missing.status_code == 400
    bad = await client.post(f"{V2}/requests.{suffix}", data={**form, "api_key": "nope"})
    assert bad.status_code == 403
    if suffix == "json":
        assert bad.json() == [{"code": 403, "description": "api_key is not valid"}]


async def test_unknown_format_and_unknown_token(client: httpx.AsyncClient) -> None:
    csv = await client.get(f"{V2}/services.csv")
    assert csv.status_code == 404
    assert csv.json()[0]["code"] == 404
    token = await client.get(f"{V2}/tokens/00000000-0000-0000-0000-000000000000.json")
    assert token.status_code == 404


async def test_a_bad_request_names_every_problem_and_files_nothing(
    client: httpx.AsyncClient, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        issued = await keys.add_key(conn, "test-app")
    finally:
        await conn.close()
    form = {
        "api_key": issued.key,
        "service_code": "water_repair",
        "lat": "95",
        "attribute[colour]": "red",
        "attribute[happened_at]": "yesterday",
    }
    response = await client.post(f"{V2}/requests.json", data=form)
    assert response.status_code == 400
    described = [e["description"] for e in response.json()]
    assert any(d.startswith("lat must be") for d in described)
    assert "description is required" in described
    assert "attribute[colour] is not an attribute of service water_repair" in described
    assert any(d.startswith("attribute[happened_at]") for d in described)
    unknown = await client.post(f"{V2}/requests.json", data={**form, "service_code": "potholes"})
    assert unknown.status_code == 400
    assert unknown.json()[0]["description"] == "service_code 'potholes' was not found"


def test_xml_escapes_text() -> None:
    body = to_xml("service_requests", "request", [{"description": "<b>&</b>", "lat": None}])
    request = ET.fromstring(body).find("request")
    assert request is not None
    assert request.findtext("description") == "<b>&</b>"
    assert request.findtext("lat") == ""  # present and empty, as the spec's examples show


async def test_keys_cli_add_list_revoke(child_env: dict[str, str], database_url: str) -> None:
    code, key, err = await tousu(child_env, "open311", "keys", "add", "Fix-App")
    assert code == 0, err
    key = key.strip()
    assert "shown only now" in err
    code, listed, _ = await tousu(child_env, "open311", "keys", "list", "--json")
    assert code == 0 and '"name": "fix-app"' in listed
    again, _, err = await tousu(child_env, "open311", "keys", "add", "fix-app")
    assert again == 1 and "exists already" in err

    conn = await asyncpg.connect(database_url)
    try:
        client = await keys.authenticate(conn, key)
        assert client is not None and client.name == "fix-app"
        stored = await conn.fetchval("SELECT key_hash FROM open311_keys")
        assert stored == token_digest(key)  # the hash only, never the key
        code, _, err = await tousu(child_env, "open311", "keys", "revoke", "fix-app")
        assert code == 0, err
        assert await keys.authenticate(conn, key) is None
    finally:
        await conn.close()
    code, _, err = await tousu(child_env, "open311", "keys", "revoke", "nobody")
    assert code == 1 and "no Open311 key" in err
