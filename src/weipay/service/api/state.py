"""What one HTTP app holds besides the service's collaborators: metrics, authentication, QR signing, and the
notification intake's collaborators. Built by ``create_app``; the collaborators come from ``bootstrap``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import usecases
from ..bootstrap import Merchant, Services
from ..db import SerializedWrites
from ..gateway import verify_v2_payment, verify_v2_refund, verify_v3
from .auth import Authenticator
from .inbox import NotificationInbox
from .metrics import Metrics
from .qr import QrSigner

__all__ = ["ApiState"]


class ApiState:
    """The app's own parts; ``services`` is what the route handlers hand to the use cases."""

    def __init__(self, services: Services, secret: bytes) -> None:
        self.services = services
        self.metrics = Metrics()
        self.authenticator = Authenticator(services.settings, services.uow, services.clock)
        self.qr_signer = QrSigner(secret)
        self.on_close: list[Callable[[], None]] = []
        self.inbox = NotificationInbox(
            frozenset(services.merchants), self._verify_v3, self.accept_notification, self._record_unverifiable
        )

    @property
    def merchants(self) -> Mapping[str, Merchant]:
        """The configured merchants (the notification intake reads their SDK clients)."""
        return self.services.merchants

    @property
    def uow(self) -> SerializedWrites:
        """The unit of work (the notification intake's group commit writes on its engine)."""
        return self.services.uow

    def close(self) -> None:
        """Stop the app's helpers (the notification writer), then close the collaborators."""
        for hook in self.on_close:
            hook()
        self.services.close()

    # -- the notification intake's collaborators ---------------------------------------------------------
    def _verify_v3(self, mchid: str, headers: Mapping[str, str], body: bytes) -> Any:
        return verify_v3(self.services.gateway, mchid, headers, body)

    def verify_v2(self, mchid: str, body: bytes) -> Any:
        """The use cases' notice for a v2 delivery, or the SDK's error; only the API key is needed (no I/O)."""
        # Refund notifications carry an encrypted req_info and no sign; payment ones the reverse.
        if b"<req_info>" in body:
            return verify_v2_refund(self.services.gateway, mchid, body)
        return verify_v2_payment(self.services.gateway, mchid, body)

    def accept_notification(self, mchid: str, notice: Any, uow: Any = None) -> str:
        """Apply a verified notice in a transaction of its own (or in ``uow``)."""
        return self.accept_notifications([(mchid, notice)], uow)[0]

    def accept_notifications(self, deliveries: Sequence[tuple[str, Any]], uow: Any = None) -> list[str]:
        """Apply verified (mchid, notice) pairs in ``uow`` (e.g. a group-commit batch); an outcome each."""
        services = self.services
        applied = usecases.accept_notifications(
            uow if uow is not None else services.uow, services.merchant_configs, deliveries, services.clock
        )
        return [outcome.value for outcome in applied]

    def _record_unverifiable(self, mchid: str, api: str, reason: str, body: bytes) -> None:
        usecases.record_anomaly(
            self.services.uow, self.services.clock, f"unverifiable_{api}_notification",
            mchid=mchid if mchid in self.services.merchants else None,
            reason=reason, size_bytes=len(body), sha256=hashlib.sha256(body).hexdigest()[:16],
        )  # fmt: skip
