"""Staff pages: intake (being built)."""

from __future__ import annotations

from fastapi import APIRouter

from shared.settings import Settings


def router(settings: Settings) -> APIRouter:
    return APIRouter()
