"""The simulator's public door is one sorted ``__all__``."""

from __future__ import annotations

import weipay.simulator


def test_public_names_are_pinned() -> None:
    assert weipay.simulator.__all__ == sorted(weipay.simulator.__all__)
    assert weipay.simulator.__all__ == [
        "BundleExists", "FaultPlan", "ManualClock", "ScaledClock", "SimRequest", "SimResponse", "Simulator",
        "SimulatorTransport", "init_bundle",
    ]
    for name in weipay.simulator.__all__:
        assert getattr(weipay.simulator, name).__doc__
