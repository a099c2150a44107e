"""The staff API of the hotspots part (docs/quality.md)."""

from __future__ import annotations

from fastapi import APIRouter


def router() -> APIRouter:
    return APIRouter()
