"""``/open311/v2/``: Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2).

Every path ends in ``.json`` or ``.xml``, which picks the format; errors are
the spec's ``[{code, description}]`` in that format with the HTTP status as
``code``. Texts follow ``Accept-Language`` (zh, or en). Reads are public, as
in the spec; posting a request needs an ``api_key`` (``tousu open311 keys``).
A request may bring a photo (the ``media`` part of a multipart POST), and
``media_url`` shows a file once staff publish it (``open311/media.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Request, Response

from tousu.services.gateway.auth.dependencies import get_pool
from tousu.services.gateway.complaints.registration import submit
from tousu.services.gateway.complaints.routes import get_store
from tousu.services.gateway.open311 import catalogue, keys
from tousu.services.gateway.open311.body import form_fields
from tousu.services.gateway.open311.filing import Extras, parse
from tousu.services.gateway.open311.formats import (
    Format,
    Open311Error,
    as_format,
    error_response,
    render,
    timestamp,
)
from tousu.services.gateway.open311.media import (
    MEDIA,
    media_response,
    media_url,
    published_media,
    uploaded,
    with_media,
)
from tousu.services.gateway.open311.reads import (
    RequestQuery,
    as_open311,
    find_request,
    find_requests,
    split,
    tracking_no_for_token,
)
from tousu.services.gateway.problems import DomainProblem, Lang, Text, localize, request_language
from tousu.services.gateway.public.idempotency import HEADER as IDEMPOTENCY_HEADER
from tousu.services.gateway.public.idempotency import check_resend, keyed
from tousu.shared.attachments.checks import ACCEPTED
from tousu.shared.calendar import TZ
from tousu.shared.domain.inputs import instant_problem
from tousu.shared.events import Actor, utcnow
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.taxonomy import Taxonomy, UnknownCode
from tousu.shared.settings import Settings

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DEFAULT_RANGE = timedelta(days=90)  # the spec's default window of GET requests

Suffix = Annotated[str, Path(description="json or xml")]
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/xml": {}}},
    400: {"description": "[{code, description}] naming each problem"},
    404: {"description": "Unknown service, request or token; or a format other than json, xml"},
    403: {"description": "POST requests: the api_key is not valid"},
    503: {"description": "The intake service or the request list is not available yet"},
}


async def _answer(suffix: str, produce: Callable[[Format], Awaitable[Response]]) -> Response:
    fmt = as_format(suffix)
    if fmt is None:
        return error_response("json", Open311Error(404, f"unknown format {suffix!r}: json or xml"))
    try:
        return await produce(fmt)
    except Open311Error as exc:
        return error_response(fmt, exc)


def _instant(name: str, text: str | None) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(
            400, f"{name} must be a w3 date and time, e.g. 2026-03-01T00:00:00Z"
        ) from None
    # A bare date or a time without an offset is Beijing time, as elsewhere in tousu.
    at = at if at.tzinfo is not None else at.replace(tzinfo=TZ)
    problem = instant_problem(at)
    if problem is not None:  # year 1 or 9999 would overflow the default range
        raise Open311Error(422, f"{name} {problem}")
    return at


def _status_filter(values: list[str]) -> bool | None:
    wanted = {v.lower() for v in split(values)}
    if wanted - {"open", "closed"}:
        raise Open311Error(400, "status must be open, closed or both (comma separated)")
    return None if len(wanted) != 1 else wanted == {"closed"}


def _query(request: Request) -> RequestQuery:
    params = request.query_params
    start = _instant("start_date", params.get("start_date"))
    end = _instant("end_date", params.get("end_date"))
    if start is not None and end is not None and end < start:
        raise Open311Error(400, "end_date is before start_date")
    if start is None:
        start = (end or utcnow()) - DEFAULT_RANGE
    return RequestQuery(
        tracking_nos=split(params.getlist("service_request_id")),
        service_codes=split(params.getlist("service_code")),
        start=start,
        end=end,
        closed=_status_filter(params.getlist("status")),
    )


def _notice(no: str, code: str | None, due: str | None, lang: Lang) -> str:
    by = datetime.fromisoformat(due).astimezone(TZ).date().isoformat() if due else "—"
    text = Text(
        f"已收到您的投诉，受理编号 {no}。我们将于 {by} 前决定是否受理。",
        f"Received as {no}. We will decide whether to accept it by {by}.",
    )
    keep = Text(
        f"查询码 {code}：请与受理编号一起保存，用于查询进度和回访。",
        f" Access code {code}: keep it with the number to follow the case and to answer "
        "the follow-up.",
    )
    return text.get(lang) + (keep.get(lang) if code else "")


def _submit_error(exc: DomainProblem, lang: Lang) -> Open311Error:
    if exc.status >= 500:
        return Open311Error(503, localize(exc.detail, lang))
    errors = exc.extra.get("errors")
    details = [f"{e.get('field')}: {e.get('message')}" for e in errors or () if isinstance(e, dict)]
    return Open311Error(400, *(details or [localize(exc.detail, lang)]))


def open311_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["open311"], responses=_ANSWERS)
    naming = settings.naming
    register = CommitmentRegister.load()
    taxonomy = Taxonomy.load()

    @router.get("/discovery.{suffix}", operation_id="open311_discovery")
    async def discovery(suffix: Suffix, request: Request) -> Response:
        """Service discovery: where the GeoReport v2 endpoint is and what it speaks."""

        async def produce(fmt: Format) -> Response:
            changeset = timestamp(datetime.combine(register.published_on, time(), TZ))
            org = (
                settings.org_name_en if request_language(request) == "en" else settings.org_name_zh
            )
            body = {
                "changeset": changeset,
                "contact": f"{org} {settings.hotline or ''}".strip(),
                "key_service": "API keys are issued by the operator: tousu open311 keys add <name>",
                "endpoints": [
                    {
                        "specification": SPECIFICATION,
                        "url": f"{str(request.base_url).rstrip('/')}{PREFIX}",
                        "changeset": changeset,
                        "type": "production",
                        "formats": ["text/xml", "application/json"],
                    }
                ],
            }
            return render(fmt, body, root="discovery")

        return await _answer(suffix, produce)

    @router.get("/services.{suffix}", operation_id="open311_services")
    async def services(suffix: Suffix, request: Request) -> Response:
        """The service list: the items of the service-commitment register."""

        async def produce(fmt: Format) -> Response:
            body = catalogue.services(register, request_language(request))
            return render(fmt, body, root="services", item="service")

        return await _answer(suffix, produce)

    @router.get("/services/{service_code}.{suffix}", operation_id="open311_service_definition")
    async def service_definition(service_code: str, suffix: Suffix, request: Request) -> Response:
        """A service's attributes: what to send as ``attribute[code]`` when posting."""

        async def produce(fmt: Format) -> Response:
            try:
                item = register.item(service_code)
            except UnknownCode:
                raise Open311Error(404, f"service_code {service_code!r} was not found") from None
            body = catalogue.definition(item, taxonomy, request_language(request))
            return render(fmt, body, root="service_definition")

        return await _answer(suffix, produce)

    @router.post("/requests.{suffix}", operation_id="open311_post_request", status_code=201)
    async def post_request(suffix: Suffix, request: Request) -> Response:
        """File a request (form-encoded: api_key, service_code, lat/long or
        address_string or address_id, description, attribute[code], email,
        phone, first_name, last_name, device_id, account_id, media_url; or
        multipart/form-data with the same fields and a photo or document as
        the file part ``media``)."""

        async def produce(fmt: Format) -> Response:
            fields = await form_fields(request)
            api_key = next(iter(fields.get("api_key", ())), "").strip()
            if not api_key:
                raise Open311Error(400, "api_key is required to post a request")
            pool = get_pool(request)
            client = await keys.authenticate(pool, api_key)
            if client is None:
                raise Open311Error(403, "api_key is not valid")
            lang = request_language(request)
            filing = parse(fields, register, taxonomy, lang)
            actor = Actor(id=f"open311:{client.name}", role="complainant")
            connections = request.app.state.connections
            submission = filing.submission
            if request.headers.get("content-type", "").lower().startswith("multipart/"):
                media = uploaded(await request.form())
                if media is not None:
                    # Kept before the submission names it; refused: 400, nothing kept.
                    submission = await with_media(submission, media, connections.attachments, pool)
            # An Idempotency-Key (not in GeoReport v2, honoured as on the public
            # API) is the client's own: scoped to its api key.
            submission = keyed(
                submission,
                f"open311-{client.key_id}",
                request.headers.get(IDEMPOTENCY_HEADER) or None,
            )
            try:
                result = await submit(connections.nats, naming, submission, actor, details=False)
                await check_resend(connections.store, submission, result)
            except DomainProblem as exc:
                raise _submit_error(exc, lang) from None
            await _keep_extras(pool, str(result["complaint_id"]), client.key_id, filing.extras)
            no = str(result["tracking_no"])
            body = [
                {
                    "service_request_id": no,
                    "token": str(result["complaint_id"]),
                    "service_notice": _notice(
                        no, result.get("access_code"), result.get("acceptance_due"), lang
                    ),
                    "account_id": filing.extras.account_id,
                    # tousu's own: with the number, it opens the public case page
                    # and the follow-up survey; shown this once.
                    "access_code": result.get("access_code"),
                }
            ]
            return render(fmt, body, root="service_requests", item="request", status=201)

        return await _answer(suffix, produce)

    @router.get("/requests.{suffix}", operation_id="open311_get_requests")
    async def get_requests(suffix: Suffix, request: Request) -> Response:
        """Requests filed through Open311, newest first (at most 1000); filters
        service_request_id (a comma list; overrides the others), service_code,
        start_date, end_date (default: the last 90 days), status (open, closed)."""

        async def produce(fmt: Format) -> Response:
            query = _query(request)
            try:
                found = await find_requests(get_pool(request), query)
            except asyncpg.UndefinedTableError:
                raise Open311Error(503, "the request list is not ready yet; retry later") from None
            lang = request_language(request)
            details = settings.open311_public_details
            media = await published_media(get_pool(request), [r.complaint_id for r in found])
            base = _base(request)
            body = [
                as_open311(
                    r,
                    register,
                    lang,
                    details=details,
                    media=media_url(base, r.tracking_no, media[r.complaint_id])
                    if r.complaint_id in media
                    else None,
                )
                for r in found
            ]
            return render(fmt, body, root="service_requests", item="request")

        return await _answer(suffix, produce)

    @router.get("/requests/{service_request_id}.{suffix}", operation_id="open311_get_request")
    async def get_request(service_request_id: str, suffix: Suffix, request: Request) -> Response:
        """One request by its service_request_id (the tracking number)."""

        async def produce(fmt: Format) -> Response:
            found = await find_request(get_pool(request), get_store(request), service_request_id)
            if found is None:
                raise Open311Error(404, f"service_request_id {service_request_id!r} was not found")
            lang = request_language(request)
            media = await published_media(get_pool(request), [found.complaint_id])
            ref = media.get(found.complaint_id)
            shown = as_open311(
                found,
                register,
                lang,
                details=settings.open311_public_details,
                media=media_url(_base(request), found.tracking_no, ref) if ref else None,
            )
            return render(fmt, [shown], root="service_requests", item="request")

        return await _answer(suffix, produce)

    @router.get(
        MEDIA,
        operation_id="open311_get_media",
        responses={
            200: {
                "description": "The file, as kept (an image re-encoded, without EXIF)",
                "content": {kind: {} for kind in sorted(ACCEPTED)},
            },
            404: {"description": "No such published file of an Open311 request"},
        },
    )
    async def get_media(service_request_id: str, sha256: str, request: Request) -> Response:
        """A file staff published on an Open311 request: what its ``media_url`` links to."""
        try:
            found = await find_request(get_pool(request), get_store(request), service_request_id)
            if found is None:
                raise Open311Error(404, f"service_request_id {service_request_id!r} was not found")
            attachments = request.app.state.connections.attachments
            return await media_response(attachments, get_pool(request), found.complaint_id, sha256)
        except Open311Error as exc:
            return error_response("json", exc)

    @router.get("/tokens/{token}.{suffix}", operation_id="open311_get_token")
    async def get_token(token: str, suffix: Suffix, request: Request) -> Response:
        """The service_request_id of a token that a POST returned."""

        async def produce(fmt: Format) -> Response:
            no = await tracking_no_for_token(get_store(request), token)
            if no is None:
                raise Open311Error(404, f"token {token!r} was not found")
            body = [{"service_request_id": no, "token": token}]
            return render(fmt, body, root="service_requests", item="request")

        return await _answer(suffix, produce)

    return router


def _base(request: Request) -> str:
    """Where this endpoint is, as the client reached it."""
    return f"{str(request.base_url).rstrip('/')}{PREFIX}"


async def _keep_extras(
    pool: asyncpg.Pool, complaint_id: str, key_id: uuid.UUID, extras: Extras
) -> None:
    # A resent submission finds its row already there.
    await pool.execute(
        """INSERT INTO open311_requests
               (complaint_id, key_id, lat, long, address_id, media_url, device_id, account_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (complaint_id) DO NOTHING""",
        uuid.UUID(complaint_id),
        key_id,
        extras.lat,
        extras.long,
        extras.address_id,
        extras.media_url,
        extras.device_id,
        extras.account_id,
    )
