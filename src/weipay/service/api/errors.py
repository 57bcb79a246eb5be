"""The one place where errors become HTTP answers: ``{"error": {"code", "message"}}``.

Domain errors carry a ``code`` and a ``kind``; the HTTP status is chosen here from the kind, so the
domain stays free of HTTP. Validation errors are reshaped into the same body with a specific code where
the field says what was wrong (``invalid_amount``). Anything unexpected is logged and answered 500 with
no detail, so no secret or traceback ever leaves the process.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from structlog.contextvars import bound_contextvars

from .request_id import REQUEST_ID_HEADER, request_id_of

__all__ = ["ApiError", "error_response", "install_error_handlers", "status_for"]

log = logging.getLogger("weipay.service.api")

# Domain error kinds (weipay.service.domain.errors.ErrorKind values) -> HTTP status.
_STATUS_BY_KIND: dict[str, int] = {
    "not_found": 404,
    "conflict": 409,
    "invalid": 422,
    "forbidden": 403,
    "upstream": 502,
    "busy": 503,
}

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               406: "not_acceptable", 409: "conflict", 413: "body_too_large", 415: "unsupported_media_type",
               422: "invalid_request", 429: "too_many_requests"}


class ApiError(Exception):
    """An error raised by the web layer itself (auth, body size, unknown merchant)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    detail: dict[str, Any] | None = None,
) -> JSONResponse:
    """The JSON error body every 4xx/5xx uses; ``detail`` only when there is something a program can act on."""
    error: dict[str, Any] = {"code": code, "message": message}
    if detail:
        error["detail"] = jsonable_encoder(detail)
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def status_for(exc: BaseException) -> int:
    """HTTP status for a domain error, from its ``kind``; 400 when the kind is unknown."""
    return _STATUS_BY_KIND.get(str(getattr(exc, "kind", "")), 400)


def _domain_code(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) and code else "request_refused"


def _domain_message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return message if isinstance(message, str) and message else str(exc)


def _validation_code(errors: list[dict[str, Any]]) -> str:
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if "amount" in loc and error.get("type") != "missing":
            return "invalid_amount"
        if "expire_in_s" in loc:
            return "invalid_expiry"
        if loc[:2] == ["query", "limit"]:  # GET /v1/orders, /v1/refunds
            return "invalid_limit"
        if error.get("type") == "json_invalid":
            return "invalid_json"
    return "invalid_request"


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors[:5]:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        where = ".".join(loc) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI, domain_error_types: tuple[type[Exception], ...] = ()) -> None:
    """Register the handlers; ``domain_error_types`` are the use cases' error bases to map to 4xx."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, headers)

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            log.warning("upstream trouble on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        detail = getattr(exc, "detail", None)
        detail = detail if isinstance(detail, dict) else None
        retry_after_s = (detail or {}).get("retry_after_s")
        headers = None
        if isinstance(retry_after_s, int | float):
            headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))}
        return error_response(status, _domain_code(exc), _domain_message(exc), headers, detail)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        return error_response(422, _validation_code(errors), _validation_message(errors))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return error_response(exc.status_code, code, message, dict(exc.headers or {}) or None)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # This handler runs outside the request-id middleware (Starlette's outermost layer), so the id comes from
        # the scope, is bound again for this log line, and goes on the answer here.
        request_id = request_id_of(request.scope)
        if request_id is None:
            log.exception("unexpected error on %s %s", request.method, request.url.path)
            return error_response(500, "internal_error", "internal error; the details are in the service's log")
        with bound_contextvars(request_id=request_id):
            log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500, "internal_error", f"internal error; the service's log has the details under request id {request_id}",
            {REQUEST_ID_HEADER: request_id}, {"request_id": request_id},
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for error_type in domain_error_types:
        app.add_exception_handler(error_type, on_domain_error)
    app.add_exception_handler(Exception, on_unexpected)
