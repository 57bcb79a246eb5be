"""Use cases that call WeChat are flows, and every flow also runs blocking.

A use case that asks WeChat something is a generator (a *flow*): it does its database work in ordinary
transactions and, where it needs WeChat, ``yield from``s one of the gateway's flows, which yields the call
and receives the answer. The flow never holds a transaction across a call and does no I/O of its own, so
whoever drives it chooses how calls are made: the API drives it with the async client on the event loop
(``gateway.AsyncWeChat``), the worker and the CLI with the blocking client (``Gateway.run``).

``blocking(flow)`` is the second form of one use case: the same parameters, driven to its end at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from .ports import Calls, Gateway, UnitOfWork

__all__ = ["Calls", "blocking"]

T = TypeVar("T")
P = ParamSpec("P")


def blocking(
    flow: Callable[Concatenate[UnitOfWork, Gateway, P], Calls[T]],
) -> Callable[Concatenate[UnitOfWork, Gateway, P], T]:
    """The use case ``flow`` run to its end with ``gateway``'s blocking calls."""

    @functools.wraps(flow)
    def run(uow: UnitOfWork, gateway: Gateway, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return gateway.run(flow(uow, gateway, *args, **kwargs))

    return run
