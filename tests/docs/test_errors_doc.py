"""``docs/errors.md`` lists exactly the error codes the service's source can answer, each with its real status.

The codes come from the source's syntax tree (``error_codes.collect``), not from a hand-kept list, so a new
``raise Conflict("...")`` without a row here fails, and so does a row for a code that no longer exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import error_codes
import guides
import httpx

TEXT = (guides.ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `([a-z0-9_]+)` \| (\d{3}(?:, \d{3})*|other) \| (.+?) \| (.+?) \|$", re.MULTILINE)


def _documented() -> dict[str, set[int]]:
    rows: dict[str, set[int]] = {}
    for code, status, meaning, action in ROW.findall(TEXT):
        assert code not in rows, f"docs/errors.md lists {code} twice"
        assert meaning.strip() and action.strip(), code
        rows[code] = {error_codes.OTHER} if status == "other" else {int(s) for s in status.split(", ")}
    return rows


def _row(code: str, statuses: set[int]) -> str:
    status = ", ".join("other" if s == error_codes.OTHER else str(s) for s in sorted(statuses))
    return f"| `{code}` | {status} | (meaning) | (what to do) |"


def test_every_code_in_the_source_is_documented_with_its_status() -> None:
    found = error_codes.collect()
    assert not found.unresolved, "codes the collector cannot read (make them literals):\n" + "\n".join(found.unresolved)
    documented = _documented()
    missing = sorted(set(found.statuses) - set(documented))
    assert not missing, "docs/errors.md lacks rows for:\n" + "\n".join(
        f"{_row(code, found.statuses[code])}   <- {', '.join(sorted(found.where[code]))}" for code in missing
    )
    stale = sorted(set(documented) - set(found.statuses))
    assert not stale, f"docs/errors.md lists codes the service no longer answers: {stale}"
    wrong = {code: (sorted(documented[code]), sorted(found.statuses[code]))
             for code in documented if documented[code] != found.statuses[code]}  # fmt: skip
    assert not wrong, f"documented vs real statuses: {wrong}"


def test_the_collector_sees_every_kind_of_code() -> None:
    # A collector that silently found nothing would make the test above pass on an empty table.
    found = error_codes.collect().statuses
    assert found["merchant_only"] == {403}  # ApiError
    assert found["order_not_found"] == {404}  # ApiError and NotFound
    assert found["refund_exceeds_paid"] == {409}  # Conflict, multi-line
    assert found["invalid_description"] == {422}  # f"invalid_{field}" resolved at check_text("description", ...)
    assert found["invalid_channel"] == {422}  # f"invalid_{name}" resolved at _parse(Channel, ..., "channel")
    assert found["login_failed"] == {502}  # UpstreamError
    assert found["invalid_json"] == {422} and found["body_too_large"] == {413}  # handlers
    assert found["internal_error"] == {500}
    assert len(found) >= 70


def test_the_collected_statuses_are_what_a_running_app_answers(tmp_path: Path) -> None:
    """Codes from each source the collector reads (auth, handlers, framework) reach a client with that status."""
    from fastapi.testclient import TestClient

    from weipay.service.api import create_app
    from weipay.service.db.migrate import upgrade
    from weipay.service.settings import load_settings

    database_url = f"sqlite:///{tmp_path / 'errors.sqlite3'}"
    upgrade(database_url)
    settings = load_settings(environ={}, overrides={"database_url": database_url})
    found = error_codes.collect().statuses
    with TestClient(create_app(settings)) as api:
        answers = {
            "unauthorized": api.get("/v1/orders/ord_0"),
            "invalid_json": api.post("/v1/login", content=b"{", headers={"Content-Type": "application/json"}),
            "invalid_request": api.post("/v1/login", json={}),
            "unknown_appid": api.post("/v1/login", json={"appid": "wx0000000000000000", "code": "c"}),
            "not_found": api.get("/v1/no-such-path"),
            "method_not_allowed": api.delete("/v1/login"),
            "body_too_large": api.post("/v1/login", content=b"x" * 70_000,
                                       headers={"Content-Type": "application/json"}),
        }
    for code, answer in answers.items():
        assert isinstance(answer, httpx.Response)
        assert answer.json()["error"]["code"] == code, (code, answer.text)
        assert {answer.status_code} == found[code], (code, answer.status_code, found[code])


def test_contents_links_point_at_headings() -> None:
    guides.assert_contents_links_point_at_headings(TEXT)
