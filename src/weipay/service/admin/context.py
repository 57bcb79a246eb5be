"""What every console page and action shares: the services, the sessions, the templates and how to answer.

A page is rendered with the operator's language (:mod:`.i18n`), the merchants' clocks (:mod:`.display`) and a
CSRF token. An action checks the session and the token, runs one use case, and redirects back to the page it came
from with the outcome as a catalogue key (``?done=refund_approved``) or an error code (``?failed=...``), never
as free text, so a crafted link cannot put words on the page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..bootstrap import Services
from ..domain import DomainError
from .display import Clocks, yuan
from .i18n import LANGUAGE_COOKIE, Translator, language_of
from .session import Operator, Sessions

__all__ = ["PREFIX", "Console"]

log = logging.getLogger("weipay.service")

PREFIX = "/console"
_TEMPLATES = Path(__file__).parent / "templates"
_BACK = re.compile(r"^/console(?:/[A-Za-z0-9_\-]+)*/?$")  # a path inside the console: never another site
_CODE = re.compile(r"^[a-z0-9_]{1,64}$")
_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
            "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                       "script-src 'none'; form-action 'self'; frame-ancestors 'none'"}  # fmt: skip


class Console:
    """The console's shared parts, built once per app."""

    def __init__(self, services: Services, secret: bytes) -> None:
        self.services = services
        self.uow = services.uow
        self.sessions = Sessions(services.uow, services.clock, services.settings.admin, secret)
        self.clocks = Clocks({mchid: m.settings.time_zone for mchid, m in services.merchants.items()})
        self.merchant_ids = sorted(services.merchants)
        self.secure_cookies = services.settings.public_base_url.startswith("https://")
        self._templates = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]),
                                      auto_reload=False)  # fmt: skip

    def translator(self, request: Request) -> Translator:
        """The operator's language (the switch's cookie; Chinese by default)."""
        return Translator(language_of(request.cookies.get(LANGUAGE_COOKIE)))

    def operator(self, request: Request) -> Operator | None:
        """Who is asking, or None."""
        return self.sessions.operator(request)

    def render(self, request: Request, template: str, operator: Operator | None, *, status_code: int = 200,
               **context: Any) -> HTMLResponse:  # fmt: skip
        """The page ``template`` in the operator's language, with the outcome of the last action if any."""
        t = self.translator(request)
        done, failed = request.query_params.get("done", ""), request.query_params.get("failed", "")
        notice = t(f"done.{done}") if _CODE.match(done) and t.has(f"done.{done}") else None
        problem = None
        if _CODE.match(failed):
            problem = t(f"error.{failed}") if t.has(f"error.{failed}") else t("failed", code=failed)
        html = self._templates.get_template(template).render(
            prefix=PREFIX, t=t, tv=t.value, yuan=yuan, at=self.clocks.at, zone=self.clocks.zone,
            operator=operator, csrf_token=self.sessions.csrf_token(operator) if operator else "",
            path=request.url.path, merchant_ids=self.merchant_ids,
            **{"notice": notice, "problem": problem, **context},
        )  # fmt: skip
        return HTMLResponse(html, status_code=status_code, headers=_HEADERS)

    def to_login(self) -> RedirectResponse:
        """Off to the login page."""
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    def act(self, request: Request, csrf_token: str, back: str, work: Callable[[Operator], str]) -> Response:
        """Run one action for a logged-in operator with a valid CSRF token, then redirect back with its outcome.

        ``work`` returns the catalogue key of what it did (``done.<key>``); a refused use case's code goes back as
        ``failed``. ``back`` must be a console path (anything else goes to the orders list).
        """
        operator = self.operator(request)
        if operator is None:
            return self.to_login()
        if not self.sessions.check_csrf(operator, csrf_token):
            return HTMLResponse(self.translator(request)("csrf_refused"), status_code=403, headers=_HEADERS)
        target = back if _BACK.match(back) else f"{PREFIX}/"
        try:
            outcome = {"done": work(operator)}
        except DomainError as exc:
            outcome = {"failed": exc.code}
        return RedirectResponse(f"{target}?{urlencode(outcome)}", status_code=303)
