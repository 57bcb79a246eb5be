"""The v2 XML codec: round trips of hostile text (T10) and hostile documents (T09)."""

from __future__ import annotations

import sys
import time

import pytest
import xmltodict
from hostile_xml import BILLION_LAUGHS, HOSTILE, XINCLUDE
from hypothesis import given, settings
from hypothesis import strategies as st
from v2vectors import V2_KEY

from weipay.sdk.errors import ProtocolError
from weipay.sdk.v2 import from_xml, sign, to_xml, verify
from weipay.sdk.v2.xmlcodec import MAX_XML_BYTES

# Every character XML 1.0 can carry: no C0 controls but tab/LF/CR, no surrogates, no U+FFFE/U+FFFF.
_xml_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff").filter(
    lambda c: c in "\t\n\r" or ord(c) >= 0x20
)
_hostile = st.one_of(
    st.text(_xml_chars, max_size=60),
    st.sampled_from(
        [
            "]]><total_fee>1</total_fee><![CDATA[",
            "<",
            "&",
            "&amp;",
            "a & b < c > d",
            "😀🀄𝄞",
            "\U0010fffd",
            "line\r\nbreak\rcr",
            "  padded  ",
            "商品-腾讯充值中心",
        ]
    ),
)
_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(_names, _hostile, max_size=10))
def test_from_xml_inverts_to_xml(fields: dict[str, str]) -> None:
    assert from_xml(to_xml(fields)) == fields


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_names, _hostile, min_size=1, max_size=10))
def test_signature_covers_exactly_what_the_receiver_parses(fields: dict[str, str]) -> None:
    """T10: the receiver verifies over the values it parsed, which are the values we signed."""
    sent = {**fields, "sign": sign(fields, V2_KEY)}
    assert verify(from_xml(to_xml(sent)), V2_KEY)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_names, _hostile, max_size=10))
def test_xmltodict_reads_what_we_write(fields: dict[str, str]) -> None:
    # xmltodict strips surrounding whitespace by default (so wechatpy would); we refuse such merchant text.
    parsed = xmltodict.parse(to_xml(fields), strip_whitespace=False)["xml"] or {}
    assert {name: value or "" for name, value in parsed.items()} == fields


def test_cdata_injection_stays_one_value() -> None:
    attack = "]]><total_fee>1</total_fee><![CDATA["
    body = to_xml({"body": attack, "total_fee": "100"})
    assert from_xml(body) == {"body": attack, "total_fee": "100"}


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff", "\ud800"])
def test_characters_xml_cannot_carry_are_refused(char: str) -> None:
    with pytest.raises(ProtocolError):
        to_xml({"attach": f"a{char}b"})


@pytest.mark.parametrize("name", ["1abc", "a b", "a<b", "", "x>y", "a:b"])
def test_invalid_field_names_are_refused(name: str) -> None:
    with pytest.raises(ProtocolError):
        to_xml({name: "v"})


def test_none_is_omitted_and_cdata_is_read() -> None:
    assert to_xml({"a": "1", "b": None}) == b"<xml><a>1</a></xml>"
    assert from_xml("<xml><a><![CDATA[x<y]]></a><b>2</b><c/></xml>") == {"a": "x<y", "b": "2", "c": ""}


# ---- T09: hostile documents. Each must be refused quickly, before any entity is expanded. ----


def test_billion_laughs_payload_is_the_classic_size() -> None:
    assert 600 < len(BILLION_LAUGHS) < 1000


_AUDITED: list[tuple[str, tuple[object, ...]]] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    # Audit hooks cannot be removed, so one hook is installed for the module and records into a list.
    if event.startswith("socket.") or (event == "open" and "passwd" in repr(args)):
        _AUDITED.append((event, args))


sys.addaudithook(_audit)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_xml_is_refused_quickly(name: str) -> None:
    """T09: refused within 50 ms (best of three, to ignore scheduler noise), no file or socket touched."""
    _AUDITED.clear()
    timings_s = []
    for _ in range(3):
        started = time.perf_counter()
        with pytest.raises(ProtocolError):
            from_xml(HOSTILE[name])
        timings_s.append(time.perf_counter() - started)
    assert min(timings_s) < 0.05, f"{name} took {min(timings_s):.3f} s"
    assert _AUDITED == []


def test_xinclude_is_not_processed() -> None:
    """XInclude is not expanded: the nested element is refused rather than replaced by a file."""
    with pytest.raises(ProtocolError, match="nested"):
        from_xml(XINCLUDE)


def test_size_limit_is_exact() -> None:
    padding = MAX_XML_BYTES - len(b"<xml><a></a></xml>")
    assert from_xml(b"<xml><a>" + b"A" * padding + b"</a></xml>")["a"] == "A" * padding
    with pytest.raises(ProtocolError, match="too large"):
        from_xml(b"<xml><a>" + b"A" * (padding + 1) + b"</a></xml>")


def test_root_is_checked_when_asked() -> None:
    assert from_xml(b"<root><a>1</a></root>", root="root") == {"a": "1"}
    with pytest.raises(ProtocolError):
        from_xml(b"<xml><a>1</a></xml>", root="root")


def test_the_audit_hook_would_notice_a_file_read() -> None:
    _AUDITED.clear()
    with open("/etc/passwd", "rb") as handle:
        handle.read(1)
    assert [event for event, _ in _AUDITED] == ["open"]
    _AUDITED.clear()
