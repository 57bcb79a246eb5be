"""API v2 XML: a flat ``<xml>`` document of fields, parsed with no DTD and no entities.

WeChat's messages are one level deep. We refuse anything else: DOCTYPE, entities, nested elements,
duplicated fields (no "last one wins"), and oversized bodies.

Parsing is one expat pass straight into the field dict, configured as defusedxml configures it
(``forbid_dtd``, ``forbid_entities``, ``forbid_external``: every such declaration raises) and
behind a byte-level DOCTYPE/ENTITY refusal that runs before any parser sees the document. Going
through defusedxml's ElementTree meant a pure-Python tree builder, then a walk over the tree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from xml.parsers.expat import ExpatError, ParserCreate

from ..errors import ProtocolError

__all__ = ["MAX_XML_BYTES", "from_xml", "to_xml"]

MAX_XML_BYTES = 64 * 1024
_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
# XML 1.0 forbids these code points outright; they cannot be escaped, only refused.
# Lone surrogates cannot even be encoded as UTF-8.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def from_xml(data: bytes | str, *, root: str | None = None) -> dict[str, str]:
    """Parse a flat WeChat XML document into ``{field: text}`` (CDATA and plain values alike)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_XML_BYTES:
        raise ProtocolError("XML body too large")
    # Refuse DTDs before any parser sees them, whatever the parser's own defaults are.
    if _DOCTYPE.search(raw):
        raise ProtocolError("XML with DOCTYPE or ENTITY is refused")
    document = _FlatDocument()
    # "}" as namespace separator, as ElementTree uses it: a namespaced tag reads "{uri}name".
    parser = ParserCreate(None, "}")
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_external
    parser.StartElementHandler = document.start
    parser.EndElementHandler = document.end
    parser.CharacterDataHandler = document.text
    try:
        parser.Parse(raw, True)
    except (ExpatError, ValueError) as exc:
        raise ProtocolError("malformed XML") from exc
    if root is not None and document.root != root:
        raise ProtocolError(f"XML root must be <{root}>")
    return document.fields


def _refuse_doctype(*_: object) -> None:
    raise ProtocolError("XML with DOCTYPE or ENTITY is refused")


def _refuse_entity(*_: object) -> None:
    raise ProtocolError("XML with DOCTYPE or ENTITY is refused")


def _refuse_external(*_: object) -> bool:
    raise ProtocolError("XML with an external entity is refused")


class _FlatDocument:
    """expat callbacks that keep the root's direct children as fields and refuse deeper elements."""

    __slots__ = ("depth", "field", "fields", "parts", "root")

    def __init__(self) -> None:
        self.depth = 0
        self.root = ""
        self.field = ""
        self.fields: dict[str, str] = {}
        self.parts: list[str] = []

    def start(self, name: str, _attributes: object) -> None:
        depth = self.depth
        if "}" in name:
            name = "{" + name
        if depth == 1:
            if name in self.fields:
                raise ProtocolError(f"duplicated field <{name}>")
            self.field = name
            self.parts = []
        elif depth == 0:
            self.root = name
        else:
            raise ProtocolError(f"nested element in <{self.field}>")
        self.depth = depth + 1

    def end(self, _name: str) -> None:
        self.depth -= 1
        if self.depth == 1:
            parts = self.parts
            self.fields[self.field] = parts[0] if len(parts) == 1 else "".join(parts)

    def text(self, text: str) -> None:
        # Text directly under the root (indentation between fields) is not a value.
        if self.depth == 2:
            self.parts.append(text)


def _escape(text: str) -> str:
    # A literal carriage return would be normalised to a line feed by every XML parser, so the
    # receiver would sign a different value than we did; a character reference survives intact.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def to_xml(fields: Mapping[str, object], *, root: str = "xml") -> bytes:
    """Serialise fields as ``<xml><k>v</k>…</xml>``.

    Values are escaped rather than wrapped in CDATA, so ``]]>`` in merchant text cannot break out;
    every WeChat parser accepts escaped text. ``None`` values are omitted.
    """
    parts = [f"<{root}>"]
    for name, value in fields.items():
        if value is None:
            continue
        if not _NAME.fullmatch(name):
            raise ProtocolError(f"invalid XML field name {name!r}")
        text = str(value)
        if _FORBIDDEN.search(text):
            raise ProtocolError(f"field {name} contains a character XML cannot carry")
        parts.append(f"<{name}>{_escape(text)}</{name}>")
    parts.append(f"</{root}>")
    return "".join(parts).encode("utf-8")
