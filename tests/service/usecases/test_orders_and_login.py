"""Order creation is idempotent; bad input gets a coded error; login keeps the session_key server-side."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from weipay.service.domain import Conflict, InvalidInput, NotFound, OrderStatus
from weipay.service.usecases import (
    CreateOrder,
    close_order,
    create_order,
    get_order,
    login,
    order_details,
    session_for_token,
    start_payment,
)


def test_same_body_same_order_different_body_conflict(core):
    request = CreateOrder("m-1", 100, "tea")
    first = create_order(core.uow, core.merchant, request, "key-1", clock=core.clock)
    assert create_order(core.uow, core.merchant, request, "key-1", clock=core.clock).id == first.id
    assert create_order(core.uow, core.merchant, request, clock=core.clock).id == first.id
    with pytest.raises(Conflict) as info:
        create_order(core.uow, core.merchant, CreateOrder("m-1", 101, "tea"), clock=core.clock)
    assert info.value.code == "idempotency_conflict"
    with pytest.raises(Conflict):
        create_order(core.uow, core.merchant, CreateOrder("m-2", 100, "tea"), "key-1", clock=core.clock)


def test_concurrent_identical_creates_make_one_order(core):
    request = CreateOrder("m-race", 100, "tea")
    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = set(pool.map(lambda _: create_order(core.uow, core.merchant, request, clock=core.clock).id, range(10)))
    assert len(ids) == 1


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (CreateOrder("m", 0, "tea"), "invalid_amount"),
        (CreateOrder("m", 1.5, "tea"), "invalid_amount"),
        (CreateOrder("m", 100, "tea", currency="USD"), "invalid_currency"),
        (CreateOrder("", 100, "tea"), "invalid_merchant_order_no"),
        (CreateOrder("m", 100, ""), "invalid_description"),
        (CreateOrder("m", 100, "tea", expire_after_s=5), "invalid_expiry"),
    ],
)
def test_bad_input_is_refused_with_a_code(core, request_, code):
    with pytest.raises(InvalidInput) as info:
        create_order(core.uow, core.merchant, request_, clock=core.clock)
    assert info.value.code == code


def test_close_an_unpaid_order_closes_its_attempt_at_wechat(core):
    order = create_order(core.uow, core.merchant, CreateOrder("m-c", 100, "tea"), clock=core.clock)
    start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", "v2")
    closed = close_order(core.uow, core.gateway, core.clock, order.id, core.merchant.mchid)
    assert closed.status == OrderStatus.CLOSED
    assert core.sim_order(start.attempt.out_trade_no).state == "CLOSED"
    assert close_order(core.uow, core.gateway, core.clock, order.id).status == OrderStatus.CLOSED
    with pytest.raises(Conflict) as info:
        start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", "v2")
    assert info.value.code == "order_not_payable"


def test_a_paid_order_cannot_be_closed(core):
    order = create_order(core.uow, core.merchant, CreateOrder("m-p", 100, "tea"), clock=core.clock)
    start = start_payment(core.uow, core.gateway, core.clock, core.merchant, order.id, "native", "v3")
    core.pay(start.attempt.out_trade_no, deliver=False)
    with pytest.raises(Conflict) as info:
        close_order(core.uow, core.gateway, core.clock, order.id)
    assert info.value.code == "order_already_paid"
    assert order_details(core.uow, order.id).order.status == OrderStatus.PAID


def test_orders_of_other_merchants_are_not_found(core):
    order = create_order(core.uow, core.merchant, CreateOrder("m-x", 100, "tea"), clock=core.clock)
    with pytest.raises(NotFound):
        get_order(core.uow, core.gateway, core.clock, order.id, "1900000999")


def test_login_returns_openid_and_token_never_the_session_key(core):
    appid = core.merchant.appids["miniprogram"]
    minted = core.control.post("/simulator/login-codes", json={"appid": appid, "user": "alice"}).json()
    result = login(core.uow, core.gateway, core.clock, core.merchant, appid, minted["code"])
    assert result.openid == minted["openid"] and len(result.token) >= 32
    assert "session_key" not in repr(result) and result.token not in repr(result)
    session = session_for_token(core.uow, core.clock, result.token)
    assert session is not None and session.openid == minted["openid"]
    assert session_for_token(core.uow, core.clock, "not-a-token") is None
    with pytest.raises(Exception) as refused:
        login(core.uow, core.gateway, core.clock, core.merchant, appid, minted["code"])  # codes are single-use
    assert getattr(refused.value, "code", None) == "login_failed"
