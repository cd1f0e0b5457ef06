"""Sample users and their API keys (DATA_MODEL.md, "Sample data"), as plain data.

A new API key is generated only when its row is created, and shown once in the report;
its hash is stored, never the key.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from apps.core.seeding import SeedReport, insert_missing, seed_id
from apps.users.tables import ApiKey, Role, User

ADMIN_EMAIL = "admin@gateway.example"
DEMO_EMAIL = "demo@gateway.example"
ENTERPRISE_EMAIL = "enterprise@gateway.example"

USERS: list[dict[str, Any]] = [
    {
        "email": ADMIN_EMAIL,
        "name": "Gateway Admin",
        "role": Role.ADMIN,
        "settings": {"notifications": True, "theme": "dark", "language": "en"},
    },
    {
        "email": DEMO_EMAIL,
        "name": "Demo User",
        "role": Role.USER,
        "settings": {"notifications": True, "theme": "light", "language": "en"},
    },
    {
        "email": ENTERPRISE_EMAIL,
        "name": "Enterprise Customer",
        "role": Role.ENTERPRISE,
        "settings": {
            "notifications": True,
            "theme": "dark",
            "language": "en",
            "feature_flags": {
                "advanced_analytics": True,
                "custom_models": True,
                "bulk_processing": True,
                "priority_support": True,
            },
        },
    },
]

# One key per user: (owner email, key label, scopes).
API_KEYS: list[tuple[str, str, list[str]]] = [
    (ADMIN_EMAIL, "admin console", ["admin", "read", "write"]),
    (DEMO_EMAIL, "demo integration", ["read", "write"]),
    (ENTERPRISE_EMAIL, "enterprise pipeline", ["read", "write", "bulk"]),
]


def user_id(email: str) -> Any:
    """The fixed id of the sample user with ``email``."""
    return seed_id("users", email)


def _new_api_key() -> tuple[str, str, str]:
    # TODO(lead): switch to the users service api_key_create once merged (it owns the
    # key format and hashing); this mirrors it: a random key, its prefix and sha256.
    key = "gw_" + secrets.token_urlsafe(32)
    return key, key[:11], hashlib.sha256(key.encode()).hexdigest()


async def seed_users() -> SeedReport:
    """Create the sample users and their API keys when missing."""
    report = SeedReport()
    # TODO(lead): switch to the users service user_create once merged.
    users = [{"id": user_id(user["email"]), **user} for user in USERS]
    created = await insert_missing(User, users)
    report.count("users", rows=len(users), created=len(created))

    keys: list[dict[str, Any]] = []
    plaintext: dict[Any, tuple[str, str]] = {}
    for email, label, scopes in API_KEYS:
        key, prefix, key_hash = _new_api_key()
        key_id = seed_id("api_keys", f"{email}/{label}")
        plaintext[key_id] = (email, key)
        keys.append(
            {
                "id": key_id,
                "user": user_id(email),
                "name": label,
                "prefix": prefix,
                "key_hash": key_hash,
                "scopes": scopes,
            }
        )
    # TODO(lead): switch to the users service api_key_create once merged.
    created_keys = await insert_missing(ApiKey, keys)
    report.count("api_keys", rows=len(keys), created=len(created_keys))
    for key_id in sorted(created_keys, key=str):
        email, key = plaintext[key_id]
        report.secrets.append(f"API key for {email} (shown once, store it now): {key}")
    return report
