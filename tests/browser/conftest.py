"""Real headless Chromium (Debian's package, driven by Playwright) against the
whole system: every service as its own process and the gateway on a port."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.helpers import REPO, eventually
from tests.processes import spawn, stop
from tousu.embedded.ports import free_port

# Screenshots of every page a journey passes, for people to look at (git-ignored).
ARTIFACTS = REPO / "tests" / "artifacts"


@asynccontextmanager
async def gateway_process(env: dict[str, str], folder: Path) -> AsyncIterator[str]:
    """The gateway as its own process on a spare port, once it answers; its base URL."""
    port = free_port()
    proc = spawn(
        "gateway", env | {"TOUSU_HTTP_PORT": str(port), "TOUSU_HTTP_HOST": "127.0.0.1"}, folder
    )
    base = f"http://127.0.0.1:{port}"

    async def ready() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{base}/readyz", timeout=1.0)).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await eventually(ready, "the gateway to answer", timeout=60)
        yield base
    finally:
        stop(proc)


@pytest.fixture
async def site(running_services: Path, child_env: dict[str, str]) -> AsyncIterator[str]:
    """The gateway as its own process, serving the web pages; its base URL."""
    async with gateway_process(child_env, running_services) as base:
        yield base


@pytest.fixture(scope="session")
def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        # Not a skip: `make test` installs it, and a journey that silently
        # does not run proves nothing.
        pytest.fail("Debian's chromium is missing: run `make system-deps`")
    return found


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        launched = await playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def new_page(browser: Browser, *, lang: str = "zh-CN") -> Page:
    context = await browser.new_context(locale=lang, viewport={"width": 1280, "height": 900})
    return await context.new_page()


async def sign_in(page: Page, site: str, username: str, password: str) -> None:
    await page.goto(f"{site}/staff/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("main button[type=submit]")
    await page.wait_for_url(re.compile(r"/staff/(intake|dashboard|queue)"))


async def shot(page: Page, journey: str, step: str) -> Path:
    folder = ARTIFACTS / journey
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.strftime('%H%M%S')}-{step}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
