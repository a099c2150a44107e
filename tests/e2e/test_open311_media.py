"""Open311 media end to end, on a real socket with the services running: a
photo posted as the ``media`` part of a multipart POST requests.json is kept
without its EXIF and named in the complaint; a refused one files nothing and
stores nothing; public reads show no ``media_url`` until staff publish the
file in a step, then link to it, read by the ``georeport`` package too."""

from __future__ import annotations

import asyncio
import hashlib
import io
import socket
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import uvicorn
from PIL import Image

from tests.attachment_files import SVG_WITH_SCRIPT, photo_with_gps
from tests.e2e.kit import Headers, Staff
from tests.helpers import eventually
from tousu.services.gateway.app import create_app
from tousu.services.gateway.open311 import keys
from tousu.shared.attachments.store import store_for
from tousu.shared.settings import Settings

V2 = "/open311/v2"


@pytest.fixture
async def api_key(database_url: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        return (await keys.add_key(conn, "fix-app")).key
    finally:
        await conn.close()


@pytest.fixture
async def served(running_services: object, settings: Settings) -> AsyncIterator[str]:
    """The gateway on a real socket: ``media_url`` is an address a client can open."""
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


def fields(api_key: str) -> dict[str, str]:
    return {
        "api_key": api_key,
        "service_code": "water_repair",
        "lat": "30.274085",
        "long": "120.155070",
        "description": "水泵坏了，漏水三天。",
        "email": "li@example.com",
    }


async def stored(settings: Settings) -> set[str]:
    return {blob.name async for blob in store_for(settings).listing()}


async def test_a_photo_posted_as_media_is_shown_once_staff_publish_it(
    served: str,
    gateway: httpx.AsyncClient,
    staff: dict[str, Headers],
    api_key: str,
    settings: Settings,
) -> None:
    async with httpx.AsyncClient(base_url=served) as http:
        before = await stored(settings)
        svg = {"media": ("photo.jpg", SVG_WITH_SCRIPT, "image/jpeg")}
        refused = await http.post("/requests.json", data=fields(api_key), files=svg)
        assert refused.status_code == 400, refused.text
        (error,) = refused.json()
        assert error["description"].startswith("media: ") and "SVG" in error["description"]
        assert await stored(settings) == before

        photo = photo_with_gps()
        media = {"media": ("水泵.jpg", photo, "image/jpeg")}
        posted = await http.post("/requests.json", data=fields(api_key), files=media)
        assert posted.status_code == 201, posted.text
        ((created),) = posted.json()
        request_id, token = created["service_request_id"], created["token"]

        # Public reads: no citizen file until staff publish it.
        (read,) = (await http.get(f"/requests/{request_id}.json")).json()
        assert read["media_url"] is None

        case = Staff(gateway, staff)
        received = (await case.case(token))["timeline"][0]
        (ref,) = received["data"]["attachments"]
        assert (ref["media_type"], ref["name"], ref["public"]) == ("image/jpeg", "水泵.jpg", False)
        hidden = f"{served}/requests/{request_id}/media/{ref['sha256']}"
        assert (await http.get(hidden)).status_code == 404

        assert await case.accept_and_await_routing(token) == "water"
        assert await case.ok(token, "claim", "h-zhao") == "claimed"
        published = {"findings": "现场核实，水泵损坏", "attachments": [{**ref, "public": True}]}
        assert await case.ok(token, "investigation", "h-zhao", published) == "in_handling"

        (read,) = (await http.get(f"/requests/{request_id}.json")).json()
        assert read["media_url"] == hidden
        listed = (
            await http.get("/requests.json", params={"service_request_id": request_id})
        ).json()
        assert [r["media_url"] for r in listed] == [hidden]
        xml = ET.fromstring((await http.get(f"/requests/{request_id}.xml")).content)
        assert xml.findtext("request/media_url") == hidden

        served_file = await http.get(hidden)
        assert served_file.status_code == 200
        assert served_file.headers["content-type"] == "image/jpeg"
        assert served_file.headers["x-content-type-options"] == "nosniff"
        assert hashlib.sha256(served_file.content).hexdigest() == ref["sha256"]
        # Re-encoded: the pixels only, the GPS position the phone wrote is gone.
        assert not Image.open(io.BytesIO(served_file.content)).getexif()
        assert len(photo) > settings.max_request_bytes  # let through as an upload

    georeport = pytest.importorskip("georeport")
    for output in ("json", "xml"):
        client = georeport.GeoReport(served, output_format=output)
        one = await asyncio.to_thread(client.get_service_request, request_id)
        assert one["media_url"] == hidden


async def test_a_form_without_media_and_a_bad_key_store_nothing(
    served: str, api_key: str, settings: Settings
) -> None:
    async with httpx.AsyncClient(base_url=served) as http:
        photo = {"media": ("a.jpg", photo_with_gps(320, 240), "image/jpeg")}
        refused = await http.post("/requests.json", data=fields("not-a-key"), files=photo)
        assert refused.status_code == 403
        assert await stored(settings) == set()
        # Multipart with fields only is the spec's form as before.
        only_fields = [("device_id", (None, b"phone-1"))]
        plain = await http.post("/requests.json", data=fields(api_key), files=only_fields)
        assert plain.status_code == 201, plain.text
        assert plain.request.headers["content-type"].startswith("multipart/form-data")
