"""WeChat's side of v3 signatures: which key signs, and the ``Wechatpay-*`` headers.

§3.11 of PROTOCOL.md: a request carrying ``Wechatpay-Serial: PUB_KEY_ID_…`` (or any request of a
public-key-mode merchant) is answered with the WeChat Pay public key's private half; otherwise with the
platform certificate's key. Notifications follow the merchant's verification mode.
"""

from __future__ import annotations

import secrets
import uuid

from weipay.sdk.crypto import rsa_sign
from weipay.sdk.v3.signing import SCHEME, response_message
from weipay.sdk.v3.verifier import SIGNTEST_PREFIX

from .state import SimulatorState

__all__ = ["notification_uses_public_key", "response_uses_public_key", "signed_headers"]


def response_uses_public_key(sim: SimulatorState, request_serial: str) -> bool:
    """True when a response to a request with this ``Wechatpay-Serial`` is signed with the public key."""
    return request_serial.startswith("PUB_KEY_ID_") or sim.account["verification"] == "public_key"


def notification_uses_public_key(sim: SimulatorState) -> bool:
    """Notifications follow the merchant's verification mode."""
    return bool(sim.account["verification"] == "public_key")


def signed_headers(sim: SimulatorState, body: bytes, *, public_key: bool, probe: bool = False) -> dict[str, str]:
    """The ``Wechatpay-*`` headers (and ``Request-ID``) over ``body``, signed now.

    With ``probe`` the signature is a ``WECHATPAY/SIGNTEST/`` probe that no merchant may accept.
    """
    timestamp = str(int(sim.wall_now()))
    nonce = secrets.token_hex(16)
    if public_key:
        key, serial = sim.account["wechatpay_private_key"], sim.account["wechatpay_public_key_id"]
    else:
        key, serial = sim.account["platform_private_key"], sim.account["platform_serial_no"]
    signature = (
        SIGNTEST_PREFIX + secrets.token_urlsafe(48)
        if probe
        else rsa_sign(key, response_message(timestamp, nonce, body))
    )
    return {
        "wechatpay-timestamp": timestamp,
        "wechatpay-nonce": nonce,
        "wechatpay-signature": signature,
        "wechatpay-serial": serial,
        "wechatpay-signature-type": SCHEME,
        "request-id": uuid.uuid4().hex.upper(),
    }
