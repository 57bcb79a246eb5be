"""The composition root: settings in, the service's collaborators out (no web framework).

``build_services(settings)`` opens the database and one SDK client per merchant and returns
:class:`Services`; the HTTP app, the console, the worker, ``weipay reconcile`` and the demo all start from it.
"""

from __future__ import annotations

from .merchants import Merchant, build_merchant
from .services import Services, build_services

__all__ = ["Merchant", "Services", "build_merchant", "build_services"]
