"""``GET /schemas`` and ``GET /schemas/{name}.json``: the JSON Schemas of the NATS messages.

The files ``tousu schemas export`` ships in ``tousu/kit/schemas`` (a test keeps
them equal to what the models generate): ``index.json`` maps each subject
pattern to the names of its schemas, and each schema is served by its name,
so that an adapter in any language can validate a message before sending it
(docs/integrations.md, "Message contracts: schemas").
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tousu.services.gateway.problems import NotFound, Text
from tousu.shared.application import schemas

NO_SUCH_SCHEMA = Text("没有这个消息模式", "No such message schema")


@cache
def _shipped() -> tuple[dict[str, Any], dict[str, bytes]]:
    """index.json, and each schema file's bytes by name (read once)."""
    folder = schemas.shipped()
    index: dict[str, Any] = json.loads(folder.joinpath(schemas.INDEX).read_text("utf-8"))
    files = {
        entry.name.removesuffix(schemas.SUFFIX): entry.read_bytes()
        for entry in folder.iterdir()
        if entry.name.endswith(schemas.SUFFIX)
    }
    return index, files


def schemas_router() -> APIRouter:
    router = APIRouter(tags=["schemas"])

    @router.get("/schemas", operation_id="schemas_index")
    async def schemas_index() -> dict[str, Any]:
        """The index: each NATS subject pattern (``{root}``, ``{department}``,
        ``{channel}`` ... placeholders) with its kind, its schema's name, a
        request's reply schema and an event's schema by ``schema_version``."""
        index, _files = _shipped()
        return index

    @router.get(
        "/schemas/{name}.json",
        operation_id="schema",
        response_class=JSONResponse,
        responses={
            200: {
                "description": "A JSON Schema (draft 2020-12)",
                "content": {"application/schema+json": {"schema": {"type": "object"}}},
            },
            404: {"description": "No schema has this name"},
        },
    )
    async def schema(name: str) -> JSONResponse:
        """One message's JSON Schema, by the name the index gives it
        (``cmd.intake.submit``, ``event.ComplaintRouted.v1``, ...)."""
        _index, files = _shipped()
        body = files.get(name)
        if body is None:
            raise NotFound(NO_SUCH_SCHEMA, code="schema_not_found")
        return JSONResponse(json.loads(body), media_type="application/schema+json")

    return router
