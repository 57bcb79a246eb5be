"""SqlTokenCache keeps the SDK's TokenCache contract on both databases, across engines (as across processes):
one refresher at a time, a lease that ends, a rejected token forgotten only while it is still the stored one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from weipay.sdk import AccessToken
from weipay.service.db import SqlTokenCache, create_engine_for, upgrade

APPID = "wx8888888888888888"
NOW = 1_790_000_000.0


@pytest.fixture
def caches(database_url: str) -> Iterator[tuple[SqlTokenCache, SqlTokenCache]]:
    upgrade(database_url)
    engines = [create_engine_for(database_url), create_engine_for(database_url)]
    yield SqlTokenCache(engines[0], lambda: NOW), SqlTokenCache(engines[1], lambda: NOW)
    for engine in engines:
        engine.dispose()


def test_one_refresher_and_a_shared_token(caches: tuple[SqlTokenCache, SqlTokenCache]) -> None:
    first, second = caches
    assert first.load(APPID) is None
    assert first.claim_refresh(APPID, NOW, 30)
    assert not second.claim_refresh(APPID, NOW + 1, 30)  # the other process waits for the token
    first.store(APPID, AccessToken("TOKEN-1", NOW + 7200))
    assert second.load(APPID) == AccessToken("TOKEN-1", NOW + 7200)
    assert second.claim_refresh(APPID, NOW + 2, 30)  # the claim ended with the store
    second.release(APPID)
    assert first.claim_refresh(APPID, NOW + 3, 30)
    assert second.claim_refresh(APPID, NOW + 34, 30)  # a refresher that died frees the claim when its lease ends
    assert "TOKEN" not in repr(first)


def test_discard_forgets_only_the_rejected_token(caches: tuple[SqlTokenCache, SqlTokenCache]) -> None:
    first, second = caches
    first.store(APPID, AccessToken("OLD", NOW + 100))
    second.store(APPID, AccessToken("NEW", NOW + 7200))
    first.discard(APPID, AccessToken("OLD", NOW + 100))  # another process replaced it already: kept
    assert first.load(APPID) == AccessToken("NEW", NOW + 7200)
    first.discard(APPID, AccessToken("NEW", NOW + 7200))
    assert second.load(APPID) is None
