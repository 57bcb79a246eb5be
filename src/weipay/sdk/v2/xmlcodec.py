"""API v2 XML: a flat ``<xml>`` document of fields, parsed with no DTD and no entities.

WeChat's messages are one level deep. We refuse anything else: DOCTYPE, entities, nested elements,
duplicated fields (no "last one wins"), and oversized bodies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

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
    try:
        element = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise ProtocolError("malformed XML") from exc
    if root is not None and element.tag != root:
        raise ProtocolError(f"XML root must be <{root}>")
    fields: dict[str, str] = {}
    for child in element:
        if len(child):
            raise ProtocolError(f"nested element in <{child.tag}>")
        if child.tag in fields:
            raise ProtocolError(f"duplicated field <{child.tag}>")
        fields[child.tag] = child.text or ""
    return fields


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
