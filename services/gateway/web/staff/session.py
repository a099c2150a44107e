"""Staff sign-in for the web pages: the session cookie, who is signed in, and
what every staff page needs (the nav by role, the 403 page, the login redirect).

The session is a staff API token (``repository.issue_token``, named "web
session", ``TOUSU_SESSION_HOURS``, default 10) kept in the HttpOnly, SameSite=Strict cookie
``tousu_session`` on ``/staff``: signing out revokes it, and disabling the
user ends it at once, as for any token.

A staff page starts with ``principal = await require_staff(request, *roles)``
and renders with :func:`staff_page`. :class:`NeedsLogin` becomes a redirect
to the login page and :class:`NotPermitted` the 403 page; both are turned into
responses by :class:`StaffRoute`, the route class of the ``/staff`` router.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from tousu.services.gateway.auth import passwords
from tousu.services.gateway.auth.dependencies import get_pool
from tousu.services.gateway.auth.repository import (
    get_credentials,
    issue_token,
    principal_for_token,
    revoke_token,
    set_password_hash,
)
from tousu.services.gateway.auth.roles import Principal, StaffRole
from tousu.services.gateway.problems import localize
from tousu.services.gateway.throttle import (
    TooManyRequests,
    check_login,
    client_ip,
    login_succeeded,
)
from tousu.services.gateway.web.complaint_form import REQUIRED
from tousu.services.gateway.web.context import Web, form_data, see_other
from tousu.services.gateway.web.i18n import N_, gettext
from tousu.shared.settings import Settings, load_settings

COOKIE: Final = "tousu_session"
COOKIE_PATH: Final = "/staff"
TOKEN_NAME: Final = "web session"
LOGIN_PATH: Final = "/staff/login"
# Tokens are short; anything much longer is not one of ours.
_MAX_TOKEN = 256

HOME_BY_ROLE: Final[dict[StaffRole, str]] = {
    "operator": "/staff/intake",
    "handler": "/staff/queue",
    "dept_head": "/staff/queue",
    "supervisor": "/staff/dashboard",
    "admin": "/staff/dashboard",
}

ROLE_NAMES: Final[dict[StaffRole, str]] = {
    "operator": N_("Intake operator"),
    "handler": N_("Case handler"),
    "dept_head": N_("Head of department"),
    "supervisor": N_("Supervision officer"),
    "admin": N_("Administrator"),
}

# Who may open the department workbench (its links are shown to them only).
QUEUE_ROLES: Final[frozenset[StaffRole]] = frozenset(
    {"handler", "dept_head", "supervisor", "admin"}
)

# The staff menu: (path, label, roles that see it).
NAV: Final[tuple[tuple[str, str, frozenset[StaffRole]], ...]] = (
    ("/staff/intake", N_("Intake console"), frozenset({"operator", "supervisor", "admin"})),
    ("/staff/queue", N_("Department workbench"), QUEUE_ROLES),
    ("/staff/dashboard", N_("Department dashboard"), frozenset({"dept_head"})),
    ("/staff/dashboard", N_("Supervision and statistics"), frozenset({"supervisor", "admin"})),
    # The worklists (docs/supervision-web.md).
    ("/staff/follow-ups", N_("Follow-ups"), frozenset({"operator", "supervisor", "admin"})),
    ("/staff/supervision", N_("Supervision items"), frozenset({"supervisor", "admin"})),
    # The office's quality work (docs/quality.md).
    ("/staff/inspection", N_("Quality inspection"), frozenset({"supervisor", "admin"})),
    (
        "/staff/improvements",
        N_("Improvement tracking"),
        frozenset({"handler", "dept_head", "supervisor", "admin"}),
    ),
    ("/staff/appraisal", N_("Appraisal"), frozenset({"dept_head", "supervisor", "admin"})),
)

BAD_LOGIN = N_("Incorrect username or password.")
LOGIN_EXPIRED = N_("The sign-in form has expired: please sign in again.")
SIGNED_OUT = N_("You have signed out.")
FORBIDDEN = N_("Your role may not open this page.")


class NeedsLogin(Exception):
    """Nobody is signed in (or the session ended): the login page, then back to ``next``."""

    def __init__(self, next_path: str | None = None) -> None:
        super().__init__("sign in first")
        self.next_path = next_path


class NotPermitted(Exception):
    """Signed in, but the role may not do this: the 403 page."""

    def __init__(self, principal: Principal) -> None:
        super().__init__(f"{principal.role} may not do this")
        self.principal = principal


_CACHE_KEY = "tousu_staff"


async def current_staff(request: Request) -> Principal | None:
    """The signed-in staff member, from the session cookie; None when there is none."""
    cached = request.scope.get("state", {}).get(_CACHE_KEY, False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    token = request.cookies.get(COOKIE)
    principal = None
    if token and len(token) <= _MAX_TOKEN:
        principal = await principal_for_token(get_pool(request), token)
    request.scope.setdefault("state", {})[_CACHE_KEY] = principal
    return principal


async def require_staff(request: Request, *roles: StaffRole) -> Principal:
    """The signed-in staff member, whose role is among ``roles`` (none given: any role).

    Raises :class:`NeedsLogin` or :class:`NotPermitted`, which the ``/staff``
    router turns into the login redirect and the 403 page.
    """
    principal = await current_staff(request)
    if principal is None:
        raise NeedsLogin()
    if roles and principal.role not in roles:
        raise NotPermitted(principal)
    return principal


def safe_next(value: str | None) -> str | None:
    """``value`` when it is a path of the staff pages on this site, else None."""
    if not value or len(value) > 2000:
        return None
    if not value.startswith(COOKIE_PATH) or value.startswith("//"):
        return None
    rest = value[len(COOKIE_PATH) :]
    if rest and rest[0] not in "/?":
        return None
    if "\\" in value or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return None
    return value


def login_url(next_path: str | None) -> str:
    target = safe_next(next_path)
    if target is None or target in (COOKIE_PATH, LOGIN_PATH):
        return LOGIN_PATH
    return f"{LOGIN_PATH}?next={quote(target, safe='/')}"


def staff_context(request: Request, principal: Principal) -> dict[str, Any]:
    """What staff/base.html needs: the user, their role's name and their menu."""
    path = request.url.path
    nav = [
        {"href": href, "label": label, "current": path == href or path.startswith(href + "/")}
        for href, label, roles in NAV
        if principal.role in roles
    ]
    return {
        "staff": principal,
        "staff_name": principal.display_name or principal.username,
        "staff_role": ROLE_NAMES[principal.role],
        "staff_nav": nav,
    }


