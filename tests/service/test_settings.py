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
    assert "changeme" * 4 not in message and "admin" * 2 not in message  # the rule is named, the value never


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


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Zq8vN3pL5tR7wY1xC4bM6dF", "admin.password: is 23 characters; production needs at least 24 random"),
        ("abababababababababababababababab", "admin.password: has 2 distinct characters; production needs at least 6"),
        ("Zq8vN3pL5tR7wY1xC4bM-Password", "admin.password: looks like a placeholder: contains one of the words"),
    ],
)
def test_production_refusals_name_the_rule_broken(password: str, rule: str) -> None:
    environ = {"WEIPAY_ENVIRONMENT": "production", "WEIPAY_PUBLIC_BASE_URL": "https://pay.example.com",
               "WEIPAY_ADMIN__PASSWORD": password}
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    assert rule in str(caught.value)
    assert password not in str(caught.value)


def test_one_field_of_one_merchant_from_its_own_variable(tmp_path: Path) -> None:
    config = write_toml(tmp_path, '[[merchants]]\nmchid = "1230000109"\napi_v2_key = "' + "k" * 32 + '"\n'
                                  '[[merchants]]\nmchid = "1230000110"\napi_v2_key = "' + "k" * 32 + '"\n')
    settings = load_settings(config, environ={
        "WEIPAY_MERCHANTS__1__API_V3_KEY": "v" * 32,
        "WEIPAY_MERCHANTS__1__APPIDS__MINIPROGRAM": "wx2",
        "WEIPAY_MERCHANTS__0__REFUND_APPROVAL_REQUIRED": "true",
        "WEIPAY_MERCHANTS__1__API_KEYS": '["k1", "k2"]',
        "WEIPAY_ADMIN__PASSWORD": "[not json, a secret]",
    })
    first, second = settings.merchants
    assert first.refund_approval_required and first.api_v3_key is None
    assert second.api_v3_key is not None and second.api_v3_key.get_secret_value() == "v" * 32
    assert second.appids.miniprogram == "wx2" and second.api_key_hashes() == {hash_api_key("k1"), hash_api_key("k2")}
    assert settings.admin.password is not None and settings.admin.password.get_secret_value() == "[not json, a secret]"


def test_a_merchant_made_of_variables_alone_and_on_top_of_json() -> None:
    alone = load_settings(
        environ={"WEIPAY_MERCHANTS__0__MCHID": "1230000109", "WEIPAY_MERCHANTS__0__API_V2_KEY": "k" * 32}
    )
    assert [m.mchid for m in alone.merchants] == ["1230000109"]
    refined = load_settings(environ={"WEIPAY_MERCHANTS": json.dumps([MERCHANT]),
                                     "WEIPAY_MERCHANTS__0__API_V3_KEY": "v" * 32})
    assert refined.merchants[0].api_v3_key is not None and refined.merchants[0].appids.miniprogram == "wx1"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"WEIPAY_MERCHANTS__1__API_V3_KEY": "v" * 32},
         "WEIPAY_MERCHANTS__1__API_V3_KEY: index 1 leaves a gap; the list has 0 entries, so an index must be 0 to 0"),
        ({"WEIPAY_MERCHANTS__FIRST__API_V3_KEY": "v" * 32},
         "WEIPAY_MERCHANTS__FIRST__API_V3_KEY: 'first' must be a list index (0, 1, …)"),
        ({"WEIPAY_MERCHANTS__0__API_KEYS": "k1"}, "WEIPAY_MERCHANTS__0__API_KEYS: must be JSON (a list or table)"),
        ({"WEIPAY_MERCHANTS__0__MCHID": "1230000109", "WEIPAY_MERCHANTS__0__API_V2_KEY": "k" * 32,
          "WEIPAY_MERCHANTS__0__API_V3_KY": "v" * 32}, "merchants.0.api_v3_ky: Extra inputs are not permitted"),
    ],
)
def test_variables_that_cannot_apply_name_themselves(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=environ)
    assert message in str(caught.value)
    assert "v" * 32 not in str(caught.value)


def test_every_secret_from_a_file(tmp_path: Path) -> None:
    def secret(name: str, text: str) -> str:
        (tmp_path / name).write_text(text)
        return str(tmp_path / name)

    config = tmp_path / "weipay.json"
    config.write_text(json.dumps({
        "merchants": [{"mchid": "1230000109",
                       "api_v2_key_file": secret("v2", "k" * 32 + "\n"),
                       "api_v3_key_file": secret("v3", "v" * 32 + "\r\n"),
                       "webhook_url": "https://erp.example.com/hook",
                       "webhook_secret_file": secret("hook", "whsec trailing space \n\n"),
                       "api_keys_file": secret("keys", "key-one\n\nkey-two\n"),
                       "app_secrets": {"miniprogram_file": secret("app", "appsecret")}}],
        "admin": {"password_file": secret("pw", "pass word\n"), "session_secret_file": secret("ss", "s" * 30),
                  "api_keys_file": secret("admin-keys", "admin-key\n")},
    }))
    settings = load_settings(config, environ={})
    merchant = settings.merchants[0]
    assert merchant.api_v2_key is not None and merchant.api_v2_key.get_secret_value() == "k" * 32
    assert merchant.api_v3_key is not None and merchant.api_v3_key.get_secret_value() == "v" * 32
    assert merchant.webhook_secret is not None
    assert merchant.webhook_secret.get_secret_value() == "whsec trailing space \n"  # only one newline goes
    assert merchant.api_key_hashes() == {hash_api_key("key-one"), hash_api_key("key-two")}
    assert merchant.app_secrets["miniprogram"].get_secret_value() == "appsecret"
    admin = settings.admin
    assert admin.password is not None and admin.password.get_secret_value() == "pass word"
    assert admin.session_secret is not None and admin.session_secret.get_secret_value() == "s" * 30
    assert [k.get_secret_value() for k in admin.api_keys] == ["admin-key"]
    from_env = load_settings(environ={"WEIPAY_MERCHANTS__0__MCHID": "1230000109",
                                      "WEIPAY_MERCHANTS__0__API_V2_KEY_FILE": str(tmp_path / "v2")})
    assert from_env.merchants[0].api_v2_key is not None


