"""``docs/deployment.md`` stays true.

* Its ``# runnable`` bash blocks run, in order, with ``bash -euo pipefail`` against a fresh PostgreSQL database,
  with ``weipay serve`` and ``weipay worker`` started from the ``ExecStart`` lines of ``deploy/systemd/`` (only
  the binary's path, the port and the heartbeat path replaced) and configured from the guide's own ``toml`` block.
* Every ``weipay`` command in the guide and in the units parses with the real CLI.
* The units pass ``systemd-analyze verify`` wherever the tool exists (skipped only where it does not).
* The ``ini`` environment file's variables are ones the settings loader applies.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import guides
import httpx
import pytest
import sqlalchemy as sa

from weipay.cli.main import cli

TEXT = (guides.ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
BLOCKS = guides.blocks(TEXT)
BASH = [block for block in BLOCKS if block.lang == "bash"]
UNITS = sorted((guides.ROOT / "deploy" / "systemd").iterdir())
WEIPAY = str(Path(sys.executable).parent / "weipay")
INSTALLED = "/opt/weipay/bin/weipay"


def test_every_bash_block_is_marked_and_the_guide_links_hold() -> None:
    unmarked = [b.line for b in BASH if b.kind not in (guides.RUNNABLE, guides.ILLUSTRATION)]
    assert not unmarked, f"bash blocks without '# runnable' or '# illustration' at lines {unmarked}"
    assert sum(b.kind == guides.RUNNABLE for b in BASH) >= 7
    guides.assert_contents_links_point_at_headings(TEXT)
    for target in re.findall(r"\]\(\.\./(deploy/[^)#]+)\)", TEXT):
        assert (guides.ROOT / target).exists(), target
    for unit in re.findall(r"`(weipay-[a-z-]+\.(?:service|timer))`", TEXT):
        assert (guides.ROOT / "deploy" / "systemd" / unit).exists(), unit


# -- every weipay command parses ---------------------------------------------------------------------------------


def _commands(text: str) -> Iterator[list[str]]:
    """Each ``weipay …`` invocation in shell text (``sh -c`` strings included), up to ``||``, ``&&``, ``|``, ``;``."""
    for line in text.replace("\\\n", " ").splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            continue
        for index, token in enumerate(tokens):
            if " " in token and "weipay " in token:
                yield from _commands(token)
            elif token in ("weipay", INSTALLED, "/opt/weipay-1.0/bin/weipay") and (
                index == 0 or tokens[index - 1] in ("||", "&&", "exec", ";")
            ):
                args = []
                for arg in tokens[index + 1:]:
                    if arg in ("||", "&&", "|", ";"):
                        break
                    args.append(arg)
                yield args


def _parse(args: list[str]) -> str:
    """Parse ``weipay args`` as the CLI would, without running it; the command's name."""
    concrete = ["2025-06-01" if "$(date" in arg else re.sub(r"\$\{?\w+\}?", "x", arg) for arg in args]
    context = cli.make_context("weipay", concrete)
    command: click.Command = cli
    while isinstance(command, click.Group):
        rest = [*context._protected_args, *context.args]
        name, sub, rest = command.resolve_command(context, rest)
        assert sub is not None and name is not None
        context = sub.make_context(name, rest, parent=context)
        command = sub
    return command.name or ""


def test_every_weipay_command_in_the_guide_and_the_units_parses() -> None:
    sources = [(f"docs/deployment.md:{b.line}", b.source) for b in BASH]
    sources += [(f"deploy/systemd/{u.name}", re.sub(r"^ExecStart=", "", u.read_text().replace("%%", "%"), flags=re.M))
                for u in UNITS]
    seen = set()
    for where, text in sources:
        for args in _commands(text):
            try:
                seen.add(_parse(args))
            except click.ClickException as exc:
                raise AssertionError(f"{where}: weipay {shlex.join(args)}: {exc.format_message()}") from None
    assert {"serve", "worker", "upgrade", "current", "downgrade", "reconcile"} <= seen, seen


