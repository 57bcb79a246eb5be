"""The decisions shared by :class:`~weipay.sdk.Client` and :class:`~weipay.sdk.AsyncClient`.

Every call is a *flow*: a generator that yields :class:`Send` (put these bytes on the wire),
:class:`Backoff` (wait before retrying) or :class:`Pause` (let another task finish a certificate
download), and receives a :class:`Reply` for each ``Send``. The flow builds the request, signs it (v3),
picks the host, verifies the answer, downloads platform certificates when a serial is unknown, retries
and maps errors. The two clients only drive flows: their send loops are the one piece of twin code.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Mapping
from typing import TypedDict, TypeVar

import httpx

from weipay import __version__

from . import _diagnose, _log
from ._certificates import Admission, RefreshGate, refresh_due
from ._flow import MAX_RESPONSE_BYTES, Backoff, Flow, Pause, Reply, Send
from ._helpers import CredentialHelpers
from .clock import Clock, NonceSource, new_nonce, system_clock
from .credentials import MerchantCredentials
from .errors import (
    ConfigurationError,
    SignatureError,
    TransportError,
    UnverifiableResponse,
    WeChatPayError,
    WeChatRefused,
)
from .operation import Api, Context, HttpRequest, HttpResponse, Operation
from .retry import RetryPolicy
from .v3.certificates import DownloadCertificates
from .v3.notify import Notification, parse_notification
from .v3.signing import authorization
from .v3.verifier import SignedHeaders, UnknownSerial, Verifier

__all__ = ["DEFAULT_LIMITS", "DEFAULT_TIMEOUT", "BaseClient", "ClientOptions"]

T = TypeVar("T")

API_BASE_URL = "https://api.mch.weixin.qq.com"
LOGIN_BASE_URL = "https://api.weixin.qq.com"
USER_AGENT = f"weipay/{__version__}"
#: Connect within 3 s, then 10 s per read/write: WeChat answers in well under a second when healthy.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
#: How long a task waits for another task's certificate download before giving up on it.
MAX_REFRESH_WAIT_S = 15.0
REFRESH_POLL_S = 0.01

# httpx errors after which the request provably never reached WeChat: safe to retry any operation.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _longest(timeout: httpx.Timeout) -> float | None:
    """The default deadline of one exchange: its longest single timeout (10 s by default), or none at all."""
    limits = [value for value in (timeout.connect, timeout.read, timeout.write, timeout.pool) if value is not None]
    return max(limits) if limits else None


class ClientOptions(TypedDict, total=False):
    """The keywords :class:`~weipay.sdk.Client` and :class:`~weipay.sdk.AsyncClient` pass to the base."""

    base_url: str
    secure_base_url: str | None
    login_base_url: str
    timeout_s: httpx.Timeout | float
    deadline_s: float | None
    retry: RetryPolicy | None
    clock: Clock
    nonce: NonceSource
    verifier: Verifier | None
    download_certificates: bool | None
    verify_tls: bool | str | os.PathLike[str]
    logger: logging.Logger | None
    max_response_bytes: int


class BaseClient(CredentialHelpers):
    """Holds the merchant's configuration and makes every decision of a call; sends nothing itself.

    ``secure_base_url`` is the v2 ``/secapi`` host reached with the merchant's client certificate
    (defaults to ``base_url``). ``verifier`` defaults to one built from the credentials: the WeChat Pay
    public key when present, else platform certificates downloaded on first need
    (``download_certificates`` overrides that choice). ``verify_tls`` is ``True`` or the path of a CA
    bundle (the simulator's ``simulator_ca.pem``). ``max_response_bytes`` caps how much of an answer is
    read (after content decoding): a longer one ends the call as :class:`~weipay.sdk.errors.TransportError`,
    an outcome unknown, instead of filling memory (bills are the largest answers WeChat sends).
    ``deadline_s`` bounds one whole HTTP exchange, connect to last byte (default: the longest of the
    ``timeout_s`` values): httpx's timeouts bound each socket operation alone, so an upstream that drips
    bytes would otherwise hold a call for ever. An exchange cut by its deadline is a timeout: outcome unknown.
    """

    def __init__(
        self,
        credentials: MerchantCredentials,
        *,
        base_url: str = API_BASE_URL,
        secure_base_url: str | None = None,
        login_base_url: str = LOGIN_BASE_URL,
        timeout_s: httpx.Timeout | float = DEFAULT_TIMEOUT,
        deadline_s: float | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock = system_clock,
        nonce: NonceSource = new_nonce,
        verifier: Verifier | None = None,
        download_certificates: bool | None = None,
        verify_tls: bool | str | os.PathLike[str] = True,
        logger: logging.Logger | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.credentials = credentials
        self.max_response_bytes = max_response_bytes
        self.base_url = base_url.rstrip("/")
        self.secure_base_url = (secure_base_url or base_url).rstrip("/")
        self.login_base_url = login_base_url.rstrip("/")
        self.timeout = timeout_s if isinstance(timeout_s, httpx.Timeout) else httpx.Timeout(timeout_s)
        self.deadline_s = deadline_s if deadline_s is not None else _longest(self.timeout)
        self.retry = retry or RetryPolicy()
        self.verify_tls = verify_tls
        self._clock = clock
        self._nonce = nonce
        self._context = Context(credentials, clock, nonce)
        self.verifier = verifier if verifier is not None else _verifier_from(credentials, clock)
        if download_certificates is None:
            download_certificates = verifier is None and credentials.wechatpay_public_key is None
        self.download_certificates = download_certificates
        self.certificate_gate = RefreshGate()
        #: Why the last certificate download was rejected (no secret in it), to explain later failures.
        self.certificate_problem: str | None = None
        self._logger = logger or logging.getLogger(_log.LOGGER_NAME)
        _log.install_httpx_redaction()

    def _tls_context(self, *, with_client_cert: bool, transport: object | None) -> ssl.SSLContext | bool:
        """TLS settings for one pool: the CA bundle or system trust, plus the merchant certificate for mTLS.

        With an injected transport nothing is loaded: the transport owns its connections.
        """
        if transport is not None:
            return bool(self.verify_tls)
        if self.verify_tls is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context = ssl.create_default_context(cafile=None if self.verify_tls is True else str(self.verify_tls))
        certificate = self.credentials.client_certificate
        if with_client_cert and certificate is not None:
            try:
                context.load_cert_chain(str(certificate.cert_path), str(certificate.key_path))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(f"cannot load the client certificate {certificate.cert_path.name}") from exc
        return context

    # -- one call ---------------------------------------------------------------------------------

    def _call_flow(self, operation: Operation[T]) -> Flow[T]:
        """Build once, then attempt until success, a final error or the retry budget runs out."""
        request = operation.build(self._context)
        attempt = 0
        while True:
            attempt += 1
            if request.api is Api.V3 and self.download_certificates:
                yield from self._proactive_refresh_flow()
            reply = yield self._send_step(request)
            assert reply is not None
            self._log_reply(request, reply, attempt)
            try:
                response = self._response_or_raise(request, reply)
                if self._must_verify(request, response):
                    yield from self._verify_response_flow(response)
                return self._parse(operation, response)
            except TransportError:
                delay_s = self.retry.delay_s(attempt) if _may_retry_transport(request, reply) else None
                if delay_s is None:
                    raise
            except WeChatRefused as refused:
                headers = reply.response.headers if reply.response is not None else None
                delay_s = self.retry.delay_s(attempt, headers) if refused.retryable else None
                if delay_s is None and request.mtls:
                    raise _diagnose.explain_secapi_refusal(refused, secure_base_url=self.secure_base_url,
                                                           base_url=self.base_url) from refused  # fmt: skip
                if delay_s is None:
                    raise
            yield Backoff(delay_s)

    def _send_step(self, request: HttpRequest) -> Send:
        """Pick the host and add the headers; v3 requests are signed afresh for every attempt."""
        url = request.absolute_url or self._host(request) + request.path
        headers: dict[str, str] = {"User-Agent": USER_AGENT}
        if request.api is Api.V3:
            headers.update(self._v3_headers(request, url))
        elif request.api is Api.V2 and request.body:
            headers["Content-Type"] = "text/xml; charset=utf-8"
        else:
            headers["Accept"] = "application/json"
        headers.update(request.headers)
        if request.mtls and self.credentials.client_certificate is None:
            raise ConfigurationError(f"merchant {self.credentials.mchid} has no client certificate for {request.path}")
        return Send(request.method.upper(), url, headers, request.body, request.mtls)

    def _host(self, request: HttpRequest) -> str:
        if request.api is Api.LOGIN:
            return self.login_base_url
        return self.secure_base_url if request.mtls else self.base_url

    def _v3_headers(self, request: HttpRequest, url: str) -> dict[str, str]:
        private_key, serial_no = self.credentials.require_signer()
        canonical_url = httpx.URL(url).raw_path.decode("ascii") if request.absolute_url else request.path
        headers = {
            "Accept": "application/json",
            "Authorization": authorization(
                mchid=self.credentials.mchid,
                serial_no=serial_no,
                private_key=private_key,
                method=request.method.upper(),
                canonical_url=canonical_url,
                body=request.body,
                timestamp=str(int(self._clock())),
                nonce=self._context.nonce(),
            ),
        }
        if request.body:
            headers["Content-Type"] = "application/json"
        preferred = self.verifier.preferred_serial()
        if preferred is not None:
            headers["Wechatpay-Serial"] = preferred
        return headers

    def _response_or_raise(self, request: HttpRequest, reply: Reply) -> HttpResponse:
        if reply.response is not None:
            return reply.response
        error = reply.error
        # The message names the path and host only: login URLs carry the app secret in their query.
        path = _log.loggable_path(request.path, drop_query=request.api is Api.LOGIN)
        url = request.absolute_url or self._host(request) + request.path
        why = _diagnose.describe_transport_failure(error, url=url, timeout=self.timeout, mtls=request.mtls)
        raise TransportError(f"{request.method.upper()} {path} {why}") from error

    @staticmethod
    def _must_verify(request: HttpRequest, response: HttpResponse) -> bool:
        return request.api is Api.V3 and request.verify_response and 200 <= response.status < 300

    def _verify_response_flow(self, response: HttpResponse) -> Flow[None]:
        try:
            yield from self._verify_flow(response.headers, response.body)
        except SignatureError as exc:
            message = f"WeChat's answer did not verify: {exc.message}"
            if isinstance(exc, UnknownSerial) and self.certificate_problem:
                message += f" (last certificate download: {self.certificate_problem})"
            raise UnverifiableResponse(message, request_id=response.request_id) from exc

    def _parse(self, operation: Operation[T], response: HttpResponse) -> T:
        try:
            return operation.parse(response, self._context)
        except WeChatPayError as exc:
            if exc.request_id is None:
                exc.request_id = response.request_id
            raise

    def _log_reply(self, request: HttpRequest, reply: Reply, attempt: int) -> None:
        _log.log_exchange(
            self._logger,
            method=request.method.upper(),
            path=_log.loggable_path(request.path, drop_query=request.api is Api.LOGIN),
            outcome=_outcome(reply),
            latency_ms=reply.latency_s * 1000,
            request_id=reply.response.request_id if reply.response is not None else None,
            attempt=attempt,
        )

    # -- helpers that need the credentials but no I/O ---------------------------------------------

    def v3_notification_offline(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify, decrypt and parse a v3 notification with the keys held now: pure computation, no I/O.

        Raises what ``v3_notification`` raises, except that a ``Wechatpay-Serial`` naming no key held yet is
        always :class:`~weipay.sdk.UnknownSerial`: ``v3_notification`` (which may download the platform
        certificates, once, when this client downloads them) is then the call that decides. A server can thus
        verify on its event loop and leave only that rare case to a thread or an ``AsyncClient``.
        """
        return parse_notification(self.verifier, self.credentials.require_v3_key(), headers, body)

    def _notification_flow(self, headers: Mapping[str, str], body: bytes) -> Flow[Notification]:
        """Verify, decrypt and parse a v3 notification; an unknown serial may download certificates."""
        try:
            return self.v3_notification_offline(headers, body)
        except UnknownSerial:
            if not self.download_certificates:
                raise
        yield from self._refresh_flow()
        return self.v3_notification_offline(headers, body)

    # -- verification and the one multi-request step ---------------------------------------------

    def _verify_flow(self, headers: Mapping[str, str], body: bytes) -> Flow[None]:
        """Verify a signed message; on an unknown serial, download certificates once and re-verify."""
        signed = SignedHeaders.from_headers(headers)
        try:
            self.verifier.verify(signed, body)
            return
        except UnknownSerial:
            if not self.download_certificates:
                raise
        yield from self._refresh_flow()
        self.verifier.verify(signed, body)

    def _proactive_refresh_flow(self) -> Flow[None]:
        if refresh_due(self.verifier, self._clock()):
            yield from self._refresh_flow()

    def _refresh_flow(self) -> Flow[None]:
        """Download platform certificates, single-flight and rate-limited by :class:`RefreshGate`."""
        admission = self.certificate_gate.admit(self._clock())
        if admission is Admission.WAIT:
            waited_s = 0.0
            while self.certificate_gate.in_flight and waited_s < MAX_REFRESH_WAIT_S:
                yield Pause(REFRESH_POLL_S)
                waited_s += REFRESH_POLL_S
            return
        if admission is Admission.DENIED:
            return
        try:
            yield from self._download_flow()
        finally:
            self.certificate_gate.finish()

    def _download_flow(self) -> Flow[None]:
        operation = DownloadCertificates()
        request = operation.build(self._context)
        reply = yield self._send_step(request)
        assert reply is not None
        self._log_reply(request, reply, 1)
        try:
            response = self._response_or_raise(request, reply)
            certificates = operation.parse(response, self._context)
            # The answer is signed by one of the certificates it carries (or by one we already trust).
            candidate = Verifier(clock=self._clock)
            candidate.add_certificates(certificates)
            signed = SignedHeaders.from_headers(response.headers)
            try:
                candidate.verify(signed, response.body)
            except UnknownSerial:
                self.verifier.verify(signed, response.body)
        except WeChatPayError as exc:
            self.certificate_problem = exc.message
            self._logger.warning("platform certificate download rejected: %s", exc.message)
            return
        self.certificate_problem = None
        self.verifier.add_certificates(certificates)
        self._logger.info("platform certificates trusted: %s", ",".join(self.verifier.serials()))


def _verifier_from(credentials: MerchantCredentials, clock: Clock) -> Verifier:
    verifier = Verifier(clock=clock)
    if credentials.wechatpay_public_key is not None and credentials.wechatpay_public_key_id is not None:
        verifier.add_public_key(credentials.wechatpay_public_key_id, credentials.wechatpay_public_key)
    return verifier


def _may_retry_transport(request: HttpRequest, reply: Reply) -> bool:
    return request.idempotent or isinstance(reply.error, _NOT_SENT)


def _outcome(reply: Reply) -> str:
    return str(reply.response.status) if reply.response is not None else type(reply.error).__name__
