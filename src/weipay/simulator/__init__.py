"""weipay's offline WeChat Pay servers: API v2, API v3, mini-program login, a payer, notifications, faults.

::

    from weipay.simulator import Simulator, SimulatorTransport, init_bundle

    init_bundle(Path("bundle"))                      # weipay simulator init bundle
    sim = Simulator(Path("bundle"))
    client = httpx.Client(transport=SimulatorTransport(sim))   # in-process, no port
    sim.tick()                                       # finish refunds, deliver due notifications

Real sockets: :func:`weipay.simulator.server.start_in_thread` or ``weipay simulator serve``.

Inside, each module imports only the ones listed below it (the layers contract in pyproject.toml)::

    server.py              uvicorn on the HTTP port and the mutual-TLS HTTPS port
    asgi.py, transport.py  the two edges: an ASGI app and an httpx transport around Simulator.handle
    core.py                Simulator: handle() through the route table, tick(), pay()
    routes.py              the route table: path -> handler, and each path's fault answer
    control/               the control API (/simulator/...) and the payer page
    login.py, due_work.py, payer.py
                           /sns/jscode2session; expiry, refunds finishing, deliveries; the payer's taps
    notifier.py            notifications queued in the order's API version, delivered on WeChat's schedule
    v2/, v3/               WeChat's two APIs, each with its own route table; neither imports the other
    bill_files.py, wechat_keys.py
                           bill text shared by v2 and v3; WeChat's v3 signing keys and headers
    state.py               SimulatorState: account, ledger, clocks, fault plan, new ids
    ledger/, faults.py, bundle.py, http_messages.py, clock.py
"""

from __future__ import annotations

from .bundle import BundleExists, init_bundle
from .clock import ManualClock, ScaledClock
from .core import Simulator
from .faults import FaultPlan
from .http_messages import SimRequest, SimResponse
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
