"""The HTTP API of the payment service: ``create_app(settings)`` and nothing global."""

from __future__ import annotations

from .app import create_app
from .process import freeze_startup_heap
from .state import ApiState

__all__ = ["ApiState", "create_app", "freeze_startup_heap"]
