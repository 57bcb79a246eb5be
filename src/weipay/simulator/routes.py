"""The route table: which handler answers which path, and how an injected fault is answered there.

::

    /simulator/…, H5 cashier     -> control.api     (never faulted: tests steer the simulator through it)
    /v3/…                        -> v3.api          faults: signed v3 SYSTEM_ERROR / FREQUENCY_LIMITED
    /pay/…                       -> v2.api          faults: signed v2 SYSTEMERROR / FREQUENCY_LIMITED
    /secapi/… (mutual TLS only)  -> v2.api          faults: as /pay/
    /sns/jscode2session          -> login           faults: {"errcode": -1}
    /cgi-bin/stable_token        -> wxa.tokens      faults: {"errcode": -1}
    /wxa/sec/order/…             -> wxa.api         faults: {"errcode": -1}
    /sns/oauth2/access_token     -> oauth           faults: {"errcode": -1}
    /connect/oauth2/authorize    -> oauth           (the page WeChat shows; faults as above)

Every other path is a 404 (or, when the fault plan hits it, the login-style ``errcode`` answer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import login, oauth
from .control import api as control_api
from .faults import RequestFault
from .http_messages import SimRequest, SimResponse
from .state import H5_PATH, SimulatorState
from .v2 import api as v2_api
from .v3 import api as v3_api
from .wxa import api as wxa_api
from .wxa import tokens as wxa_tokens

__all__ = ["ROUTES", "Route", "dispatch"]

Handler = Callable[[SimulatorState, SimRequest], SimResponse]
FaultAnswer = Callable[[SimulatorState, SimRequest, str], SimResponse]


@dataclass(frozen=True, slots=True)
class Route:
    """``path`` is a prefix when it ends with ``/``, else the whole path."""

    path: str
    handler: Handler
    fault_answer: FaultAnswer

    def matches(self, path: str) -> bool:
        """True when this route serves ``path``."""
        return path.startswith(self.path) if self.path.endswith("/") else path == self.path


def _secapi(state: SimulatorState, request: SimRequest) -> SimResponse:
    # WeChat refuses /secapi/ at the TLS handshake without the merchant's client certificate.
    if not request.mtls:
        return SimResponse.text(
            403, "/secapi/ requires the merchant API client certificate: use the HTTPS port "
                 f"({state.https_base_url}) with apiclient_cert.pem/apiclient_key.pem")
    return v2_api.handle(state, request)


def _errcode_fault(state: SimulatorState, request: SimRequest, kind: str) -> SimResponse:
    return SimResponse.json(200, {"errcode": -1, "errmsg": "system error"})


def _not_found(state: SimulatorState, request: SimRequest) -> SimResponse:
    return SimResponse.json(404, {"code": "NOT_FOUND", "message": f"no such API: {request.method} {request.path}"})


ROUTES: tuple[Route, ...] = (
    Route("/v3/", v3_api.handle, v3_api.fault_response),
    Route("/pay/", v2_api.handle, v2_api.fault_response),
    Route("/secapi/", _secapi, v2_api.fault_response),
    Route("/sns/jscode2session", login.handle, _errcode_fault),
    Route("/cgi-bin/stable_token", wxa_tokens.handle, _errcode_fault),
    Route("/wxa/sec/order/", wxa_api.handle, _errcode_fault),
    Route("/sns/oauth2/access_token", oauth.access_token, _errcode_fault),
    Route(oauth.AUTHORIZE_PATH, oauth.authorize, _errcode_fault),
)
_UNKNOWN = Route("", _not_found, _errcode_fault)


def _is_control(path: str) -> bool:
    return path.startswith("/simulator/") or path == H5_PATH


def _fault(state: SimulatorState, request: SimRequest, route: Route, fault: RequestFault) -> SimResponse:
    if fault.error == "timeout":
        return SimResponse(504, lose_answer=True)
    if fault.error == "http_5xx":
        return SimResponse.text(502, "<html><body>502 Bad Gateway</body></html>", "text/html")
    return route.fault_answer(state, request, fault.error or "system_error")


def dispatch(state: SimulatorState, request: SimRequest) -> SimResponse:
    """Answer one request through the route table, applying the fault plan to WeChat's own paths."""
    if _is_control(request.path):
        return control_api.handle(state, request)
    route = next((route for route in ROUTES if route.matches(request.path)), _UNKNOWN)
    fault = state.faults.for_request(request.path)
    if fault.error is not None:
        response = _fault(state, request, route, fault)
    else:
        response = route.handler(state, request)
        response.lose_answer = response.lose_answer or fault.lose_answer
    response.delay_s += fault.latency_s
    return response
