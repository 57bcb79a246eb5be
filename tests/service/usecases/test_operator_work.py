"""What operators do outside orders: console sessions that expire and end, anomalies resolved once, by someone."""

from __future__ import annotations

import pytest

from weipay.service.domain import InvalidInput, NotFound
from weipay.service.usecases import (
    end_operator_session,
    find_operator_session,
    list_anomalies,
    record_anomaly,
    resolve_anomaly,
    start_operator_session,
)

from ..core_harness import MCHID, Core


def test_a_session_is_found_by_its_token_until_it_ends_or_expires(core: Core) -> None:
    token, session = start_operator_session(core.uow, core.clock, "ops", ttl_s=60)
    assert token not in session.session_hash  # only the hash is stored
    assert find_operator_session(core.uow, core.clock, token) == session
    assert find_operator_session(core.uow, core.clock, token + "x") is None
    assert find_operator_session(core.uow, core.clock, None) is None
    assert find_operator_session(core.uow, core.clock, "t" * 1000) is None
    assert end_operator_session(core.uow, session.session_hash) is True
    assert find_operator_session(core.uow, core.clock, token) is None
    assert end_operator_session(core.uow, session.session_hash) is False

    later, _ = start_operator_session(core.uow, core.clock, "ops", ttl_s=60)
    core.clock.advance(61)
    assert find_operator_session(core.uow, core.clock, later) is None
    start_operator_session(core.uow, core.clock, "ops")  # a new login purges the expired one
    with core.uow.read() as tx:
        assert tx.connection.exec_driver_sql("SELECT count(*) FROM operator_sessions").scalar() == 1


def test_an_anomaly_is_resolved_once_with_who_and_why(core: Core) -> None:
    record_anomaly(core.uow, core.clock, "unverifiable_notification", mchid=MCHID, reason="InvalidSignature")
    (anomaly,) = list_anomalies(core.uow, unresolved=True)
    assert anomaly.id is not None and anomaly.resolved_at is None
    core.clock.advance(5)
    resolved = resolve_anomaly(core.uow, core.clock, anomaly.id, operator="console:ops", note="scanner traffic")
    assert (resolved.resolved_at, resolved.resolved_by, resolved.resolution_note) == (
        core.clock(), "console:ops", "scanner traffic")
    again = resolve_anomaly(core.uow, core.clock, anomaly.id, operator="console:other")
    assert again == resolved  # the first resolution stands
    assert list_anomalies(core.uow, unresolved=True) == []
    assert list_anomalies(core.uow) == [resolved]
    # The same fact seen again after resolution opens a new row instead of counting on the resolved one.
    record_anomaly(core.uow, core.clock, "unverifiable_notification", mchid=MCHID, reason="InvalidSignature")
    assert len(list_anomalies(core.uow, unresolved=True)) == 1
    with pytest.raises(NotFound):
        resolve_anomaly(core.uow, core.clock, 999_999, operator="console:ops")
    with pytest.raises(InvalidInput):
        resolve_anomaly(core.uow, core.clock, anomaly.id, operator="console:ops", note="x\x00")
