"""What one HTTP app holds besides the service's collaborators: metrics, authentication, QR signing, and the helpers
to stop with it (the notification intake's writer). Built by ``create_app``; the collaborators come from ``bootstrap``.
"""

from __future__ import annotations

from collections.abc import Callable

from ..bootstrap import Services
from ..metrics import ServiceMetrics
from .auth import Authenticator
from .metrics import Metrics
from .qr import QrSigner

__all__ = ["ApiState"]


class ApiState:
    """The app's own parts; ``services`` is what the route handlers hand to the use cases."""

    def __init__(self, services: Services, secret: bytes) -> None:
        self.services = services
        self.metrics = Metrics()
        self.service_metrics = ServiceMetrics(self.metrics.registry, services.uow, services.clock)
        self.authenticator = Authenticator(services.settings, services.uow, services.clock)
        self.qr_signer = QrSigner(secret)
        self.on_close: list[Callable[[], None]] = []

    def close(self) -> None:
        """Stop the app's helpers (the notification intake's writer), then close the collaborators."""
        for hook in self.on_close:
            hook()
        self.services.close()
