"""The public's pages: home, the complaint form, and the commitment register;
the case lookup and the survey are in :mod:`.tracking`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from tousu.services.gateway.complaints.registration import submit
from tousu.services.gateway.problems import DomainProblem, Lang, Unprocessable
from tousu.services.gateway.public.routes import PUBLIC_ACTOR
from tousu.services.gateway.public.views import NEXT_STEPS
from tousu.services.gateway.web import complaint_form, uploads
from tousu.services.gateway.web.complaint_form import REPLY_CHANNELS, ComplaintForm
from tousu.services.gateway.web.context import Web, form_data, see_other
from tousu.services.gateway.web.i18n import N_, gettext
from tousu.services.gateway.web.templating import STATIC_DIR
from tousu.services.gateway.web.tracking import add_tracking_routes
from tousu.shared.domain.status import Status
from tousu.shared.events import utcnow
from tousu.shared.intake.commitments import DEFAULT_LIMITS, CommitmentRegister
from tousu.shared.intake.taxonomy import Taxonomy
from tousu.shared.settings import Settings

FILED_COOKIE: Final = "tousu_filed"
FILED_PATH: Final = "/complaints/filed"
# Long enough to copy the code down, short enough not to linger on a shared computer.
FILED_AGE: Final = 15 * 60

CSRF_REFUSED = N_(
    "This form has expired or did not come from this site. "
    "Please check what you entered and send it again."
)
UNAVAILABLE = N_(
    "We could not file your complaint just now. Please send the form again in a moment: "
    "it will not be filed twice."
)


def static_files() -> StaticFiles:
    """The pages' stylesheet and scripts, served from the repository (no CDN)."""
    return StaticFiles(directory=STATIC_DIR)


def web_public_router(settings: Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    web = Web.create(settings)
    taxonomy = Taxonomy.load()
    register = CommitmentRegister.load()

    @router.get("/")
    async def home(request: Request) -> Response:
        return web.pages.render(
            request,
            "home.html",
            {
                "categories": taxonomy.categories,
                "out_of_scope": taxonomy.out_of_scope_kinds,
                "limits": DEFAULT_LIMITS,
            },
        )

    @router.get("/commitments")
    async def commitments(request: Request) -> Response:
        view = register.public_view(web.lang(request))
        departments: dict[str, list[Any]] = {}
        for item in view.items:
            departments.setdefault(item.department.name, []).append(item)
        return web.pages.render(
            request, "commitments.html", {"register": view, "departments": departments}
        )

    def show_form(
        request: Request, form: ComplaintForm, *, status: int = 200, alert: str | None = None
    ) -> Response:
        lang = web.lang(request)
        context = {
            "form": form,
            "alert": gettext(lang, alert) if alert else None,
            "limits": complaint_form.LIMITS,
            "categories": taxonomy.categories,
            "items": register.public_view(lang).items,
            "reply_channels": [c.value for c in REPLY_CHANNELS],
            "max_files": settings.attachments.max_files,
            "max_file_mb": settings.attachments.max_bytes >> 20,
            "accept": uploads.ACCEPT,
        }
        return web.form_page(request, "complaint_form.html", context, status=status)

    @router.get("/complaints/new")
    async def new_complaint(request: Request) -> Response:
        return show_form(request, complaint_form.blank())

    @router.post("/complaints/new")
    async def file_complaint(request: Request) -> Response:
        lang = web.lang(request)
        raw = await form_data(request)
        form = complaint_form.read(raw, lang, utcnow(), taxonomy, register)
        if not web.csrf.verify(request, raw):
            return show_form(request, form, status=403, alert=CSRF_REFUSED)
        # Every file checked before any is stored: a refusal stores nothing.
        attachments = uploads.attachments_of(request)
        files = await uploads.chosen_files(request)
        kept = await uploads.checked(attachments, files, form, lang)
        if form.submission is None or form.errors:
            if kept and uploads.FIELD not in form.errors:
                form.error(uploads.FIELD, uploads.CHOOSE_AGAIN, lang)
            # The error summary and the messages at the fields say it all.
            return show_form(request, form, status=422)
        submission = form.submission
        if kept:
            # Stored before the complaint that names them, sealed with the key
            # its contact details will be sealed with.
            who = submission.complainant
            owner = await uploads.owner_of_new_complaint(
                request.app.state.connections.pool, who.phone, who.email
            )
            refs = await uploads.stored(attachments, owner, kept)
            submission = submission.model_copy(update={"attachments": refs})
        nats = request.app.state.connections.nats
        try:
            result = await submit(nats, settings.naming, submission, PUBLIC_ACTOR, details=False)
        except Unprocessable as problem:
            _service_errors(form, problem, lang)
            return show_form(request, form, status=422)
        except DomainProblem:
            return show_form(request, form, status=503, alert=UNAVAILABLE)
        response = see_other(FILED_PATH)
        receipt = {
            "tracking_no": result["tracking_no"],
            "access_code": result.get("access_code"),
            "acceptance_due": result.get("acceptance_due"),
            # Its promise is the register's for this item (limits on the page).
            "service_item": form.submission.service_item,
            # A 监督举报: the complaint it is about, said back to the citizen.
            "related_tracking_no": form.submission.related_tracking_no,
        }
        payload = json.dumps(receipt, separators=(",", ":"))
        token = web.signer.sign(FILED_COOKIE, payload)
        web.set_cookie(response, request, FILED_COOKIE, token, FILED_PATH, FILED_AGE)
        return response

    @router.get(FILED_PATH)
    async def filed(request: Request) -> Response:
        """The acceptance details, from a short-lived cookie: a reload or a language
        switch shows them again, and the POST is never resent."""
        lang = web.lang(request)
        payload = web.signer.unsign(FILED_COOKIE, request.cookies.get(FILED_COOKIE), FILED_AGE)
        receipt = json.loads(payload) if payload else None
        if receipt is not None and receipt.get("acceptance_due"):
            receipt["acceptance_due"] = datetime.fromisoformat(receipt["acceptance_due"])
        context = {
            "receipt": receipt,
            "next_steps": NEXT_STEPS[Status.RECEIVED].get(lang),
            # The register's limits for the item named (its default for none).
            "limits": register.limits_for(receipt.get("service_item") if receipt else None),
        }
        return web.pages.render(request, "filed.html", context, private=True)

    add_tracking_routes(router, web)
    return router


def _service_errors(form: ComplaintForm, problem: Unprocessable, lang: Lang) -> None:
    # What intake refused despite the form's own checks: place it at its field.
    for error in problem.extra.get("errors", []):
        name = complaint_form.form_field(str(error.get("field", "")).split("."))
        message = complaint_form.NO_CONTACT if name == "contact" else complaint_form.INVALID
        if name == "related_tracking_no":
            message = complaint_form.NO_SUCH_COMPLAINT
        form.error(name, message, lang)
    if not form.errors:
        form.error("form", complaint_form.INVALID, lang)