def staff_page(
    web: Web,
    request: Request,
    principal: Principal,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> Response:
    """A staff page (extending staff/base.html): never cached, with a CSRF token
    (every staff page has the sign-out form)."""
    full = {**staff_context(request, principal), **context}
    return web.form_page(request, template, full, status=status)


def forbidden_page(web: Web, request: Request, principal: Principal) -> Response:
    lang = web.lang(request)
    context = {"message": gettext(lang, FORBIDDEN), "home": HOME_BY_ROLE[principal.role]}
    return staff_page(web, request, principal, "staff/_core_message.html", context, status=403)


async def staff_home(request: Request) -> Response:
    """``GET /staff``: each role's start page. Added by the ``/staff`` router
    itself: an included router may not have a route with an empty path."""
    principal = await require_staff(request)
    return see_other(HOME_BY_ROLE[principal.role])


def staff_route_class(web: Web) -> type[APIRoute]:
    """The route class of every ``/staff`` route: it answers :class:`NeedsLogin`
    with the login redirect and :class:`NotPermitted` with the 403 page.

    A route class rather than an exception handler, because handlers belong to
    the application and this router must bring its own; FastAPI keeps a
    route's class when the router is included.
    """

    class StaffRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            original = super().get_route_handler()

            async def handler(request: Request) -> Response:
                try:
                    return await original(request)
                except NeedsLogin as exc:
                    target = exc.next_path
                    if target is None:
                        # After signing in the browser GETs ``next``: a form's
                        # address would not do.
                        url = request.url
                        target = (
                            (f"{url.path}?{url.query}" if url.query else url.path)
                            if request.method == "GET"
                            else COOKIE_PATH
                        )
                    return see_other(login_url(target))
                except NotPermitted as exc:
                    return forbidden_page(web, request, exc.principal)

            return handler

    return StaffRoute


def router(settings: Settings) -> APIRouter:
    web = Web.create(settings)
    routes = APIRouter(route_class=staff_route_class(web))

    def login_form(
        request: Request,
        values: dict[str, str],
        errors: dict[str, str],
        *,
        status: int = 200,
        alert: str | None = None,
    ) -> Response:
        next_path = safe_next(request.query_params.get("next")) or ""
        return web.form(
            request, "staff/login.html", values, errors, status=status, alert=alert, next=next_path
        )

    @routes.get("/login")
    async def login_page(request: Request) -> Response:
        principal = await current_staff(request)
        if principal is not None:
            wanted = safe_next(request.query_params.get("next"))
            return see_other(wanted or HOME_BY_ROLE[principal.role])
        out = request.query_params.get("out") == "1"
        return login_form(request, {}, {}, alert=SIGNED_OUT if out else None)

    @routes.post("/login")
    async def login(request: Request) -> Response:
        lang = web.lang(request)
        raw = await form_data(request)
        username = str(raw.get("username", "")).strip()[:64]
        password = str(raw.get("password", ""))
        values = {"username": username}
        if not web.csrf.verify(request, raw):
            return login_form(request, values, {}, status=403, alert=LOGIN_EXPIRED)
        errors = {
            name: gettext(lang, REQUIRED)
            for name, value in (("username", username), ("password", password))
            if not value
        }
        if errors:
            return login_form(request, values, errors, status=422)
        throttle, ip = request.app.state.throttle, client_ip(request.scope)
        try:
            # Counted as a failure until it succeeds.
            attempt = await check_login(throttle, username, ip)
        except TooManyRequests as locked:
            alert = localize(locked.detail, lang)
            page = login_form(request, values, {}, status=429, alert=alert)
            page.headers.update(locked.headers)
            return page
        pool = get_pool(request)
        found = None
        if len(password) <= passwords.MAX_LENGTH:
            found = await get_credentials(pool, username)
        if found is None:
            # As long as a wrong password takes: timing must not list usernames.
            await asyncio.to_thread(passwords.burn_verification, password[: passwords.MAX_LENGTH])
            return login_form(request, values, {}, status=422, alert=BAD_LOGIN)
        user, password_hash = found
        ok = await asyncio.to_thread(passwords.verify_password, password_hash, password)
        if not ok or not user.active:
            return login_form(request, values, {}, status=422, alert=BAD_LOGIN)
        await login_succeeded(throttle, attempt, username, ip)
        if passwords.needs_rehash(password_hash):
            new_hash = await asyncio.to_thread(passwords.hash_password, password)
            await set_password_hash(pool, user.id, new_hash)
        lifetime = timedelta(hours=load_settings().auth.session_hours)
        issued = await issue_token(pool, user.id, name=TOKEN_NAME, lifetime=lifetime)
        target = safe_next(str(raw.get("next", ""))) or HOME_BY_ROLE[user.role]
        response = see_other(target)
        age = int(lifetime.total_seconds())
        web.set_cookie(response, request, COOKIE, issued.token, COOKIE_PATH, age)
        return response

    @routes.post("/logout")
    async def logout(request: Request) -> Response:
        raw = await form_data(request)
        principal = await current_staff(request)
        if principal is None:
            return see_other(LOGIN_PATH)
        if not web.csrf.verify(request, raw):
            # A sign-out from another site (or a stale page): stay signed in.
            return see_other(HOME_BY_ROLE[principal.role])
        if principal.token_id is not None:
            await revoke_token(get_pool(request), principal.token_id)
        response = see_other(f"{LOGIN_PATH}?out=1")
        response.delete_cookie(
            COOKIE,
            path=COOKIE_PATH,
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="strict",
        )
        return response

    return routes
