"""The query schedule of an open attempt keeps a missed payment unseen no longer than P9 allows."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from weipay.service.usecases.payments import query_delay_s

TWO_HOURS_S = 7200.0


def _query_times(until_s: float) -> list[float]:
    """When the worker queries an attempt created at 0, running each query on time."""
    times, now = [], 0.0
    while now < until_s:
        now += query_delay_s(0.0, now)
        times.append(now)
    return times


def test_the_first_queries_come_within_a_minute() -> None:
    assert _query_times(60.0) == [10.0, 30.0, 60.0]


def test_queries_are_a_minute_apart_for_half_an_hour_then_four_minutes() -> None:
    times = _query_times(TWO_HOURS_S)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    early = [gap for gap, at in zip(gaps, times[1:], strict=False) if at <= 1800.0]
    assert max(early) == 60.0
    assert max(gaps) == 240.0
    assert len(times) < 60  # what an abandoned 2-hour attempt costs in queries


@given(paid_at_s=st.floats(min_value=0.0, max_value=TWO_HOURS_S), late_s=st.floats(min_value=0.0, max_value=30.0))
def test_a_payment_at_any_moment_is_queried_within_four_minutes(paid_at_s: float, late_s: float) -> None:
    """Even when the worker ran the previous query up to 30 s late, the next one is never further off."""
    now = paid_at_s + late_s
    assert 0.0 < query_delay_s(0.0, now) <= 240.0
    if now < 1800.0:
        assert query_delay_s(0.0, now) <= 60.0
