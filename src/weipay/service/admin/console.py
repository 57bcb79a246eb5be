"""The console's router: its pages and actions, mounted under ``/console``."""

from __future__ import annotations

from fastapi import APIRouter

from ..bootstrap import Services
from .actions import build_actions
from .auth_pages import build_auth_pages
from .context import PREFIX, Console
from .ops_pages import build_ops_pages
from .order_pages import build_order_pages

__all__ = ["PREFIX", "build_console_router"]


def build_console_router(services: Services, secret: bytes) -> APIRouter:
    """The ``/console`` routes, calling the use cases with ``services``; ``secret`` keys the CSRF tokens."""
    console = Console(services, secret)
    router = APIRouter(prefix=PREFIX)
    for part in (build_auth_pages, build_order_pages, build_ops_pages, build_actions):
        router.include_router(part(console))
    return router
