"""The staff API of the supervision office's quality work (docs/quality.md):
inspection, improvement items, appraisal and hotspots, under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from tousu.services.gateway.quality import appraisal, hotspots, improvements, inspection


def quality_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["quality"])
    for part in (inspection, improvements, appraisal, hotspots):
        router.include_router(part.router())
    return router
