"""``weipay config check``: one line per check, exit 1 on a failure, never a traceback or a secret."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from weipay.cli.config_cmd import config


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """One throwaway bundle written by ``check --generate`` (RSA generation is the slow part)."""
    directory = tmp_path_factory.mktemp("bundle") / "b"
    result = CliRunner().invoke(config, ["check", "--generate", str(directory)])
    return directory, result


@pytest.fixture
def bundle(generated, tmp_path):
    directory, _ = generated
    copy = tmp_path / "bundle"
    shutil.copytree(directory, copy)
    return copy


def run(*args, env=None):
    return CliRunner().invoke(config, ["check", *args], env=env)


def account(bundle):
    return json.loads((bundle / "merchant" / "account.json").read_text())


def test_generate_writes_a_bundle_that_passes(generated):
    directory, result = generated
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("wrote a throwaway merchant bundle")
    checks = [line for line in lines[1:-1]]
    assert len(checks) == 9 and all(line.startswith("✓ ") for line in checks), result.output
    assert lines[-1] == "configuration OK"
    secrets = json.loads((directory / "merchant" / "account.json").read_text())
    for value in (secrets["apiv2_key"], secrets["apiv3_key"], *secrets["app_secrets"].values()):
        assert value not in result.output


def test_bundle_root_or_merchant_dir(bundle):
    assert run("--bundle", str(bundle)).exit_code == 0
    assert run("--bundle", str(bundle / "merchant")).exit_code == 0


def test_private_key_readable_by_others_is_refused(bundle):
    key = bundle / "merchant" / "apiclient_key.pem"
    key.chmod(0o640)
    result = run("--bundle", str(bundle))
    assert result.exit_code == 1
    assert f"✗ readable by group/others, run chmod 600 on: {key} (mode 0640)" in result.output


def test_flags_and_environment(bundle):
    merchant, keys = bundle / "merchant", account(bundle)
    env = {"WEIPAY_API_V2_KEY": keys["apiv2_key"], "WEIPAY_API_V3_KEY": keys["apiv3_key"]}
    flags = [
        "--mchid",
        keys["mchid"],
        "--private-key",
        str(merchant / "apiclient_key.pem"),
        "--merchant-cert",
        str(merchant / "apiclient_cert.pem"),
        "--wechatpay-public-key",
        str(merchant / "wechatpay_public_key.pem"),
        "--wechatpay-public-key-id",
        keys["wechatpay_public_key_id"],
    ]
    result = run(*flags, env=env)
    assert result.exit_code == 0, result.output
    assert keys["apiv2_key"] not in result.output

    short = run(*flags, env={"WEIPAY_API_V2_KEY": "abc", "WEIPAY_API_V3_KEY": "x" * 31})
    assert short.exit_code == 1
    assert "✗ APIv2 key must be 32 letters or digits (got 3 characters)" in short.output
    assert "✗ APIv3 key must be 32 bytes (got 31)" in short.output


def test_certificate_of_another_key_is_refused(bundle, tmp_path):
    other = tmp_path / "other_key.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    other.chmod(0o600)
    result = run(
        "--mchid",
        "1230000109",
        "--private-key",
        str(other),
        "--merchant-cert",
        str(bundle / "merchant" / "apiclient_cert.pem"),
    )
    assert result.exit_code == 1
    assert "✗ merchant certificate does not belong to the private key" in result.output
    assert "Traceback" not in result.output


def test_broken_inputs_are_reported_not_raised(bundle, tmp_path):
    garbage = tmp_path / "key.pem"
    garbage.write_text("not a key")
    garbage.chmod(0o600)
    result = run("--mchid", "12x", "--private-key", str(garbage))
    assert result.exit_code == 1
    assert "✗ mchid: missing or not digits" in result.output
    assert "✗ private key: not a PEM RSA private key" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

    missing = run("--bundle", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "a merchant bundle?" in missing.output
    assert "Traceback" not in missing.output

    (bundle / "merchant" / "account.json").write_text("{")
    bad_json = run("--bundle", str(bundle))
    assert bad_json.exit_code == 2 and "not valid JSON" in bad_json.output


def test_platform_certificate_mode_skips_the_public_key(bundle):
    path = bundle / "merchant" / "account.json"
    data = account(bundle)
    data["verification"] = "platform_certificate"
    path.write_text(json.dumps(data))
    result = run("--bundle", str(bundle))
    assert result.exit_code == 0
    assert "· no WeChat Pay public key: platform certificates will be downloaded" in result.output
