"""Jinja2 for the web pages: one environment per language, autoescaped, with gettext.

An environment per language (rather than installing translations on one
shared environment per request) keeps concurrent requests in different
languages from ever seeing each other's catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import jinja2
from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import Response

from tousu.services.gateway.problems import Lang
from tousu.services.gateway.web import formatting
from tousu.services.gateway.web.csrf import FIELD as CSRF_FIELD
from tousu.services.gateway.web.i18n import (
    COOKIE,
    LANGS,
    QUERY,
    TAGS,
    LanguageChoice,
    choose_language,
    translations,
)
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.settings import Settings

TEMPLATE_DIR: Final = Path(__file__).parent / "templates"
STATIC_DIR: Final = Path(__file__).parent / "static"
LANG_COOKIE_AGE: Final = 365 * 24 * 3600

# No inline script or style and nothing from elsewhere: an injected tag that
# slipped past escaping could still not run.
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def department_namer(register: CommitmentRegister, lang: Lang) -> Callable[[str | None], str]:
    """A department's name in ``lang``; its code when the register does not know it."""

    def name(code: str | None) -> str:
        if not code:
            return ""
        try:
            return register.department(code).name.get(lang)
        except KeyError:
            return code

    return name


def _environment(lang: Lang, register: CommitmentRegister) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Whitespace inside {% trans %} is layout, not part of the message id.
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]

    def day(value: date | None) -> str:
        return formatting.day(value, lang)

    def moment(value: datetime | None) -> str:
        return formatting.moment(value, lang)

    env.filters["day"] = day
    # English labels from the domain are lower case ("fed back, follow-up due").
    env.filters["first_upper"] = lambda text: text[:1].upper() + text[1:]
    env.filters["moment"] = moment
    env.filters["department"] = department_namer(register, lang)
    env.globals["lang"] = lang
    env.globals["lang_tag"] = TAGS[lang]
    return env


class Pages:
    """Renders a page in the request's language, with the layout's shared context."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        register = CommitmentRegister.load()
        self._templates = {
            lang: Jinja2Templates(env=_environment(lang, register)) for lang in LANGS
        }

    def language(self, request: Request) -> LanguageChoice:
        return choose_language(request)

    def _layout(self, request: Request, choice: LanguageChoice) -> dict[str, Any]:
        s = self._settings
        other: Lang = "en" if choice.lang == "zh" else "zh"
        switch = request.url.include_query_params(**{QUERY: TAGS[other]})
        return {
            "org_name": s.org_name_en if choice.lang == "en" else s.org_name_zh,
            "hotline": s.hotline,
            "supervision_phone": s.supervision_phone,
            "supervision_email": s.supervision_email,
            "switch_url": f"{switch.path}?{switch.query}",
            "switch_lang": other,
            "path": request.url.path,
            "csrf_field": CSRF_FIELD,
        }

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
        private: bool = False,
    ) -> Response:
        """``private``: the page shows someone's complaint, so no cache may keep it."""
        choice = self.language(request)
        full = {**self._layout(request, choice), **(context or {})}
        response = self._templates[choice.lang].TemplateResponse(
            request, template, full, status_code=status
        )
        response.headers.update(SECURITY_HEADERS)
        response.headers["Content-Language"] = choice.tag
        response.headers["Cache-Control"] = "no-store" if private else "no-cache"
        remember(response, request, choice)
        return response


def remember(response: Response, request: Request, choice: LanguageChoice) -> None:
    if choice.remember:
        response.set_cookie(
            COOKIE,
            choice.tag,
            max_age=LANG_COOKIE_AGE,
            path="/",
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="lax",
        )
