"""Following a complaint: the lookup form, the case page and the satisfaction survey.

The access code never appears in a URL. ``POST /track`` checks the number and
code and answers with a short-lived signed cookie naming the complaint (not
the code), then redirects to ``/track/case``: so the case page can be
reloaded and switched to another language, and neither the code nor the
case id ends up in history, logs or a Referer. The survey posts to
``/track/follow-up`` with that cookie as the proof of the code.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from tousu.services.gateway.case_files import (
    complainant_file,
    complainant_files,
    file_response,
    public_file_url,
)
from tousu.services.gateway.complaints.client import CommandClient
from tousu.services.gateway.complaints.reader import Case, load_case
from tousu.services.gateway.complaints.request_id import correlation_id
from tousu.services.gateway.complaints.routes import get_store
from tousu.services.gateway.problems import Conflict, DomainProblem, NotFound, localize
from tousu.services.gateway.public.access import case_for_code
from tousu.services.gateway.public.routes import FOLLOW_UP, PUBLIC_ACTOR
from tousu.services.gateway.public.views import public_case
from tousu.services.gateway.throttle import TooManyRequests
from tousu.services.gateway.web.complaint_form import REQUIRED, TOO_LONG
from tousu.services.gateway.web.context import Web, form_data, see_other
from tousu.services.gateway.web.i18n import N_, gettext
from tousu.shared.domain import commands as c
from tousu.shared.events import decode, utcnow
from tousu.shared.events import types as ev
from tousu.shared.events.types import Satisfaction

CASE_COOKIE: Final = "tousu_case"
CASE_PATH: Final = "/track"
# A visit's length; after it the number and code are asked again.
CASE_AGE: Final = 30 * 60
SURVEY_CHOICES: Final = (
    Satisfaction.SATISFIED,
    Satisfaction.BASICALLY_SATISFIED,
    Satisfaction.DISSATISFIED,
)

NOT_FOUND = N_("No complaint found: please check the tracking number and the access code.")
EXPIRED = N_("For your privacy the case page closes after a while: please enter them again.")
CSRF_REFUSED = N_("This form has expired or did not come from this site: please send it again.")
SURVEY_THANKS = N_("Thank you: your answer has been recorded.")
SURVEY_CLOSED = N_("This complaint is not awaiting your opinion any more.")
UNAVAILABLE = N_("The service is not available just now: please try again in a moment.")
CHOOSE_ONE = N_("Please choose one.")


def own_words(case: Case) -> ev.ComplaintReceived | None:
    """What the complainant told us: theirs to see again, beside what we answered."""
    for envelope in case.history:
        if envelope.type == "ComplaintReceived":
            data = decode(envelope)
            return data if isinstance(data, ev.ComplaintReceived) else None
    return None


def add_tracking_routes(router: APIRouter, web: Web) -> None:
    naming = web.settings.naming

    def lookup_form(
        request: Request,
        values: dict[str, str],
        errors: dict[str, str],
        *,
        status: int = 200,
        alert: str | None = None,
    ) -> Response:
        return web.form(request, "track.html", values, errors, status=status, alert=alert)

    @router.get("/track")
    async def track(request: Request) -> Response:
        expired = request.query_params.get("expired") == "1"
        return lookup_form(request, {}, {}, alert=EXPIRED if expired else None)

    @router.post("/track")
    async def find(request: Request) -> Response:
        lang = web.lang(request)
        raw = await form_data(request)
        values = {k: str(raw.get(k, "")).strip()[:40] for k in ("tracking_no", "code")}
        if not web.csrf.verify(request, raw):
            return lookup_form(request, values, {}, status=403, alert=CSRF_REFUSED)
        errors = {k: gettext(lang, REQUIRED) for k, v in values.items() if not v}
        if errors:
            return lookup_form(request, values, errors, status=422)
        try:
            complaint_id, _ = await case_for_code(request, values["tracking_no"], values["code"])
        except TooManyRequests as locked:
            kept = {"tracking_no": values["tracking_no"]}
            alert = localize(locked.detail, lang)
            page = lookup_form(request, kept, {}, status=429, alert=alert)
            page.headers.update(locked.headers)
            return page
        except NotFound:
            # The code is not shown again: the one typed was wrong anyway.
            kept = {"tracking_no": values["tracking_no"]}
            return lookup_form(request, kept, {}, status=404, alert=NOT_FOUND)
        response = see_other(f"{CASE_PATH}/case")
        token = web.signer.sign(CASE_COOKIE, str(complaint_id))
        web.set_cookie(response, request, CASE_COOKIE, token, CASE_PATH, CASE_AGE)
        return response

    def viewing(request: Request) -> uuid.UUID | None:
        payload = web.signer.unsign(CASE_COOKIE, request.cookies.get(CASE_COOKIE), CASE_AGE)
        try:
            return uuid.UUID(payload) if payload else None
        except ValueError:
            return None

    async def case_page(
        request: Request,
        complaint_id: uuid.UUID,
        *,
        survey: dict[str, Any] | None = None,
        status: int = 200,
        alert: str | None = None,
    ) -> Response:
        lang = web.lang(request)
        case = await load_case(get_store(request), complaint_id)
        if not case.state.exists:
            return see_other(f"{CASE_PATH}?expired=1")
        context = {
            "case": public_case(case, lang),
            "complaint": own_words(case),
            # Thumbnails of the citizen's files and of those shared with them.
            "files": [
                {
                    "url": public_file_url(ref),
                    "thumb": public_file_url(ref, thumbnail=True) if ref.thumbnail else None,
                    "name": ref.name,
                }
                for ref in complainant_files(case)
            ],
            "survey": survey or {"values": {}, "errors": {}},
            "survey_choices": [s.value for s in SURVEY_CHOICES],
            "alert": gettext(lang, alert) if alert else None,
        }
        return web.form_page(request, "case.html", context, status=status)

    @router.get(f"{CASE_PATH}/case")
    async def show_case(request: Request) -> Response:
        complaint_id = viewing(request)
        if complaint_id is None:
            return see_other(f"{CASE_PATH}?expired=1")
        notes = {"thanks": SURVEY_THANKS, "closed": SURVEY_CLOSED}
        return await case_page(
            request, complaint_id, alert=notes.get(request.query_params.get("survey", ""))
        )

    @router.get(f"{CASE_PATH}/files/{{sha256}}")
    async def own_file(sha256: str, request: Request) -> Response:
        """A file of the case being tracked: the complainant's own, or one the
        department shared with them; nothing of any other case."""
        return await tracked_file(request, sha256, thumbnail=False)

    @router.get(f"{CASE_PATH}/files/{{sha256}}/thumb")
    async def own_file_thumbnail(sha256: str, request: Request) -> Response:
        return await tracked_file(request, sha256, thumbnail=True)

    async def tracked_file(request: Request, sha256: str, *, thumbnail: bool) -> Response:
        complaint_id = viewing(request)
        if complaint_id is None:
            return Response(status_code=404, headers={"Cache-Control": "no-store"})
        case = await load_case(get_store(request), complaint_id)
        attachments = request.app.state.connections.attachments
        return await file_response(attachments, complainant_file(case, sha256), thumbnail=thumbnail)

    @router.post(f"{CASE_PATH}/follow-up")
    async def follow_up(request: Request) -> Response:
        lang = web.lang(request)
        complaint_id = viewing(request)
        if complaint_id is None:
            return see_other(f"{CASE_PATH}?expired=1")
        raw = await form_data(request)
        values = {k: str(raw.get(k, "")).strip() for k in ("satisfaction", "comment")}
        if not web.csrf.verify(request, raw):
            survey = {"values": values, "errors": {}}
            return await case_page(
                request, complaint_id, survey=survey, status=403, alert=CSRF_REFUSED
            )
        errors: dict[str, str] = {}
        if values["satisfaction"] not in {s.value for s in SURVEY_CHOICES}:
            errors["satisfaction"] = gettext(lang, CHOOSE_ONE)
        if len(values["comment"]) > c.TEXT:
            errors["comment"] = gettext(lang, TOO_LONG, max=c.TEXT, length=len(values["comment"]))
        if errors:
            survey = {"values": values, "errors": errors}
            return await case_page(request, complaint_id, survey=survey, status=422)
        command = c.RecordFollowUp(
            actor=PUBLIC_ACTOR,
            occurred_at=utcnow(),
            satisfaction=Satisfaction(values["satisfaction"]),
            comment=values["comment"] or None,
            correlation_id=correlation_id(request),
        )
        client = CommandClient(request.app.state.connections.nats, naming)
        try:
            await client.send(FOLLOW_UP, complaint_id, command)
        except Conflict:
            return see_other(f"{CASE_PATH}/case?survey=closed")
        except DomainProblem:
            survey = {"values": values, "errors": {}}
            return await case_page(
                request, complaint_id, survey=survey, status=503, alert=UNAVAILABLE
            )
        return see_other(f"{CASE_PATH}/case?survey=thanks")

    @router.post(f"{CASE_PATH}/close")
    async def close(request: Request) -> Response:
        """Ends the visit at once (a shared computer), rather than in half an hour."""
        response = see_other(CASE_PATH)
        response.delete_cookie(CASE_COOKIE, path=CASE_PATH)
        return response
