"""``docs/webhooks.md`` stays true: each event has an example of the shape weipay sends, and each verification
snippet (Python, Node.js, Java, PHP) accepts a delivery signed by weipay's own delivery code and refuses a tampered
copy, a wrong secret and a stale timestamp. Java and PHP run when their runtimes are installed."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import guides
import pytest

from weipay.service.db import SqlUnitOfWork, upgrade
from weipay.service.domain import (
    ApiVersion,
    AttemptStatus,
    Channel,
    Order,
    OrderStatus,
    PaymentAttempt,
    Refund,
    RefundKind,
    RefundStatus,
)
from weipay.service.usecases import MerchantConfig
from weipay.service.usecases.webhook_delivery import deliver_webhook
from weipay.service.usecases.webhook_events import EVENT_TYPES, WebhookEvent, emit_webhook, event_body

TEXT, BLOCKS, PYTHON, RUNNABLE = guides.load("webhooks.md")
SECRET = "whsec-guide-0123456789abcdef"
NOW = 1_795_396_780.0


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real delivery: an order.paid event written by the use case and sent by the delivery use case."""
    url = f"sqlite:///{tmp_path_factory.mktemp('webhooks-guide') / 'weipay.db'}"
    upgrade(url)
    uow = SqlUnitOfWork.from_url(url)
    order = Order(id="ord_0f3c9a1b2d4e5f60718293a4", mchid="1900000109", merchant_order_no="SO-1001", amount_fen=1999,
                  currency="CNY", description="杯子", attach=None, payer_openid=None, status=OrderStatus.PAID,
                  paid_fen=1999, refunded_fen=0, reserved_fen=0, paid_attempt_id=None, created_at=NOW - 60,
                  updated_at=NOW, expires_at=NOW + 7200, paid_at=NOW)  # fmt: skip
    sent: list[tuple[bytes, dict[str, str]]] = []
    with uow.write() as tx:
        tx.orders.add(order)
        emit_webhook(tx, "order.paid", order, now=NOW, key=f"order.paid:{order.id}", attempt=_attempt(order))
    merchant = MerchantConfig("1900000109", {}, webhook_url="https://erp.shop.cn/hooks", webhook_secret=SECRET)
    deliver_webhook(uow, lambda: NOW, merchant, lambda _url, body, headers: sent.append((body, headers)) or 200,
                    f"order.paid:{order.id}")  # fmt: skip
    uow.dispose()
    ((body, headers),) = sent
    return {"body": body, "header": headers["x-weipay-signature"], "event": json.loads(body)}


def _cases(delivery: dict[str, Any]) -> list[tuple[str, str, bytes, float, bool]]:
    """(secret, header, body, now, expected): genuine, tampered, wrong secret, stale, from the future, no v1."""
    body, header = delivery["body"], delivery["header"]
    return [
        (SECRET, header, body, NOW + 10, True),
        (SECRET, header, body.replace(b"1999", b"1"), NOW, False),
        ("whsec-another-0123456789ab", header, body, NOW, False),
        (SECRET, header, body, NOW + 301, False),
        (SECRET, header, body, NOW - 301, False),
        (SECRET, header.split(",")[0], body, NOW, False),
    ]


def _lines(delivery: dict[str, Any]) -> str:
    """The cases as tab-separated lines (secret, header, body as hex, now) for the other languages' harnesses."""
    cases = _cases(delivery)
    return "".join(f"{secret}\t{header}\t{body.hex()}\t{int(now)}\n" for secret, header, body, now, _ in cases)


def _expected(delivery: dict[str, Any]) -> list[bool]:
    return [case[-1] for case in _cases(delivery)]


def _snippet(lang: str) -> str:
    (block,) = [block for block in BLOCKS if block.lang == lang]
    return block.source


def test_every_python_block_is_marked_and_parses() -> None:
    assert not guides.unmarked(BLOCKS)
    for block in PYTHON:
        ast.parse(block.source)


def test_every_event_has_an_example_in_the_shape_weipay_sends(delivery: dict[str, Any]) -> None:
    real = delivery["event"]
    refund = Refund(id="rfd_1", order_id="ord_1", attempt_id="pay_1", seq=1, kind=RefundKind.MERCHANT,
                    mchid="1900000109", out_refund_no="x", out_trade_no="y", api=ApiVersion.V3, amount_fen=1,
                    total_fen=1, status=RefundStatus.SUCCEEDED, created_at=NOW, updated_at=NOW)  # fmt: skip
    refund_keys = set(json.loads(event_body("evt_1", WebhookEvent("refund.succeeded", _order(), "k", refund=refund),
                                            NOW))["data"]["refund"])  # fmt: skip
    shapes = {"order": set(real["data"]["order"]), "payment": set(real["data"]["payment"]), "refund": refund_keys}
    examples = {}
    for block in BLOCKS:
        if block.lang == "json" and block.section.startswith("Events"):
            example = json.loads(block.source)
            examples[example["type"]] = example
    assert set(examples) == set(EVENT_TYPES)
    for name, example in examples.items():
        assert set(example) == set(real) == {"id", "type", "created", "data"}, name
        assert f"### {name}\n" in TEXT and f"[`{name}`]" in TEXT
        for part, fields in example["data"].items():
            assert set(fields) == shapes[part], (name, part)
        assert "order" in example["data"]


