"""Cryptographic primitives shared by API v2, API v3 and the simulator. Values in, values out.

All comparisons of secrets are constant time; all randomness comes from ``secrets``/``os.urandom``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import ConfigurationError, SignatureError

__all__ = [
    "aes_ecb_decrypt",
    "aes_ecb_encrypt",
    "aes_gcm_decrypt",
    "aes_gcm_encrypt",
    "certificate_serial",
    "load_certificate",
    "load_private_key",
    "load_public_key",
    "oaep_decrypt",
    "oaep_encrypt",
    "rsa_sign",
    "rsa_verify",
]

_PKCS1 = asym_padding.PKCS1v15()
_SHA256 = hashes.SHA256()


def load_private_key(pem: bytes | str) -> RSAPrivateKey:
    """Load an RSA private key (PKCS#1 or PKCS#8 PEM)."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError("not a PEM RSA private key without password") from exc
    if not isinstance(key, RSAPrivateKey):
        raise ConfigurationError("private key is not RSA")
    return key


def load_public_key(pem: bytes | str) -> RSAPublicKey:
    """Load an RSA public key from a SubjectPublicKeyInfo PEM or an X.509 certificate PEM."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key: object = (
            x509.load_pem_x509_certificate(data).public_key()
            if b"CERTIFICATE" in data
            else serialization.load_pem_public_key(data)
        )
    except ValueError as exc:
        raise ConfigurationError("not a PEM RSA public key or certificate") from exc
    if not isinstance(key, RSAPublicKey):
        raise ConfigurationError("public key is not RSA")
    return key


def load_certificate(pem: bytes | str) -> x509.Certificate:
    """Load an X.509 certificate from PEM."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise ConfigurationError("not a PEM X.509 certificate") from exc


def certificate_serial(certificate: x509.Certificate) -> str:
    """The serial number as WeChat writes it: upper-case hex without leading zeros."""
    return f"{certificate.serial_number:X}"


def rsa_sign(private_key: RSAPrivateKey, message: bytes) -> str:
    """Base64 SHA256withRSA (PKCS#1 v1.5) signature of ``message``."""
    return binascii.b2a_base64(private_key.sign(message, _PKCS1, _SHA256), newline=False).decode("ascii")


def rsa_verify(public_key: RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    """True when ``signature_b64`` is a valid SHA256withRSA signature of ``message``."""
    try:
        # Same check as ``b64decode(validate=True)`` without its Python wrapper: on the hot path of
        # every notification and response, and a non-ASCII ``str`` still raises ValueError here.
        signature = binascii.a2b_base64(signature_b64, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(signature, message, _PKCS1, _SHA256)
    except InvalidSignature:
        return False
    return True


def _gcm(key: bytes) -> AESGCM:
    # WeChat's keys are 32 bytes (AES-256); 16-byte keys appear only in upstream test vectors.
    if len(key) not in (16, 32):
        raise ConfigurationError("APIv3 key must be 32 bytes")
    return _cached_gcm(bytes(key))


@lru_cache(maxsize=8)
def _cached_gcm(key: bytes) -> AESGCM:
    # Building the cipher (key schedule) costs as much as decrypting a notification, and a process
    # holds one or a few APIv3 keys; the small bound keeps at most a handful of old keys after rotation.
    return AESGCM(key)


def aes_gcm_encrypt(key: bytes, nonce: str, associated_data: str, plaintext: bytes) -> str:
    """AEAD_AES_256_GCM encryption: base64(ciphertext ‖ tag), as in WeChat's ``resource``."""
    sealed = _gcm(key).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return base64.b64encode(sealed).decode("ascii")


def aes_gcm_decrypt(key: bytes, nonce: str, associated_data: str, ciphertext_b64: str) -> bytes:
    """AEAD_AES_256_GCM decryption; any failure is a :class:`SignatureError` (no oracle)."""
    try:
        sealed = binascii.a2b_base64(ciphertext_b64, strict_mode=True)  # = b64decode(validate=True)
        return _gcm(key).decrypt(nonce.encode(), sealed, associated_data.encode())
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise SignatureError("resource could not be decrypted") from exc


def oaep_encrypt(public_key: RSAPublicKey, plaintext: str) -> str:
    """RSA-OAEP (SHA-1, MGF1-SHA-1) encryption of a sensitive field, base64, as WeChat requires."""
    oaep = asym_padding.OAEP(mgf=asym_padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
    return base64.b64encode(public_key.encrypt(plaintext.encode(), oaep)).decode("ascii")


def oaep_decrypt(private_key: RSAPrivateKey, ciphertext_b64: str) -> str:
    """Inverse of :func:`oaep_encrypt` (WeChat's side, and the simulator's)."""
    oaep = asym_padding.OAEP(mgf=asym_padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
    try:
        return private_key.decrypt(base64.b64decode(ciphertext_b64), oaep).decode()
    except ValueError as exc:
        raise SignatureError("field could not be decrypted") from exc


def _ecb_key(api_v2_key: str) -> bytes:
    # WeChat derives the refund-notification key as the lower-case hex MD5 of the APIv2 key.
    return hashlib.md5(api_v2_key.encode(), usedforsecurity=False).hexdigest().encode("ascii")


def aes_ecb_encrypt(api_v2_key: str, plaintext: bytes) -> str:
    """Encrypt a v2 refund notification's ``req_info`` (AES-256-ECB, PKCS#7)."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_ecb_key(api_v2_key)), modes.ECB()).encryptor()  # noqa: S305
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def aes_ecb_decrypt(api_v2_key: str, ciphertext_b64: str) -> bytes:
    """Decrypt ``req_info``; every failure is one uniform :class:`SignatureError` (no padding oracle)."""
    try:
        data = base64.b64decode(ciphertext_b64, validate=True)
        if not data or len(data) % 16:
            raise ValueError("length")
        decryptor = Cipher(algorithms.AES(_ecb_key(api_v2_key)), modes.ECB()).decryptor()  # noqa: S305
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("req_info could not be decrypted") from exc
