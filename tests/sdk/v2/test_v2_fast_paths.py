"""The v2 notification shortcuts read exactly what the slower reference code reads, and refuse alike."""

from __future__ import annotations

import datetime as dt

import pytest
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from hostile_xml import HOSTILE
from hypothesis import given, settings
from hypothesis import strategies as st

from weipay.sdk.errors import ProtocolError
from weipay.sdk.v2 import from_xml
from weipay.sdk.v2._fields import parse_compact_time
from weipay.sdk.v2.models import BEIJING


def _strptime_reference(text: str) -> object:
    """What ``parse_compact_time`` did before it sliced: the regex, then strptime."""
    if len(text) != 14 or not all("0" <= ch <= "9" for ch in text):
        return "refused"
    try:
        return dt.datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING)
    except ValueError:
        return "refused"


def _sliced(text: str) -> object:
    try:
        return parse_compact_time(text, "time_end")
    except ProtocolError:
        return "refused"


_digit_pairs = st.sampled_from(
    ["00", "01", "09", "10", "12", "13", "19", "23", "24", "28", "29", "30", "31", "59", "60", "61"]
)


@settings(max_examples=2000, deadline=None)
@given(
    st.sampled_from(["0000", "0001", "1999", "2000", "2014", "2024", "2100", "9999"]),
    st.lists(_digit_pairs, min_size=5, max_size=5),
)
def test_compact_time_matches_strptime(year: str, pairs: list[str]) -> None:
    text = year + "".join(pairs)
    assert _sliced(text) == _strptime_reference(text)


@pytest.mark.parametrize(
    "text",
    ["", "2014090313154", "201409031315400", "2014-09-03 13:", "２０１４0903131540", "+014090313154", " 2014090313154"],
)
def test_compact_time_refuses_what_is_not_fourteen_ascii_digits(text: str) -> None:
    assert _sliced(text) == "refused" == _strptime_reference(text)


def test_compact_time_value() -> None:
    assert parse_compact_time("20140903131540", "time_end") == dt.datetime(2014, 9, 3, 13, 15, 40, tzinfo=BEIJING)


def _defusedxml_reference(data: bytes) -> object:
    """The tree-based reading ``from_xml`` replaced (without its byte-level DOCTYPE pre-check)."""
    try:
        element = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError):
        return "refused"
    fields: dict[str, str] = {}
    for child in element:
        if len(child) or child.tag in fields:
            return "refused"
        fields[child.tag] = child.text or ""
    return element.tag, fields


def _one_pass(data: bytes, root: str) -> object:
    try:
        return root, from_xml(data, root=root)
    except ProtocolError:
        return "refused"


_pieces = st.sampled_from(
    [
        "<a>1</a>",
        "<a/>",
        "<b>x &amp; y</b>",
        "<c><![CDATA[<z>]]></c>",
        "<c><![CDATA[a]]>b&#13;c</c>",
        "\n  ",
        "<d>t<!-- note -->u</d>",
        "<e><f>1</f></e>",
        "<g a='1'>v</g>",
        "<?pi x?>",
        "<h>&lt;&gt;</h>",
        "<i>&bogus;</i>",
        "<j>商品</j>",
        "<k>\r\n</k>",
        "<x:l xmlns:x='urn:l'>n</x:l>",
        "<m>",
        "</m>",
        "text",
    ]
)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(["xml", "root"]), st.lists(_pieces, max_size=6))
def test_flat_documents_read_as_the_tree_reader_read_them(root: str, pieces: list[str]) -> None:
    data = f"<{root}>{''.join(pieces)}</{root}>".encode()
    reference = _defusedxml_reference(data)
    assert _one_pass(data, root) == reference


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_hostile_document_is_refused_by_both(name: str) -> None:
    with pytest.raises(ProtocolError):
        from_xml(HOSTILE[name])
    if len(HOSTILE[name]) <= 64 * 1024:
        assert _defusedxml_reference(HOSTILE[name]) == "refused"


def test_utf16_doctype_is_refused_by_the_parser_itself() -> None:
    """The byte-level pre-check cannot see a UTF-16 DOCTYPE; the expat handler must refuse it."""
    with pytest.raises(ProtocolError, match="DOCTYPE"):
        from_xml(HOSTILE["utf16_doctype"])