def _attempt(order: Order) -> PaymentAttempt:
    return PaymentAttempt(id="pay_1", order_id=order.id, seq=1, mchid=order.mchid, appid="wx8888888888888888",
                          out_trade_no="0f3c9a1b2d4e5f60718293a4-1", api=ApiVersion.V3, channel=Channel.MINIPROGRAM,
                          status=AttemptStatus.SUCCEEDED, amount_fen=1999, currency="CNY", description="杯子",
                          notify_url="https://pay.shop.cn/notify", time_expire=NOW + 7200, created_at=NOW - 30,
                          updated_at=NOW, transaction_id="4200001234202611230000000001", trade_state="SUCCESS")


def _order() -> Order:
    return Order(id="ord_1", mchid="1900000109", merchant_order_no="n", amount_fen=1, currency="CNY", description="d",
                 attach=None, payer_openid=None, status=OrderStatus.PAID, paid_fen=1, refunded_fen=0, reserved_fen=0,
                 paid_attempt_id=None, created_at=NOW, updated_at=NOW, expires_at=NOW)  # fmt: skip


def test_the_python_snippet_verifies_a_real_delivery(delivery: dict[str, Any]) -> None:
    (block,) = RUNNABLE
    namespace: dict[str, Any] = {}
    exec(compile("\n" * block.line + block.source, "docs/webhooks.md", "exec"), namespace)  # our own guide
    verify = namespace["verify_weipay_signature"]
    assert [verify(secret, header, body, now) for secret, header, body, now, _ in _cases(delivery)] == \
        _expected(delivery)


def test_the_node_snippet_verifies_a_real_delivery(delivery: dict[str, Any], tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (CI has it)")
    harness = """
const lines = require("fs").readFileSync(0, "utf8").split("\\n").filter(Boolean);
console.log(JSON.stringify(lines.map((line) => {
  const [secret, header, hex, now] = line.split("\\t");
  return verifyWeipaySignature(secret, header, Buffer.from(hex, "hex"), Number(now));
})));
"""
    script = tmp_path / "verify.js"
    script.write_text(_snippet("javascript") + harness)
    run = subprocess.run([node, str(script)], input=_lines(delivery), capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == _expected(delivery)


def test_the_java_snippet_verifies_a_real_delivery(delivery: dict[str, Any], tmp_path: Path) -> None:
    javac, java = shutil.which("javac"), shutil.which("java")
    if javac is None or java is None:
        pytest.skip("javac/java are not installed: the Java snippet is not exercised on this machine")
    (tmp_path / "WeipayWebhook.java").write_text(_snippet("java"))
    (tmp_path / "Check.java").write_text("""
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

public final class Check {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder out = new StringBuilder("[");
        for (String line; (line = in.readLine()) != null; ) {
            String[] f = line.split("\\t", -1);
            byte[] body = new byte[f[2].length() / 2];
            for (int i = 0; i < body.length; i++) {
                body[i] = (byte) Integer.parseInt(f[2].substring(2 * i, 2 * i + 2), 16);
            }
            if (out.length() > 1) out.append(",");
            out.append(WeipayWebhook.verify(f[0], f[1], body, Long.parseLong(f[3]), 300));
        }
        System.out.println(out.append("]"));
    }
}
""")
    sources = [str(tmp_path / "WeipayWebhook.java"), str(tmp_path / "Check.java")]
    built = subprocess.run([javac, "-d", str(tmp_path), *sources], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    run = subprocess.run([java, "-cp", str(tmp_path), "Check"], input=_lines(delivery), capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == _expected(delivery)


def test_the_php_snippet_verifies_a_real_delivery(delivery: dict[str, Any], tmp_path: Path) -> None:
    php = shutil.which("php")
    if php is None:
        pytest.skip("php is not installed: the PHP snippet is not exercised on this machine")
    script = tmp_path / "verify.php"
    script.write_text(_snippet("php") + """
$results = [];
foreach (file('php://stdin', FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) as $line) {
    [$secret, $header, $hex, $now] = explode("\\t", $line);
    $results[] = weipay_verify_signature($secret, $header, hex2bin($hex), (int) $now);
}
echo json_encode($results), "\\n";
""")
    run = subprocess.run([php, str(script)], input=_lines(delivery), capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == _expected(delivery)
