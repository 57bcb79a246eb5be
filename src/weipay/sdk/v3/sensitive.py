"""Sensitive request fields (names, phone numbers…) are RSA-OAEP encrypted with WeChat's key.

The request must then name that key in ``Wechatpay-Serial`` so WeChat knows which private key to
decrypt with: :func:`sensitive_headers` gives the header.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from ..crypto import oaep_encrypt
from ..errors import ConfigurationError
from .verifier import is_valid_serial

__all__ = ["encrypt_sensitive", "sensitive_headers"]


def encrypt_sensitive(public_key: RSAPublicKey, plaintext: str) -> str:
    """Base64 RSA-OAEP (SHA-1) ciphertext of one field, for the WeChat key ``public_key``."""
    if not plaintext:
        raise ConfigurationError("a sensitive field to encrypt must not be empty")
    return oaep_encrypt(public_key, plaintext)


def sensitive_headers(serial: str) -> dict[str, str]:
    """``{"Wechatpay-Serial": serial}``: required on every request that carries encrypted fields."""
    if not is_valid_serial(serial):
        raise ConfigurationError("Wechatpay-Serial must be a platform certificate serial or PUB_KEY_ID_…")
    return {"Wechatpay-Serial": serial}
