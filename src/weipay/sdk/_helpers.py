"""Client helpers that need the merchant's secrets but no I/O: v2 notifications and pay params."""

from __future__ import annotations

from .clock import Clock, NonceSource
from .credentials import MerchantCredentials
from .errors import ConfigurationError
from .v2 import notify as v2_notify
from .v2 import payparams as v2_payparams
from .v2.models import V2PaymentNotification, V2RefundNotification
from .v3 import payparams as v3_payparams

__all__ = ["CredentialHelpers"]


class CredentialHelpers:
    """Mixed into the clients: the same merchant, clock and nonce source as their calls."""

    credentials: MerchantCredentials
    _clock: Clock
    _nonce: NonceSource

    def v2_payment_notification(self, body: bytes, sign_type: str | None = None) -> V2PaymentNotification:
        """Verify and read a v2 payment notification to this merchant (``sign_type``: the one the order used)."""
        key = self.credentials.require_v2_key()
        return v2_notify.parse_payment_notification(key, body, sign_type, mchid=self.credentials.mchid)

    def v2_refund_notification(self, body: bytes) -> V2RefundNotification:
        """Decrypt and read a v2 refund notification addressed to this merchant."""
        return v2_notify.parse_refund_notification(
            self.credentials.require_v2_key(), body, mchid=self.credentials.mchid
        )

    def jsapi_params(self, appid: str, prepay_id: str, *, api: str = "v3", sign_type: str = "MD5") -> dict[str, str]:
        """``wx.requestPayment`` arguments for a JSAPI / mini-program prepay, signed for ``api``."""
        timestamp, nonce = str(int(self._clock())), self._nonce()
        if api == "v3":
            private_key, _ = self.credentials.require_signer()
            return v3_payparams.jsapi_params(private_key, appid, prepay_id, timestamp, nonce)
        if api == "v2":
            key = self.credentials.require_v2_key()
            return v2_payparams.jsapi_params(key, appid, prepay_id, timestamp, nonce, sign_type)
        raise ConfigurationError(f"api must be 'v2' or 'v3', not {api!r}")

    def app_params(self, prepay_id: str, *, appid: str | None = None, api: str = "v3") -> dict[str, str]:
        """The APP SDK's ``PayReq`` arguments; ``appid`` defaults to the merchant's ``app`` appid."""
        appid = appid or self.credentials.appid("app")
        timestamp, nonce = str(int(self._clock())), self._nonce()
        mchid = self.credentials.mchid
        if api == "v3":
            private_key, _ = self.credentials.require_signer()
            return v3_payparams.app_params(private_key, appid, mchid, prepay_id, timestamp, nonce)
        if api == "v2":
            key = self.credentials.require_v2_key()
            return v2_payparams.app_params(key, appid, mchid, prepay_id, timestamp, nonce)
        raise ConfigurationError(f"api must be 'v2' or 'v3', not {api!r}")
