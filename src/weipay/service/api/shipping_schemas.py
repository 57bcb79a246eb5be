"""Bodies of ``POST /v1/orders/{id}/shipping`` and the ``shipping`` object of an order."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ContactIn", "ShippingError", "ShippingIn", "ShippingItemIn", "ShippingOut"]

_MASKED = r"^[0-9+\-]*\*+[0-9+\-*]*[0-9]{4}$"


class ContactIn(BaseModel):
    """Masked phone numbers, the last four digits in clear (``138****1234``): required for SF Express."""

    model_config = ConfigDict(extra="forbid")
    consignor_contact: str | None = Field(default=None, max_length=1024, pattern=_MASKED)
    receiver_contact: str | None = Field(default=None, max_length=1024, pattern=_MASKED)


class ShippingItemIn(BaseModel):
    """One package (express) or what was delivered; ``tracking_no`` and ``express_company`` (WeChat's courier
    code, e.g. ``SF``, ``YTO``, ``ZTO``) are required for express delivery."""

    model_config = ConfigDict(extra="forbid")
    item_desc: str = Field(min_length=1, max_length=120)
    tracking_no: str | None = Field(default=None, min_length=1, max_length=128)
    express_company: str | None = Field(default=None, min_length=1, max_length=64)
    contact: ContactIn | None = None


class ShippingIn(BaseModel):
    """How a paid mini-program order was delivered. ``unified``: one entry; ``split`` (express only): 1–15 packages
    and ``is_all_delivered``. Submitting again after the upload changes it (WeChat allows one change)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "logistics_type": "express", "delivery_mode": "unified",
        "shipping_list": [{"item_desc": "Weipay mug", "tracking_no": "SF1400000001", "express_company": "SF",
                           "contact": {"receiver_contact": "138****1234"}}],
    }]})  # fmt: skip
    logistics_type: Literal["express", "same_city", "virtual", "pickup"]
    delivery_mode: Literal["unified", "split"] = "unified"
    shipping_list: list[ShippingItemIn] = Field(min_length=1, max_length=15)
    is_all_delivered: bool | None = None


class ShippingError(BaseModel):
    """WeChat's last refusal of the upload (``outcome_unknown``: no answer, checked before sending again)."""

    code: str
    message: str | None = None


class ShippingOut(BaseModel):
    """Where the order's shipping information stands.

    ``state``: ``pending`` (queued for upload), ``uploaded`` (the platform has it; funds still frozen),
    ``failed`` (refused: see ``last_error``, submit again), ``confirmed`` (the buyer confirmed receipt).
    """

    state: Literal["pending", "uploaded", "failed", "confirmed"]
    logistics_type: str
    delivery_mode: Literal["unified", "split"]
    packages: int
    automatic: bool = Field(description="uploaded by weipay right after payment (virtual goods)")
    submitted_at: str
    uploaded_at: str | None = None
    confirmed_at: str | None = None
    last_error: ShippingError | None = None
