"""Settings: file + WEIPAY_ environment, clear errors, production refusals, secrets hidden."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from weipay.service.settings import SettingsError, hash_api_key, load_settings

MERCHANT = {"mchid": "1230000109", "api_v2_key": "k" * 32, "api_keys": ["dev-key-1"], "appids": {"miniprogram": "wx1"}}


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "weipay.toml"
    path.write_text(text)
    return path


def test_defaults_without_any_source() -> None:
    settings = load_settings(environ={})
    assert settings.database_url == "sqlite:///./weipay.sqlite3"
    assert settings.environment == "development"
    assert settings.merchants == []


def test_toml_file_then_environment_wins(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        'database_url = "sqlite:///file.db"\npublic_base_url = "https://pay.example.com/"\n'
        '[[merchants]]\nmchid = "1230000109"\napi_v2_key = "' + "k" * 32 + '"\napi_keys = ["dev-key-1"]\n'
        '[merchants.appids]\nminiprogram = "wx1"\n',
    )
    settings = load_settings(path, environ={"WEIPAY_DATABASE_URL": "sqlite:///env.db", "WEIPAY_ADMIN__USERNAME": "op"})
    assert settings.database_url == "sqlite:///env.db"
    assert settings.public_base_url == "https://pay.example.com"
    assert settings.admin.username == "op"
    merchant = settings.merchant("1230000109")
    assert merchant is not None and merchant.appid_map() == {"miniprogram": "wx1"}
    assert hash_api_key("dev-key-1") in merchant.api_key_hashes()
    assert settings.notify_url("1230000109", "v3") == "https://pay.example.com/notify/wechatpay/v3/1230000109"


def test_json_file_from_weipay_config_variable(tmp_path: Path) -> None:
    path = tmp_path / "weipay.json"
    path.write_text(json.dumps({"merchants": [MERCHANT]}))
    settings = load_settings(environ={"WEIPAY_CONFIG": str(path)})
    assert [m.mchid for m in settings.merchants] == ["1230000109"]


def test_merchants_from_environment_json() -> None:
    settings = load_settings(environ={"WEIPAY_MERCHANTS": json.dumps([MERCHANT])})
    assert settings.merchants[0].default_api == "v3"


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"WEIPAY_MERCHANTS": json.dumps([{**MERCHANT, "mchid": "12ab"}])}, "merchants.0.mchid"),
        ({"WEIPAY_MERCHANTS": json.dumps([{"mchid": "1230000109"}])}, "bundle_dir"),
        ({"WEIPAY_MERCHANTS": json.dumps([MERCHANT, MERCHANT])}, "configured twice"),
        ({"WEIPAY_MERCHANTS": "[{"}, "environment"),
        ({"WEIPAY_ENVIRONMENT": "staging"}, "environment"),
        ({"WEIPAY_PUBLIC_BASE_URL": "ftp://x"}, "public_base_url"),
        ({"WEIPAY_MERCHANTS": json.dumps([{**MERCHANT, "webhook_url": "https://x"}])}, "webhook_secret"),
    ],
)
def test_bad_values_name_the_field(environ: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    assert fragment in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_unknown_file_keys_are_refused_but_unrelated_variables_ignored(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="databse_url"):
        load_settings(write_toml(tmp_path, 'databse_url = "x"\n'), environ={})
    assert load_settings(environ={"WEIPAY_TEST_POSTGRES_URL": "postgresql://x"}).merchants == []


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"no-such\.toml"):
        load_settings(tmp_path / "no-such.toml", environ={})
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(write_toml(tmp_path, "merchants = [\n"), environ={})


def test_production_refuses_development_values() -> None:
    environ = {
        "WEIPAY_ENVIRONMENT": "production",
        "WEIPAY_MERCHANTS": json.dumps([{**MERCHANT, "api_v2_key": "changeme" * 4, "bundle_dir": "/tmp/b"}]),
        "WEIPAY_ADMIN__PASSWORD": "admin",
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    message = str(caught.value)
    for fragment in ("bundle_dir", "api_keys", "api_v2_key", "admin.password", "public_base_url"):
        assert fragment in message
    assert "changeme" not in message


def test_production_accepts_real_values() -> None:
    strong = "Zq8vN3pL5tR7wY1xC4bM6dF9hJ2kS0aG"
    merchant = {"mchid": "1230000109", "api_v2_key": strong, "api_key_sha256": [hash_api_key(strong + "x")]}
    settings = load_settings(
        environ={
            "WEIPAY_ENVIRONMENT": "production",
            "WEIPAY_PUBLIC_BASE_URL": "https://pay.example.com",
            "WEIPAY_MERCHANTS": json.dumps([merchant]),
        }
    )
    assert settings.merchants[0].api_key_hashes() == {hash_api_key(strong + "x")}


def test_secrets_are_hidden_in_reprs() -> None:
    settings = load_settings(environ={"WEIPAY_MERCHANTS": json.dumps([MERCHANT])})
    text = repr(settings) + str(settings.merchants[0])
    assert "k" * 32 not in text and "dev-key-1" not in text
