"""API v3 answer models declared once: each field names its JSON key, and both readers come from that.

A model is a frozen, slotted dataclass deriving from :class:`JsonModel` whose fields are declared with
:func:`wire` (the JSON key, dotted for a member of a nested object, and what a missing or blank value
becomes). A field without ``wire`` (a list, the raw payload) takes its default in both readers; the model's
own ``from_json`` fills it. From that one declaration, on first use, two readers are made:

- the **checked** reader walks the fields and words the first problem as a :class:`ProtocolError` that
  names the object and the field; it accepts any ``Mapping``;
- the **fast** reader is Python source generated from the same fields (as :mod:`dataclasses` generates
  ``__init__``): exact ``type(...) is`` checks inline, for the plain ``dict`` that JSON decoding yields,
  returning ``None`` for anything unusual so that the checked reader words the error.

``from_json`` is ``fast(data) or checked(data)``. A new field is one line in the model; there is no
second constructor to keep in step (``tests/sdk/v3/test_v3_hot_paths.py`` holds the two readers to the
same results field by field).

Why generate at all: the notification hot path reads a ``Transaction`` per notification; through the
checked reader that costs ~6 µs, through the generated one ~1.5 µs, which is what keeps
``parse_notification`` within 10 % of the raw RSA + AES-GCM primitives (docs/benchmarks.md). The fast
reader fills a *draft* (a plain class with the model's slot layout) and then assigns ``__class__``: a
frozen ``__init__`` stores every field through ``object.__setattr__``, which cost more than all the
checks together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, field, fields
from datetime import datetime
from typing import Any, ClassVar, Self, TypeVar, get_type_hints

from ..errors import ProtocolError
from ._time import parse_rfc3339

__all__ = ["JsonModel", "checked_reader", "fast_reader", "read_json", "wire"]

_WIRE = "weipay.v3.json"
_Model = TypeVar("_Model", bound="JsonModel")


class JsonModel:
    """Base of the API v3 answer models: ``from_json`` built from the fields' :func:`wire` keys."""

    __slots__ = ()
    json_name: ClassVar[str]  # how errors name the object ("transaction", "refund amount", …)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read the model from WeChat's JSON object; a :class:`ProtocolError` names a bad field."""
        return read_json(cls, data)


def wire(key: str, default: Any = MISSING, *, blank_as_default: bool = False) -> Any:
    """A model field read from the JSON ``key`` (``"payer.openid"`` reads a member of ``payer``).

    Without ``default`` the field is required. ``blank_as_default`` also maps an empty string to the
    default (WeChat sends ``""`` where it means "none", e.g. ``transaction_id`` of an unpaid order).
    """
    metadata = {_WIRE: (key, blank_as_default)}
    if default is MISSING:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


class _Spec:
    """One field: where it is in the JSON, what type it must have, what stands in when absent."""

    __slots__ = ("attr", "blank_as_default", "default", "head", "key", "kind", "required")

    def __init__(self, model_field: Field[Any], hint: Any) -> None:
        key, self.blank_as_default = model_field.metadata[_WIRE]
        self.head, _, self.key = key.rpartition(".")
        self.attr = model_field.name
        self.required = model_field.default is MISSING
        self.default = None if self.required else model_field.default
        kinds = [kind for kind in getattr(hint, "__args__", (hint,)) if kind is not type(None)]
        if len(kinds) != 1 or not isinstance(kinds[0], type):
            raise TypeError(f"{model_field.name}: a JSON field is one type, optionally | None")
        self.kind: type = kinds[0]

    @property
    def nested(self) -> bool:
        return issubclass(self.kind, JsonModel)


def _specs(model: type[JsonModel]) -> list[_Spec]:
    hints = get_type_hints(model)
    return [_Spec(model_field, hints[model_field.name])
            for model_field in fields(model) if _WIRE in model_field.metadata]  # type: ignore[arg-type]


def _extras(model: type[JsonModel]) -> list[tuple[str, Any]]:
    """The fields not read from a JSON key (a model's ``from_json`` fills them): name and default."""
    found = []
    for model_field in fields(model):  # type: ignore[arg-type]
        if _WIRE not in model_field.metadata:
            if model_field.default is MISSING:
                raise TypeError(f"{model_field.name}: a field without wire() needs a default")
            found.append((model_field.name, model_field.default))
    return found


# ---- the checked reader: one loop over the fields, errors that name the object and the field -------------


def _member(owner: Mapping[str, Any], what: str, name: str, kind: type, required: bool) -> Any:
    value = owner.get(name)
    if type(value) is kind:  # what JSON decoding yields; bool never passes for int here
        return value
    if value is None:
        if required:
            raise ProtocolError(f"{what} lacks required field {name!r}")
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError(f"{what}.{name} should be a {kind.__name__}")
    return value


