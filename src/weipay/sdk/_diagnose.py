"""Messages for calls that failed below WeChat's protocol: which host, and the likely cause, in plain words.

``httpx`` says ``ConnectError`` for a refused port, an unknown host name and an untrusted certificate alike.
These functions walk the exception chain to the operating system's or TLS library's own error and turn it
into what the operator should check. They name the host and port, never a query string (the login host's
carries the app secret) and never a header or body.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import TypeVar

import httpx

from ._flow import ResponseTooLarge
from .errors import WeChatRefused

__all__ = ["describe_transport_failure", "explain_secapi_refusal"]

E = TypeVar("E", bound=BaseException)

# Statuses a host gives a /secapi/ request it will not serve: WeChat's mTLS host without a client certificate,
# or any host that is not WeChat's mTLS host at all (the simulator's plain HTTP port answers 403).
_SECAPI_REFUSALS = frozenset({400, 401, 403, 404, 495, 496})


def describe_transport_failure(error: BaseException | None, *, url: str, timeout: httpx.Timeout, mtls: bool) -> str:
    """``to HOST:PORT failed (Kind): likely cause; what to check`` for a request that got no answer."""
    target = httpx.URL(url)
    host = f"{target.host}:{target.port or (443 if target.scheme == 'https' else 80)}"
    kind = type(error).__name__ if error is not None else "no answer"
    return f"to {host} failed ({kind}): {_cause(error, target, host, timeout, mtls)}"


def explain_secapi_refusal(refused: WeChatRefused, *, secure_base_url: str, base_url: str) -> WeChatRefused:
    """The same refusal with a hint when a ``/secapi/`` call (v2 refund) was refused at the HTTP level."""
    if refused.code != "HTTP_ERROR" or refused.status not in _SECAPI_REFUSALS:
        return refused
    defaulted = " (secure_base_url defaults to base_url)" if secure_base_url == base_url else ""
    hint = (
        f"{refused.message} from {secure_base_url}{defaulted}: /secapi/ paths (v2 refunds) are served only by "
        "WeChat's mutual-TLS host with the merchant's client certificate. Set secure_base_url to that host "
        "(the simulator's https_base_url; in the service, wechat.https_base_url) and give the certificate."
    )
    return WeChatRefused(refused.code, hint, status=refused.status, detail=refused.detail,
                         request_id=refused.request_id)  # fmt: skip


def _cause(error: BaseException | None, target: httpx.URL, host: str, timeout: httpx.Timeout, mtls: bool) -> str:
    chain = list(_chain(error))
    verification = _first(chain, ssl.SSLCertVerificationError)
    if verification is not None:
        reason = getattr(verification, "verify_message", None) or "certificate not trusted"
        return (
            f"TLS verification failed ({reason}): {target.host} presented a certificate this client does not "
            "trust. Against WeChat, check the system's CA certificates and any proxy that intercepts TLS; against "
            "the simulator's HTTPS port, pass verify_tls=<bundle>/merchant/simulator_ca.pem (wechat.ca_path)."
        )
    tls = _first(chain, ssl.SSLError)
    if tls is not None:
        reason = getattr(tls, "reason", None) or type(tls).__name__
        extra = " The /secapi/ host requires the merchant's client certificate." if mtls else ""
        return f"TLS handshake failed ({reason}).{extra}"
    if _first(chain, ConnectionRefusedError) is not None:
        return f"connection refused: nothing listens on {host}. Check the base URL and that the server runs."
    if _first(chain, socket.gaierror) is not None:
        return f"the host name {target.host} does not resolve. Check the base URL and this machine's DNS."
    return _by_kind(error, host, timeout, mtls)


def _by_kind(error: BaseException | None, host: str, timeout: httpx.Timeout, mtls: bool) -> str:
    if isinstance(error, httpx.ConnectTimeout):
        return (f"no connection within {timeout.connect} s (connect timeout): {host} is unreachable or a "
                "firewall drops the packets. Nothing was sent.")  # fmt: skip
    if isinstance(error, httpx.ReadTimeout):
        return (f"no answer within {timeout.read} s (read timeout) after the request was sent. WeChat may have "
                "acted: query with the same identifiers before retrying.")  # fmt: skip
    if isinstance(error, httpx.WriteTimeout):
        return f"sending took longer than {timeout.write} s (write timeout)."
    if isinstance(error, httpx.PoolTimeout):
        return (f"no free connection within {timeout.pool} s (pool timeout): more calls in flight than the "
                "client's connection limit.")  # fmt: skip
    if isinstance(error, ResponseTooLarge):
        return f"{error}; the rest was not read."
    if isinstance(error, httpx.RemoteProtocolError):
        if mtls:
            return ("the server closed the connection without answering: a /secapi/ host ends the TLS handshake "
                    "without the merchant's client certificate, and a plain-HTTP port closes on TLS.")  # fmt: skip
        return "the server closed the connection without answering (is base_url's scheme, http or https, right?)."
    return "the connection failed; the outcome is unknown."


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _first(chain: list[BaseException], kind: type[E]) -> E | None:
    return next((error for error in chain if isinstance(error, kind)), None)
