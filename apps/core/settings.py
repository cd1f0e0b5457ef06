"""The one place that reads the environment.

Every other module asks :func:`get_settings` (or receives a :class:`Settings`), so what the
project can be configured with is written down here and nowhere else.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from apps.core.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Configuration from environment variables (and an optional `.env` file)."""

    model_config = SettingsConfigDict(
        env_prefix="GATEWAYDB_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="PostgreSQL URL; unset means the embedded server in data_dir.",
    )
    database_migration_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_MIGRATION_URL",
        description=(
            "PostgreSQL URL of the migration role (deploy, forwards, reset, restore); "
            "unset means DATABASE_URL."
        ),
    )
    database_replica_urls: str | None = Field(
        default=None,
        validation_alias="DATABASE_REPLICA_URLS",
        description=(
            "Comma-separated PostgreSQL URLs of hot standbys; lag-tolerant reads run there."
        ),
    )
    database_replica_max_lag: float = Field(
        default=5.0,
        ge=0,
        validation_alias="DATABASE_REPLICA_MAX_LAG",
        description="Seconds a replica may be behind before reads skip it.",
    )
    environment: Literal["development", "test", "production"] = Field(
        default="development", description="Production refuses destructive commands."
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / ".data" / "postgres",
        description="Data directory of the embedded PostgreSQL server.",
    )
    embedded_pg_stat_statements: bool = Field(
        default=True,
        description="The embedded server fetches (once) and preloads pg_stat_statements.",
    )
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1, description="Overridden by connection_limit.")
    pool_timeout: float = Field(
        default=10.0,
        ge=0,
        description="Seconds to wait for a free pooled connection; 0 waits for ever.",
    )
    connect_timeout: float = Field(default=5.0, ge=0, description="Seconds; 0 waits for ever.")
    log_queries: bool = False
    deploy_lock_timeout: float = Field(
        default=300.0,
        ge=0,
        description="Seconds `piccolo db deploy` waits for another deploy; 0 waits for ever.",
    )
    migration_lock_timeout: float = Field(
        default=10.0,
        ge=0,
        description="Seconds a migration may wait for a table lock before it fails; 0: no limit.",
    )
    pg_bin_dir: Path | None = Field(
        default=None,
        description="Folder of pg_dump/pg_restore/psql matching a DATABASE_URL server's version.",
    )
    secret_key: str = Field(
        default="development-only-secret-key",
        min_length=16,
        description="Signs pagination cursors and sessions; must be set in production.",
    )
    allowed_hosts: list[str] = Field(
        default=["*"],
        description='Host names the web app answers (JSON list, e.g. ["admin.example.com"]).',
    )
    admin_session_hours: float = Field(default=8.0, gt=0, description="Admin login lifetime.")
    admin_login_attempts: int = Field(
        default=10,
        ge=1,
        description="Failed admin logins per client, and per username, within the window.",
    )
    admin_login_window_seconds: int = Field(
        default=300,
        ge=1,
        description="Seconds a failed admin login counts; a block lifts as failures age out.",
    )
    admin_trusted_proxies: list[str] = Field(
        default=[],
        description="Proxy addresses or networks (JSON list) whose X-Forwarded-For is believed.",
    )
    admin_estimate_count_above: int = Field(
        default=100_000,
        ge=0,
        description="Big admin lists show the planner's row estimate above this many rows.",
    )
    embedder: Literal["auto", "hashed", "openai"] = Field(
        default="auto",
        description="Knowledge-base embedder: auto = openai when an API key is set, else hashed.",
    )
    embedding_api_key: SecretStr | None = Field(
        default=None, description="API key of the OpenAI-compatible embeddings endpoint."
    )
    embedding_api_base_url: str = Field(
        default="https://api.openai.com/v1",
        description="Base URL of the OpenAI-compatible API (POST {base}/embeddings).",
    )
    embedding_api_model: str = Field(default="text-embedding-3-small")
    embedding_batch_size: int = Field(default=64, ge=1, le=2048, description="Texts per call.")
    embedding_max_retries: int = Field(default=4, ge=0, le=10)
    embedding_timeout: float = Field(default=30.0, gt=0, description="Seconds per HTTP call.")
    metrics_enabled: bool = Field(
        default=True, description="Time and count every query (/metrics, the slow-query log)."
    )
    slow_query_ms: float = Field(
        default=200.0, ge=0, description="Queries at least this slow are logged (milliseconds)."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Bearer token that may read /metrics without an admin login.",
    )

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key.startswith("development-only"):
            raise ValueError("GATEWAYDB_SECRET_KEY must be set in production")
        return self

    @model_validator(mode="after")
    def _migration_url_needs_a_server(self) -> Settings:
        if self.database_migration_url and not self.database_url:
            raise ValueError(
                "DATABASE_MIGRATION_URL needs DATABASE_URL (the embedded server has one role)"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def allowed_hosts_for_csrf(self) -> list[str]:
        """The allowed hosts without the ``*`` wildcard (the CSRF referer check)."""
        return [host for host in self.allowed_hosts if host != "*"]


ENV_PREFIX = "GATEWAYDB_"


def setting_names() -> list[str]:
    """Every environment variable the project reads (``DATABASE_URL`` and ``GATEWAYDB_*``)."""
    names = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.append(alias if isinstance(alias, str) else f"{ENV_PREFIX}{name.upper()}")
    return names


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Refuse a ``GATEWAYDB_*`` variable that is not a setting (a typo would be ignored)."""
    environ = os.environ if environ is None else environ
    known = set(setting_names())
    for variable in sorted(environ):
        if not variable.upper().startswith(ENV_PREFIX) or variable.upper() in known:
            continue
        closest = difflib.get_close_matches(variable.upper(), sorted(known), n=1, cutoff=0.0)
        hint = f"; did you mean {closest[0]}?" if closest else ""
        raise ConfigurationError(f"unknown setting {variable} (not a GATEWAYDB_* setting){hint}")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once; an unknown ``GATEWAYDB_*`` variable is refused."""
    check_environment()
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            (f"GATEWAYDB_{'_'.join(str(p) for p in e['loc']).upper()}: " if e["loc"] else "")
            + e["msg"]
            for e in error.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None
