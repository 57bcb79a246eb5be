"""The service's configuration: one value, built once at the edge and passed down.

Sources, later ones winning: a TOML or JSON file (``--config`` or ``WEIPAY_CONFIG``), then ``WEIPAY_``
environment variables with ``__`` as the nesting delimiter (``WEIPAY_DATABASE_URL``,
``WEIPAY_ADMIN__PASSWORD``, ``WEIPAY_MERCHANTS='[...]'`` as JSON, ``WEIPAY_MERCHANTS__0__API_V3_KEY`` for one
field of one merchant). Every secret may instead be read from a file: ``api_v3_key_file``,
``admin.password_file``, … (:mod:`._secret_files`). Secrets are :class:`SecretStr`.
:func:`load_settings` turns every problem into one :class:`SettingsError` naming the field and the rule.

In ``production`` the loader refuses development conveniences: placeholder secrets, plain API keys
in the file (give ``api_key_sha256`` instead), and simulator bundles.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from weipay.sdk.credentials import MerchantCredentials
from weipay.sdk.crypto import load_public_key
from weipay.sdk.errors import ConfigurationError

from . import _secret_files, _settings_env

__all__ = [
    "AdminSettings",
    "AlertSink",
    "AppIds",
    "MerchantSettings",
    "Settings",
    "SettingsError",
    "WeChatEndpoints",
    "hash_api_key",
    "load_settings",
    "weak_secret_rule",
]

CONFIG_ENV = "WEIPAY_CONFIG"
_PLACEHOLDER_MARKERS = ("changeme", "change-me", "placeholder", "example", "dev-", "demo", "secret", "password")
_MIN_PRODUCTION_SECRET_CHARS = 24
_MIN_KEY_CHARS = 32  # WeChat's API v2 and v3 keys are 32 characters
_MIN_DISTINCT_CHARS = 6


class SettingsError(ValueError):
    """The configuration cannot be used; the message names the field and what to fix."""


def hash_api_key(api_key: str) -> str:
    """The stored form of an API key: SHA-256 hex (keys are long random strings, so no slow hash is needed)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AppIds(_Strict):
    """The merchant's appids per client kind (WeChat's nouns)."""

    miniprogram: str | None = None
    app: str | None = None
    official_account: str | None = None

    def as_dict(self) -> dict[str, str]:
        """Only the kinds that are configured."""
        return {kind: appid for kind, appid in self.model_dump().items() if appid}


class WeChatEndpoints(_Strict):
    """Where WeChat lives for this merchant (the real hosts, or a simulator)."""

    base_url: str = "https://api.mch.weixin.qq.com"
    https_base_url: str | None = Field(default=None, description="v2 mTLS host (/secapi/); defaults to base_url")
    login_base_url: str = "https://api.weixin.qq.com"
    ca_path: Path | None = Field(default=None, description="CA bundle to trust (the simulator's HTTPS port)")
    timeout_s: float = Field(default=10.0, gt=0, le=60)
    max_in_flight: int = Field(
        default=256, ge=1, le=10_000,
        description="per API process, how many of this merchant's requests may wait on WeChat Pay at once; one "
        "more is answered 503 with Retry-After at once instead of queueing (256 carries ~120 checkouts/s with "
        "WeChat answering in 2 s)",
    )  # fmt: skip


class ShippingSettings(_Strict):
    """Mini-program shipping information (小程序发货信息管理) of one merchant."""

    auto_upload_virtual: bool = Field(
        default=False, description="upload logistics_type virtual (the order's description) right after payment")
    deadline_h: float = Field(default=48.0, gt=0, description="hours after payment to upload shipping by")
    warn_before_h: float = Field(default=6.0, ge=0, description="alert shipping_overdue this long before the deadline")
    message_token: SecretStr | None = Field(
        default=None, description="Token of the message push (明文模式) that signs /notify/wxa/{mchid}",
    )


