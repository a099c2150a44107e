"""The one wrapper every request-reply handler is answered by: a body that does
not validate and a refusal are replies naming why; anything else is an
internal_error in the handler's own words, its cause kept out of the reply."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from tousu.shared.application.credentials import Kind, Principal
from tousu.shared.application.replies import Request, answer
from tousu.shared.domain.errors import DomainError, NotFound


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int


def request(outcome: Exception | None, **options: Any) -> Request[Body]:
    async def handle(body: Body) -> dict[str, int]:
        if outcome is not None:
            raise outcome
        return {"twice": body.n * 2}

    return Request(Body.model_validate, handle, "the sum could not be done", "test", **options)


GATEWAY = Principal(Kind.TRUSTED, "gateway", 0)


def validation_error() -> ValidationError:
    try:
        Body.model_validate({"n": "many"})
    except ValidationError as exc:
        return exc
    raise AssertionError("validated")


async def test_the_result_is_an_ok_reply() -> None:
    assert await answer(request(None), {"n": 2}, GATEWAY) == {"ok": True, "result": {"twice": 4}}


async def test_a_body_that_does_not_validate_names_the_field() -> None:
    reply = await answer(request(None), {"n": "two", "m": 1}, GATEWAY)

    assert reply["ok"] is False
    assert reply["error"]["code"] == "validation_error"
    assert reply["error"]["message"] == "the command is not valid"
    assert [f["field"] for f in reply["error"]["details"]] == ["n", "m"]


async def test_a_refusal_is_the_callers_to_hear() -> None:
    reply = await answer(request(NotFound("no complaint 7", id=7)), {"n": 1}, GATEWAY)

    assert reply == {
        "ok": False,
        "error": {"code": "not_found", "message": "no complaint 7", "details": {"id": 7}},
    }


async def test_any_other_failure_is_an_internal_error_without_its_cause() -> None:
    reply = await answer(request(RuntimeError("password=hunter2")), {"n": 1}, GATEWAY)

    assert reply == {
        "ok": False,
        "error": {
            "code": "internal_error",
            "message": "the sum could not be done",
            "details": None,
        },
    }


async def test_a_validation_error_while_handling_is_refused_only_when_declared() -> None:
    internal = await answer(request(validation_error()), {"n": 1}, GATEWAY)
    refused = await answer(
        request(validation_error(), refused=(ValidationError, DomainError)), {"n": 1}, GATEWAY
    )

    assert internal["error"]["code"] == "internal_error"
    assert refused["error"]["code"] == "validation_error"
    assert refused["error"]["details"][0]["field"] == "n"


async def test_only_a_trusted_sender_is_answered_unless_the_request_admits_others() -> None:
    wechat = Principal(Kind.CHANNEL, "wechat", 0)

    reply = await answer(request(None), {"n": 2}, wechat)

    assert reply["ok"] is False
    assert reply["error"]["code"] == "forbidden"
