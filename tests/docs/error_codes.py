"""Every error code the service's HTTP API can answer, collected from the source code by reading its syntax tree.

``docs/errors.md`` is checked against this, so a new code, a removed one or a changed status fails a test
instead of drifting. What counts as a code:

* ``ApiError(status, "code", ...)``: the web layer's own refusals, with their literal status;
* ``NotFound`` / ``Conflict`` / ``InvalidInput`` / ``Forbidden`` / ``UpstreamError`` ``("code", ...)``: domain
  refusals, with the status the web layer gives their ``kind`` (``status_for``);
* ``error_response(status, "code", ...)`` with literals, the framework answers of ``_HTTP_CODES`` and the codes
  ``_validation_code`` returns (all 422), plus the two fallbacks of the error handlers.

A code built as ``f"invalid_{field}"`` inside a function whose parameter is ``field`` is resolved at each call
site of that function (``check_text("description", ...)`` gives ``invalid_description``). A code that is neither
a literal nor resolvable this way is reported, so nothing escapes the list. The console (``admin/``) answers
HTML pages, not codes, and is left out. This module holds no tests.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import guides

SERVICE = guides.ROOT / "src" / "weipay" / "service"
SKIPPED = ("admin", "db/migrations")  # HTML pages, schema history
DOMAIN_CLASSES = ("NotFound", "Conflict", "InvalidInput", "Forbidden", "UpstreamError")
# Answers in the API's shape that no single raise names: a framework status missing from _HTTP_CODES, and a
# domain error without a code. Both are listed in docs/errors.md with the status "other".
FALLBACKS = {"http_error": '_HTTP_CODES.get(exc.status_code, "http_error")',
             "request_refused": 'else "request_refused"'}
OTHER = 0  # the status of a fallback: whatever the exception carried


@dataclass
class Collected:
    """Each code with its statuses and where it is raised; ``unresolved`` lists what could not be read."""

    statuses: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    where: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    unresolved: list[str] = field(default_factory=list)

    def add(self, code: str, status: int, where: str) -> None:
        self.statuses[code].add(status)
        self.where[code].add(where)


def _modules() -> Iterator[tuple[str, ast.Module, str]]:
    for path in sorted(SERVICE.rglob("*.py")):
        relative = path.relative_to(SERVICE).as_posix()
        if relative.startswith(SKIPPED):
            continue
        source = path.read_text(encoding="utf-8")
        yield relative, ast.parse(source, relative), source


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def _enclosing_function(
    node: ast.AST, parents: dict[ast.AST, ast.AST]
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node
    return None


def _argument(call: ast.Call, function: ast.FunctionDef | ast.AsyncFunctionDef, parameter: str) -> ast.expr | None:
    """The expression a call passes for ``parameter`` of ``function``."""
    for keyword in call.keywords:
        if keyword.arg == parameter:
            return keyword.value
    names = [arg.arg for arg in function.args.posonlyargs + function.args.args]
    if parameter in names and names.index(parameter) < len(call.args):
        return call.args[names.index(parameter)]
    return None


def collect() -> Collected:
    """Every code the API can answer, from the source as it is now."""
    from weipay.service.api.errors import status_for
    from weipay.service.domain import errors as domain_errors

    modules = list(_modules())
    functions: dict[str, list[ast.FunctionDef]] = defaultdict(list)
    calls: dict[str, list[tuple[str, ast.Call]]] = defaultdict(list)
    for relative, tree, _ in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                functions[node.name].append(node)
            elif isinstance(node, ast.Call) and _name(node.func):
                calls[str(_name(node.func))].append((relative, node))

    found = Collected()

    def codes_of(expr: ast.expr, parents: dict[ast.AST, ast.AST], where: str) -> list[str] | None:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return [expr.value]
        if isinstance(expr, ast.JoinedStr):
            # f"prefix{param}suffix": resolve param at every call site of the enclosing function.
            holes = [part for part in expr.values if isinstance(part, ast.FormattedValue)]
            function = _enclosing_function(expr, parents)
            if len(holes) != 1 or not isinstance(holes[0].value, ast.Name) or function is None:
                return None
            parameter = holes[0].value.id
            texts = [part.value if isinstance(part, ast.Constant) else "{}" for part in expr.values]
            template = "".join(str(text) for text in texts)
            resolved = []
            for site_module, site in calls.get(function.name, []):
                argument = _argument(site, function, parameter)
                if site_module.startswith(SKIPPED):
                    continue
                if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                    found.unresolved.append(f"{site_module}:{site.lineno}: {function.name}() with a computed "
                                            f"{parameter}, for the code at {where}")
                    continue
                resolved.append(template.format(argument.value))
            return resolved
        return None

    for relative, tree, source in modules:
        parents = _parents(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            where = f"{relative}:{node.lineno}"
            if name in ("ApiError", "error_response", "json_error") and len(node.args) >= 2:
                status, code = node.args[0], node.args[1]
                if name == "ApiError" and relative.endswith("errors.py") and _enclosing_function(node, parents):
                    continue  # not a raise: the handler re-reads an ApiError's own fields
                if isinstance(status, ast.Constant) and isinstance(status.value, int):
                    codes = codes_of(code, parents, where)
                    if codes is not None:
                        for one in codes:
                            found.add(one, status.value, where)
                        continue
                if not _is_handler(node, parents):
                    found.unresolved.append(f"{where}: {ast.unparse(node)[:100]}")
            elif name in DOMAIN_CLASSES and node.args:
                status = status_for(getattr(domain_errors, name)("x", "x"))
                codes = codes_of(node.args[0], parents, where)
                if codes is None:
                    found.unresolved.append(f"{where}: {ast.unparse(node)[:100]}")
                    continue
                for one in codes:
                    found.add(one, status, where)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(_name(t) == "_HTTP_CODES" for t in node.targets):
                assert isinstance(node.value, ast.Dict)
                for key, value in zip(node.value.keys, node.value.values, strict=True):
                    assert isinstance(key, ast.Constant) and isinstance(value, ast.Constant)
                    found.add(str(value.value), int(key.value), f"{relative}:{node.lineno}")
            if isinstance(node, ast.FunctionDef) and node.name == "_validation_code":
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Constant):
                        found.add(str(ret.value.value), 422, f"{relative}:{ret.lineno}")
        for code, needle in FALLBACKS.items():
            if needle in source:
                found.add(code, OTHER, relative)
    return found


def _is_handler(node: ast.Call, parents: dict[ast.AST, ast.AST]) -> bool:
    """An error handler passing on what an exception carries (its code is collected where it is raised)."""
    function = _enclosing_function(node, parents)
    return function is not None and function.name.startswith("on_")
