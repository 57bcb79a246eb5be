"""Certificates near expiry: a daily job per merchant alerts the team a month ahead, louder as the day nears."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from weipay.service.jobs import run_due_jobs
from weipay.service.usecases.alerting import Severity
from weipay.service.usecases.credential_watch import (
    CHECK_CREDENTIALS,
    CHECK_EVERY_S,
    check_credentials,
    seed_credential_checks,
    severity_of,
)
from weipay.service.usecases.ports import CredentialExpiry

from ..core_harness import MCHID, Core

DAY = 86_400.0


def merchant_certificate(core: Core) -> CredentialExpiry:
    (found,) = [item for item in core.gateway.credential_expiries(MCHID) if item.what == "merchant_certificate"]
    return found


def run_checks(core: Core) -> int:
    return run_due_jobs(core.uow, core.gateway, core.clock, merchants={MCHID: core.merchant}, kinds=[CHECK_CREDENTIALS])


def alerts(core: Core) -> list[tuple[str, str, str]]:
    with core.uow.read() as tx:
        return [(event.kind, event.severity, event.title) for event in tx.alerts.recent()]


def test_the_gateway_reads_the_merchant_certificate_of_the_bundle(core: Core) -> None:
    expiry = merchant_certificate(core)
    # The simulator issues a five-year API certificate; its serial is the one the SDK signs with.
    assert expiry.serial == core.gateway.client(MCHID).credentials.merchant_serial_no
    assert 4 * 365 * DAY < expiry.not_after - core.clock() < 6 * 365 * DAY


def test_a_far_expiry_is_quiet_and_the_check_rearms_daily(core: Core) -> None:
    assert seed_credential_checks(core.uow, [MCHID], core.clock) == 1
    assert seed_credential_checks(core.uow, [MCHID], core.clock) == 0
    assert run_checks(core) == 1
    assert alerts(core) == []
    with core.uow.read() as tx:
        (job,) = tx.jobs.list(kind=CHECK_CREDENTIALS)
    assert (job.status, job.due_at) == ("pending", pytest.approx(core.clock() + CHECK_EVERY_S))
    assert run_checks(core) == 0  # not again today
    core.clock.advance(CHECK_EVERY_S)
    assert run_checks(core) == 1


@pytest.mark.parametrize(
    ("days_left", "severity"),
    [(29.0, Severity.WARNING), (6.0, Severity.ERROR), (-1.0, Severity.CRITICAL)],
)
def test_the_merchant_certificate_alerts_a_month_ahead_then_louder(
    core: Core, days_left: float, severity: Severity
) -> None:
    expiry = merchant_certificate(core)
    core.clock.advance(expiry.not_after - days_left * DAY - core.clock())
    alerted = check_credentials(core.uow, core.gateway, core.clock, MCHID)
    assert alerted == [expiry]
    ((kind, level, title),) = alerts(core)
    assert (kind, level) == ("credential_expiring", severity.value)
    assert title.startswith("商户API证书") and ("已于" in title if days_left < 0 else f"剩 {days_left:.0f} 天" in title)


def test_an_unreadable_certificate_file_is_critical_and_the_schedule_goes_on(core: Core, tmp_path: Path) -> None:
    (tmp_path / "sim" / "merchant" / "apiclient_cert.pem").unlink()
    assert check_credentials(core.uow, core.gateway, core.clock, MCHID) == []
    assert alerts(core) == [("credential_unreadable", "critical", "商户API证书文件无法读取")]
    with core.uow.read() as tx:
        (job,) = tx.jobs.list(kind=CHECK_CREDENTIALS)
    assert job.status == "pending"


def platform_certificate(serial: int, not_before: float, not_after: float) -> x509.Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com platform certificate")])
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(dt.datetime.fromtimestamp(not_before, dt.UTC))
        .not_valid_after(dt.datetime.fromtimestamp(not_after, dt.UTC))
        .sign(key, hashes.SHA256())
    )  # fmt: skip


def test_only_the_newest_platform_certificate_counts(core: Core) -> None:
    now = core.clock()
    verifier = core.gateway.client(MCHID).verifier
    verifier.add_certificate(platform_certificate(0x0A, now - 400 * DAY, now + 3 * DAY))
    assert [item.what for item in check_credentials(core.uow, core.gateway, core.clock, MCHID)] == [
        "platform_certificate"  # while it is the newest, it means the SDK's download keeps failing
    ]
    verifier.add_certificate(platform_certificate(0x0B, now - DAY, now + 400 * DAY))
    core.clock.advance(DAY)
    assert check_credentials(core.uow, core.gateway, core.clock, MCHID) == []


def test_the_windows_are_a_month_for_the_merchant_and_a_week_for_the_platform() -> None:
    now = 1_000_000.0
    assert severity_of(CredentialExpiry("platform_certificate", "P", now + 3 * DAY), now) == Severity.ERROR
    assert severity_of(CredentialExpiry("platform_certificate", "P", now + 20 * DAY), now) is None
    assert severity_of(CredentialExpiry("merchant_certificate", "M", now + 20 * DAY), now) == Severity.WARNING
    assert severity_of(CredentialExpiry("merchant_certificate", "M", now + 40 * DAY), now) is None
