"""One HTTP exchange as the simulator's core sees it: :class:`SimRequest` in, :class:`SimResponse` out.

Every edge (the httpx transport, the ASGI app) translates to and from these two values, and every handler
takes and returns them, so this module sits below everything else in the simulator and imports none of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["SimRequest", "SimResponse"]


@dataclass
class SimRequest:
    """One HTTP request as the simulator sees it. ``path`` is the raw (still percent-encoded) path."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    mtls: bool = False

    @property
    def canonical_url(self) -> str:
        """Path plus ``?query`` exactly as sent: what a v3 merchant signs."""
        return self.path + ("?" + self.query if self.query else "")

    def query_params(self) -> dict[str, str]:
        """The query string as a dict (last value wins)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def header(self, name: str, default: str = "") -> str:
        """A header by case-insensitive name."""
        return self.headers.get(name.lower(), default)


@dataclass
class SimResponse:
    """One HTTP response. ``delay_s`` and ``lose_answer`` carry injected latency and lost answers."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_s: float = 0.0
    lose_answer: bool = False

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> SimResponse:
        """A JSON response (UTF-8, Chinese kept as is, compact)."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, {"content-type": "application/json; charset=utf-8", **(headers or {})}, body)

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> SimResponse:
        """A text response."""
        return cls(status, {"content-type": content_type}, text.encode())
