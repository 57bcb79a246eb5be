"""``<secret>_file``: read a secret from a mounted file (Docker/Kubernetes secrets, systemd credentials).

Every secret setting has a ``_file`` twin holding a path instead of the value: ``api_v3_key_file``,
``api_v2_key_file``, ``webhook_secret_file`` and ``api_keys_file`` of a merchant, each ``app_secrets`` kind
(``miniprogram_file``), ``password_file``, ``session_secret_file`` and ``api_keys_file`` of ``admin``, and
``url_file`` and ``secret_file`` of each ``alerts`` sink.
The file's text is the secret with one trailing newline removed (editors and ``echo`` add one); an
``api_keys_file`` holds one key per line. This runs on the raw data before validation, so the value is
validated (and refused in production) exactly as if it had been given inline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["ADMIN_SECRETS", "ALERT_SECRETS", "MERCHANT_SECRETS", "SecretFileError", "resolve"]

MERCHANT_SECRETS = ("api_v2_key", "api_v3_key", "webhook_secret", "api_keys")
ADMIN_SECRETS = ("password", "session_secret", "api_keys")
ALERT_SECRETS = ("url", "secret")  # a robot's URL carries its key
_LISTS = frozenset({"api_keys"})
_SUFFIX = "_file"


class SecretFileError(ValueError):
    """A ``_file`` setting that cannot be used; names the setting and the path, never the content."""


def resolve(data: dict[str, Any]) -> None:
    """Replace every ``<secret>_file`` in ``data`` (merged file + environment) by the file's content."""
    merchants = data.get("merchants")
    if isinstance(merchants, list):
        for index, merchant in enumerate(merchants):
            if isinstance(merchant, dict):
                _resolve_fields(merchant, MERCHANT_SECRETS, f"merchants.{index}")
                app_secrets = merchant.get("app_secrets")
                if isinstance(app_secrets, dict):
                    kinds = tuple(k.removesuffix(_SUFFIX) for k in app_secrets if k.endswith(_SUFFIX))
                    _resolve_fields(app_secrets, kinds, f"merchants.{index}.app_secrets")
    admin = data.get("admin")
    if isinstance(admin, dict):
        _resolve_fields(admin, ADMIN_SECRETS, "admin")
    alerts = data.get("alerts")
    if isinstance(alerts, list):
        for index, sink in enumerate(alerts):
            if isinstance(sink, dict):
                _resolve_fields(sink, ALERT_SECRETS, f"alerts.{index}")


def _resolve_fields(section: dict[str, Any], names: tuple[str, ...], where: str) -> None:
    for name in names:
        path = section.pop(name + _SUFFIX, None)
        if path is None:
            continue
        setting = f"{where}.{name}{_SUFFIX}"
        if section.get(name) not in (None, [], ""):
            raise SecretFileError(f"{setting}: give {name} or {name}{_SUFFIX}, not both")
        if not isinstance(path, str | Path) or not str(path):
            raise SecretFileError(f"{setting}: must be the path of a file")
        text = _read(setting, Path(path))
        section[name] = _lines(setting, path, text) if name in _LISTS else text


def _read(setting: str, path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SecretFileError(f"{setting}: cannot read {path}: {reason}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretFileError(f"{setting}: {path} is not UTF-8 text") from None
    # Exactly one trailing newline (LF or CRLF) goes: the one an editor or `echo` adds. Anything else is the secret.
    text = text.removesuffix("\r\n") if text.endswith("\r\n") else text.removesuffix("\n")
    if not text:
        raise SecretFileError(f"{setting}: {path} is empty")
    return text


def _lines(setting: str, path: object, text: str) -> list[str]:
    keys = [line.strip() for line in text.splitlines() if line.strip()]
    if not keys:
        raise SecretFileError(f"{setting}: {path} holds no key (one per line)")
    return keys
