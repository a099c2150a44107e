"""Files through the staff JSON API, the services running as their own
processes: a scanned letter uploaded and named in the registration, a
handler's evidence uploaded for the case and named in the investigation;
refusals at the field with nothing stored; a reference to a file never
uploaded refused by the service's decider; the routes in the OpenAPI."""

from __future__ import annotations

import io

import asyncpg
import httpx
from PIL import Image

from tests.attachment_files import HTML_AS_JPG, pdf, photo_with_gps
from tests.e2e.kit import Headers, Staff, days_ago
from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.store import store_for
from tousu.shared.events.types import FileRef
from tousu.shared.settings import Settings

LETTER = {
    "channel": "letter",
    "subject": "供水维修拖延",
    "description": "报修三天无人上门，热线答复推诿。",
    "received_at": days_ago(2).isoformat(),
    "complainant": {"name": "王五", "address": "某市人民路1号", "phone": "138-0013-8000"},
}


async def stored(settings: Settings) -> set[str]:
    return {blob.name async for blob in store_for(settings).listing()}


async def test_staff_upload_and_name_files_in_commands(
    gateway: httpx.AsyncClient, staff: dict[str, Headers], settings: Settings, pool: asyncpg.Pool
) -> None:
    case = Staff(gateway, staff)
    # The scanned letter, sealed for the person the letter's phone number names
    # (written as the operator typed it; intake records it normalised).
    scan = await gateway.post(
        "/api/v1/attachments",
        files={"file": ("来信扫描.pdf", pdf(), "application/pdf")},
        data={"phone": "13800138000"},
        headers=staff["op-li"],
    )
    assert scan.status_code == 201, scan.text
    letter_ref = scan.json()
    assert (letter_ref["media_type"], letter_ref["name"]) == ("application/pdf", "来信扫描.pdf")
    registered = await case.register({**LETTER, "attachments": [letter_ref]})
    assert registered.status_code == 201, registered.text
    complaint_id = str(registered.json()["complaint_id"])
    received = (await case.case(complaint_id))["timeline"][0]
    assert received["data"]["attachments"] == [letter_ref]
    # Sealed with the complainant's key: the one their personal data has.
    key = await pool.fetchval(
        "SELECT data -> 'complainant' ->> 'key' FROM events WHERE stream_id = $1",
        f"complaint-{complaint_id}",
    )
    assert letter_ref["owner"] == key

    assert await case.accept_and_await_routing(complaint_id) == "water"
    assert await case.ok(complaint_id, "claim", "h-zhao") == "claimed"

    # Another department's handler cannot even find the case to upload to.
    elsewhere = await gateway.post(
        f"/api/v1/complaints/{complaint_id}/attachments",
        files={"file": ("a.jpg", photo_with_gps(320, 240), "image/jpeg")},
        headers=staff["h-qian"],
    )
    assert elsewhere.status_code == 404

    before = await stored(settings)
    refused = await gateway.post(
        f"/api/v1/complaints/{complaint_id}/attachments",
        files={"file": ("现场.jpg", HTML_AS_JPG, "image/jpeg")},
        headers=staff["h-zhao"],
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    (error,) = refused.json()["errors"]
    assert error["field"] == "file" and "HTML" in error["message"]
    assert error["code"] == "html"  # the checks' stable code beside the English reason
    assert await stored(settings) == before

    photo = await gateway.post(
        f"/api/v1/complaints/{complaint_id}/attachments",
        files={"file": ("现场.jpg", photo_with_gps(), "image/jpeg")},
        data={"shared_with_complainant": "true"},
        headers=staff["h-zhao"],
    )
    assert photo.status_code == 201, photo.text
    evidence = photo.json()
    assert (evidence["owner"], evidence["shared_with_complainant"]) == (key, True)
    assert evidence["thumbnail"] is True and evidence["public"] is False
    # What is kept is the pixels: no EXIF, so no GPS position.
    kept = await Attachments.for_settings(settings, pool).read(FileRef.model_validate(evidence))
    assert not Image.open(io.BytesIO(kept)).getexif()

    # A reference to a file never uploaded: the handling service refuses it.
    forged = {**evidence, "sha256": "0" * 64}
    bad = await case.act(
        complaint_id, "investigation", "h-zhao", {"findings": "属实", "attachments": [forged]}
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"][0]["field"] == "body.attachments"
    assert "upload it first" in bad.json()["errors"][0]["message"]

    investigation = {"findings": "现场核实，水泵损坏", "attachments": [evidence]}
    assert await case.ok(complaint_id, "investigation", "h-zhao", investigation) == "in_handling"
    recorded = (await case.case(complaint_id))["timeline"][-1]
    assert recorded["type"] == "InvestigationRecorded"
    assert recorded["data"]["attachments"] == [evidence]


async def test_only_registrars_upload_for_a_new_complaint(
    gateway: httpx.AsyncClient, staff: dict[str, Headers]
) -> None:
    response = await gateway.post(
        "/api/v1/attachments",
        files={"file": ("a.pdf", pdf(), "application/pdf")},
        headers=staff["h-zhao"],
    )
    assert response.status_code == 403
    anonymous = await gateway.post(
        "/api/v1/attachments", files={"file": ("a.pdf", pdf(), "application/pdf")}
    )
    assert anonymous.status_code == 401


async def test_the_openapi_documents_uploads_and_attachments(gateway: httpx.AsyncClient) -> None:
    spec = (await gateway.get("/openapi.json")).json()
    for path in ("/api/v1/attachments", "/api/v1/complaints/{complaint_id}/attachments"):
        post = spec["paths"][path]["post"]
        assert "multipart/form-data" in post["requestBody"]["content"], path
        assert set(post["responses"]) >= {"201", "413", "422"}
    investigation = spec["paths"]["/api/v1/complaints/{complaint_id}/investigation"]["post"]
    body = investigation["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    files = spec["components"]["schemas"][name]["properties"]["attachments"]
    assert files["items"]["$ref"].endswith("/FileRef")
