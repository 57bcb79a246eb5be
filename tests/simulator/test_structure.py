"""The simulator's imports are written where a reader looks for them: at the top of each module.

The layers contract in pyproject.toml (``lint-imports``) forbids an upward import wherever it is written;
these tests forbid the two ways a cycle was hidden before: an import inside a function, and a module
loaded by its name as a string. The route tables are plain data, checked here against the handlers.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import weipay.simulator
from weipay.simulator import routes
from weipay.simulator.http_messages import SimRequest
from weipay.simulator.v2 import api as v2_api
from weipay.simulator.v3 import api as v3_api

PACKAGE = Path(weipay.simulator.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _function_imports(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            lines += [sub.lineno for sub in ast.walk(node) if isinstance(sub, ast.Import | ast.ImportFrom)]
    return lines


def _type_checking_blocks(tree: ast.AST) -> list[int]:
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(
        node.test)]


def test_the_package_is_found() -> None:
    assert len(SOURCES) > 30 and {"v2", "v3", "ledger", "control"} <= {p.parent.name for p in SOURCES}


def test_no_import_inside_a_function_or_behind_type_checking() -> None:
    hidden = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        lines = _function_imports(tree) + _type_checking_blocks(tree)
        if lines:
            hidden[str(path.relative_to(PACKAGE))] = lines
    assert hidden == {}


def test_no_module_is_loaded_by_name() -> None:
    loaders = re.compile(r"\bimportlib\b|\b__import__\b|\bimport_module\b")
    assert [str(p.relative_to(PACKAGE)) for p in SOURCES if loaders.search(p.read_text(encoding="utf-8"))] == []


def test_each_wechat_path_has_one_route() -> None:
    for path in ("/v3/pay/transactions/jsapi", "/pay/unifiedorder", "/secapi/pay/refund", "/sns/jscode2session"):
        assert [route.path for route in routes.ROUTES if route.matches(path)] != []
        assert len([route for route in routes.ROUTES if route.matches(path)]) == 1, path
    assert not any(route.matches("/simulator/tick") for route in routes.ROUTES)


def test_the_v2_and_v3_tables_name_every_path_once() -> None:
    assert all(path.startswith(("/pay/", "/secapi/")) for path in v2_api.ROUTES)
    v3_keys = [(method, pattern.pattern) for method, pattern, _ in v3_api.ROUTES]
    assert len(v3_keys) == len(set(v3_keys))
    assert all(pattern.startswith("/v3/") for _, pattern in v3_keys)


def test_an_unknown_path_is_a_404_from_the_table(sim: weipay.simulator.Simulator) -> None:
    response = sim.handle(SimRequest("GET", "/nowhere"))
    assert (response.status, b"no such API: GET /nowhere" in response.body) == (404, True)
