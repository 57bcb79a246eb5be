"""P7 (T11): a database error never carries SQL parameters (session_key, openids, order text) into logs or answers.

The errors are real: the table the request writes to is dropped before the request, so the INSERT fails inside
the driver and SQLAlchemy builds its exception text, which names the parameters unless the engine hides them.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from ..web_harness import Harness


def _drop(harness: Harness, table: str) -> None:
    engine = sa.create_engine(harness.settings.database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {table}" + (" CASCADE" if conn.dialect.name == "postgresql" else "")))
    engine.dispose()


def _openid_of(harness: Harness, user: str) -> str:
    """The simulator gives one user the same openid for every code."""
    code = harness.wechat.post("/simulator/login-codes", json={"appid": harness.appid(), "user": user}).json()
    return str(code["openid"])


def _forms(canary: str) -> list[str]:
    raw = canary.encode()
    return [canary, hashlib.md5(raw).hexdigest(), base64.b64encode(raw).decode().rstrip("=")]


def _login(harness: Harness, canary: str) -> str:
    code = harness.wechat.post("/simulator/login-codes", json={"appid": harness.appid(), "user": canary}).json()
    harness.api.post("/v1/login", json={"appid": harness.appid(), "code": code["code"]})
    return str(code["openid"])


def _create_order(harness: Harness, canary: str) -> str:
    harness.api.post(
        "/v1/orders", headers=harness.merchant,
        json={"merchant_order_no": "CANARY-1", "amount": 100, "description": "goods", "attach": canary,
              "payer_openid": f"o{canary}"},
    )  # fmt: skip
    return canary


@pytest.mark.parametrize(
    ("path", "table"), [(_login, "user_sessions"), (_create_order, "orders")], ids=["login", "create_order"]
)
def test_database_errors_leak_no_parameters(
    harness: Harness, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
    path: Callable[[Harness, str], str], table: str,
) -> None:  # fmt: skip
    _drop(harness, table)
    canary = "cnry" + secrets.token_hex(8)
    # The test transport re-raises what the app raised: that exception is what a server logs with its traceback.
    with caplog.at_level(logging.DEBUG), pytest.raises(sa.exc.DBAPIError) as raised:
        path(harness, canary)
    out, err = capfd.readouterr()
    seen = "\n".join([str(raised.value), repr(raised.value), caplog.text, out, err])
    assert table in seen  # the real failure is there to be read
    secret = canary if path is _create_order else _openid_of(harness, canary)
    for form in _forms(secret):
        assert form not in seen, f"{form!r} reached the logs or the answer"
    assert "[parameters:" not in seen  # no parameter of any statement, secret or not
