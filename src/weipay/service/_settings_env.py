"""``WEIPAY_`` environment variables as assignments into the settings' raw data, down to one list element.

``WEIPAY_MERCHANTS__0__API_V3_KEY`` sets ``api_v3_key`` of the first merchant of the file (or of
``WEIPAY_MERCHANTS``), so a deployment can give each secret as its own variable. pydantic-settings cannot
index a list: it turns that variable into ``{"merchants": {"0": …}}`` and validation then fails with
"Input should be a valid list". Here the variable's name is walked along the model's field types instead:
a list takes an index, a mapping a key, a model a field name. A value whose field is itself a list, mapping or
model is JSON; every other value is the variable's text as it is (a secret may begin with ``[`` or ``{``).

Shorter names are applied first, so ``WEIPAY_MERCHANTS='[...]'`` is laid down before
``WEIPAY_MERCHANTS__0__API_V3_KEY`` refines it. An index may name an existing element or the next one (which
adds a merchant); a gap is an error naming the variable.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from typing import Any, Union

from pydantic import BaseModel

__all__ = ["ENV_PREFIX", "Assignment", "EnvironmentVariableError", "apply", "assignments", "merge"]

ENV_PREFIX = "WEIPAY_"
_DELIMITER = "__"

PathPart = str | int
Assignment = tuple[str, tuple[PathPart, ...], Any]


class EnvironmentVariableError(ValueError):
    """A variable that cannot be applied; the message names the variable, never its value."""


def assignments(env: Mapping[str, str], model: type[BaseModel], *, skip: frozenset[str]) -> list[Assignment]:
    """``(variable, path, value)`` for each ``WEIPAY_`` variable that names a field of ``model``, shortest first.

    Unknown top-level names are ignored (``WEIPAY_TEST_POSTGRES_URL`` belongs to someone else); unknown names
    below a known field are kept, so validation reports the typo.
    """
    found: list[Assignment] = []
    for variable, raw in env.items():
        upper = variable.upper()
        if not upper.startswith(ENV_PREFIX) or upper in skip:
            continue
        names = upper.removeprefix(ENV_PREFIX).lower().split(_DELIMITER)
        if names[0] not in model.model_fields:
            continue
        path, leaf = _walk(variable, names, model)
        found.append((variable, path, _decode(variable, raw, leaf)))
    return sorted(found, key=lambda item: (len(item[1]), item[0]))


def apply(data: dict[str, Any], assignment: Assignment) -> None:
    """Write one assignment into ``data``, creating mappings and appending list elements as needed."""
    variable, path, value = assignment
    node: Any = data
    for position, part in enumerate(path[:-1]):
        following = path[position + 1]
        node = _child(variable, node, part, [] if isinstance(following, int) else {})
    last = path[-1]
    if isinstance(last, int):
        _check_index(variable, node, last)
        if last == len(node):
            node.append(value)
            return
    elif not isinstance(node, dict):
        raise EnvironmentVariableError(f"{variable}: the value it refines is not a table")
    if isinstance(value, dict) and isinstance(node.get(last), dict):
        merge(node[last], value)  # WEIPAY_ADMIN='{...}' refines the file's [admin] table, as each field would
    else:
        node[last] = value


def merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Deep-merge ``extra`` into ``base``: tables merge key by key, anything else replaces."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value


def _child(variable: str, node: Any, part: PathPart, empty: list[Any] | dict[str, Any]) -> Any:
    if isinstance(part, int):
        _check_index(variable, node, part)
        if part == len(node):
            node.append(empty)
        return node[part]
    if not isinstance(node, dict):
        raise EnvironmentVariableError(f"{variable}: the value it refines is not a table")
    if not isinstance(node.get(part), dict | list):
        node[part] = empty
    return node[part]


def _check_index(variable: str, node: Any, index: int) -> None:
    if not isinstance(node, list):
        raise EnvironmentVariableError(f"{variable}: the value it refines is not a list")
    if index > len(node):
        raise EnvironmentVariableError(
            f"{variable}: index {index} leaves a gap; the list has {len(node)} entries, so an index must be "
            f"0 to {len(node)} ({len(node)} adds an entry)"
        )


def _walk(variable: str, names: list[str], model: type[BaseModel]) -> tuple[tuple[PathPart, ...], Any]:
    """The path (indexes as ints) and the type of the field it ends on (``None`` when unknown)."""
    path: list[PathPart] = []
    current: Any = model
    for name in names:
        current = _optional_inner(current)
        origin = typing.get_origin(current)
        if origin is list:
            if not name.isdigit():
                raise EnvironmentVariableError(f"{variable}: {name!r} must be a list index (0, 1, …)")
            path.append(int(name))
            (current,) = typing.get_args(current) or (None,)
        elif origin is dict:
            path.append(name)
            current = typing.get_args(current)[1] if typing.get_args(current) else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            path.append(name)
            field = current.model_fields.get(name)
            current = field.annotation if field is not None else None
        else:
            path.append(name)
            current = None
    if not path:
        raise EnvironmentVariableError(f"{variable}: names no setting")
    return tuple(path), current


def _optional_inner(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _decode(variable: str, raw: str, leaf: Any) -> Any:
    leaf = _optional_inner(leaf)
    structured = typing.get_origin(leaf) in (list, dict) or (isinstance(leaf, type) and issubclass(leaf, BaseModel))
    if not structured:
        return raw
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise EnvironmentVariableError(
            f"{variable}: must be JSON (a list or table), line {getattr(exc, 'lineno', 1)}"
        ) from None
