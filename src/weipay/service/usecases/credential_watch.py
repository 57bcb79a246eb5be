"""Certificates near expiry, told to the team before payments start failing.

The merchant API certificate (apiclient_cert) is valid for a few years and only the merchant can renew it,
in the merchant platform; when it lapses, every v2 refund (mutual TLS) fails and, on certificate-serial
accounts, every signed v3 request. WeChat's platform certificates are replaced by the SDK's own download
well before they lapse, so one that is about to lapse means that download keeps failing.

One ``check_credentials`` job per merchant (dedupe key ``check_credentials:{mchid}``) runs daily: it reads
the expiries (local, no call to WeChat), raises an alert for each certificate inside its warning window, and
re-arms itself for the next day in the same transaction. ``weipay worker`` seeds it at start (idempotent).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .alerting import Severity, raise_alert
from .ports import Clock, CredentialExpiry, Gateway, Stores, UnitOfWork

__all__ = ["CHECK_CREDENTIALS", "CHECK_EVERY_S", "check_credentials", "seed_credential_checks", "severity_of"]

CHECK_CREDENTIALS = "check_credentials"  # the job kind
CHECK_EVERY_S = 86_400.0
_DAY_S = 86_400.0
# The merchant certificate needs a person (and the merchant platform's approval): a month's notice. A platform
# certificate should have been replaced days before (the SDK refreshes 12 h ahead): a week left is already wrong.
_WARN_BEFORE_S = {"merchant_certificate": 30 * _DAY_S, "platform_certificate": 7 * _DAY_S}
_ERROR_BEFORE_S = 7 * _DAY_S
_TITLES = {"merchant_certificate": "商户API证书", "platform_certificate": "微信支付平台证书"}


def severity_of(expiry: CredentialExpiry, now: float) -> Severity | None:
    """How loudly to tell of ``expiry`` now: None while it is far enough away."""
    left = expiry.not_after - now
    if left <= 0:
        return Severity.CRITICAL
    if left <= _ERROR_BEFORE_S:
        return Severity.ERROR
    if left <= _WARN_BEFORE_S[expiry.what]:
        return Severity.WARNING
    return None


def _schedule(tx: Stores, mchid: str, due_at: float, now: float, *, rearm: bool) -> bool:
    return tx.jobs.enqueue(CHECK_CREDENTIALS, {"mchid": mchid}, due_at=due_at, now=now,
                           dedupe_key=f"{CHECK_CREDENTIALS}:{mchid}", rearm=rearm)  # fmt: skip


def seed_credential_checks(uow: UnitOfWork, mchids: Iterable[str], clock: Clock) -> int:
    """Give each merchant its daily check if it has none yet (due now); how many were added."""
    now = clock()
    with uow.write() as tx:
        return sum(_schedule(tx, mchid, now, now, rearm=False) for mchid in mchids)


def check_credentials(uow: UnitOfWork, gateway: Gateway, clock: Clock, mchid: str) -> list[CredentialExpiry]:
    """Alert each certificate of ``mchid`` inside its window and re-arm tomorrow's check; those alerted.

    Of the platform certificates only the newest counts: during a rotation the old one lapses by design.
    """
    now = clock()
    unreadable: str | None = None
    try:
        expiries = gateway.credential_expiries(mchid)
    except OSError as error:  # the certificate file went missing or unreadable: as urgent as an expired one
        expiries, unreadable = [], type(error).__name__
    platform = [item for item in expiries if item.what == "platform_certificate"]
    newest = max(platform, key=lambda item: item.not_after, default=None)
    watched = [item for item in expiries if item.what != "platform_certificate" or item is newest]
    alerted = []
    with uow.write() as tx:
        for expiry in watched:
            severity = severity_of(expiry, now)
            if severity is None:
                continue
            alerted.append(expiry)
            left_days = (expiry.not_after - now) / _DAY_S
            lapses = dt.datetime.fromtimestamp(expiry.not_after, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            when = f"已于 {lapses} 过期" if left_days <= 0 else f"将于 {lapses} 过期 (剩 {left_days:.0f} 天)"
            raise_alert(
                tx, f"credential:{mchid}:{expiry.serial}", kind="credential_expiring", severity=severity,
                title=f"{_TITLES[expiry.what]}{when}", now=now, mchid=mchid,
                detail={"what": expiry.what, "serial": expiry.serial, "not_after": lapses,
                        "days_left": round(left_days, 1)},
            )  # fmt: skip
        if unreadable is not None:
            raise_alert(
                tx, f"credential:{mchid}:unreadable", kind="credential_unreadable", severity=Severity.CRITICAL,
                title="商户API证书文件无法读取", now=now, mchid=mchid, detail={"error": unreadable},
            )  # fmt: skip
        _schedule(tx, mchid, now + CHECK_EVERY_S, now, rearm=True)
    return alerted
