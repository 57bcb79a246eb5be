"""The seeded fault plan: what goes wrong, how often, reproducibly.

Set through ``PUT /simulator/faults`` (JSON, every field optional)::

    {"latency_ms": 0, "timeout_rate": 0, "http_5xx_rate": 0, "system_error_rate": 0,
     "frequency_limited_rate": 0, "commit_then_timeout_rate": 0,
     "notify_drop_rate": 0, "notify_duplicate_rate": 0, "notify_delay_s": 0, "notify_reorder": false,
     "signtest_probe_rate": 0, "notify_public_key_rate": 0, "clock_skew_s": 0, "paths": ["/v3/", "/pay/"],
     "seed": 7}

Rates are probabilities in [0, 1]. ``notify_public_key_rate`` plays WeChat's gray release from platform
certificates to the public key: that share of a certificate-mode merchant's v3 notifications is signed
with the WeChat Pay public key (``Wechatpay-Serial: PUB_KEY_ID_…``). ``paths`` limits request faults to
path prefixes (default: every merchant API, never ``/simulator/``). Decisions come from one
``random.Random(seed)``, so the same seed and the same request sequence give the same faults.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["FaultPlan", "Faults", "NotificationFate", "RequestFault"]

_RATES = (
    "timeout_rate",
    "http_5xx_rate",
    "system_error_rate",
    "frequency_limited_rate",
    "commit_then_timeout_rate",
    "notify_drop_rate",
    "notify_duplicate_rate",
    "signtest_probe_rate",
    "notify_public_key_rate",
)


@dataclass
class FaultPlan:
    """The knobs of the fault plan; all off by default."""

    latency_ms: int = 0
    timeout_rate: float = 0.0
    http_5xx_rate: float = 0.0
    system_error_rate: float = 0.0
    frequency_limited_rate: float = 0.0
    commit_then_timeout_rate: float = 0.0
    notify_drop_rate: float = 0.0
    notify_duplicate_rate: float = 0.0
    notify_delay_s: float = 0.0
    notify_reorder: bool = False
    signtest_probe_rate: float = 0.0
    notify_public_key_rate: float = 0.0
    clock_skew_s: float = 0.0
    paths: list[str] = field(default_factory=lambda: ["/v3/", "/pay/", "/secapi/", "/sns/"])
    seed: int = 0

    @classmethod
    def from_json(cls, data: Any) -> FaultPlan:
        """Validate a JSON object into a plan; raises ValueError with a clear message."""
        if not isinstance(data, dict):
            raise ValueError("the fault plan must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        plan = cls()
        for name, value in data.items():
            if name in _RATES:
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                    raise ValueError(f"{name} must be a number between 0 and 1")
                value = float(value)
            elif name in ("latency_ms", "seed"):
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{name} must be a non-negative integer")
            elif name in ("notify_delay_s", "clock_skew_s"):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{name} must be a number")
                if name == "notify_delay_s" and value < 0:
                    raise ValueError("notify_delay_s must not be negative")
                value = float(value)
            elif name == "notify_reorder":
                if not isinstance(value, bool):
                    raise ValueError("notify_reorder must be true or false")
            elif name == "paths" and (
                not isinstance(value, list) or not all(isinstance(p, str) and p.startswith("/") for p in value)
            ):
                raise ValueError("paths must be a list of path prefixes starting with /")
            setattr(plan, name, value)
        return plan

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON."""
        return asdict(self)


@dataclass(frozen=True)
class RequestFault:
    """What to do to one merchant request."""

    latency_s: float = 0.0
    # before: answer with an error instead of processing; after: process, then lose the answer.
    error: str | None = None  # "timeout" | "http_5xx" | "system_error" | "frequency_limited"
    lose_answer: bool = False


@dataclass(frozen=True)
class NotificationFate:
    """What to do to one notification delivery attempt."""

    drop: bool = False
    duplicate: bool = False
    probe: bool = False
    public_key: bool = False


class Faults:
    """The current plan plus its seeded random source."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed  # the simulator's --seed: a plan without its own seed uses it
        self._lock = threading.Lock()
        self.plan = FaultPlan(seed=seed)
        self._random = random.Random(seed)

    def set_plan(self, plan: FaultPlan) -> None:
        """Replace the plan and reseed, so a run is reproducible from the moment the plan is set."""
        with self._lock:
            self.plan = plan
            self._random = random.Random(plan.seed)

    def _roll(self, rate: float) -> bool:
        # Always draw, so one rate's value does not shift the sequence of the others.
        return self._random.random() < rate

    def for_request(self, path: str) -> RequestFault:
        """Decide the fault for a merchant request to ``path``."""
        with self._lock:
            plan = self.plan
            if path.startswith("/simulator/") or not any(path.startswith(p) for p in plan.paths):
                return RequestFault()
            rolls = {
                "timeout": self._roll(plan.timeout_rate),
                "http_5xx": self._roll(plan.http_5xx_rate),
                "system_error": self._roll(plan.system_error_rate),
                "frequency_limited": self._roll(plan.frequency_limited_rate),
            }
            lose = self._roll(plan.commit_then_timeout_rate)
        error = next((name for name, hit in rolls.items() if hit), None)
        return RequestFault(latency_s=plan.latency_ms / 1000, error=error, lose_answer=lose and error is None)

    def notification_fate(self) -> NotificationFate:
        """What happens to one delivery attempt."""
        with self._lock:
            plan = self.plan
            return NotificationFate(
                drop=self._roll(plan.notify_drop_rate),
                duplicate=self._roll(plan.notify_duplicate_rate),
                probe=self._roll(plan.signtest_probe_rate),
                public_key=self._roll(plan.notify_public_key_rate),
            )

    def shuffle(self, items: list[Any]) -> None:
        """Reorder due notifications when the plan says so."""
        with self._lock:
            if self.plan.notify_reorder:
                self._random.shuffle(items)
