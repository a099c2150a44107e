"""In real Chromium: the reviewer's quality inspection pages. A supervisor
chooses November, draws its sample, opens a sampled case, is shown a bad
score at its field, scores the case, and sees the score in the sample and on
the case page; on a desk and on a phone."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import new_page, sign_in
from tests.inspection_cases import MONTH, closed_cases
from tests.lifecycle import staff_tokens
from tests.web_kit import PASSWORD, add_user
from tousu.services.metrics.inspection.checklist import checklists
from tousu.shared.store.postgres import PostgresEventStore

SHOTS = Path("/tmp/iss20/shots")


@pytest.fixture(autouse=True)
def _shots_folder() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)


async def fits(page: Page, width: int) -> None:
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll} px wide in a {width} px window"


async def snap(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"inspection-{name}.png"), full_page=True)


async def test_draw_and_review_on_the_page(
    site: str,
    browser: Browser,
    store: PostgresEventStore,
    pool: asyncpg.Pool,
    database_url: str,
) -> None:
    cases = await closed_cases(store)
    await add_user(pool, "sup-wang", "supervisor")
    page = await new_page(browser)
    await sign_in(page, site, "sup-wang", PASSWORD)

    await page.goto(f"{site}/staff/inspection")
    await page.fill("#month", MONTH)
    await page.click("#month-form button")
    await expect(page.locator("#not-drawn")).to_be_visible()
    # A bad share is shown at its field, and nothing is drawn.
    await page.fill("#draw-share", "2")
    await page.click("#draw-button")
    await expect(page.locator("#draw-share-error")).to_contain_text("1")
    await expect(page.locator("#draw-share")).to_have_attribute("aria-invalid", "true")
    await page.fill("#draw-share", "0.25")
    await page.fill("#draw-minimum", "1")
    await page.fill("#draw-seed", "20261130")
    await page.click("#draw-button")
    await expect(page.locator("#draw-seed")).to_have_text("20261130")
    late = next(c for c in cases if c.late)
    row = page.locator(f"tr[data-tracking-no='{late.tracking_no}']")
    await expect(row).to_contain_text("有补录")
    await fits(page, 1280)
    await snap(page, "sample-1280")

    # Open the late-entry case: its facts and timeline beside the checklist.
    await row.locator("a").first.click()
    await expect(page.locator("#timeline li").first).to_be_visible()
    await expect(page.locator("#review-form")).to_be_visible()
    items = checklists().current.items
    for item in items:
        await page.fill(f"#points-{item.code}", f"{item.max_points:g}")
    # One item over its maximum: refused at that item, the rest kept.
    await page.fill("#points-reply_clear", "15")
    await page.click("#review-submit")
    await expect(page.locator("#points-reply_clear-error")).to_contain_text("0 至 10")
    await expect(page.locator("#points-basis_sound")).to_have_value("10")
    await fits(page, 1280)
    await snap(page, "review-error-1280")
    # A failing score asking for a 督办 without its reason: refused at the reason.
    await page.fill("#points-reply_clear", "0")
    await page.fill("#points-result_answers_demands", "0")
    await page.check("#action-supervise")
    await page.click("#review-submit")
    await expect(page.locator("#reason-error")).to_be_visible()
    await page.fill("#reason", "答复未回应诉求，请整改")
    await page.click("#review-submit")
    await expect(page.locator("#review-result [data-score]")).to_have_text("75")
    await expect(page.locator("#review-result [data-verdict]")).to_have_text("不合格")
    await expect(page.locator("#review-result")).to_contain_text("督办")
    await snap(page, "review-done-1280")

    await page.goto(f"{site}/staff/inspection?month={MONTH}")
    await expect(
        page.locator(f"tr[data-tracking-no='{late.tracking_no}'] [data-score]")
    ).to_have_text("75")
    await page.goto(f"{site}/staff/cases/{late.complaint_id}")
    await expect(page.locator("#case-inspection [data-score]")).to_have_text("75")

    # English is there too.
    await page.goto(f"{site}/staff/inspection/{MONTH}/{late.complaint_id}?lang=en")
    await expect(page.locator("#checklist-title")).to_contain_text("Checklist")
    await expect(page.locator("#review-result [data-verdict]")).to_have_text("Failed")
    await snap(page, "review-en-1280")

    phone = await browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 812})
    small = await phone.new_page()
    await sign_in(small, site, "sup-wang", PASSWORD)
    await small.goto(f"{site}/staff/inspection?month={MONTH}")
    await fits(small, 375)
    await snap(small, "sample-375")
    await small.goto(f"{site}/staff/inspection/{MONTH}/{late.complaint_id}")
    await fits(small, 375)
    await snap(small, "review-375")

    # The same through the staff API: the sample with the review, refusals
    # naming the field, and other roles refused.
    tokens = await staff_tokens(
        database_url, [("sup-li", "supervisor", None), ("h-li", "handler", "water")]
    )
    async with httpx.AsyncClient(base_url=site) as http:
        got = (await http.get(f"/api/v1/inspection/{MONTH}", headers=tokens["sup-li"])).json()
        assert got["drawn"] and got["seed"] == 20261130 and got["checklist"]["pass_mark"] == 80
        reviewed = [c for c in got["cases"] if c["reviewed"]]
        assert [(c["tracking_no"], c["score"], c["action"]) for c in reviewed] == [
            (late.tracking_no, 75, "supervise")
        ]
        again = await http.post(
            f"/api/v1/inspection/{MONTH}/draw", json={"seed": 1}, headers=tokens["sup-li"]
        )
        assert again.status_code == 422, again.text
        assert again.json()["errors"][0]["field"] == "body.period"
        target = next(c for c in got["cases"] if not c["reviewed"])
        scores = [{"item": i.code, "points": i.max_points} for i in items]
        scores[2]["points"] = 99
        bad = await http.post(
            f"/api/v1/inspection/{MONTH}/reviews",
            json={"complaint_id": target["complaint_id"], "scores": scores},
            headers=tokens["sup-li"],
        )
        assert bad.status_code == 422, bad.text
        assert bad.json()["errors"][0]["field"] == "body.scores.2.points"
        denied = await http.get(f"/api/v1/inspection/{MONTH}", headers=tokens["h-li"])
        assert denied.status_code == 403
        assert (
            await http.get("/api/v1/inspection/2026-13", headers=tokens["sup-li"])
        ).status_code == 422
