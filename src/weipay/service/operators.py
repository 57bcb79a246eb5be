"""Who is an operator: an admin API key, or the console's user and password (constant-time comparisons).

The API (``/v1/jobs`` with an admin key) and the console (its login) both ask here, so neither imports the other.
"""

from __future__ import annotations

import hmac

from .settings import AdminSettings

__all__ = ["check_credentials"]


def check_credentials(admin: AdminSettings, *, api_key: str = "", username: str = "", password: str = "") -> str | None:
    """The operator name if the key or user/password is right, else None."""
    if api_key:
        for index, key in enumerate(admin.api_keys):
            if hmac.compare_digest(api_key.encode(), key.get_secret_value().encode()):
                return f"admin-key-{index + 1}"
    if username and password and admin.username and admin.password:
        user_ok = hmac.compare_digest(username.encode(), admin.username.encode())
        password_ok = hmac.compare_digest(password.encode(), admin.password.get_secret_value().encode())
        if user_ok and password_ok:
            return admin.username
    return None