def test_a_production_secret_from_a_file_meets_the_same_rules(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("changeme-changeme-changeme\n")
    environ = {"WEIPAY_ENVIRONMENT": "production", "WEIPAY_PUBLIC_BASE_URL": "https://pay.example.com",
               "WEIPAY_ADMIN__PASSWORD_FILE": str(tmp_path / "pw")}
    with pytest.raises(SettingsError, match=r"admin\.password: looks like a placeholder"):
        load_settings(environ=environ)


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (None, {}, "admin.password_file: cannot read {path}: No such file or directory"),
        ("", {}, "admin.password_file: {path} is empty"),
        (b"\xff\xfe", {}, "admin.password_file: {path} is not UTF-8 text"),
        ("pw", {"WEIPAY_ADMIN__PASSWORD": "inline"}, "admin.password_file: give password or password_file, not both"),
    ],
)
def test_unusable_secret_files_name_the_setting_and_path(
    tmp_path: Path, content: str | bytes | None, extra: dict[str, str], message: str
) -> None:
    path = tmp_path / "admin-password"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"WEIPAY_ADMIN__PASSWORD_FILE": str(path), **extra})
    assert message.format(path=path) in str(caught.value)


def test_alert_sinks_hide_their_url_and_secret_and_take_environment_json() -> None:
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=very-secret-robot-key"
    environ = {"WEIPAY_ALERTS": json.dumps([{"kind": "wecom", "url": url}, {"kind": "log", "min_severity": "info"}])}
    settings = load_settings(environ=environ)
    wecom, log = settings.alerts
    assert (wecom.kind, log.kind, log.min_severity) == ("wecom", "log", "info")
    assert "very-secret-robot-key" not in repr(settings) and "very-secret-robot-key" not in wecom.sink_name
    assert wecom.sink_name.startswith("wecom-") and log.sink_name == "log"


@pytest.mark.parametrize(
    ("sink", "fragment"),
    [
        ({"kind": "webhook", "url": "https://hooks.test/a"}, "needs a secret"),
        ({"kind": "dingtalk"}, "needs its url"),
        ({"kind": "log", "url": "https://x.test"}, "no url"),
        ({"kind": "sms", "url": "https://x.test"}, "alerts.0.kind"),
        ({"kind": "feishu", "url": "https://x.test/h", "merchants": ["1900000999"]}, "not configured"),
    ],
)
def test_bad_alert_sinks_name_the_problem(sink: dict[str, object], fragment: str) -> None:
    merchants = [{"mchid": "1900000109", "api_v2_key": "k" * 32}]
    with pytest.raises(SettingsError, match=fragment):
        load_settings(environ={}, overrides={"alerts": [sink], "merchants": merchants})


def test_two_sinks_with_one_name_are_refused_and_production_wants_https() -> None:
    twice = [{"kind": "log", "name": "ops"}, {"kind": "log", "name": "ops"}]
    with pytest.raises(SettingsError, match="two sinks are named 'ops'"):
        load_settings(environ={}, overrides={"alerts": twice})
    plain_http = {"kind": "feishu", "url": "http://open.feishu.cn/open-apis/bot/v2/hook/x", "secret": "short"}
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={}, overrides={"environment": "production", "alerts": [plain_http]})
    assert "alerts[0].url: use https" in str(refused.value) and "alerts[0].secret" in str(refused.value)


def test_alert_url_and_secret_may_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("https://open.feishu.cn/open-apis/bot/v2/hook/abc\n")
    (tmp_path / "secret").write_text("Hk7Jm2Np9Qr4St6Vw8Xy1Za3Bc5De0Fg\n")
    sink = {"kind": "feishu", "url_file": str(tmp_path / "url"), "secret_file": str(tmp_path / "secret")}
    (loaded,) = load_settings(environ={}, overrides={"alerts": [sink]}).alerts
    assert loaded.url is not None and loaded.url.get_secret_value() == "https://open.feishu.cn/open-apis/bot/v2/hook/abc"
    assert loaded.secret is not None and loaded.secret.get_secret_value() == "Hk7Jm2Np9Qr4St6Vw8Xy1Za3Bc5De0Fg"


def test_a_merchants_time_zone_defaults_to_shanghai_and_must_be_a_known_zone() -> None:
    settings = load_settings(environ={}, overrides={"merchants": [MERCHANT]})
    assert settings.merchants[0].time_zone == "Asia/Shanghai"
    chosen = load_settings(environ={}, overrides={"merchants": [{**MERCHANT, "time_zone": "Europe/Berlin"}]})
    assert chosen.merchants[0].time_zone == "Europe/Berlin"
    for wrong in ("Mars/Olympus_Mons", "../etc/passwd", "UTC+8"):
        with pytest.raises(SettingsError, match="time_zone"):
            load_settings(environ={}, overrides={"merchants": [{**MERCHANT, "time_zone": wrong}]})
