"""weipay's offline WeChat Pay servers: API v2, API v3, mini-program login, a payer, notifications, faults.

::

    from weipay.simulator import Simulator, SimulatorTransport, init_bundle

    init_bundle(Path("bundle"))                      # weipay simulator init bundle
    sim = Simulator(Path("bundle"))
    client = httpx.Client(transport=SimulatorTransport(sim))   # in-process, no port
    sim.tick()                                       # finish refunds, deliver due notifications

Real sockets: :func:`weipay.simulator.server.start_in_thread` or ``weipay simulator serve``.
"""

from __future__ import annotations

from .bundle import BundleExists, init_bundle
from .clock import ManualClock, ScaledClock
from .core import SimRequest, SimResponse, Simulator
from .faults import FaultPlan
from .transport import SimulatorTransport

__all__ = [
    "BundleExists",
    "FaultPlan",
    "ManualClock",
    "ScaledClock",
    "SimRequest",
    "SimResponse",
    "Simulator",
    "SimulatorTransport",
    "init_bundle",
]
