"""Every gateway error as ``application/problem+json`` (RFC 9457), in zh-CN or English.

Routes raise a :class:`DomainProblem` (or one of its subclasses, or
:func:`problem`); :func:`install_problem_handlers` turns those, request
validation errors, ``HTTPException`` and anything unexpected into problem
documents with ``type``, ``title``, ``status``, ``detail`` and ``instance``,
plus a ``code`` member clients can switch on. Messages are Chinese unless the
request's ``Accept-Language`` prefers English.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar, Literal

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from tousu.services.gateway.asgi import HttpMiddleware
from tousu.shared.logs import get_logger

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:tousu:problem:"

Lang = Literal["zh", "en"]
DEFAULT_LANG: Lang = "zh"
_CONTENT_LANGUAGE: dict[Lang, str] = {"zh": "zh-CN", "en": "en"}

log = get_logger(__name__)


# -- messages in two languages ------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A user-facing message in both languages the gateway speaks."""

    zh: str
    en: str

    def get(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.zh


Msg = Text | str  # a plain str is shown as is in both languages


def localize(message: Msg, lang: Lang) -> str:
    return message.get(lang) if isinstance(message, Text) else message


def preferred_language(accept_language: str | None) -> Lang:
    """zh or en, whichever ``Accept-Language`` ranks higher; zh when it names neither."""
    best: Lang = DEFAULT_LANG
    best_q = 0.0
    for part in (accept_language or "").split(","):
        tag, *params = (p.strip() for p in part.split(";"))
        primary = tag.lower().split("-")[0]
        if primary not in ("zh", "en"):
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        # Strictly greater: on a tie the language listed first wins.
        if q > best_q:
            best, best_q = ("en" if primary == "en" else "zh"), q
    return best


def request_language(request: Request) -> Lang:
    return preferred_language(request.headers.get("accept-language"))


# -- problems routes raise ----------------------------------------------------

_STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


class DomainProblem(Exception):
    """An error a route reports to the client; subclasses fix status, code and title.

    ``extra`` keyword arguments become extension members of the document
    (e.g. ``current_state`` of a 409), so they must be JSON-encodable.
    """

    default_status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"
    default_title: ClassVar[Msg] = Text("请求无效", "Bad request")

    def __init__(
        self,
        detail: Msg | None = None,
        *,
        code: str | None = None,
        title: Msg | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        clash = _STANDARD_MEMBERS & extra.keys()
        if clash:
            raise TypeError(f"extension members may not be named {sorted(clash)}")
        self.status = status or self.default_status
        self.code = code or self.default_code
        self.title = title or self.default_title
        self.detail: Msg = detail if detail is not None else self.title
        self.headers: dict[str, str] = dict(headers or {})
        self.extra = extra
        super().__init__(f"{self.status} {self.code}: {localize(self.detail, 'en')}")


class BadRequest(DomainProblem):
    default_status = 400
    default_code = "bad_request"
    default_title = Text("请求无效", "Bad request")


class Unauthorized(DomainProblem):
    default_status = 401
    default_code = "unauthorized"
    default_title = Text("需要登录", "Authentication required")

    def __init__(self, detail: Msg | None = None, *, error: str | None = None, **kw: Any) -> None:
        # RFC 6750: say which scheme to use, and why a presented token failed.
        challenge = f'Bearer error="{error}"' if error else "Bearer"
        headers = {"WWW-Authenticate": challenge, **(kw.pop("headers", None) or {})}
        super().__init__(detail, headers=headers, **kw)


class Forbidden(DomainProblem):
    default_status = 403
    default_code = "forbidden"
    default_title = Text("无权执行此操作", "Forbidden")


class NotFound(DomainProblem):
    default_status = 404
    default_code = "not_found"
    default_title = Text("未找到", "Not found")


class Conflict(DomainProblem):
    """The resource's state does not allow the request; pass ``current_state=``."""

    default_status = 409
    default_code = "conflict"
    default_title = Text("当前状态不允许此操作", "Conflict with the current state")


class Unprocessable(DomainProblem):
    """Well-formed input the domain refuses; pass ``errors=[{"field", "message", "type"}]``."""

    default_status = 422
    default_code = "validation_failed"
    default_title = Text("请求内容有误", "Invalid request")


class ServiceUnavailable(DomainProblem):
    default_status = 503
    default_code = "service_unavailable"
    default_title = Text("服务暂时不可用", "Service unavailable")


def problem(
    status: int, code: str, title: Msg, detail: Msg | None = None, **extra: Any
) -> DomainProblem:
    """A one-off problem, e.g. ``raise problem(409, "claimed", Text(...), current_state=...)``."""
    return DomainProblem(detail, status=status, code=code, title=title, **extra)


# -- rendering ----------------------------------------------------------------


def problem_response(
    request: Request,
    *,
    status: int,
    title: Msg,
    detail: Msg,
    code: str | None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    lang = request_language(request)
    body: dict[str, Any] = {
        # about:blank: the status code says it all (RFC 9457 section 4.2.1).
        "type": f"{TYPE_PREFIX}{code}" if code else "about:blank",
        "title": localize(title, lang),
        "status": status,
        "detail": localize(detail, lang),
        "instance": request.url.path,
    }
    if code:
        body["code"] = code
    body.update(jsonable_encoder(dict(extra or {})))
    all_headers = {
        **(headers or {}),
        "Content-Language": _CONTENT_LANGUAGE[lang],
        "Vary": "Accept-Language",
    }
    return JSONResponse(body, status_code=status, headers=all_headers, media_type=PROBLEM_JSON)


def render_problem(request: Request, problem: DomainProblem) -> JSONResponse:
    """The document of a problem, raised by a route or made by a middleware."""
    return problem_response(
        request,
        status=problem.status,
        title=problem.title,
        detail=problem.detail,
        code=problem.code,
        extra=problem.extra,
        headers=problem.headers,
    )


async def _domain_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainProblem)
    return render_problem(request, exc)


_STATUS_TITLES_ZH = {
    400: "请求无效",
    401: "需要登录",
    403: "无权访问",
    404: "未找到",
    405: "不支持此请求方法",
    406: "无法提供所要求的格式",
    409: "冲突",
    413: "请求内容过大",
    415: "不支持的内容类型",
    422: "请求内容有误",
    429: "请求过于频繁",
    500: "服务器内部错误",
    503: "服务暂时不可用",
}


def _status_title(status: int) -> Text:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = f"HTTP {status}"
    return Text(_STATUS_TITLES_ZH.get(status, phrase), phrase)


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _status_title(exc.status_code)
    extra: dict[str, Any] = {}
    detail: Msg = title
    if isinstance(exc.detail, str) and exc.detail != title.en:
        detail = exc.detail
    elif not isinstance(exc.detail, str) and exc.detail is not None:
        extra["details"] = exc.detail
    return problem_response(
        request,
        status=exc.status_code,
        title=title,
        detail=detail,
        code=None,
        extra=extra,
        headers=exc.headers,
    )


# -- request validation (422) -------------------------------------------------

# Chinese for pydantic's common error types; ``{name}`` fields come from the
# error's ``ctx``. Types not listed keep pydantic's (English) message.
_ZH_MESSAGES = {
    "missing": "必填",
    "extra_forbidden": "不允许的字段",
    "string_type": "应为字符串",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应大于或等于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应小于或等于 {le}",
    "multiple_of": "应为 {multiple_of} 的倍数",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "datetime_type": "应为日期时间，例如 2026-02-13T17:00:00+08:00",
    "datetime_parsing": "应为日期时间，例如 2026-02-13T17:00:00+08:00",
    "datetime_from_date_parsing": "应为日期时间，例如 2026-02-13T17:00:00+08:00",
    "timezone_aware": "日期时间须带时区，例如 +08:00",
    "timezone_naive": "日期时间不应带时区",
    "datetime_past": "应为过去的时间",
    "datetime_future": "应为将来的时间",
    "date_type": "应为日期，例如 2026-02-13",
    "date_parsing": "应为日期，例如 2026-02-13",
    "date_from_datetime_parsing": "应为日期，例如 2026-02-13",
    "date_past": "应为过去的日期",
    "date_future": "应为将来的日期",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "应为 UUID",
    "url_type": "应为网址",
    "url_parsing": "应为有效的网址",
    "json_invalid": "不是有效的 JSON",
    "json_type": "应为 JSON 字符串",
    "union_tag_invalid": "类型标记无效，应为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少类型标记字段 {discriminator}",
}


def field_path(loc: Sequence[int | str]) -> str:
    """``("body", "complainant", "phone")`` → ``body.complainant.phone``."""
    return ".".join(str(part) for part in loc)


def error_message(error: Mapping[str, Any], lang: Lang) -> str:
    english = str(error.get("msg", ""))
    template = _ZH_MESSAGES.get(str(error.get("type"))) if lang == "zh" else None
    if template is None:
        return english
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError, ValueError):
        return english


def field_errors(errors: Sequence[Mapping[str, Any]], lang: Lang) -> list[dict[str, str]]:
    # No ``input``: it may be a password, and the client sent it anyway.
    return [
        {
            "field": field_path(error.get("loc", ())),
            "message": error_message(error, lang),
            "type": str(error.get("type", "")),
        }
        for error in errors
    ]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    lang = request_language(request)
    errors = field_errors(exc.errors(), lang)
    names = [e["field"] for e in errors]
    detail = Text(
        f"{len(names)} 处输入有误：{'、'.join(names)}",
        f"{len(names)} invalid input(s): {', '.join(names)}",
    )
    return render_problem(request, Unprocessable(detail, errors=errors))


# -- the unexpected (500) -----------------------------------------------------

INTERNAL_ERROR_TITLE = Text("服务器内部错误", "Internal server error")


class UnhandledErrorMiddleware(HttpMiddleware):
    """Answers an exception no handler took with a 500 problem, and logs it once.

    Starlette's own ``Exception`` handler re-raises after answering, so the
    server would log the traceback a second time, without our error id.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            if started:  # too late for a problem document: let the server cut it
                raise
            error_id = uuid.uuid4()
            request = Request(scope)
            log.exception(
                "unhandled error", error_id=str(error_id), method=request.method, path=scope["path"]
            )
            detail = Text(
                f"处理请求时出错，请稍后重试。错误编号 {error_id}",
                f"The request failed; please try again later. Error id {error_id}",
            )
            failed = problem(
                500, "internal_error", INTERNAL_ERROR_TITLE, detail, error_id=str(error_id)
            )
            await render_problem(request, failed)(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainProblem, _domain_problem)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_middleware(UnhandledErrorMiddleware)
