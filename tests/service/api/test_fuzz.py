"""Arbitrary JSON into the API never produces a 5xx: every refusal is a 4xx with a code."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..web_harness import Harness

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
order_like = st.fixed_dictionaries(
    {},
    optional={"merchant_order_no": json_values, "amount": json_values, "currency": json_values,
              "description": json_values, "attach": json_values, "expire_in_s": json_values,
              "payer_openid": json_values},
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=order_like | json_values)
def test_create_order_never_5xx(harness: Harness, body: Any) -> None:
    response = harness.api.post("/v1/orders", json=body, headers=harness.merchant)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["error"]["code"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values, path=st.sampled_from(["payments", "refunds", "close"]))
def test_order_actions_never_5xx(harness: Harness, body: Any, path: str) -> None:
    response = harness.api.post(f"/v1/orders/ord_000000000000000000000000/{path}", json=body,
                                headers=harness.merchant)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"]
