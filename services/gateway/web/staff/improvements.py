"""The staff pages of the improvements part (docs/quality.md)."""

from __future__ import annotations

from fastapi import APIRouter

from tousu.shared.settings import Settings


def router(settings: Settings) -> APIRouter:
    return APIRouter()
