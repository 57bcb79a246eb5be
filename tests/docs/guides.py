"""Machinery shared by the documentation tests: fenced blocks, running a guide's ``# runnable`` blocks, checks.

A guide's Python blocks each start with ``# runnable`` (run, in order, in one namespace), ``# illustration``
(only checked) or ``# served`` (run by the guide's own test against servers its ``bash`` blocks start).
Failures point at the guide's own line numbers. This module holds no tests.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
RUNNABLE = "# runnable"
ILLUSTRATION = "# illustration"
SERVED = "# served"
MARKERS = (RUNNABLE, ILLUSTRATION, SERVED)


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, first line (the marker, for Python), body, line and ``##`` section."""

    lang: str
    kind: str
    source: str
    line: int
    section: str


def blocks(text: str) -> list[Block]:
    """Every fenced block of ``text``, in order."""
    found = []
    for match in FENCE.finditer(text):
        source = match.group(2)
        headings = re.findall(r"^## (.+)$", text[: match.start()], re.MULTILINE)
        found.append(Block(match.group(1), source.split("\n", 1)[0].strip(), source,
                           text.count("\n", 0, match.start()) + 1, headings[-1] if headings else "(top)"))
    return found


class Guide(NamedTuple):
    """A guide under ``docs/``: its text, every fenced block, its Python blocks and its ``# runnable`` ones."""

    text: str
    blocks: list[Block]
    python: list[Block]
    runnable: list[Block]


def load(name: str) -> Guide:
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    found = blocks(text)
    return Guide(text, found, python(found), of_kind(found, RUNNABLE))


def python(found: Iterable[Block]) -> list[Block]:
    return [block for block in found if block.lang == "python"]


def of_kind(found: Iterable[Block], kind: str) -> list[Block]:
    return [block for block in found if block.lang == "python" and block.kind == kind]


def unmarked(found: Iterable[Block]) -> list[Block]:
    """Python blocks carrying neither marker."""
    return [block for block in python(found) if block.kind not in MARKERS]


def missing_names(found: Iterable[Block], expected: Iterable[str]) -> list[str]:
    """The names in ``expected`` that the blocks' code never uses."""
    code = "\n".join(block.source for block in found)
    return [name for name in expected if name not in code]


def run_in_order(runnable: Iterable[Block], doc: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 cleanup: Callable[[dict[str, Any]], None], *, sections: bool = False) -> str:
    """Run the blocks in one namespace from ``tmp_path`` (where ``mkdtemp()`` lands too); return what they printed.

    ``cleanup`` gets the namespace afterwards, even when a block failed.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    namespace: dict[str, Any] = {"__name__": name}
    printed = io.StringIO()
    try:
        for block in runnable:
            # Leading newlines make traceback line numbers those of the guide itself.
            # dont_inherit: the blocks run as the reader runs them, without this module's __future__ imports
            # (string annotations would send @dataclass looking for a module that is not in sys.modules).
            code = compile("\n" * block.line + block.source, doc, "exec", dont_inherit=True)
            try:
                with contextlib.redirect_stdout(printed):
                    exec(code, namespace)  # the guide is our own file, run on purpose
            except Exception as exc:
                where = f" ({block.section})" if sections else ""
                raise AssertionError(f"{doc} block at line {block.line}{where} failed: {exc!r}"
                                     f"\n--- printed so far ---\n{printed.getvalue()}") from exc
    finally:
        cleanup(namespace)
    return printed.getvalue()


def close(namespace: dict[str, Any], names: Iterable[str], method: str = "close", *, quiet: bool = True) -> None:
    """Call ``method`` on each of ``names`` the guide left in ``namespace``; ``quiet`` ignores their errors."""
    for name in names:
        closer = getattr(namespace.get(name), method, None)
        if not callable(closer):
            continue
        if quiet:
            with contextlib.suppress(Exception):
                closer()
        else:
            closer()


def long_options(command: Any) -> set[str]:
    """A click command's ``--`` options."""
    return {opt for param in command.params for opt in param.opts if opt.startswith("--")}


def all_options(command: Any) -> set[str]:
    """Every option (and ``--no-`` form) of a click command and of its sub-commands."""
    found = {opt for param in getattr(command, "params", []) for opt in param.opts + param.secondary_opts}
    for sub in getattr(command, "commands", {}).values():
        found |= all_options(sub)
    return found


def assert_contents_links_point_at_headings(text: str) -> None:
    # GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    slugs = {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert links and set(links) <= slugs, sorted(set(links) - slugs)
