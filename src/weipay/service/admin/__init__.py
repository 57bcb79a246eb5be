"""The operator console at ``/console``: server-rendered pages calling the same use cases as the API.

One job per module: ``console`` mounts the parts; ``context`` holds what pages and actions share (rendering,
redirects with an outcome, the CSRF check); ``session`` finds the operator (a server-side session, or HTTP Basic
for scripts); ``i18n`` and ``catalogue`` give the words (简体中文 by default, English on request); ``display``
shows yuan and each merchant's local time; ``paging`` reads the order list's filters and cursor; ``order_pages``,
``ops_pages`` and ``auth_pages`` are the pages; ``actions`` the CSRF-checked POSTs. Templates are Jinja2 with
autoescaping, so notification bodies and merchant text render inert.
"""

from __future__ import annotations

from .console import build_console_router

__all__ = ["build_console_router"]
