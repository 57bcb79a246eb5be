"""The operator console at ``/console``: server-rendered pages calling the same use cases as the API.

Login with an admin API key or the configured user/password (form, or HTTP Basic for scripts). The
session is a signed cookie; every POST carries a CSRF token derived from the session. Templates are
Jinja2 with autoescaping, so notification bodies and merchant text render inert.
"""

from __future__ import annotations

from .console import build_console_router

__all__ = ["build_console_router"]
