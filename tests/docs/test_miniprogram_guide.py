"""``docs/miniprogram.md`` stays true: its HTTP exchanges replay against a real demo stack, its shop backend runs,
and its mini-program JavaScript runs under Node with a stand-in for ``wx`` that calls the same stack.

* ``http`` blocks come in pairs: a request (``METHOD /path HTTP/1.1``, headers, JSON body) and the documented
  answer (``HTTP/1.1 <status>``, JSON). They are sent in order to the demo's service. The answer must have the
  documented status, and every documented field, with the same type, and the same value where it does not vary
  between runs (``STABLE``). Values that do vary (ids, tokens) are learnt from each answer and replaced in the
  requests that follow, so the guide's example values must be consistent with each other.
* ``<!-- replay: the payer pays -->`` and ``<!-- replay: the payer cancels -->`` play the user in WeChat's payment
  sheet (the simulator's control API) on the last payment started. A login ``code`` not seen before is minted by
  the simulator, as ``wx.login`` would.
* ``python`` blocks marked ``# runnable`` are the shop backend; ``javascript`` blocks starting ``// file: PATH``
  are the mini-program's files. Node runs them against the shop backend (served here) and the demo stack.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import error_codes
import guides
import httpx
import pytest

from weipay.cli._service_demo import DemoStack

DOC = "docs/miniprogram.md"
TEXT, BLOCKS, PYTHON, RUNNABLE = guides.load("miniprogram.md")
WEIPAY_HOST, SHOP_HOST = "https://pay.shop.example", "https://api.shop.example"
# The guide's stand-ins for what the demo stack makes up: its merchant API key and its mini-program's appid.
DOC_API_KEY, DOC_APPID = "wpk_shop_backend_key_0123456789abcdef", "wx8888888888888888"
STABLE = {"status", "amount", "paid_amount", "refunded_amount", "currency", "description", "merchant_order_no",
          "channel", "api", "seq", "signType", "attach", "code", "message", "wechat_code"}
EVENT = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$|^<!-- replay: (.+?) -->$", re.MULTILINE | re.DOTALL)
PAYER = {"the payer pays": "success", "the payer cancels": "cancel"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    demo = DemoStack(tmp_path_factory.mktemp("miniprogram") / "weipay-demo", "127.0.0.1", 0, 0, 0, 1.0)
    demo.start()
    yield demo
    demo.stop()


def _appid(stack: DemoStack, kind: str = "miniprogram") -> str:
    account = json.loads((stack.directory / "merchant" / "account.json").read_text())
    return str(account["appids"][kind])


# ---------------------------------------------------------------- the HTTP exchanges, replayed


def _parse_message(source: str) -> tuple[str, dict[str, str], str]:
    head, _, body = source.partition("\n\n")
    first, *header_lines = head.splitlines()
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return first, headers, body.strip()


def _assert_like(documented: Any, real: Any, where: str, learnt: dict[str, str]) -> None:
    """``real`` has every documented field, same types, same stable values; varying strings are learnt."""
    if isinstance(documented, dict):
        assert isinstance(real, dict), f"{where}: expected an object, got {real!r}"
        missing = sorted(set(documented) - set(real))
        assert not missing, f"{where}: the guide shows fields the API does not return: {missing}"
        for key, value in documented.items():
            if key in STABLE:
                assert real[key] == value, f"{where}.{key}: the guide says {value!r}, the API {real[key]!r}"
            else:
                _assert_like(value, real[key], f"{where}.{key}", learnt)
    elif isinstance(documented, list):
        assert isinstance(real, list) and len(real) == len(documented), f"{where}: {real!r}"
        for index, (doc_item, real_item) in enumerate(zip(documented, real, strict=True)):
            _assert_like(doc_item, real_item, f"{where}[{index}]", learnt)
    else:
        assert type(real) is type(documented), f"{where}: the guide shows {documented!r}, the API {real!r}"
        if isinstance(documented, str) and len(documented) >= 8:
            learnt.setdefault(documented, real)


def _substitute(text: str, learnt: dict[str, str]) -> str:
    for documented, real in sorted(learnt.items(), key=lambda item: -len(item[0])):
        text = text.replace(documented, real)
    return text


def _send(client: httpx.Client, method: str, url: str, headers: dict[str, str], body: str,
          documented: Any) -> httpx.Response:  # fmt: skip
    # A GET that documents a later state (paid) is polled, as the guide's waitForOrder does.
    deadline = time.monotonic() + 20
    while True:
        response = client.request(method, url, headers=headers, content=body.encode() or None)
        settled = not (method == "GET" and isinstance(documented, dict) and "status" in documented
                       and response.json().get("status") != documented["status"])
        if settled or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def test_the_http_exchanges_replay_against_the_demo_stack(stack: DemoStack) -> None:
    learnt = {DOC_API_KEY: stack.api_key, DOC_APPID: _appid(stack)}
    pending: tuple[str, str, dict[str, str], str, int] | None = None
    last_payment: dict[str, Any] | None = None
    ran: list[str] = []
    with httpx.Client(base_url=stack.service_url, timeout=15, trust_env=False) as client, \
            httpx.Client(base_url=stack.simulator_url, timeout=15, trust_env=False) as simulator:  # fmt: skip
        for match in EVENT.finditer(TEXT):
            line = TEXT.count("\n", 0, match.start()) + 1
            if match.group(3) is not None:
                assert pending is None, f"{DOC}:{line}: a replay step between a request and its answer"
                outcome = PAYER.get(match.group(3))
                assert outcome, f"{DOC}:{line}: unknown replay step {match.group(3)!r}"
                assert last_payment is not None, f"{DOC}:{line}: no payment was started before"
                prepay_id = last_payment["request_payment"]["package"].removeprefix("prepay_id=")
                paid = simulator.post("/simulator/payments", json={"prepay_id": prepay_id, "outcome": outcome})
                assert paid.status_code == 200, paid.text
                continue
            if match.group(1) != "http":
                continue
            first, headers, body = _parse_message(match.group(2))
            if pending is None:
                method, path, version = first.split(" ")
                assert version == "HTTP/1.1" and path.startswith("/v1/"), f"{DOC}:{line}: {first}"
                assert headers.pop("Host") == WEIPAY_HOST.removeprefix("https://"), f"{DOC}:{line}: Host"
                if path == "/v1/login":
                    code = json.loads(body)["code"]
                    if code not in learnt:  # what wx.login gives the mini-program
                        minted = simulator.post("/simulator/login-codes",
                                                json={"appid": _appid(stack), "user": "alice"})
                        learnt[code] = minted.json()["code"]
                if body:
                    json.loads(body)  # the guide's body is JSON before any substitution
                pending = (method, _substitute(path, learnt),
                           {k: _substitute(v, learnt) for k, v in headers.items()}, _substitute(body, learnt), line)
                continue
            method, path, request_headers, request_body, request_line = pending
            pending = None
            status = int(first.split(" ")[1])
            documented = json.loads(body)
            response = _send(client, method, path, request_headers, request_body, documented)
            where = f"{DOC}:{request_line} {method} {path}"
            assert response.status_code == status, f"{where}: the guide says {status}, got {response.status_code} " \
                                                    f"{response.text}"
            _assert_like(documented, response.json(), where, learnt)
            if response.json().get("request_payment"):
                last_payment = response.json()
            ran.append(f"{method} {re.sub(r'ord_[0-9a-f]+', '{id}', path)} {status}")
    assert pending is None, "the last request of the guide has no answer"
    assert ran == [
        "POST /v1/login 200", "POST /v1/login 502", "POST /v1/orders 201", "POST /v1/orders/{id}/payments 201",
        "POST /v1/orders/{id}/payments 201", "GET /v1/orders/{id} 200",
        "POST /v1/orders 201", "POST /v1/orders/{id}/payments 201", "POST /v1/orders/{id}/payments 201",
    ], ran


# ---------------------------------------------------------------- the shop backend and the JavaScript


def _shop_backend(stack: DemoStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """The guide's ``# runnable`` blocks, configured from the environment as they expect."""
    monkeypatch.setenv("WEIPAY_URL", stack.service_url)
    monkeypatch.setenv("WEIPAY_API_KEY", stack.api_key)
    monkeypatch.setenv("MINIPROGRAM_APPID", _appid(stack))
    monkeypatch.setenv("OFFICIAL_ACCOUNT_APPID", _appid(stack, "official_account"))
    monkeypatch.setenv("WECHAT_OPEN_URL", stack.simulator_url)  # the simulator serves WeChat's authorize page
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)  # loopback only
    namespace: dict[str, Any] = {}
    tmp_path.mkdir(parents=True, exist_ok=True)
    guides.run_in_order(RUNNABLE, DOC, "shop_backend", tmp_path, monkeypatch, lambda ns: namespace.update(ns))
    return namespace


