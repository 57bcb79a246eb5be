"""README.md stays true: its first screen, its curl session (run for real), its links and its layout.

The curl session is parsed from the README's fenced blocks: ``bash`` blocks hold ``NAME=$(command)`` lines
(run with bash in the demo's parent directory), ``NAME=value`` lines (bound from the previous answer, and the
README's own value must be the one its previous JSON block shows) and ``curl`` commands (run with httpx against
a real demo stack on free ports). Each ``json`` block after a curl command is the documented answer: the real
answer must have the same fields, the same types, and the same values where they do not vary between runs.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
from typing import Any

import guides
import httpx
import pytest

from weipay.cli._service_demo import DemoStack

ROOT = guides.ROOT
README = ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")
DOC_SERVICE, DOC_SIMULATOR = "http://127.0.0.1:8000", "http://127.0.0.1:8900"
# Values that stay the same from run to run; everything else (ids, tokens, times) only keeps its type.
STABLE = {"status", "amount", "paid_amount", "refunded_amount", "currency", "description", "merchant_order_no",
          "merchant_refund_no", "reason", "channel", "api", "seq", "trade_state", "trade_state_desc", "signType",
          "attach", "app_payment", "code_url", "qr_url", "h5_url", "rejection_reason"}
# Where each variable of the session comes from: a path into the previous answer.
BINDINGS: dict[str, tuple[str, ...]] = {"CODE": ("code",), "OPENID": ("openid",), "TOKEN": ("token",),
                                        "ORDER": ("id",), "REFUND": ("id",),
                                        "PREPAY_ID": ("request_payment", "package")}


def _section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_first_screen_gives_the_two_commands_and_they_are_what_ci_runs() -> None:
    first_screen = "\n".join(TEXT.splitlines()[:25])
    blocks = [f for f in guides.blocks(first_screen) if f.lang == "bash"]
    assert blocks, "no command block on the first screen"
    commands = [line.split("#", 1)[0].strip() for line in blocks[0].source.splitlines() if line.strip()]
    assert commands == ["python3 scripts/dev.py demo", "python3 scripts/dev.py test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^python3 scripts/dev\.py test\s*$", ci, re.MULTILINE), ".ci/run must call the README's command"
    dev = (ROOT / "scripts" / "dev.py").read_text()
    test_body = dev[dev.index("def test("): dev.index("def lock(")]
    for tool in ('"ruff"', '"mypy"', '"lint-imports"', '"pytest"'):
        assert tool in test_body, f"scripts/dev.py test no longer runs {tool}"
    demo_branch = dev[dev.index('command == "demo"'):]
    assert '"demo"' in demo_branch and "setup()" in demo_branch
    assert "requirements.lock" in dev and "requirements.lock" in first_screen
    assert "WEIPAY_TEST_POSTGRES_URL" in first_screen and "CI=true" in first_screen


def test_linked_files_exist() -> None:
    links = set(re.findall(r"\]\(((?:docs|src|tests)/[^)#]+)", TEXT))
    assert {"docs/sdk.md", "docs/simulator.md", "docs/service.md", "docs/architecture.md",
            "docs/benchmarks.md"} <= links
    missing = sorted(link for link in links if not (ROOT / link).exists())
    assert not missing, missing


def test_layout_lists_real_paths() -> None:
    layout = next(f for f in guides.blocks(_section(TEXT, "Project layout")) if f.lang == "text")
    paths = [line.split()[0] for line in layout.source.splitlines() if line and not line.startswith(" ")]
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert paths and not missing, missing


def test_cli_overview_names_every_command() -> None:
    from weipay.cli.main import cli

    overview = next(f for f in guides.blocks(_section(TEXT, "The `weipay` command")) if f.lang == "text").source
    listed = set(re.findall(r"^  (\w+) ", overview, re.MULTILINE))
    assert listed == set(cli.commands), (listed, set(cli.commands))
    # Sub-commands and options it names are real too.
    for group, sub in re.findall(r"weipay (\w+) (\w+)", overview):
        assert sub in getattr(cli.commands[group], "commands", {sub: None}) or sub.startswith("--"), (group, sub)
    assert "--date" in {o for p in cli.commands["reconcile"].params for o in p.opts}
    assert "--script" in {o for p in cli.commands["demo"].params for o in p.opts}


# ---------------------------------------------------------------- the curl session


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # The README's default directory name, so its `cat weipay-demo/...` lines run unchanged.
    demo = DemoStack(tmp_path_factory.mktemp("readme") / "weipay-demo", "127.0.0.1", 0, 0, 0, 1.0)
    demo.start()
    yield demo
    demo.stop()


def _logical_lines(body: str) -> list[str]:
    return [line.strip() for line in body.replace("\\\n", " ").splitlines() if line.strip()]


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _bind(name: str, answer: Any) -> str:
    assert name in BINDINGS, f"the README sets ${name}, which this test does not know how to bind"
    value = str(_dig(answer, BINDINGS[name]))
    return value.removeprefix("prepay_id=") if name == "PREPAY_ID" else value


def _curl(command: str, variables: dict[str, str], stack: DemoStack) -> httpx.Request:
    for name, value in sorted(variables.items(), key=lambda item: -len(item[0])):
        command = command.replace(f"${{{name}}}", value).replace(f"${name}", value)
    assert "$" not in command.replace("$ ", ""), f"unbound variable in {command}"
    args = shlex.split(command)
    assert args[0] == "curl"
    method, headers, body, url = "GET", {}, None, None
    it = iter(args[1:])
    for arg in it:
        if arg == "-s":
            continue
        if arg == "-X":
            method = next(it)
        elif arg == "-H":
            name, _, value = next(it).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            body = next(it)
            method = "POST" if method == "GET" else method
        else:
            assert arg.startswith("http"), f"unexpected curl argument {arg!r}"
            url = arg.replace(DOC_SERVICE, stack.service_url).replace(DOC_SIMULATOR, stack.simulator_url)
    assert url is not None
    if body is not None:
        json.loads(body)  # the documented body must be valid JSON once the variables are in
    return httpx.Request(method, url, headers=headers, content=body.encode() if body else None)


def _assert_like(documented: Any, real: Any, where: str = "") -> None:
    if isinstance(documented, dict):
        assert isinstance(real, dict), f"{where}: expected an object, got {real!r}"
        assert set(documented) == set(real), f"{where}: fields differ: {sorted(set(documented) ^ set(real))}"
        for key, value in documented.items():
            if key in STABLE:
                assert real[key] == value, f"{where}.{key}: documented {value!r}, got {real[key]!r}"
            else:
                _assert_like(value, real[key], f"{where}.{key}")
    elif isinstance(documented, list):
        assert isinstance(real, list) and len(real) == len(documented), f"{where}: {real!r}"
        for index, (doc_item, real_item) in enumerate(zip(documented, real, strict=True)):
            _assert_like(doc_item, real_item, f"{where}[{index}]")
    else:
        assert type(real) is type(documented), f"{where}: documented {documented!r}, got {real!r}"


def _send(client: httpx.Client, request: httpx.Request, documented: Any) -> Any:
    # A GET that documents a later state (paid, succeeded) is polled: the reader would wait a moment too.
    deadline = time.monotonic() + 20
    while True:
        response = client.send(request)
        answer = response.json()
        settled = not (request.method == "GET" and isinstance(documented, dict) and "status" in documented
                       and answer.get("status") != documented["status"])
        if settled or time.monotonic() > deadline:
            assert response.is_success, f"{request.method} {request.url}: {response.status_code} {response.text}"
            return answer
        time.sleep(0.2)


def test_the_curl_session_runs_against_weipay_demo(stack: DemoStack) -> None:
    session = guides.blocks(_section(TEXT, "From order to refund with curl"))
    assert session, "no curl session"
    variables: dict[str, str] = {}
    documented_answer: Any = None
    real_answer: Any = None
    pending: httpx.Request | None = None
    ran: list[str] = []
    with httpx.Client(timeout=15, trust_env=False) as client:  # loopback: no proxy from the environment
        for fence in session:
            if fence.lang == "json":
                assert pending is not None, f"README line {fence.line}: an answer without a curl command"
                documented_answer = json.loads(fence.source)
                real_answer = _send(client, pending, documented_answer)
                _assert_like(documented_answer, real_answer, f"README line {fence.line}")
                ran.append(f"{pending.method} {pending.url.path}")
                pending = None
                continue
            assert fence.lang == "bash", f"README line {fence.line}: unexpected ```{fence.lang} block in the session"
            for line in _logical_lines(fence.source):
                if line.startswith("curl "):
                    assert pending is None, f"README line {fence.line}: two curl commands without an answer between"
                    pending = _curl(line, variables, stack)
                    continue
                name, sep, value = line.partition("=")
                assert sep and re.fullmatch(r"[A-Z_]+", name), f"README line {fence.line}: cannot run {line!r}"
                value = value.split("#", 1)[0].strip()
                if value.startswith("$(") and value.endswith(")"):
                    variables[name] = subprocess.run(
                        ["bash", "-c", value[2:-1]], cwd=stack.directory.parent, check=True,
                        capture_output=True, text=True, timeout=30,
                    ).stdout.strip()
                else:
                    # The README's literal must come from its own previous answer, so a reader can follow it.
                    assert value == _bind(name, documented_answer), f"README line {fence.line}: {name}={value}"
                    variables[name] = _bind(name, real_answer)
    assert pending is None, "the last curl command has no documented answer"
    assert variables["KEY"] == stack.api_key
    assert ran == [
        "POST /simulator/login-codes", "POST /v1/login", "POST /v1/orders",
        f"POST /v1/orders/{variables['ORDER']}/payments", "POST /simulator/payments",
        f"GET /v1/orders/{variables['ORDER']}", f"POST /v1/orders/{variables['ORDER']}/refunds",
        f"GET /v1/refunds/{variables['REFUND']}",
    ]
    assert real_answer["status"] == "succeeded"


def test_the_pages_the_session_points_at_exist(stack: DemoStack) -> None:
    session = _section(TEXT, "From order to refund with curl")
    for url in sorted(set(re.findall(r"<(http://127\.0\.0\.1:[^>]+)>", session))):
        real = url.replace(DOC_SERVICE, stack.service_url).replace(DOC_SIMULATOR, stack.simulator_url)
        response = httpx.get(real, timeout=10, follow_redirects=True, trust_env=False)
        assert response.status_code == 200, f"{url}: {response.status_code}"
    for name in re.findall(r"`weipay-demo/([\w./]+)`", session):
        assert (stack.directory / name).is_file(), name


def test_architecture_lists_the_enforced_contracts_and_real_names() -> None:
    import tomllib

    from weipay.service.domain import states

    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = {c["name"] for c in config["tool"]["importlinter"]["contracts"]}
    table = text[text.index("## The layer arrows"): text.index("## Where the state machines live")]
    documented = set(re.findall(r"^\| ([A-Z][^|]+?) \|", table, re.MULTILINE)) - {"Contract"}
    assert documented == contracts
    for name in ("ORDER_TRANSITIONS", "ATTEMPT_TRANSITIONS", "REFUND_TRANSITIONS", "transition", "sources_of"):
        assert f"`{name}" in text and hasattr(states, name), name
    for path in re.findall(r"`((?:src/weipay|service|simulator)/[\w/]+\.py)`", text):
        candidates = [ROOT / path, ROOT / "src" / "weipay" / path]
        assert any(p.exists() for p in candidates), path
