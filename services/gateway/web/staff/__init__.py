"""The staff pages (login, intake console, department workbench, case page,
supervisor dashboard), under ``/staff``."""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.web.staff import cases, dashboard, intake, session, workbench
from shared.settings import Settings


def staff_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/staff", include_in_schema=False)
    for part in (session, cases, workbench, intake, dashboard):
        router.include_router(part.router(settings))
    return router
