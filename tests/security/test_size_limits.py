"""Size limits on HTTP: a field over its length is a 422 naming the field (zh/en),
next to the field on the web form; a body over ``max_request_bytes`` is a 413,
whether or not it declares its length."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.web_kit import gateway_client, hidden
from tousu.shared.domain.commands import SHORT, TEXT
from tousu.shared.settings import Settings

PUBLIC = "/api/v1/public/complaints"
LIMIT = 64 * 1024


def complaint(**fields: str) -> dict[str, object]:
    return {
        "complainant": {"name": "王五", "phone": "13911112222"},
        "subject": "停水未通知",
        "description": "小区连续两天停水。",
    } | fields


@pytest.fixture
async def gateway(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("TOUSU_RATE_LIMITS", "false")
    async with gateway_client(settings.model_copy(update={"max_request_bytes": LIMIT})) as c:
        yield c


async def test_a_field_over_its_length_is_named_in_both_languages(
    gateway: httpx.AsyncClient,
) -> None:
    body = complaint(subject="长" * (SHORT + 1))
    zh = await gateway.post(PUBLIC, json=body)
    assert zh.status_code == 422
    assert zh.headers["content-type"] == "application/problem+json"
    errors = {e["field"]: e["message"] for e in zh.json()["errors"]}
    assert errors == {"body.subject": f"最多 {SHORT} 个字符"}

    en = await gateway.post(PUBLIC, json=body, headers={"Accept-Language": "en"})
    errors = {e["field"]: e["message"] for e in en.json()["errors"]}
    assert errors == {"body.subject": f"String should have at most {SHORT} characters"}


async def test_a_body_over_the_limit_is_refused_before_it_is_read(
    gateway: httpx.AsyncClient,
) -> None:
    big = complaint(description="水" * LIMIT)
    declared = await gateway.post(PUBLIC, json=big)
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    problem = declared.json()
    assert problem["code"] == "request_too_large" and problem["title"] == "请求内容过大"
    assert problem["detail"] == "请求内容超过 64 KB 上限"
    english = await gateway.post(PUBLIC, json=big, headers={"Accept-Language": "en"})
    assert english.json()["detail"] == "The request body exceeds the 64 KB limit"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"description": "'
        for _ in range(LIMIT // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    chunked = await gateway.post(
        PUBLIC, content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413
    assert chunked.headers["content-type"] == "application/problem+json"

    # Just under the limit is read and judged on its fields as usual.
    fits = await gateway.post(PUBLIC, json=complaint(subject="长" * (SHORT + 1)))
    assert fits.status_code == 422


async def test_the_web_form_says_which_field_is_too_long(gateway: httpx.AsyncClient) -> None:
    form = await gateway.get("/complaints/new")
    typed = "x" * (TEXT + 1)  # 20 KB, within the body limit
    page = await gateway.post(
        "/complaints/new",
        data={
            "csrf_token": hidden(form.text, "csrf_token"),
            "form_id": hidden(form.text, "form_id"),
            "name": "王五",
            "phone": "139 1111 2222",
            "subject": "停水未通知",
            "description": typed,
            "kind": "service_result/below_standard",
            "preferred_channel": "phone",
        },
    )
    assert page.status_code == 422, page.text[:500]
    message = re.search(r'id="description-error">(.*?)</p>', page.text, re.S)
    assert message, "no error next to the description"
    text = re.sub(r"<[^>]+>", "", message.group(1))
    assert f"{TEXT}" in text and f"{TEXT + 1}" in text, text