def _checked(model: type[_Model], specs: list[_Spec], data: object) -> _Model:
    what = model.json_name
    if not isinstance(data, Mapping):
        raise ProtocolError(f"{what} is not a JSON object")
    values: dict[str, Any] = {}
    for spec in specs:
        owner, owner_what = data, what
        if spec.head:
            owner_what = f"{what}.{spec.head}"
            owner = _member(data, what, spec.head, dict, False) or {}
        if spec.nested:
            value = _member(owner, owner_what, spec.key, dict, spec.required)
            value = None if value is None else checked_reader(spec.kind)(value)
        elif spec.kind is datetime:
            text = _member(owner, owner_what, spec.key, str, spec.required)
            # An optional time may come blank; a required one must parse.
            blank = text is None or (text == "" and not spec.required)
            value = None if blank else parse_rfc3339(text, f"{owner_what}.{spec.key}")
        else:
            value = _member(owner, owner_what, spec.key, spec.kind, spec.required)
        if value is None or (spec.blank_as_default and not value):
            value = spec.default
        values[spec.attr] = value
    return model(**values)


# ---- the fast reader: the same rules as generated source, None where the checked reader must speak --------


def _time_or_none(text: str) -> datetime | None:
    """A zone-aware time, or None for anything ``parse_rfc3339`` would refuse."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _seal(model: type[JsonModel]) -> tuple[type, Callable[[Any], Any]]:
    """A mutable class with ``model``'s exact slot layout, and the step that turns a filled one into ``model``.

    Same base and same slots, so CPython allows the ``__class__`` assignment.
    """
    draft = type(f"_{model.__name__}Draft", model.__bases__, {"__slots__": vars(model)["__slots__"]})

    def seal(filled: Any) -> Any:
        filled.__class__ = model
        return filled

    return draft, seal


def _fast_source(specs: list[_Spec], extras: list[tuple[str, Any]]) -> list[str]:
    lines = ["def fast(data):", "    if type(data) is not dict:", "        return None", "    get = data.get"]
    lines.append("    draft = Draft()")
    lines += [f"    draft.{name} = extra_{number}" for number, (name, _) in enumerate(extras)]
    for number, spec in enumerate(specs):
        if spec.head:
            lines += [
                f"    head = get({spec.head!r})",
                "    if head is None:",
                "        value = None",
                "    elif type(head) is dict:",
                f"        value = head.get({spec.key!r})",
                "    else:",
                "        return None",
            ]
        else:
            lines.append(f"    value = get({spec.key!r})")
        target = f"draft.{spec.attr}"
        when_absent = "        return None" if spec.required else f"        {target} = default_{number}"
        if spec.nested:
            # The nested reader returns None for a non-dict and anything unusual in it.
            lines += ["    if value is None:", when_absent, "    else:", f"        value = fast_{number}(value)"]
            lines += ["        if value is None:", "            return None", f"        {target} = value"]
            continue
        kind = "str" if spec.kind is datetime else spec.kind.__name__
        blank = spec.blank_as_default or (spec.kind is datetime and not spec.required)
        absent = "value is None or value == ''" if blank else "value is None"
        lines += [f"    if {absent}:", when_absent]
        lines.append(f"    elif type(value) is {kind}:")
        if spec.kind is datetime:
            lines += ["        value = time_or_none(value)", "        if value is None:", "            return None"]
        lines += [f"        {target} = value", "    else:", "        return None"]
    lines.append("    return seal(draft)")
    return lines


def _fast(model: type[JsonModel], specs: list[_Spec]) -> Callable[[object], Any]:
    draft, seal = _seal(model)
    namespace: dict[str, Any] = {"Draft": draft, "seal": seal, "time_or_none": _time_or_none}
    for number, spec in enumerate(specs):
        namespace[f"default_{number}"] = spec.default
        if spec.nested:
            namespace[f"fast_{number}"] = fast_reader(spec.kind)
    extras = _extras(model)
    for number, (_, default) in enumerate(extras):
        namespace[f"extra_{number}"] = default
    exec("\n".join(_fast_source(specs, extras)), namespace)  # noqa: S102 - our own source, built from the model's fields
    fast: Callable[[object], Any] = namespace["fast"]
    return fast


_READERS: dict[type, tuple[Callable[[object], Any], Callable[[object], Any]]] = {}


def _readers(model: type[_Model]) -> tuple[Callable[[object], _Model | None], Callable[[object], _Model]]:
    readers = _READERS.get(model)
    if readers is None:
        # Built on first use (every model of the module is defined by then); a race builds it twice, harmlessly.
        specs = _specs(model)
        readers = _READERS[model] = (_fast(model, specs), lambda data: _checked(model, specs, data))
    return readers


def fast_reader(model: type[_Model]) -> Callable[[object], _Model | None]:
    """The generated reader of ``model``: the model for a plain dict it accepts, else None."""
    return _readers(model)[0]


def checked_reader(model: type[_Model]) -> Callable[[object], _Model]:
    """The checked reader of ``model`` alone (nested objects too): the tests' reference for the fast one."""
    return _readers(model)[1]


def read_json(model: type[_Model], data: object) -> _Model:
    """``model`` read from ``data`` by the fast reader, or by the checked one, which words any error."""
    fast, checked = _readers(model)
    return fast(data) or checked(data)
