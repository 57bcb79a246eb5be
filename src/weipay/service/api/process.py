"""Process-wide settings for a long-running server process (``weipay serve``), never for a library import.

Python's cyclic garbage collector stops the world for a full (generation 2) collection, and a full
collection walks every tracked object: after start-up that is FastAPI, SQLAlchemy, pydantic and our own
module graph, some hundreds of thousands of objects, 70-80 ms per pass on the reference machine. Under a
notification burst one pass every second or two put that pause on every request in flight: it was the p99.
Start-up objects live as long as the process, so they are collected once and then frozen (moved to the
permanent generation, which collections skip); later passes see only what requests allocate.
"""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["app_from_environment", "freeze_startup_heap"]


def freeze_startup_heap() -> None:
    """Collect start-up garbage, then exempt everything still alive from future collections.

    Call once, after the app is built and before serving; not in tests or libraries, where frozen objects
    of discarded apps would never be freed.
    """
    gc.collect()
    gc.freeze()


def app_from_environment() -> FastAPI:
    """The app of one worker process of ``weipay serve --workers N`` (uvicorn's factory, called in each process):
    settings from ``$WEIPAY_CONFIG`` and the ``WEIPAY_*`` variables, as the command was given."""
    from ..settings import load_settings
    from .app import create_app

    app = create_app(load_settings(os.environ.get("WEIPAY_CONFIG") or None))
    freeze_startup_heap()
    return app
