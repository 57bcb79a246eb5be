"""Response bodies of ``GET /v1/orders`` and ``GET /v1/refunds``: one page and the cursor of the next."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .schemas import OrderOut, RefundOut

__all__ = ["OrderListOut", "RefundListOut"]

_NEXT_CURSOR = Field(
    default=None, description="pass as ?cursor= (with the same filters) for the next page; null on the last page"
)


def _example(**example: Any) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


class OrderListOut(BaseModel):
    """One page of the merchant's orders, newest first, each with its attempts and refunds."""

    model_config = _example(
        data=[{
            "id": "ord_01J9Z3", "mchid": "1230000109", "merchant_order_no": "SO-20261123-0001", "amount": 1999,
            "currency": "CNY", "description": "Weipay mug", "attach": None, "status": "paid", "payer_openid": None,
            "paid_amount": 1999, "refunded_amount": 0, "created_at": "2026-11-23T01:19:00Z",
            "expires_at": "2026-11-23T03:19:00Z",
            "attempts": [{"seq": 1, "out_trade_no": "W1J9Z3A1", "channel": "native", "api": "v3",
                          "status": "succeeded", "transaction_id": "4200000000202611230000000001",
                          "created_at": "2026-11-23T01:19:05Z"}],
            "refunds": [],
        }],
        has_more=True,
        next_cursor="eyJ0IjoxNzk1Mzk2NzQwLjUsImlkIjoib3JkXzAxSjlaMyJ9",
    )  # fmt: skip
    data: list[OrderOut]
    has_more: bool
    next_cursor: str | None = _NEXT_CURSOR


class RefundListOut(BaseModel):
    """One page of the merchant's refunds, newest first."""

    model_config = _example(
        data=[{
            "id": "rfd_01J9Z4", "order_id": "ord_01J9Z3", "merchant_refund_no": "RF-1", "out_refund_no": "R1J9Z4",
            "amount": 500, "reason": "damaged", "status": "succeeded", "rejection_reason": None,
            "refund_id": "50300000002026112300000000001", "created_at": "2026-11-24T08:00:00Z", "kind": "merchant",
        }],
        has_more=False,
        next_cursor=None,
    )  # fmt: skip
    data: list[RefundOut]
    has_more: bool
    next_cursor: str | None = _NEXT_CURSOR