def test_the_units_verify() -> None:
    """``systemd-analyze verify`` on the units (the binary path pointed at this interpreter's ``weipay``)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"weipay-units-{os.getpid()}"
    workdir.mkdir(exist_ok=True)
    try:
        paths = []
        for unit in UNITS:
            target = workdir / unit.name
            target.write_text(unit.read_text().replace(INSTALLED, WEIPAY))
            paths.append(str(target))
        verified = subprocess.run([analyze, "verify", *paths], capture_output=True, text=True, timeout=120)
        assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
        # And the check bites: a unit naming a program that does not exist fails.
        broken = workdir / "weipay-broken.service"
        broken.write_text("[Service]\nExecStart=/nonexistent/weipay serve\n")
        refused = subprocess.run([analyze, "verify", str(broken)], capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0 or refused.stderr.strip()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_environment_file_names_settings_the_loader_applies(tmp_path: Path) -> None:
    from weipay.service import _settings_env
    from weipay.service.settings import Settings

    (block,) = [b for b in BLOCKS if b.lang == "ini"]
    variables = dict(line.split("=", 1) for line in block.source.splitlines() if "=" in line)
    assert "WEIPAY_CONFIG" in variables
    applied = _settings_env.assignments(variables, Settings, skip=frozenset({"WEIPAY_CONFIG"}))
    assert len(applied) == len(variables) - 1


# -- the runnable blocks, against PostgreSQL, weipay serve and weipay worker --------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _exec_start(unit: str) -> list[str]:
    (line,) = [line for line in (guides.ROOT / "deploy" / "systemd" / unit).read_text().splitlines()
               if line.startswith("ExecStart=")]  # fmt: skip
    return shlex.split(line.removeprefix("ExecStart="))


def _config(tmp_path: Path, database_url: str, api_key: str) -> Path:
    """The guide's toml block, on the test database, plus one merchant with a simulator bundle's keys."""
    from weipay.simulator.bundle import init_bundle

    init_bundle(tmp_path / "sim")
    merchant_dir = tmp_path / "sim" / "merchant"
    account = json.loads((merchant_dir / "account.json").read_text())
    (block,) = [b for b in BLOCKS if b.lang == "toml"]
    base = re.sub(r'^database_url = "[^"]*"', f"database_url = {json.dumps(database_url)}", block.source,
                  flags=re.MULTILINE)  # fmt: skip
    assert tomllib.loads(base)["trusted_proxies"]
    merchant = {
        "mchid": account["mchid"], "private_key_path": str(merchant_dir / "apiclient_key.pem"),
        "merchant_cert_path": str(merchant_dir / "apiclient_cert.pem"),
        "wechatpay_public_key_path": str(merchant_dir / "wechatpay_public_key.pem"),
        "wechatpay_public_key_id": account["wechatpay_public_key_id"],
        "api_v3_key": account["apiv3_key"], "api_v2_key": account["apiv2_key"],
        "api_key_sha256": [hashlib.sha256(api_key.encode()).hexdigest()],
        "appids": {"miniprogram": account["appids"]["miniprogram"]},
    }  # fmt: skip
    lines = ["", "[[merchants]]"] + [f"{key} = {json.dumps(value)}" for key, value in merchant.items()
                                     if not isinstance(value, dict)]  # fmt: skip
    lines += ["[merchants.appids]", f"miniprogram = {json.dumps(merchant['appids']['miniprogram'])}"]
    path = tmp_path / "weipay.toml"
    path.write_text(base + "\n".join(lines) + "\n")
    return path


def _run(block: guides.Block, env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.source], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=180)  # fmt: skip
    assert done.returncode == 0, (f"docs/deployment.md block at line {block.line} ({block.section}) exited "
                                  f"{done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}")
    return done.stdout


def _wait_for(predicate: Any, what: str, processes: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 60
    while not predicate():
        for process in processes:
            assert process.poll() is None, f"{process.args} exited: {process.communicate()[1]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_runnable_blocks_run_in_order(database_url: str, tmp_path: Path) -> None:
    if not shutil.which("pg_dump") or not shutil.which("psql") or not shutil.which("curl"):
        pytest.skip("needs the PostgreSQL client programs and curl")
    api_key = "wpk_" + os.urandom(16).hex()
    config = _config(tmp_path, database_url, api_key)
    url = sa.make_url(database_url)
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("WEIPAY_", "PG"))}
    env.update({
        "PATH": f"{Path(WEIPAY).parent}:{env.get('PATH', '/usr/bin:/bin')}", "WEIPAY_CONFIG": str(config),
        "PGHOST": url.host or "127.0.0.1", "PGPORT": str(url.port or 5432), "PGUSER": url.username or "postgres",
        "PGDATABASE": url.database or "", "BACKUP_DIR": str(tmp_path / "backups"),
        "SERVICE": f"http://127.0.0.1:{port}", "HEARTBEAT": str(tmp_path / "run" / "worker.heartbeat"),
        "WEIPAY_API_KEY": api_key,
    })  # fmt: skip
    if url.password:
        env["PGPASSWORD"] = url.password
    runnable = [b for b in BASH if b.kind == guides.RUNNABLE]
    install, rest = runnable[0], runnable[1:]
    assert "weipay db upgrade" in install.source
    assert "database at revision" in _run(install, env, tmp_path)

    serve_args = [WEIPAY if arg == INSTALLED else arg for arg in _exec_start("weipay-serve.service")]
    serve_args[serve_args.index("--port") + 1] = str(port)
    serve_args[serve_args.index("--host") + 1] = "127.0.0.1"
    worker_args = [WEIPAY if arg == INSTALLED else env["HEARTBEAT"] if arg == "/run/weipay/worker.heartbeat"
                   else arg for arg in _exec_start("weipay-worker.service")]  # fmt: skip
    serve = subprocess.Popen(serve_args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)  # fmt: skip
    worker = subprocess.Popen(worker_args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)  # fmt: skip
    printed = []
    try:
        _wait_for(lambda: _healthy(env["SERVICE"]), "weipay serve", [serve, worker])
        _wait_for(lambda: Path(env["HEARTBEAT"]).exists(), "the worker's heartbeat", [serve, worker])
        printed = [_run(block, env, tmp_path) for block in rest]
    finally:
        for process in (serve, worker):
            process.send_signal(signal.SIGTERM)
        _, worker_err = worker.communicate(timeout=30)
        _, serve_err = serve.communicate(timeout=30)
    output = "\n".join(printed)
    assert '"status":"ok"' in output.replace(" ", "") and "x-request-id: " in output.lower()
    assert "worker alive" in output and "restore drill passed" in output
    assert "database at revision 0004" in output
    # The processes logged JSON lines: the worker's stop, and uvicorn's access lines with their request ids.
    assert worker.returncode == 0, worker_err
    worker_lines = [json.loads(line) for line in worker_err.splitlines() if line.startswith("{")]
    assert any(line["event"] == "worker stopped" for line in worker_lines), worker_err
    access = [json.loads(line) for line in serve_err.splitlines() if line.startswith("{") and "/healthz" in line]
    assert access and all(re.fullmatch(r"[0-9a-f]{32}", line.get("request_id", "")) for line in access), serve_err
