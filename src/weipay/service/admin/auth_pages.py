"""Logging in and out, and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .context import PREFIX, Console
from .i18n import LANGUAGE_COOKIE, language_of
from .session import COOKIE_NAME

__all__ = ["build_auth_pages"]

_LANGUAGE_COOKIE_MAX_AGE_S = 365 * 24 * 3600


def build_auth_pages(console: Console) -> APIRouter:
    """``/console/login``, ``/console/logout`` and ``/console/lang``."""
    router = APIRouter()

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        return console.render(request, "login.html", None, wrong=False)

    @router.post("/login")
    def login(
        request: Request, api_key: str = Form(""), username: str = Form(""), password: str = Form("")
    ) -> Response:
        token = console.sessions.log_in(api_key=api_key, username=username, password=password)
        if token is None:
            return console.render(request, "login.html", None, status_code=401, wrong=True)
        response = RedirectResponse(f"{PREFIX}/", status_code=303)
        response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="strict", path=PREFIX,
                            secure=console.secure_cookies)  # fmt: skip
        return response

    @router.post("/logout")
    def logout(request: Request, csrf_token: str = Form("")) -> Response:
        operator = console.operator(request)
        # A forged cross-site POST must not end an operator's session: only this session's own form may.
        if operator is not None and not console.sessions.check_csrf(operator, csrf_token):
            return HTMLResponse(console.translator(request)("csrf_refused"), status_code=403)
        if operator is not None:
            console.sessions.log_out(operator)
        response = console.to_login()
        response.delete_cookie(COOKIE_NAME, path=PREFIX)
        return response

    @router.get("/lang/{language}")
    def switch_language(language: str, request: Request) -> Response:
        """Remember the language and go back to the page the switch was on (same-origin Referer only)."""
        chosen = language_of(language)
        referer = request.headers.get("referer", "")
        origin = f"{request.url.scheme}://{request.url.netloc}{PREFIX}"
        back = referer if referer.startswith((origin + "/", origin + "?")) or referer == origin else f"{PREFIX}/"
        response = RedirectResponse(back, status_code=303)
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=_LANGUAGE_COOKIE_MAX_AGE_S, samesite="lax", path=PREFIX,
                            secure=console.secure_cookies)  # fmt: skip
        return response

    return router
