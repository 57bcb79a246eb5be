"""Fixtures for the API v2 tests: one merchant with the official v2 key, a fixed nonce and clock."""

from __future__ import annotations

import pytest
from v2vectors import FIXED_NONCE, V2_APPID, V2_KEY, V2_MCHID

from weipay.sdk.credentials import MerchantCredentials
from weipay.sdk.operation import Context


@pytest.fixture
def v2_credentials() -> MerchantCredentials:
    """A merchant with only what API v2 needs."""
    return MerchantCredentials(mchid=V2_MCHID, appids={"official_account": V2_APPID}, api_v2_key=V2_KEY)


@pytest.fixture
def ctx(v2_credentials: MerchantCredentials) -> Context:
    """A context whose clock and nonce are fixed, so requests are reproducible."""
    return Context(credentials=v2_credentials, clock=lambda: 1414561699.0, nonce=lambda: FIXED_NONCE)
