"""The public web pages that need no service: rendering in both languages,
the language switch, form validation next to each field, and CSRF refusal.
The gateway runs in-process; nothing here files a complaint."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.web_kit import gateway_client, hidden
from tousu.services.gateway.web.csrf import COOKIE as CSRF_COOKIE
from tousu.services.gateway.web.i18n import COOKIE as LANG_COOKIE
from tousu.shared.settings import Settings


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as c:
        yield c


def error_of(html: str, field: str) -> str:
    """The error message shown at a field (its element id is ``<field>-error``)."""
    found = re.search(
        rf'id="{field}-error"><span class="visually-hidden">[^<]*</span>([^<]*)<', html
    )
    assert found, f"no error at {field}"
    return found.group(1)


async def form_page(client: httpx.AsyncClient, **params: str) -> tuple[str, dict[str, str]]:
    page = await client.get("/complaints/new", params=params)
    assert page.status_code == 200, page.text
    return page.text, {
        "csrf_token": hidden(page.text, "csrf_token"),
        "form_id": hidden(page.text, "form_id"),
    }


async def test_home_and_commitments_render_in_chinese_by_default(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    home = await client.get("/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in home.text
    assert settings.org_name_zh in home.text
    assert "我要投诉" in home.text and "服务质量" in home.text
    # The supervision channel the policy asks to publish.
    assert settings.supervision_phone in home.text and settings.supervision_email in home.text
    assert "default-src 'self'" in home.headers["content-security-policy"]

    register = await client.get("/commitments")
    assert register.status_code == 200
    assert "服务对象" in register.text and "市水务集团" in register.text
    assert "个工作日内告知是否受理" in register.text

    css = await client.get("/static/tousu.css")
    assert css.status_code == 200 and "site-header" in css.text


async def test_the_language_switch_is_remembered(client: httpx.AsyncClient) -> None:
    english = await client.get("/commitments", params={"lang": "en"})
    assert '<html lang="en">' in english.text
    assert "Who it serves" in english.text and "Municipal Water Group" in english.text
    assert client.cookies.get(LANG_COOKIE) == "en"
    # The cookie now decides, over the browser's Accept-Language.
    again = await client.get("/", headers={"Accept-Language": "zh-CN"})
    assert "File a complaint" in again.text and "中文" in again.text
    back = await client.get("/", params={"lang": "zh-CN"})
    assert "我要投诉" in back.text and client.cookies.get(LANG_COOKIE) == "zh-CN"


async def test_accept_language_picks_english_without_a_cookie(client: httpx.AsyncClient) -> None:
    page = await client.get("/track", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Tracking number" in page.text and LANG_COOKIE not in page.headers.get("set-cookie", "")


async def test_the_form_renders_with_a_csrf_token_and_its_cookie(client: httpx.AsyncClient) -> None:
    html, fields = await form_page(client)
    assert client.cookies.get(CSRF_COOKIE) == fields["csrf_token"]
    assert 'name="subject"' in html and 'name="description"' in html and 'name="anonymous"' in html
    assert "服务态度" in html  # a subcategory of the taxonomy, to choose from


@pytest.mark.parametrize(
    ("lang", "required", "contact", "phone"),
    [
        ("zh-CN", "请填写此项。", "请留下电话或电子邮箱", "请填写能接通的电话号码"),
        ("en", "Please fill in this field.", "Give a phone number or an e-mail", "Enter a phone"),
    ],
)
async def test_errors_are_shown_next_to_their_fields(
    client: httpx.AsyncClient, lang: str, required: str, contact: str, phone: str
) -> None:
    _, fields = await form_page(client, lang=lang)
    posted = {**fields, "subject": "", "description": "门口<b>排队</b>", "email": "", "phone": ""}
    missing = await client.post("/complaints/new", data=posted)
    assert missing.status_code == 422
    assert error_of(missing.text, "subject") == required
    assert contact in missing.text.split('id="contact-error"')[1][:300]
    assert 'id="description-error"' not in missing.text
    # What was typed comes back, escaped, so that nothing is typed twice.
    assert "门口&lt;b&gt;排队&lt;/b&gt;</textarea>" in missing.text

    posted.update(
        subject="x" * 501, phone="12ab", email="not-an-address", happened_at="2099-01-01T10:00"
    )
    wrong = await client.post("/complaints/new", data=posted)
    assert wrong.status_code == 422
    assert "500" in error_of(wrong.text, "subject") and "501" in error_of(wrong.text, "subject")
    assert error_of(wrong.text, "phone").startswith(phone)
    assert "@" in error_of(wrong.text, "email")
    assert error_of(wrong.text, "happened_at")
    assert 'href="#subject"' in wrong.text  # the summary links to the field


async def test_a_post_without_the_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    _, fields = await form_page(client)
    complete = {
        "form_id": fields["form_id"],
        "subject": "窗口人员态度恶劣",
        "description": "办理业务时被呵斥。",
        "anonymous": "1",
    }
    no_field = await client.post("/complaints/new", data=complete)
    assert no_field.status_code == 403
    assert "表单已过期或并非来自本网站" in no_field.text
    assert "窗口人员态度恶劣" in no_field.text  # kept for sending again
    forged = await client.post("/complaints/new", data={**complete, "csrf_token": "x.1.y"})
    assert forged.status_code == 403
    client.cookies.clear()
    no_cookie = await client.post("/complaints/new", data={**complete, **fields})
    assert no_cookie.status_code == 403
    # The refusal page carries a fresh token and its cookie, so sending again works.
    assert hidden(no_cookie.text, "csrf_token") == client.cookies.get(CSRF_COOKIE)

    lookup = await client.post("/track", data={"tracking_no": "TS2611-48273-91562", "code": "X"})
    assert lookup.status_code == 403


async def test_the_lookup_form_names_missing_fields(client: httpx.AsyncClient) -> None:
    page = await client.get("/track", params={"lang": "en"})
    token = hidden(page.text, "csrf_token")
    empty = await client.post("/track", data={"csrf_token": token, "tracking_no": "", "code": ""})
    assert empty.status_code == 422
    assert error_of(empty.text, "tracking_no") == "Please fill in this field."
    assert error_of(empty.text, "code") == "Please fill in this field."


async def test_the_case_page_needs_a_lookup_first(client: httpx.AsyncClient) -> None:
    case = await client.get("/track/case")
    assert case.status_code == 303 and case.headers["location"] == "/track?expired=1"
    filed = await client.get("/complaints/filed")
    assert filed.status_code == 200 and "页面已过期" in filed.text
