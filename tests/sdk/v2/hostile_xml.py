"""Hostile XML payloads (RELIABILITY T09), shared by every test of an XML entry point."""

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]><xml><a>&lol9;</a></xml>"
)
QUADRATIC = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "' + "A" * 50_000 + '">]><xml><a>' + "&a;" * 20_000 + "</a></xml>"
)
EXTERNAL = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><a>&xxe;</a></xml>'
PARAMETER = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % dtd SYSTEM "http://127.0.0.1:9/x.dtd"> %dtd;]><xml><a>1</a></xml>'
)
DOCTYPE_LATE = "<xml><a>1</a><!DOCTYPE x></xml>"
DOCTYPE_LOWER = '<!doctype x [<!entity e "e">]><xml><a>&e;</a></xml>'
XINCLUDE = (
    '<xml xmlns:xi="http://www.w3.org/2001/XInclude"><a><xi:include href="file:///etc/passwd" parse="text"/></a></xml>'
)
UTF16_DOCTYPE = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e "e">]><xml><a>&e;</a></xml>'.encode(
    "utf-16"
)
HOSTILE = {
    "billion_laughs": BILLION_LAUGHS.encode(),
    "quadratic_blowup": QUADRATIC.encode(),
    "external_entity": EXTERNAL.encode(),
    "parameter_entity": PARAMETER.encode(),
    "doctype_late": DOCTYPE_LATE.encode(),
    "doctype_lower_case": DOCTYPE_LOWER.encode(),
    "xinclude": XINCLUDE.encode(),
    "utf16_doctype": UTF16_DOCTYPE,
    "ten_megabytes": b"<xml><a>" + b"A" * (10 * 1024 * 1024) + b"</a></xml>",
    "deeply_nested": b"<xml>" + b"<a>" * 9000 + b"</a>" * 9000 + b"</xml>",
    "nested_field": b"<xml><total_fee><x>1</x></total_fee></xml>",
    "duplicated_total_fee": b"<xml><total_fee>1</total_fee><total_fee>100</total_fee></xml>",
    "invalid_utf8": b"<xml><body>\xff\xfe\xc3\x28</body></xml>",
    "not_xml": b"return_code=SUCCESS",
    "unclosed": b"<xml><a>1</a>",
    "empty": b"",
}
