"""problem+json (RFC 9457) for every gateway error, in zh-CN by default and in English."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import AwareDatetime, BaseModel, Field

from tousu.services.gateway.problems import (
    PROBLEM_JSON,
    Conflict,
    NotFound,
    Text,
    error_message,
    install_problem_handlers,
    preferred_language,
    problem,
)

EN = {"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"}


class Complainant(BaseModel):
    name: str = Field(min_length=1)
    phone: str = Field(pattern=r"^\+?[0-9-]{5,20}$")


class NewComplaint(BaseModel):
    channel: Literal["phone", "letter", "walk_in"]
    received_at: AwareDatetime
    complainant: Complainant
    copies: int = Field(default=1, ge=1)


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/complaints", status_code=201)
    async def register(body: NewComplaint) -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 in /srv/secret.py")

    @app.get("/cases/{case_id}")
    async def case(case_id: int) -> None:
        if case_id == 1:
            raise Conflict(
                Text("已受理，不能再次受理", "Already accepted"),
                code="invalid_state",
                current_state="accepted",
            )
        if case_id == 2:
            raise problem(
                409, "already_claimed", Text("已签收", "Already claimed"), current_state="claimed"
            )
        if case_id == 3:
            raise HTTPException(status_code=418, detail="short and stout")
        raise NotFound(Text("投诉不存在", "No such complaint"))

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as c:
        yield c


BAD_BODY = {
    "channel": "fax",
    "received_at": "2026-02-13T17:00:00",  # no offset
    "complainant": {"name": "", "phone": "call me"},
    "copies": 0,
}
BAD_FIELDS = {
    "body.channel",
    "body.received_at",
    "body.complainant.name",
    "body.complainant.phone",
    "body.copies",
}


async def test_validation_error_names_each_bad_field_in_chinese(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/complaints", json=BAD_BODY)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["content-language"] == "zh-CN"
    body = response.json()
    assert body["status"] == 422
    assert body["instance"] == "/complaints"
    assert body["type"].endswith("validation_failed")
    assert body["title"] == "请求内容有误"
    errors = {e["field"]: e for e in body["errors"]}
    assert set(errors) == BAD_FIELDS
    assert errors["body.complainant.phone"]["message"] == "格式不正确"
    assert errors["body.complainant.phone"]["type"] == "string_pattern_mismatch"
    assert errors["body.complainant.name"]["message"] == "至少 1 个字符"
    assert errors["body.copies"]["message"] == "应大于或等于 1"
    assert errors["body.received_at"]["message"].startswith("日期时间须带时区")
    assert errors["body.channel"]["message"].startswith("应为以下之一")
    assert "body.complainant.phone" in body["detail"]
    assert "call me" not in response.text  # input is not echoed back


async def test_validation_error_in_english(client: httpx.AsyncClient) -> None:
    response = await client.post("/complaints", json=BAD_BODY, headers=EN)
    assert response.status_code == 422
    assert response.headers["content-language"] == "en"
    body = response.json()
    assert body["title"] == "Invalid request"
    errors = {e["field"]: e["message"] for e in body["errors"]}
    assert set(errors) == BAD_FIELDS
    assert "pattern" in errors["body.complainant.phone"]
    assert errors["body.copies"] == "Input should be greater than or equal to 1"


async def test_missing_fields_and_bad_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/complaints", json={"channel": "phone"})
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors == {"body.received_at": "必填", "body.complainant": "必填"}
    response = await client.post(
        "/complaints", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == "不是有效的 JSON"


async def test_unexpected_error_is_a_500_problem_without_internals(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == 500
    assert body["title"] == "服务器内部错误"
    assert body["error_id"] in body["detail"]  # what to quote to an operator
    for leak in ("hunter2", "secret.py", "RuntimeError", "Traceback"):
        assert leak not in response.text


async def test_domain_problems_carry_their_extension_members(client: httpx.AsyncClient) -> None:
    response = await client.get("/cases/1", headers=EN)
    assert response.status_code == 409
    body = response.json()
    assert body == {
        "type": "urn:tousu:problem:invalid_state",
        "title": "Conflict with the current state",
        "status": 409,
        "detail": "Already accepted",
        "instance": "/cases/1",
        "code": "invalid_state",
        "current_state": "accepted",
    }
    body = (await client.get("/cases/2")).json()
    assert (body["code"], body["title"], body["current_state"]) == (
        "already_claimed",
        "已签收",
        "claimed",
    )
    body = (await client.get("/cases/9")).json()
    assert (body["status"], body["title"], body["detail"]) == (404, "未找到", "投诉不存在")


async def test_http_exceptions_and_unknown_routes_are_problems(client: httpx.AsyncClient) -> None:
    response = await client.get("/cases/3")
    assert response.status_code == 418
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["detail"] == "short and stout"
    response = await client.get("/nowhere", headers=EN)
    assert response.status_code == 404
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
        "instance": "/nowhere",
    }
    response = await client.delete("/complaints")
    assert response.status_code == 405
    assert response.json()["title"] == "不支持此请求方法"
    assert "POST" in response.headers["allow"]
    response = await client.get("/cases/abc")  # a bad path parameter is a 422 too
    assert response.json()["errors"][0] == {
        "field": "path.case_id",
        "message": "应为整数",
        "type": "int_parsing",
    }


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh"),
        ("", "zh"),
        ("en", "en"),
        ("en-GB", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("zh;q=0.5, en;q=0.7", "en"),
        ("fr-FR, de", "zh"),
        ("fr, en;q=0.3", "en"),
        ("en;q=0", "zh"),
        ("*", "zh"),
        ("en;q=abc, zh", "zh"),
    ],
)
def test_preferred_language(header: str | None, expected: str) -> None:
    assert preferred_language(header) == expected


def test_error_message_falls_back_to_pydantics() -> None:
    unknown = {"type": "some_new_type", "msg": "Something new", "loc": ("body",)}
    assert error_message(unknown, "zh") == "Something new"
    broken_ctx = {"type": "greater_than", "msg": "Input should be greater than 3", "ctx": {}}
    assert error_message(broken_ctx, "zh") == "Input should be greater than 3"


def test_extension_members_may_not_replace_standard_ones() -> None:
    with pytest.raises(TypeError):
        Conflict("x", instance="/elsewhere")