class MerchantSettings(_Strict):
    """One merchant: identity, keys (bundle or files), appids, endpoints and policies."""

    mchid: str = Field(pattern=r"^\d{6,20}$")
    default_api: Literal["v3", "v2"] = "v3"
    display_name: str | None = Field(
        default=None, min_length=1, max_length=64, description="the payee's name on the hosted checkout page (/pay)"
    )
    time_zone: str = Field(
        default="Asia/Shanghai", min_length=1, max_length=64,
        description="an IANA time zone: the console shows this merchant's times in it",
    )  # fmt: skip
    bundle_dir: Path | None = Field(default=None, description="a simulator bundle's merchant directory (development)")
    private_key_path: Path | None = None
    merchant_cert_path: Path | None = None
    merchant_serial_no: str | None = None
    wechatpay_public_key_path: Path | None = None
    wechatpay_public_key_id: str | None = None
    platform_certificates: bool | None = Field(
        default=None,
        description="download WeChat Pay platform certificates when a serial is unknown. Default: only when no "
        "WeChat Pay public key is configured. Set true while switching from certificates to the public key, "
        "so messages signed either way verify (WeChat signs with both during its gray release).",
    )
    api_v2_key: SecretStr | None = None
    api_v3_key: SecretStr | None = None
    appids: AppIds = AppIds()
    more_appids: dict[Literal["miniprogram", "app", "official_account"], list[str]] = Field(
        default_factory=dict,
        description="further appids per kind bound to this mchid (several mini-programs or apps); a payment may "
        "name one with \"appid\", else the kind's main appid (under appids) is used",
    )
    app_secrets: dict[str, SecretStr] = Field(default_factory=dict)
    h5_site_url: str | None = Field(
        default=None, max_length=128,
        description="the mobile site H5 payments start from (h5_info app_url, v2 wap_url); default public_base_url",
    )
    h5_site_name: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="its name (h5_info app_name, v2 wap_name: at most 64 UTF-8 bytes); default display_name, else "
        "the mchid",
    )
    wechat: WeChatEndpoints = WeChatEndpoints()
    refund_approval_required: bool = False
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    shipping: ShippingSettings = Field(default_factory=lambda: ShippingSettings())
    api_keys: list[SecretStr] = Field(default_factory=list, description="plain keys: development only")
    api_key_sha256: list[str] = Field(default_factory=list, description="SHA-256 hex of each API key")

    @field_validator("more_appids")
    @classmethod
    def _appids_look_like_appids(cls, more: dict[str, list[str]]) -> dict[str, list[str]]:
        for kind, appids in more.items():
            for appid in appids:
                if not re.fullmatch(r"wx[0-9a-zA-Z]{1,30}", appid):
                    raise ValueError(f"more_appids.{kind}: {appid[:40]!r} is not an appid (wx…)")
        return more

    @field_validator("h5_site_name")
    @classmethod
    def _name_fits_wechat(cls, name: str | None) -> str | None:
        if name is not None and len(name.encode("utf-8")) > 64:
            raise ValueError("h5_site_name must be at most 64 bytes in UTF-8 (21 Chinese characters)")
        return name

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}: give an IANA name such as Asia/Shanghai") from None
        return name

    @field_validator("api_key_sha256")
    @classmethod
    def _hex_digests(cls, digests: list[str]) -> list[str]:
        for digest in digests:
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
                raise ValueError("each entry must be 64 hex characters: sha256 of the API key")
        return [d.lower() for d in digests]

    @model_validator(mode="after")
    def _keys_from_somewhere(self) -> MerchantSettings:
        if self.bundle_dir is None and self.private_key_path is None and self.api_v2_key is None:
            raise ValueError("give bundle_dir (simulator bundle) or key paths (private_key_path, ...) and API keys")
        if (self.webhook_url is None) != (self.webhook_secret is None):
            raise ValueError("webhook_url and webhook_secret go together")
        if (self.wechatpay_public_key_path is None) != (self.wechatpay_public_key_id is None):
            raise ValueError("wechatpay_public_key_path and wechatpay_public_key_id go together (PUB_KEY_ID_… "
                             "and the .pem file of that key, both from the merchant platform)")
        return self

    def api_key_hashes(self) -> set[str]:
        """Every accepted API key, hashed."""
        return {hash_api_key(k.get_secret_value()) for k in self.api_keys} | set(self.api_key_sha256)

    def credentials(self) -> MerchantCredentials:
        """Load keys from the bundle or the files; :class:`SettingsError` naming the merchant on failure."""
        try:
            if self.bundle_dir is not None:
                loaded = MerchantCredentials.from_bundle(self.bundle_dir)
                if loaded.mchid != self.mchid:
                    raise SettingsError(f"merchants[{self.mchid}].bundle_dir holds merchant {loaded.mchid}")
                return _with_public_key(_with_appids(loaded, self.appids.as_dict()), self.wechatpay_public_key_path,
                                        self.wechatpay_public_key_id)
            return MerchantCredentials.from_files(
                mchid=self.mchid,
                appids=self.appids.as_dict(),
                api_v2_key=_reveal(self.api_v2_key),
                api_v3_key=_reveal(self.api_v3_key),
                private_key_path=self.private_key_path,
                merchant_serial_no=self.merchant_serial_no,
                merchant_cert_path=self.merchant_cert_path,
                wechatpay_public_key_path=self.wechatpay_public_key_path,
                wechatpay_public_key_id=self.wechatpay_public_key_id,
                app_secrets={k: v.get_secret_value() for k, v in self.app_secrets.items()},
            )
        except ConfigurationError as exc:
            raise SettingsError(f"merchants[{self.mchid}]: {exc}") from None

    def appid_map(self) -> dict[str, str]:
        """Appids per kind: the bundle's, overridden by the configured ones."""
        from_bundle = self.bundle_account().get("appids") or {}
        merged = {str(k): str(v) for k, v in from_bundle.items() if v} if isinstance(from_bundle, dict) else {}
        return {**merged, **self.appids.as_dict()}

    def bundle_account(self) -> dict[str, Any]:
        """``account.json`` of the bundle (endpoints of the simulator), or an empty dict."""
        if self.bundle_dir is None:
            return {}
        try:
            data = json.loads((self.bundle_dir / "account.json").read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


class AdminSettings(_Strict):
    """Who may open the console: an admin API key (as Bearer or the login form) or HTTP basic."""

    api_keys: list[SecretStr] = Field(default_factory=list)
    username: str | None = None
    password: SecretStr | None = None
    session_secret: SecretStr | None = Field(default=None, description="signs console cookies; random if unset")


class AlertSink(_Strict):
    """One place alerts go: a WeCom, DingTalk or Feishu/Lark group robot, a signed webhook, or the log.

    ``url`` is a secret: a robot's URL carries its key or token. ``secret`` signs (DingTalk 加签, Feishu
    签名校验, the webhook's HMAC; required for ``webhook``). ``merchants`` limits the sink to those merchants'
    alerts (empty: all, including alerts about no merchant). ``name`` keeps delivery progress apart per sink;
    it defaults to the kind and a digest of the URL, so changing the URL starts afresh.
    """

    kind: Literal["wecom", "dingtalk", "feishu", "webhook", "log"]
    url: SecretStr | None = None
    secret: SecretStr | None = None
    min_severity: Literal["info", "warning", "error", "critical"] = "warning"
    merchants: list[str] = Field(default_factory=list)
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    msgtype: Literal["markdown", "text"] = Field(default="markdown", description="WeCom and DingTalk only")
    timeout_s: float = Field(default=5.0, gt=0, le=30)

    @model_validator(mode="after")
    def _complete(self) -> AlertSink:
        url = _reveal(self.url)
        if self.kind == "log":
            if url is not None:
                raise ValueError("a log sink has no url")
        elif url is None or not url.startswith(("http://", "https://")):
            raise ValueError(f"a {self.kind} sink needs its url (http:// or https://)")
        if self.kind == "webhook" and not _reveal(self.secret):
            raise ValueError("a webhook sink needs a secret: receivers verify X-Weipay-Signature with it")
        return self

    @property
    def sink_name(self) -> str:
        """The configured name, else the kind and a digest of the URL (never the URL: it holds the key)."""
        if self.name:
            return self.name
        url = _reveal(self.url)
        return self.kind if url is None else f"{self.kind}-{hashlib.sha256(url.encode()).hexdigest()[:10]}"


class Settings(BaseSettings):
    """Everything the service needs. Build with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix="WEIPAY_", env_nested_delimiter="__", extra="forbid", frozen=True)

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./weipay.sqlite3"
    public_base_url: str = Field(default="http://127.0.0.1:8000", description="base of notify_url, as WeChat sees it")
    merchants: list[MerchantSettings] = Field(default_factory=list)
    admin: AdminSettings = AdminSettings()
    alerts: list[AlertSink] = Field(
        default_factory=list, description="where alerts go; none configured: the log (weipay.alerts)"
    )
    notify_expected_after_s: int = Field(default=10, ge=0, description="query WeChat if no notification after this")
    reconcile_daily: bool = Field(default=True, description="reconcile each merchant's previous day every day")
    reconcile_at: str = Field(
        default="10:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Beijing time (HH:MM) of the daily reconciliation; WeChat's bills are ready after about 10:00",
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, le=16 * 1024 * 1024,
        description="request bodies above this many bytes are refused with 413 before they are read",
    )
    log_level: str = "INFO"
    log_format: Literal["json", "console"] | None = Field(
        default=None, description="json (one object per line, for a log shipper) or console; default: json in "
        "production, console in development",
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="addresses or networks (CIDR) of the reverse proxies whose X-Forwarded-For/-Proto `weipay serve` "
        "believes; from any other peer those headers are ignored. '*' trusts every peer: only when the port is "
        "reachable from the proxies alone",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only explicit values: :func:`load_settings` merges the file and the environment itself."""
        return (init_settings,)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        if level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level.upper()

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            if proxy == "*":
                continue
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"{proxy!r} is not an IP address or CIDR network (e.g. 10.0.0.5 or 10.0.0.0/24), nor '*'"
                ) from None
        return proxies

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _unique_merchants(self) -> Settings:
        seen = [m.mchid for m in self.merchants]
        duplicates = sorted({m for m in seen if seen.count(m) > 1})
        if duplicates:
            raise ValueError(f"merchant {duplicates[0]} is configured twice")
        names = [sink.sink_name for sink in self.alerts]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"alerts: two sinks are named {twice[0]!r}; give each a distinct name")
        unknown = sorted({m for sink in self.alerts for m in sink.merchants} - set(seen)) if seen else []
        if unknown:
            raise ValueError(f"alerts: merchants filter names {unknown[0]}, which is not configured")
        return self

    @cached_property
    def merchants_by_mchid(self) -> dict[str, MerchantSettings]:
        """Merchants keyed by mchid."""
        return {m.mchid: m for m in self.merchants}

    def merchant(self, mchid: str) -> MerchantSettings | None:
        """The merchant with this mchid, if configured."""
        return self.merchants_by_mchid.get(mchid)

    def notify_url(self, mchid: str, api: str) -> str:
        """The notify_url WeChat calls for this merchant and API version."""
        return f"{self.public_base_url}/notify/wechatpay/{api}/{mchid}"


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build :class:`Settings` from a file, ``WEIPAY_`` variables and explicit ``overrides`` (in that order).

    ``config_path`` defaults to ``$WEIPAY_CONFIG``. Raises :class:`SettingsError` with a readable message.
    """
    env = dict(os.environ if environ is None else environ)
    path = config_path if config_path is not None else env.get(CONFIG_ENV)
    data: dict[str, Any] = _read_file(Path(path)) if path else {}
    try:
        for assignment in _settings_env.assignments(env, Settings, skip=frozenset({CONFIG_ENV})):
            _settings_env.apply(data, assignment)
    except _settings_env.EnvironmentVariableError as exc:
        raise SettingsError(f"environment: {exc}") from None
    _settings_env.merge(data, dict(overrides or {}))
    try:
        _secret_files.resolve(data)
    except _secret_files.SecretFileError as exc:
        raise SettingsError(str(exc)) from None
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    if settings.environment == "production":
        _refuse_development_values(settings)
    return settings


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SettingsError(f"config file {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw) if path.suffix.lower() == ".json" else tomllib.loads(raw.decode())
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise SettingsError(f"config file {path} is not valid {kind}: {exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path} must hold a table/object at the top level")
    return data


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    return "invalid settings:\n  " + "\n  ".join(lines)


def _refuse_development_values(settings: Settings) -> None:
    problems = []
    for merchant in settings.merchants:
        where = f"merchants[{merchant.mchid}]"
        if merchant.bundle_dir is not None:
            problems.append(f"{where}.bundle_dir: simulator bundles are for development; give key paths")
        if merchant.api_keys:
            problems.append(f"{where}.api_keys: plain keys are for development; give api_key_sha256")
        for name in ("api_v2_key", "api_v3_key", "webhook_secret"):
            secret = getattr(merchant, name)
            minimum = _MIN_KEY_CHARS if "key" in name else _MIN_PRODUCTION_SECRET_CHARS
            broken = None if secret is None else weak_secret_rule(secret.get_secret_value(), minimum=minimum)
            if broken is not None:
                problems.append(f"{where}.{name}: {broken}")
    admin = settings.admin
    named = [(f"admin.api_keys[{index}]", key) for index, key in enumerate(admin.api_keys)]
    named += [(f"admin.{name}", getattr(admin, name)) for name in ("password", "session_secret")]
    for name, secret in named:
        broken = None if secret is None else weak_secret_rule(secret.get_secret_value())
        if broken is not None:
            problems.append(f"{name}: {broken}")
    for index, sink in enumerate(settings.alerts):
        if sink.url is not None and sink.url.get_secret_value().startswith("http://"):
            problems.append(f"alerts[{index}].url: use https (the URL carries the robot's key)")
        broken = None if sink.secret is None else weak_secret_rule(sink.secret.get_secret_value())
        if broken is not None:
            problems.append(f"alerts[{index}].secret: {broken}")
    if settings.public_base_url.startswith("http://"):
        problems.append("public_base_url: WeChat requires https notify URLs in production")
    if problems:
        raise SettingsError("refused in production:\n  " + "\n  ".join(problems))


def weak_secret_rule(value: str, *, minimum: int = _MIN_PRODUCTION_SECRET_CHARS) -> str | None:
    """The production rule ``value`` breaks, stated without the value, or None if it passes them all."""
    if len(value) < minimum:
        return f"is {len(value)} characters; production needs at least {minimum} random characters"
    if len(set(value)) < _MIN_DISTINCT_CHARS:
        return f"has {len(set(value))} distinct characters; production needs at least {_MIN_DISTINCT_CHARS}"
    if any(marker in value.lower() for marker in _PLACEHOLDER_MARKERS):
        words = ", ".join(repr(marker) for marker in _PLACEHOLDER_MARKERS)
        return f"looks like a placeholder: contains one of the words {words} (any case); set the real secret"
    return None


def _reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


def _with_appids(credentials: MerchantCredentials, appids: dict[str, str]) -> MerchantCredentials:
    if not appids:
        return credentials
    return replace(credentials, appids={**credentials.appids, **appids})


def _with_public_key(credentials: MerchantCredentials, path: Path | None, key_id: str | None) -> MerchantCredentials:
    """A bundle in certificate mode plus an explicitly configured WeChat Pay public key (the switch-over)."""
    if path is None or key_id is None:
        return credentials
    try:
        public_key = load_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the WeChat Pay public key {path.name}: {type(exc).__name__}") from None
    return replace(credentials, wechatpay_public_key=public_key, wechatpay_public_key_id=key_id)
