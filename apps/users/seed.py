"""Sample users and their API keys (docs/data-model.md, "Sample data"), as plain data.

A new API key is generated only when its row is created, and shown once in the report;
its hash is stored, never the key.
"""

from __future__ import annotations

import uuid
from typing import Any

from apps.core.seeding import SeedReport, seed_id
from apps.users import selectors, services
from apps.users.errors import ApiKeyNotFoundError, UserNotFoundError
from apps.users.tables import Role

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


def user_id(email: str) -> uuid.UUID:
    """The fixed id of the sample user with ``email``."""
    return seed_id("users", email)


async def seed_users() -> SeedReport:
    """Create the missing sample users and API keys through the users services."""
    report = SeedReport()
    created = 0
    for user in USERS:
        fixed_id = user_id(user["email"])
        try:
            await selectors.user_get(user_id=fixed_id, include_deleted=True)
        except UserNotFoundError:
            await services.user_create(user_id=fixed_id, **user)
            created += 1
    report.count("users", rows=len(USERS), created=created)

    created = 0
    for email, label, scopes in API_KEYS:
        key_id = seed_id("api_keys", f"{email}/{label}")
        try:
            await selectors.api_key_get(api_key_id=key_id)
        except ApiKeyNotFoundError:
            issued = await services.api_key_issue(
                api_key_id=key_id, user_id=user_id(email), name=label, scopes=scopes
            )
            report.secrets.append(f"API key for {email} (shown once, store it now): {issued.key}")
            created += 1
    report.count("api_keys", rows=len(API_KEYS), created=created)
    return report
