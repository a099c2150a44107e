"""Routing's own switches, from ``TOUSU_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class RoutingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOUSU_", extra="ignore")

    # TOUSU_AUTO_ROUTE=0: accepted and returned cases wait for a person to route them.
    auto_route: bool = True
    # TOUSU_ROUTING_RULES: an operator's rules file instead of the packaged one.
    routing_rules: Path | None = None
