"""The staff pages (login, intake console, department workbench, case page,
supervisor dashboard, follow-up and supervision worklists), under ``/staff``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from tousu.services.gateway.web.context import Web
from tousu.services.gateway.web.staff import (
    appraisal,
    cases,
    dashboard,
    improvements,
    inspection,
    intake,
    session,
    workbench,
    worklists,
)
from tousu.shared.settings import Settings


def staff_router(settings: Settings) -> APIRouter:
    # Every staff route answers session.NeedsLogin with the login redirect and
    # session.NotPermitted with the 403 page (see session.staff_route_class).
    route_class = session.staff_route_class(Web.create(settings))
    router = APIRouter(prefix="/staff", include_in_schema=False, route_class=route_class)
    router.add_api_route("", session.staff_home, methods=["GET"])
    for part in (
        session,
        cases,
        workbench,
        intake,
        dashboard,
        worklists,
        inspection,
        improvements,
        appraisal,
    ):
        sub = part.router(settings)
        for route in sub.routes:
            if type(route) is APIRoute:
                # Kept when included: FastAPI copies a route with its class.
                route.__class__ = route_class
        router.include_router(sub)
    return router
