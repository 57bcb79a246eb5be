"""The vocabulary between a call's flow and the send loop that drives it.

A flow (a generator) yields :class:`Send`, :class:`Backoff` or :class:`Pause` and receives a
:class:`Reply` for each ``Send``. Only the send loops of ``Client`` and ``AsyncClient`` interpret
these steps; every decision is made in the flow.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import TypeVar

import httpx

from .operation import HttpResponse

__all__ = ["Backoff", "Flow", "Pause", "Reply", "Send", "Step", "response_from_httpx"]

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


def response_from_httpx(response: httpx.Response) -> HttpResponse:
    """Our value-type response from an httpx one whose body has been read."""
    headers = {name.lower(): value for name, value in response.headers.items()}
    return HttpResponse(response.status_code, headers, response.content)
