"""Properties of the three transition tables."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weipay.service.domain import (
    ATTEMPT_TRANSITIONS,
    ORDER_TRANSITIONS,
    REFUND_TRANSITIONS,
    AttemptEvent,
    AttemptStatus,
    Conflict,
    OrderEvent,
    OrderStatus,
    RefundEvent,
    RefundStatus,
    can_transition,
    sources_of,
    transition,
)

MACHINES = [
    (ORDER_TRANSITIONS, OrderStatus, OrderEvent, OrderStatus.PENDING),
    (ATTEMPT_TRANSITIONS, AttemptStatus, AttemptEvent, AttemptStatus.CREATED),
    (REFUND_TRANSITIONS, RefundStatus, RefundEvent, RefundStatus.REQUESTED),
]
TERMINAL = {
    OrderStatus: {OrderStatus.REFUNDED, OrderStatus.CLOSED, OrderStatus.EXPIRED},
    # failed and closed are final here but not at WeChat: only WeChat's facts (closed, paid) move them on.
    AttemptStatus: {AttemptStatus.SUCCEEDED},
    RefundStatus: {RefundStatus.SUCCEEDED, RefundStatus.FAILED, RefundStatus.REJECTED},
}


@pytest.mark.parametrize(("table", "states", "events", "initial"), MACHINES)
def test_transition_follows_the_table_exactly(table, states, events, initial):
    for state in states:
        for event in events:
            if (state, event) in table:
                assert transition(table, state, event) is table[(state, event)]
                assert can_transition(table, state, event)
            else:
                with pytest.raises(Conflict) as info:
                    transition(table, state, event)
                assert info.value.code == "invalid_transition"


@pytest.mark.parametrize(("table", "states", "events", "initial"), MACHINES)
def test_terminal_states_have_no_way_out_and_every_state_is_reachable(table, states, events, initial):
    terminal = TERMINAL[states]
    assert not any(source in terminal for (source, _event) in table)
    reachable = {initial}
    frontier = [initial]
    while frontier:
        state = frontier.pop()
        for (source, _event), target in table.items():
            if source == state and target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(states)


@pytest.mark.parametrize(("table", "states", "events", "initial"), MACHINES)
def test_sources_of_lists_exactly_the_allowed_states(table, states, events, initial):
    for event in events:
        assert set(sources_of(table, event)) == {s for s in states if (s, event) in table}


def _walk(table, initial, events):
    state, path = initial, [initial]
    for event in events:
        if can_transition(table, state, event):
            state = transition(table, state, event)
            path.append(state)
    return path


@given(st.lists(st.sampled_from(list(OrderEvent)), max_size=30))
def test_an_order_is_paid_at_most_once_and_never_goes_back(events):
    path = _walk(ORDER_TRANSITIONS, OrderStatus.PENDING, events)
    assert sum(1 for a, b in itertools.pairwise(path) if b == OrderStatus.PAID) <= 1
    rank = {
        OrderStatus.PENDING: 0,
        OrderStatus.PAID: 1,
        OrderStatus.PARTIALLY_REFUNDED: 2,
        OrderStatus.REFUNDED: 3,
        OrderStatus.CLOSED: 1,
        OrderStatus.EXPIRED: 1,
    }
    assert all(rank[a] <= rank[b] for a, b in itertools.pairwise(path))
    if OrderStatus.CLOSED in path or OrderStatus.EXPIRED in path:
        assert OrderStatus.PAID not in path


@given(st.lists(st.sampled_from(list(AttemptEvent)), max_size=30))
def test_an_attempt_succeeds_at_most_once_and_unknown_is_left_only_by_wechat_facts(events):
    path = _walk(ATTEMPT_TRANSITIONS, AttemptStatus.CREATED, events)
    assert path.count(AttemptStatus.SUCCEEDED) <= 1
    if AttemptStatus.SUCCEEDED in path:
        assert path[-1] == AttemptStatus.SUCCEEDED
    # A timeout can never be turned into a failure by another timeout: only a query's answer moves it.
    assert (AttemptStatus.UNKNOWN, AttemptEvent.TIMED_OUT) not in ATTEMPT_TRANSITIONS
    assert (AttemptStatus.UNKNOWN, AttemptEvent.REFUSED) not in ATTEMPT_TRANSITIONS


@given(st.lists(st.sampled_from(list(RefundEvent)), max_size=20))
def test_a_refund_reaches_money_only_through_processing(events):
    path = _walk(REFUND_TRANSITIONS, RefundStatus.REQUESTED, events)
    if RefundStatus.SUCCEEDED in path:
        # Straight from processing, or from abnormal (WeChat took it, held it, then paid it out).
        assert path[path.index(RefundStatus.SUCCEEDED) - 1] in (RefundStatus.PROCESSING, RefundStatus.ABNORMAL)
        assert RefundStatus.PROCESSING in path[: path.index(RefundStatus.SUCCEEDED)]
    if RefundStatus.ABNORMAL in path:
        assert path[path.index(RefundStatus.ABNORMAL) - 1] == RefundStatus.PROCESSING
    assert not (RefundStatus.REJECTED in path and RefundStatus.PROCESSING in path)


def test_a_failed_or_closed_attempt_moves_only_on_wechat_facts():
    """PAYERROR stays payable at WeChat until closed, and WeChat's SUCCESS is a fact: those are the only ways out."""
    ended = (AttemptStatus.FAILED, AttemptStatus.CLOSED)
    leaving = {(s, e): t for (s, e), t in ATTEMPT_TRANSITIONS.items() if s in ended}
    assert leaving == {
        (AttemptStatus.FAILED, AttemptEvent.CLOSED): AttemptStatus.CLOSED,
        (AttemptStatus.FAILED, AttemptEvent.PAID): AttemptStatus.SUCCEEDED,
        (AttemptStatus.CLOSED, AttemptEvent.PAID): AttemptStatus.SUCCEEDED,
        # A failed payment-code charge (PAYERROR) is reversed rather than closed.
        (AttemptStatus.FAILED, AttemptEvent.REVERSED): AttemptStatus.REVERSED,
    }


def test_a_reversed_attempt_never_moves_again():
    """The reverse returns any payment: a "paid" fact after the decision must not settle the order."""
    assert [key for key in ATTEMPT_TRANSITIONS if key[0] == AttemptStatus.REVERSED] == []
    assert {s for (s, e) in ATTEMPT_TRANSITIONS if e == AttemptEvent.REVERSED} == {
        AttemptStatus.CREATED, AttemptStatus.PENDING, AttemptStatus.UNKNOWN, AttemptStatus.FAILED}
