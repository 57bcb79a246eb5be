"""P1–P10 at reduced sizes, on SQLite and PostgreSQL: the same proofs ``scripts/reliability.py`` runs at full size
(docs/reliability.md gives the full-size figures and the commands)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from ..core_harness import Core
from ..web_harness import Harness
from . import proofs

SDK_TESTS = Path(__file__).parents[2] / "sdk" / "v2"


def _assert(result: proofs.Figures) -> None:
    assert result.passed, f"{result.promise} ({result.size}): {result.figures}"


def test_p1_duplicate_deliveries_make_one_transition(harness: Harness) -> None:
    _assert(proofs.duplicate_storm(harness, orders_count=4, copies=25, senders=16))


def test_p3_concurrent_refunds_never_over_refund(harness: Harness) -> None:
    _assert(proofs.over_refund_trials(harness, trials=3))


def test_p4_forged_and_stale_notifications_are_refused(harness: Harness) -> None:
    _assert(proofs.forged_notifications(harness, count=60))


def test_p7_no_secret_in_logs_responses_or_database(harness: Harness, database_url: str) -> None:
    _assert(proofs.secret_canaries(harness, flows=1, database_dump=lambda: dump(database_url)))


def test_p9_missed_notifications_are_detected_within_two_minutes(core: Core) -> None:
    _assert(proofs.missed_notifications(core, paid=6, unpaid=2))


def test_p10_unpaid_orders_end_within_their_ttl_plus_a_day(core: Core) -> None:
    _assert(proofs.unpaid_orders(core, count=6))


def test_p6_hostile_xml_refused_fast_small_and_offline() -> None:
    _assert(proofs.hostile_xml(*xml_targets(), repeats=1))


def test_p8_outbound_calls_end_within_their_timeout(bundle_template: Path) -> None:
    _assert(proofs.outbound_bounds(bundle_template / "merchant", calls=8, timeout_s=1.0))


def xml_targets() -> tuple[dict[str, bytes], dict[str, object]]:
    """T09's payloads (tests/sdk/v2/hostile_xml.py) and the SDK's v2 XML entry points."""
    if str(SDK_TESTS) not in sys.path:
        sys.path.insert(0, str(SDK_TESTS))
    from hostile_xml import HOSTILE  # type: ignore[import-not-found]
    from v2vectors import V2_KEY, V2_MCHID  # type: ignore[import-not-found]

    from weipay.sdk.v2 import parse_payment_notification, parse_refund_notification

    points = {
        "payment_notification": lambda body: parse_payment_notification(V2_KEY, body),
        "refund_notification": lambda body: parse_refund_notification(V2_KEY, body, mchid=V2_MCHID),
    }
    return dict(HOSTILE), points


def dump(database_url: str) -> str:
    """Every row of every table, as text (what a backup would hold)."""
    engine = sa.create_engine(database_url)
    parts: list[str] = []
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                parts.extend(repr(tuple(row)) for row in conn.execute(sa.select(table)))
    finally:
        engine.dispose()
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def _quiet_pool_warnings() -> None:
    """Nothing to set up: a marker that these proofs share their code with scripts/reliability.py."""
