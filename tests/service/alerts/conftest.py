"""Fixtures: a migrated database, a manual clock, and the robots' local receivers over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from weipay.service.db import SqlUnitOfWork, upgrade
from weipay.simulator.clock import ManualClock

from ..core_harness import START, core, core_bundle  # noqa: F401  (the core fixtures, for trigger tests)
from .receivers import Robots, serve


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def uow(database_url: str) -> Iterator[SqlUnitOfWork]:
    upgrade(database_url)
    built = SqlUnitOfWork.from_url(database_url)
    yield built
    built.dispose()


@pytest.fixture
def robots(request: pytest.FixtureRequest) -> Iterator[Robots]:
    """The receivers, checking timestamps against the test's clock (the core's when a test uses the core)."""
    clock = (
        request.getfixturevalue("core").clock if "core" in request.fixturenames else request.getfixturevalue("clock")
    )
    robots = Robots(now=clock)
    server = serve(robots)
    yield robots
    server.shutdown()
    server.server_close()
