"""What every web route needs, built once per application."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tousu.services.gateway.problems import Lang
from tousu.services.gateway.web.csrf import Csrf
from tousu.services.gateway.web.i18n import gettext
from tousu.services.gateway.web.secret import web_secret
from tousu.services.gateway.web.signing import Signer
from tousu.services.gateway.web.templating import Pages
from tousu.shared.settings import Settings


@dataclass(frozen=True)
class Web:
    settings: Settings
    pages: Pages
    signer: Signer
    csrf: Csrf

    @classmethod
    def create(cls, settings: Settings) -> Web:
        signer = Signer(web_secret(settings))
        return cls(settings, Pages(settings), signer, Csrf(signer))

    def lang(self, request: Request) -> Lang:
        return self.pages.language(request).lang

    def form_page(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        status: int = 200,
        private: bool = True,
    ) -> Response:
        """A page with a form: it gets a CSRF token, and the browser its cookie."""
        token = self.csrf.token(request)
        response = self.pages.render(
            request, template, {**context, "csrf_token": token}, status=status, private=private
        )
        self.csrf.set_cookie(response, request, token)
        return response

    def form(
        self,
        request: Request,
        template: str,
        values: dict[str, str],
        errors: dict[str, str],
        *,
        status: int = 200,
        alert: str | None = None,
        **extra: Any,
    ) -> Response:
        """A form page showing what was typed, each error at its field, and an
        optional message (a catalogue id) above the form."""
        context = {
            "values": values,
            "errors": errors,
            "alert": gettext(self.lang(request), alert) if alert else None,
            **extra,
        }
        return self.form_page(request, template, context, status=status)

    def set_cookie(
        self, response: Response, request: Request, name: str, value: str, path: str, age: int
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=age,
            path=path,
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="strict",
        )


def see_other(url: str) -> RedirectResponse:
    # 303: after a POST the browser follows with a GET, and a reload does not resend.
    return RedirectResponse(url, status_code=303)


async def form_data(request: Request) -> dict[str, Any]:
    form = await request.form()
    # Files have no place in these forms; only text fields count.
    return {k: v for k, v in form.items() if isinstance(v, str)}