def test_the_shop_backend_logs_in_once_and_creates_one_order_per_cart(
    stack: DemoStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shop = _shop_backend(stack, monkeypatch, tmp_path)
    with httpx.Client(base_url=stack.simulator_url, trust_env=False) as simulator:
        minted = simulator.post("/simulator/login-codes", json={"appid": _appid(stack), "user": "bob"}).json()
    session = shop["shop_login"](minted["code"])
    assert set(session) == {"shop_token", "weipay_token"}
    with pytest.raises(shop["LoginRefused"], match="CODE_BEEN_USED"):
        shop["shop_login"](minted["code"])
    shop["CARTS"]["B1"] = {"amount_fen": 1999, "description": "Weipay mug"}  # carts are per user
    first = shop["shop_checkout"](session["shop_token"], "B1")
    assert shop["shop_checkout"](session["shop_token"], "B1") == first  # the same cart, the same order
    order = httpx.get(f"{stack.service_url}/v1/orders/{first['order_id']}", trust_env=False,
                      headers={"Authorization": f"Bearer {session['weipay_token']}"}).json()
    assert (order["payer_openid"], order["amount"], order["status"]) == (minted["openid"], 1999, "pending")
    shop["weipay"].close()


def test_the_official_account_redirect_flow_pays_end_to_end(
    stack: DemoStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shop = _shop_backend(stack, monkeypatch, tmp_path)
    shop["CARTS"]["J1"] = {"amount_fen": 2500, "description": "Oolong tea"}
    appid = _appid(stack, "official_account")
    with httpx.Client(base_url=stack.simulator_url, trust_env=False) as wechat:
        authorize = shop["shop_pay_page"]("J1")
        assert authorize.startswith(f"{stack.simulator_url}/connect/oauth2/authorize?appid={appid}&")
        assert authorize.endswith("#wechat_redirect")
        # The browser in WeChat: the fragment stays in the browser; user= says who is browsing (simulator only).
        redirect = wechat.get(authorize.split("#")[0] + "&user=dave")
        assert redirect.status_code == 302, redirect.text
        back = httpx.URL(redirect.headers["location"])
        assert f"{back.scheme}://{back.host}{back.path}" == f"{SHOP_HOST}/shop/oauth/back"
        code, state = back.params["code"], back.params["state"]
        page = shop["shop_oauth_back"](code, state)
        assert page["request_payment"]["appId"] == appid
        with pytest.raises(KeyError):
            shop["shop_oauth_back"](code, state)  # a replayed redirect: its state was spent
        prepay_id = page["request_payment"]["package"].removeprefix("prepay_id=")
        paid = wechat.post("/simulator/payments", json={"prepay_id": prepay_id, "outcome": "success"})
        assert paid.status_code == 200, paid.text
    merchant = {"Authorization": f"Bearer {stack.api_key}"}
    deadline = time.monotonic() + 20
    while True:
        order = httpx.get(f"{stack.service_url}/v1/orders/{page['order_id']}", headers=merchant,
                          trust_env=False).json()
        if order["status"] == "paid" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (order["status"], order["amount"]) == ("paid", 2500)
    assert order["payer_openid"] == httpx.get(  # the official account's openid of the browsing user
        f"{stack.simulator_url}/simulator/orders", params={"out_trade_no": order["attempts"][0]["out_trade_no"]},
        trust_env=False).json()["orders"][0]["payer_openid"]
    shop["weipay"].close()


class _ShopServer(ThreadingHTTPServer):
    shop: dict[str, Any]


class _ShopHandler(BaseHTTPRequestHandler):
    """``POST /shop/login`` and ``POST /shop/checkout`` around the guide's two functions."""

    server: _ShopServer

    def do_POST(self) -> None:
        shop = self.server.shop
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        try:
            if self.path == "/shop/login":
                answer: tuple[int, Any] = (200, shop["shop_login"](body["code"]))
            elif self.path == "/shop/checkout":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                answer = (200, shop["shop_checkout"](token, body["cart_id"]))
            else:
                answer = (404, {"error": "no such path"})
        except (shop["LoginRefused"], KeyError) as refused:
            answer = (401, {"error": str(refused)})
        except httpx.HTTPStatusError as refused:  # weipay refused: the test fails on the page's result
            answer = (502, {"error": refused.response.text})
        data = json.dumps(answer[1]).encode()
        self.send_response(answer[0])
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _javascript_files() -> dict[str, str]:
    files = {}
    for block in BLOCKS:
        if block.lang == "javascript" and block.kind.startswith("// file: "):
            files[block.kind.removeprefix("// file: ")] = block.source
    return files


# The stand-in for the mini-program runtime: wx.* and Page(), then the scenario. wx.request only reaches the two
# hosts of the guide's request合法域名 (rewritten to the test's servers), as a phone would.
HARNESS = r"""
const path = require("path");
const cfg = JSON.parse(process.env.HARNESS);
const HOSTS = { [cfg.shopHost]: cfg.shop, [cfg.weipayHost]: cfg.weipay };
const storage = new Map();
const log = [];
const urls = []; // unmasked, for the test to find the order
let outcomes = [];
const pages = [];

function post(url, body) {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    .then((res) => res.json());
}

global.wx = {
  request({ url, method = "GET", data, header = {}, success, fail }) {
    const host = Object.keys(HOSTS).find((h) => url.startsWith(h + "/"));
    log.push(["request", method, url.replace(/ord_[0-9a-f]+/, "{id}")]);
    if (url.includes("/payments")) urls.push(url);
    if (!host) return setTimeout(() => fail({ errMsg: "request:fail url not in domain list" }));
    const init = { method, headers: { ...header } };
    if (data !== undefined && method !== "GET") {
      init.body = JSON.stringify(data);
      init.headers["content-type"] = "application/json";
    }
    fetch(HOSTS[host] + url.slice(host.length), init).then(async (res) => {
      const text = await res.text();
      let body = text;
      try { body = JSON.parse(text); } catch (e) {}
      success({ statusCode: res.status, data: body, header: Object.fromEntries(res.headers), errMsg: "request:ok" });
    }, (err) => fail({ errMsg: "request:fail " + err.message }));
  },
  login({ success, fail }) {
    log.push(["login"]);
    post(cfg.simulator + "/simulator/login-codes", { appid: cfg.appid, user: "carol" })
      .then((b) => success({ code: b.code, errMsg: "login:ok" }), (e) => fail({ errMsg: "login:fail " + e.message }));
  },
  requestPayment(params) {
    for (const key of ["timeStamp", "nonceStr", "package", "signType", "paySign"]) {
      if (typeof params[key] !== "string" || !params[key]) {
        return setTimeout(() => params.fail({ errMsg: "requestPayment:fail parameter error: " + key }));
      }
    }
    const outcome = outcomes.shift();
    log.push(["requestPayment", outcome, params.package]);
    const simulated = { success: "success", cancel: "cancel", fail: "bank_error" }[outcome];
    const prepayId = params.package.replace(/^prepay_id=/, "");
    post(cfg.simulator + "/simulator/payments", { prepay_id: prepayId, outcome: simulated })
      .then(() => {
        if (outcome === "success") params.success({ errMsg: "requestPayment:ok" });
        else if (outcome === "cancel") params.fail({ errMsg: "requestPayment:fail cancel" });
        else params.fail({ errMsg: "requestPayment:fail the bank refused" });
      });
  },
  setStorageSync(key, value) { storage.set(key, JSON.parse(JSON.stringify(value))); },
  getStorageSync(key) { return storage.has(key) ? storage.get(key) : ""; },
  showLoading() {},
  hideLoading() {},
  showToast(options) { log.push(["toast", options.title]); },
  redirectTo(options) { log.push(["redirectTo", options.url.replace(/ord_[0-9a-f]+/, "{id}")]); },
};
global.Page = (definition) => pages.push(definition);

async function main() {
  require(path.resolve("pages/checkout/checkout.js"));
  const definition = pages[0];
  const page = { ...definition, data: { ...definition.data }, setData(d) { Object.assign(this.data, d); } };
  const results = {};
  const run = async (name, cartId, outcome) => {
    page.data.cartId = cartId;
    outcomes = [outcome];
    log.push(["--", name]);
    await page.onPay();
    results[name] = page.data.result;
  };
  await run("cancel", "C1", "cancel");
  // Seven days later: weipay no longer knows the token; the page logs in again by itself.
  wx.setStorageSync("session", { ...wx.getStorageSync("session"), weipay_token: "expired-token" });
  await run("retry", "C1", "success");
  await run("bank", "C2", "fail");
  console.log(JSON.stringify({ results, log, urls, unused: outcomes.length }));
}
main().catch((err) => { console.error(err.stack); process.exit(1); });
"""


def _node() -> str:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is missing in CI: .ci/run installs Debian's nodejs")
        pytest.skip("node is not installed: the guide's JavaScript is only replayed (apt-get install nodejs)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 18:
        pytest.skip(f"node {version} has no fetch(); the harness needs node 18 or later")
    return node


def test_the_mini_program_javascript_runs_under_node(
    stack: DemoStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    node = _node()
    shop = _shop_backend(stack, monkeypatch, tmp_path / "backend")
    shop["CARTS"]["C2"] = {"amount_fen": 800, "description": "Green tea"}
    server = _ShopServer(("127.0.0.1", 0), _ShopHandler)
    server.shop = shop
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app = tmp_path / "miniprogram"
    for name, source in _javascript_files().items():
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_text(source)
    (app / "harness.js").write_text(HARNESS)
    config = {"shopHost": SHOP_HOST, "weipayHost": WEIPAY_HOST, "shop": f"http://127.0.0.1:{server.server_port}",
              "weipay": stack.service_url, "simulator": stack.simulator_url, "appid": _appid(stack)}
    try:
        run = subprocess.run([node, "harness.js"], cwd=app, capture_output=True, text=True, timeout=120,
                             env={**os.environ, "HARNESS": json.dumps(config)})
    finally:
        server.shutdown()
        shop["weipay"].close()
    assert run.returncode == 0, f"the guide's JavaScript failed:\n{run.stderr}\n{run.stdout}"
    report = json.loads(run.stdout.strip().splitlines()[-1])
    log = [tuple(entry) for entry in report["log"]]
    assert report["results"] == {"cancel": "cancelled", "retry": "paid", "bank": "failed"}, report
    assert report["unused"] == 0
    assert log.count(("login",)) == 2, log  # once at first, once more after the token expired
    payments = [entry for entry in log if entry[0] == "requestPayment"]
    assert payments[0][2] == payments[1][2], "paying again after a cancel must reuse the open attempt's prepay_id"
    assert ("redirectTo", "/pages/order/order?id={id}") in log
    assert ("request", "GET", f"{WEIPAY_HOST}/v1/orders/{{id}}") in log
    assert any(entry[0] == "toast" and "cancelled" in entry[1] for entry in log), log
    # Only the two hosts of request合法域名, and weipay only with the user's token (no merchant endpoint).
    hosts = {entry[2].split("/v1/")[0].split("/shop/")[0] for entry in log if entry[0] == "request"}
    assert hosts == {SHOP_HOST, WEIPAY_HOST}, hosts
    # The order both tries paid has exactly one attempt, now succeeded: the retry reused it.
    paid_order = re.search(r"/v1/orders/(ord_[0-9a-f]+)/payments", report["urls"][0])
    assert paid_order, report["urls"]
    order = httpx.get(f"{stack.service_url}/v1/orders/{paid_order[1]}", trust_env=False,
                      headers={"Authorization": f"Bearer {stack.api_key}"}).json()
    assert order["status"] == "paid" and [a["status"] for a in order["attempts"]] == ["succeeded"], order


# ---------------------------------------------------------------- static checks


def test_the_javascript_calls_only_real_routes_with_real_fields() -> None:
    from weipay.service.api.routes import build_router
    from weipay.service.api.schemas import OrderOut, PaymentIn, PaymentOut

    files = _javascript_files()
    assert set(files) == {"utils/weipay.js", "utils/pay.js", "pages/checkout/checkout.js"}, set(files)
    code = "\n".join(files.values())
    routes = [(method, re.sub(r"\{[^}]+\}", "[^/]+", route.path))  # type: ignore[attr-defined]
              for route in build_router().routes for method in route.methods]  # type: ignore[attr-defined]
    calls = re.findall(r'weipay\("(GET|POST)", `(/v1/[^`]*)`(?:, (\{[^}]*\}))?\)', code)
    assert len(calls) >= 2, calls
    for method, path, body in calls:
        concrete = re.sub(r"\$\{[^}]+\}", "x", path)
        assert any(m == method and re.fullmatch(p, concrete) for m, p in routes), f"no route {method} {path}"
        for name in re.findall(r"(\w+):", body or ""):
            assert name in PaymentIn.model_fields, f"{method} {path} sends {name}, which the API does not take"
    for name in re.findall(r"payment\.(\w+)", code):
        assert name in PaymentOut.model_fields, name
    for status in re.findall(r'"([a-z_]+)"', code[code.index("const PAID"): code.index("function requestPayment")]):
        assert status in {"paid", "partially_refunded", "refunded", "closed", "expired"}, status
    assert "order.status" in code and "status" in OrderOut.model_fields


def test_every_python_block_is_marked_and_the_toml_names_real_settings() -> None:
    import tomllib

    from weipay.service.settings import MerchantSettings, Settings

    assert not guides.unmarked(BLOCKS) and RUNNABLE
    for block in PYTHON:
        ast.parse(block.source)
    (toml,) = [block for block in BLOCKS if block.lang == "toml"]
    config = tomllib.loads(toml.source)
    assert set(config) - {"merchants"} <= set(Settings.model_fields)
    for merchant in config["merchants"]:
        assert set(merchant) <= set(MerchantSettings.model_fields)
        assert merchant["appids"]["miniprogram"] == DOC_APPID
    assert config["public_base_url"] == WEIPAY_HOST


def test_the_error_codes_the_guide_names_are_real() -> None:
    real = error_codes.collect().statuses
    section = TEXT[TEXT.index("## Errors you will meet"): TEXT.index("## H5 payments")]
    rows = re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", section, re.MULTILINE)
    assert len(rows) >= 8
    for code, status in rows:
        assert real.get(code) == {int(status)}, (code, status, real.get(code))
    for status, code in re.findall(r"`(\d{3}) ([a-z_]+)`", TEXT):
        assert real.get(code) == {int(status)}, (code, status, real.get(code))


def test_contents_links_point_at_headings_and_the_readme_links_the_guide() -> None:
    guides.assert_contents_links_point_at_headings(TEXT)
    readme = (guides.ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/miniprogram.md)" in readme and "](docs/errors.md)" in readme
