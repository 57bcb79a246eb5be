"""The OpenAPI document covers every contract path with examples; /metrics and /healthz work."""

from __future__ import annotations

from typing import Any

from ..web_harness import Harness

CONTRACT = {
    ("post", "/v1/login"), ("post", "/v1/orders"), ("post", "/v1/orders/{order_id}/payments"),
    ("get", "/v1/orders/{order_id}"), ("post", "/v1/orders/{order_id}/close"),
    ("post", "/v1/orders/{order_id}/refunds"), ("get", "/v1/refunds/{refund_id}"),
    ("post", "/v1/refunds/{refund_id}/approve"), ("post", "/v1/refunds/{refund_id}/reject"),
    ("get", "/v1/orders/{order_id}/events"), ("post", "/notify/wechatpay/v3/{mchid}"),
    ("post", "/notify/wechatpay/v2/{mchid}"), ("get", "/v1/orders/{order_id}/payments/{seq}/qr.svg"),
    ("get", "/metrics"), ("get", "/healthz"), ("get", "/v1/orders/{order_id}/webhooks"),
    ("post", "/v1/webhook-deliveries/{delivery_id}/redeliver"),
}  # fmt: skip


def has_example(node: Any, schemas: dict[str, Any]) -> bool:
    """An example on the media type, or on the (referenced) schema."""
    if not isinstance(node, dict):
        return False
    if "example" in node or "examples" in node:
        return True
    schema = node.get("schema", {})
    ref = schema.get("$ref") or next((s.get("$ref") for s in schema.get("anyOf", []) if "$ref" in s), None)
    if ref:
        schema = schemas[ref.rsplit("/", 1)[1]]
    return "examples" in schema or "example" in schema


def test_every_contract_endpoint_is_documented_with_examples(harness: Harness) -> None:
    document = harness.api.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert documented >= CONTRACT
    for method, path in CONTRACT:
        operation = document["paths"][path][method]
        assert operation.get("summary"), (method, path)
        body = operation.get("requestBody", {}).get("content", {})
        for media in body.values():
            assert has_example(media, schemas), (method, path, "request")
        success = [r for code, r in operation["responses"].items() if code.startswith("2")]
        assert success, (method, path)
        contents = [m for r in success for m in r.get("content", {}).values()]
        if contents:
            assert any(has_example(m, schemas) for m in contents) or path.endswith("qr.svg"), (method, path)
    assert "ErrorOut" in schemas and "examples" in schemas["ErrorOut"]


def test_metrics_count_requests_per_route_and_health(harness: Harness) -> None:
    assert harness.api.get("/healthz").json()["status"] == "ok"
    harness.api.get("/v1/orders/nope", headers=harness.merchant)
    metrics = harness.api.get("/metrics")
    assert metrics.status_code == 200
    text = metrics.text
    assert 'route="/v1/orders/{order_id}"' in text and 'status="404"' in text
    assert "weipay_http_request_seconds_bucket" in text


def test_two_apps_keep_separate_metrics(harness_factory: Any) -> None:
    first, second = harness_factory(), harness_factory()
    first.api.get("/healthz")
    first.api.get("/healthz")
    text = second.api.get("/metrics").text
    assert 'route="/healthz"' not in text
