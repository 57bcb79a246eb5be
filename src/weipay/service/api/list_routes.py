"""``GET /v1/orders``, ``GET /v1/refunds`` and ``GET /v1/orders/{id}/calls``: the merchant's lists and raw call log.

Merchant API keys only, and always the key's own merchant: the filters narrow that merchant's rows, never widen
them, so another merchant's orders cannot appear whatever a client sends. Pages are newest first with an opaque
cursor (keyset on ``(created_at, id)``): stable while orders are being created. Bad filters are 422 with a code
that names the parameter (``invalid_status``, ``invalid_channel``, ``invalid_created_from``, ``invalid_created_to``,
``invalid_time_range``, ``invalid_q``, ``invalid_cursor``, ``invalid_limit``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from .. import usecases
from ..db import SqlUnitOfWork
from ..domain import OrderStatus, RefundStatus
from .list_params import comma_list, decode_cursor, encode_cursor, parse_time
from .list_schemas import OrderListOut, RefundListOut
from .presenters import details_out, refund_out
from .schemas import CallsOut, ErrorOut
from .state import ApiState
from .timeline_out import call_out

__all__ = ["build_list_router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (401, "missing or unknown API key"),
        (403, "a user's login token: these endpoints need a merchant API key"),
        (422, "an invalid filter, cursor or limit (code says which)"),
    )
}

_ORDER_STATUSES = ", ".join(status.value for status in OrderStatus)
_REFUND_STATUSES = ", ".join(status.value for status in RefundStatus)
_CHANNELS = "jsapi, miniprogram, native, app, h5"

Channels = Annotated[str | None, Query(description=f"comma-separated, any attempt's channel: {_CHANNELS}",
                                       examples=["native,h5"])]  # fmt: skip
CreatedFrom = Annotated[str | None, Query(description="created at or after, ISO 8601 with an offset (encode + as %2B)",
                                          examples=["2026-11-23T00:00:00+08:00"])]  # fmt: skip
CreatedTo = Annotated[str | None, Query(description="created before, ISO 8601 with an offset",
                                        examples=["2026-11-24T00:00:00Z"])]  # fmt: skip
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page (keep the same filters)")]
Limit = Annotated[int, Query(ge=1, le=usecases.LIST_LIMIT_MAX, description="rows per page, 1-100")]


def _state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


def _uow(request: Request) -> SqlUnitOfWork:
    return _state(request).services.uow


def _merchant(request: Request) -> str:
    """The caller's merchant: a merchant API key's (users' login tokens are refused)."""
    principal = _state(request).authenticator.authenticate(request)
    principal.require_merchant()
    (mchid,) = principal.mchids
    return mchid


def build_list_router() -> APIRouter:
    """The list and call-log routes under ``/v1``."""
    router = APIRouter(prefix="/v1", responses=_ERRORS)

    @router.get("/orders", response_model=OrderListOut, tags=["orders"],
                summary="List the merchant's orders: filters and cursor pagination, newest first")
    def list_orders(
        request: Request,
        status: Annotated[str | None, Query(description=f"comma-separated: {_ORDER_STATUSES}",
                                            examples=["paid,partially_refunded"])] = None,
        channel: Channels = None,
        created_from: CreatedFrom = None,
        created_to: CreatedTo = None,
        q: Annotated[str | None, Query(description="any number of the order: our id, merchant_order_no, an "
                                       "attempt's out_trade_no, WeChat transaction_id, a refund's out_refund_no, "
                                       "merchant_refund_no or WeChat refund_id")] = None,
        cursor: Cursor = None,
        limit: Limit = usecases.LIST_LIMIT_DEFAULT,
    ) -> OrderListOut:
        listing = usecases.list_filter(
            _merchant(request), OrderStatus, statuses=comma_list(status), channels=comma_list(channel),
            created_from=parse_time(created_from, "created_from"), created_to=parse_time(created_to, "created_to"),
            number=q, after=decode_cursor("orders", cursor), limit=limit,
        )  # fmt: skip
        page = usecases.list_orders(_uow(request), listing)
        return OrderListOut(
            data=[details_out(details) for details in page.orders], has_more=page.next_after is not None,
            next_cursor=encode_cursor("orders", page.next_after) if page.next_after else None,
        )  # fmt: skip

    @router.get("/refunds", response_model=RefundListOut, tags=["refunds"],
                summary="List the merchant's refunds: filters and cursor pagination, newest first")
    def list_refunds(
        request: Request,
        status: Annotated[str | None, Query(description=f"comma-separated: {_REFUND_STATUSES}",
                                            examples=["requested"])] = None,
        channel: Channels = None,
        created_from: CreatedFrom = None,
        created_to: CreatedTo = None,
        q: Annotated[str | None, Query(description="our refund id, out_refund_no, merchant_refund_no, WeChat "
                                       "refund_id, or any number of its order (id, merchant_order_no, "
                                       "out_trade_no, transaction_id)")] = None,
        cursor: Cursor = None,
        limit: Limit = usecases.LIST_LIMIT_DEFAULT,
    ) -> RefundListOut:
        listing = usecases.list_filter(
            _merchant(request), RefundStatus, statuses=comma_list(status), channels=comma_list(channel),
            created_from=parse_time(created_from, "created_from"), created_to=parse_time(created_to, "created_to"),
            number=q, after=decode_cursor("refunds", cursor), limit=limit,
        )  # fmt: skip
        page = usecases.list_refunds(_uow(request), listing)
        return RefundListOut(
            data=[refund_out(refund) for refund in page.refunds], has_more=page.next_after is not None,
            next_cursor=encode_cursor("refunds", page.next_after) if page.next_after else None,
        )  # fmt: skip

    @router.get("/orders/{order_id}/calls", response_model=CallsOut, tags=["orders"],
                summary="The raw call log of an order: WeChat calls, notifications as received, operator actions",
                responses={404: {"model": ErrorOut, "description": "no such order (or another merchant's)"}})
    def order_calls(order_id: str, request: Request) -> CallsOut:
        mchid = _merchant(request)
        entries = usecases.order_call_log(_uow(request), order_id, mchid)
        return CallsOut(order_id=order_id, calls=[call_out(entry) for entry in entries])

    return router
