"""The vocabulary between a call's flow and the send loop that drives it.

A flow (a generator) yields :class:`Send`, :class:`Backoff` or :class:`Pause` and receives a
:class:`Reply` for each ``Send``. Only the send loops of ``Client`` and ``AsyncClient`` interpret
these steps; every decision is made in the flow.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import httpx

from .operation import HttpResponse

__all__ = [
    "MAX_RESPONSE_BYTES",
    "Backoff",
    "Flow",
    "Pause",
    "Reply",
    "ResponseTooLarge",
    "Send",
    "Step",
    "aread_capped",
    "read_capped",
    "response_from_httpx",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Send:
    """Put one request on the wire; ``mtls`` selects the client-certificate connection pool."""

    method: str
    url: str
    headers: Mapping[str, str]
    content: bytes
    mtls: bool


@dataclass(frozen=True, slots=True)
class Backoff:
    """Wait ``seconds`` before the next attempt (the retry policy's sleep)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Pause:
    """Yield the thread or event loop for ``seconds`` while another task downloads certificates."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back for a :class:`Send`: a response, or the httpx error, and the time it took."""

    response: HttpResponse | None
    error: httpx.HTTPError | None
    latency_s: float


Step = Send | Backoff | Pause
Flow = Generator[Step, Reply | None, T]


# The most of an answer a client reads (after content decoding): WeChat's largest answers are bills.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class ResponseTooLarge(httpx.TransportError):
    """An answer's body passed the client's cap and was not read to its end."""


def _over(limit: int) -> ResponseTooLarge:
    return ResponseTooLarge(f"the answer's body is over {limit} bytes")


def read_capped(chunks: Iterable[bytes], limit: int) -> bytes:
    """The streamed body, or :class:`ResponseTooLarge` as soon as it passes ``limit`` bytes."""
    parts, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _over(limit)
        parts.append(chunk)
    return b"".join(parts)


async def aread_capped(chunks: AsyncIterable[bytes], limit: int) -> bytes:
    """``read_capped`` for an async stream."""
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _over(limit)
        parts.append(chunk)
    return b"".join(parts)


def response_from_httpx(response: httpx.Response, body: bytes) -> HttpResponse:
    """Our value-type response from an httpx one and its body (read with a cap)."""
    headers = {name.lower(): value for name, value in response.headers.items()}
    return HttpResponse(response.status_code, headers, body)
