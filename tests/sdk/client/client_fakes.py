"""WeChat on the wire for client tests: an httpx MockTransport handler, and tiny operations.

The fake checks each v3 request's Authorization over the exact bytes it received and signs its
answers with WeChat's key, as the real servers do. Nothing of ours is mocked.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import Encoding

from weipay.sdk.crypto import aes_gcm_encrypt, rsa_verify
from weipay.sdk.errors import WeChatRefused
from weipay.sdk.operation import Api, Context, HttpRequest, HttpResponse
from weipay.sdk.v3.signing import parse_authorization, request_message
from weipay.sdk.v3.wechat_side import sign_response


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeWeChat:
    """Plays api.mch.weixin.qq.com, api.weixin.qq.com and the /secapi host for one merchant."""

    clock: FakeClock
    mchid: str
    merchant_public_key: Any
    signer_key: RSAPrivateKey
    signer_serial: str
    api_v3_key: str
    platform_certificates: list[Any] = field(default_factory=list)  # KeyPairs served by /v3/certificates
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    received: list[httpx.Request] = field(default_factory=list)
    certificate_downloads: int = 0
    auth_failures: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        path = request.url.path
        if path.startswith("/v3/") and not self.authorized(request):
            self.auth_failures += 1
            return httpx.Response(401, json={"code": "SIGN_ERROR", "message": "错误的签名，验签失败"})
        if path == "/v3/certificates" and (request.method, path) not in self.routes:
            self.certificate_downloads += 1
            return self.signed(200, self.certificates_body())
        handler = self.routes.get((request.method, path))
        if handler is None:
            return httpx.Response(404, json={"code": "NOT_FOUND", "message": path})
        return handler(request)

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes[(method, path)] = handler
            return handler

        return register

    def authorized(self, request: httpx.Request) -> bool:
        try:
            params = parse_authorization(request.headers["Authorization"])
        except Exception:
            return False
        message = request_message(
            request.method, request.url.raw_path.decode(), params.timestamp, params.nonce_str, request.content
        )
        fresh = abs(self.clock() - int(params.timestamp)) < 300
        return params.mchid == self.mchid and fresh and rsa_verify(self.merchant_public_key, message, params.signature)

    def signed(
        self,
        status: int,
        body: bytes | dict[str, Any] = b"",
        *,
        key: RSAPrivateKey | None = None,
        serial: str | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
        tamper: bool = False,
        drop: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A response signed like WeChat's (``tamper`` alters the body after signing)."""
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        ts = str(timestamp if timestamp is not None else int(self.clock()))
        nonce = secrets.token_hex(16)
        headers = sign_response(key or self.signer_key, serial or self.signer_serial, raw, ts, nonce)
        headers["Request-ID"] = "08F1" + secrets.token_hex(8).upper()
        if signature is not None:
            headers["Wechatpay-Signature"] = signature
        if raw:
            headers["Content-Type"] = "application/json; charset=utf-8"
        if drop:
            del headers[drop]
        headers.update(extra or {})
        return httpx.Response(status, headers=headers, content=raw + (b" " if tamper else b""))

    def certificates_body(self) -> bytes:
        data = []
        for pair in self.platform_certificates:
            nonce = secrets.token_hex(6)
            pem = pair.certificate.public_bytes(Encoding.PEM)
            data.append(
                {
                    "serial_no": pair.serial,
                    "effective_time": pair.certificate.not_valid_before_utc.isoformat(),
                    "expire_time": pair.certificate.not_valid_after_utc.isoformat(),
                    "encrypt_certificate": {
                        "algorithm": "AEAD_AES_256_GCM",
                        "nonce": nonce,
                        "associated_data": "certificate",
                        "ciphertext": aes_gcm_encrypt(self.api_v3_key.encode(), nonce, "certificate", pem),
                    },
                }
            )
        return json.dumps({"data": data}).encode()


def v3_error(response: HttpResponse) -> WeChatRefused:
    try:
        data = json.loads(response.body)
    except ValueError:
        data = {}
    return WeChatRefused(
        str(data.get("code", f"HTTP_{response.status}")),
        str(data.get("message", "")),
        status=response.status,
        request_id=response.request_id,
    )


@dataclass(frozen=True)
class V3Post:
    """A non-idempotent v3 POST (like a prepay) answering JSON."""

    body: dict[str, Any]
    path: str = "/v3/pay/transactions/native"

    def build(self, ctx: Context) -> HttpRequest:
        return HttpRequest(Api.V3, "POST", self.path, body=json.dumps(self.body).encode())

    def parse(self, response: HttpResponse, ctx: Context) -> dict[str, Any]:
        if not 200 <= response.status < 300:
            raise v3_error(response)
        return json.loads(response.body) if response.body else {}


@dataclass(frozen=True)
class V3Get:
    """An idempotent v3 query."""

    path: str = "/v3/pay/transactions/out-trade-no/T1?mchid=1230000109"
    verify_response: bool = True

    def build(self, ctx: Context) -> HttpRequest:
        return HttpRequest(Api.V3, "GET", self.path, idempotent=True, verify_response=self.verify_response)

    def parse(self, response: HttpResponse, ctx: Context) -> dict[str, Any]:
        if not 200 <= response.status < 300:
            raise v3_error(response)
        return json.loads(response.body) if response.body else {}


@dataclass(frozen=True)
class V2Refund:
    """A v2 /secapi call (client certificate required); parse returns the raw XML."""

    body: bytes = b"<xml><out_refund_no>R1</out_refund_no></xml>"

    def build(self, ctx: Context) -> HttpRequest:
        return HttpRequest(Api.V2, "POST", "/secapi/pay/refund", body=self.body, mtls=True)

    def parse(self, response: HttpResponse, ctx: Context) -> bytes:
        return response.body


@dataclass(frozen=True)
class Absolute:
    """A request to an absolute URL (like a bill download link)."""

    url: str

    def build(self, ctx: Context) -> HttpRequest:
        return HttpRequest(Api.V3, "GET", "/ignored", absolute_url=self.url, verify_response=False, idempotent=True)

    def parse(self, response: HttpResponse, ctx: Context) -> bytes:
        return response.body
