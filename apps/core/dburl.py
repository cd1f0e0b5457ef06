"""Parsing of ``DATABASE_URL``, including the pool parameters of Prisma connection strings.

Old Prisma URLs keep working: ``connection_limit`` (pool size), ``pool_timeout`` (seconds to
wait for a free connection), ``connect_timeout``, ``schema``, ``pgbouncer`` and
``statement_cache_size``. The libpq parameters that asyncpg understands (``sslmode``,
``sslrootcert``, ``host`` for a unix socket directory, ...) pass through to it. Anything
else is refused with an error that names the parameter; the password is never shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from apps.core.errors import ConfigurationError

SCHEMES = ("postgres", "postgresql")

# Understood by asyncpg's own DSN parser; passed through untouched.
LIBPQ_PARAMETERS = frozenset(
    {
        "host",
        "port",
        "user",
        "password",
        "dbname",
        "passfile",
        "sslmode",
        "sslcert",
        "sslkey",
        "sslrootcert",
        "sslcrl",
        "sslpassword",
        "sslnegotiation",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "target_session_attrs",
        "application_name",
    }
)
# Prisma's parameters, translated into pool and connection settings.
PRISMA_PARAMETERS = frozenset(
    {
        "connection_limit",
        "pool_timeout",
        "connect_timeout",
        "schema",
        "pgbouncer",
        "statement_cache_size",
        "socket_timeout",
    }
)
SSL_MODES = frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})


@dataclass(frozen=True)
class DatabaseUrl:
    """What a database URL says, split into connection and pool settings."""

    dsn: str = field(repr=False)
    host: str | None
    port: int | None
    user: str | None
    password: str | None = field(repr=False)
    database: str
    pool_max_size: int | None = None
    pool_timeout: float | None = None
    connect_timeout: float | None = None
    command_timeout: float | None = None
    statement_cache_size: int | None = None
    search_path: str | None = None
    pgbouncer: bool = False

    @property
    def redacted(self) -> str:
        """The URL with the password replaced, safe to print and log."""
        return redact(self.dsn)

    def asyncpg_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``asyncpg.connect`` (and so for the pool)."""
        arguments: dict[str, Any] = {"dsn": self.dsn}
        if self.connect_timeout:
            arguments["timeout"] = self.connect_timeout
        if self.command_timeout:
            arguments["command_timeout"] = self.command_timeout
        if self.statement_cache_size is not None:
            arguments["statement_cache_size"] = self.statement_cache_size
        if self.search_path is not None:
            arguments["server_settings"] = {"search_path": self.search_path}
        return arguments


def redact(url: str) -> str:
    """Replace the password of a URL (if any) with ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<malformed URL>"
    if parts.password is None:
        return url
    userinfo = f"{parts.username or ''}:***@"
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=userinfo + host))


def _number(name: str, raw: str, *, integer: bool, minimum: float) -> float:
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ConfigurationError(
            f"DATABASE_URL parameter {name}={raw!r} must be {kind}", field=name, rule="number"
        ) from None
    if not math.isfinite(value) or value < minimum:
        raise ConfigurationError(
            f"DATABASE_URL parameter {name}={raw!r} must be >= {minimum:g}",
            field=name,
            rule="min",
        )
    return value


def _timeout(name: str, raw: str) -> float:
    """Seconds; as in Prisma, 0 means no timeout."""
    return _number(name, raw, integer=False, minimum=0)


def parse_database_url(url: str) -> DatabaseUrl:
    """Parse and check a PostgreSQL URL; raise :class:`ConfigurationError` naming the problem."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ConfigurationError(
            f"DATABASE_URL is malformed ({error}): {redact(url)}", field="DATABASE_URL", rule="url"
        ) from None
    if parts.scheme not in SCHEMES:
        raise ConfigurationError(
            f"DATABASE_URL must start with postgres:// or postgresql://, not {parts.scheme!r}://",
            field="DATABASE_URL",
            rule="scheme",
        )
    if parts.fragment:
        raise ConfigurationError(
            "DATABASE_URL must not contain a '#' fragment", field="DATABASE_URL", rule="url"
        )
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ConfigurationError(
            f"DATABASE_URL has a malformed query string: {parts.query!r}",
            field="DATABASE_URL",
            rule="url",
        ) from None

    query: dict[str, str] = {}
    for name, value in pairs:
        if name in query:
            raise ConfigurationError(
                f"DATABASE_URL parameter {name!r} is given twice", field=name, rule="unique"
            )
        if name not in LIBPQ_PARAMETERS and name not in PRISMA_PARAMETERS:
            known = ", ".join(sorted(LIBPQ_PARAMETERS | PRISMA_PARAMETERS))
            raise ConfigurationError(
                f"DATABASE_URL has an unknown parameter {name!r} (supported: {known})",
                field=name,
                rule="unknown_parameter",
            )
        query[name] = value

    if "sslmode" in query and query["sslmode"] not in SSL_MODES:
        raise ConfigurationError(
            f"DATABASE_URL parameter sslmode={query['sslmode']!r} must be one of "
            + ", ".join(sorted(SSL_MODES)),
            field="sslmode",
            rule="one_of",
        )

    settings: dict[str, Any] = {}
    if "connection_limit" in query:
        settings["pool_max_size"] = int(
            _number("connection_limit", query.pop("connection_limit"), integer=True, minimum=1)
        )
    if "pool_timeout" in query:
        settings["pool_timeout"] = _timeout("pool_timeout", query.pop("pool_timeout"))
    if "connect_timeout" in query:
        settings["connect_timeout"] = _timeout("connect_timeout", query.pop("connect_timeout"))
    if "socket_timeout" in query:
        settings["command_timeout"] = _timeout("socket_timeout", query.pop("socket_timeout"))
    if "statement_cache_size" in query:
        settings["statement_cache_size"] = int(
            _number(
                "statement_cache_size",
                query.pop("statement_cache_size"),
                integer=True,
                minimum=0,
            )
        )
    if "pgbouncer" in query:
        flag = query.pop("pgbouncer").lower()
        if flag not in ("true", "false"):
            raise ConfigurationError(
                f"DATABASE_URL parameter pgbouncer={flag!r} must be true or false",
                field="pgbouncer",
                rule="type",
            )
        if flag == "true":
            # Transaction pooling cannot keep prepared statements between transactions.
            settings["statement_cache_size"] = 0
            settings["pgbouncer"] = True
            if "schema" in query:
                # PgBouncer refuses (or, told to ignore it, drops) a search_path sent at
                # connect time: the schema would silently be public.
                raise ConfigurationError(
                    "DATABASE_URL parameter schema cannot be used with pgbouncer=true "
                    "(PgBouncer does not pass search_path on); set the role's search_path "
                    "with ALTER ROLE ... SET search_path instead",
                    field="schema",
                    rule="pgbouncer_incompatible",
                )
    if "schema" in query:
        settings["search_path"] = query.pop("schema")
    if "port" in query:
        port = int(_number("port", query["port"], integer=True, minimum=1))

    user = unquote(parts.username) if parts.username else query.get("user")
    password = unquote(parts.password) if parts.password is not None else query.get("password")
    database = unquote(parts.path.lstrip("/")) or query.get("dbname") or user or "postgres"
    host = query.get("host") or (unquote(parts.hostname) if parts.hostname else None)
    if not host:
        raise ConfigurationError(
            "DATABASE_URL names no host: give one (postgresql://host/db) or a socket "
            "directory (?host=/path)",
            field="host",
            rule="required",
        )
    dsn = urlunsplit(parts._replace(query=urlencode(query, quote_via=quote), fragment=""))
    return DatabaseUrl(
        dsn=dsn,
        host=host,
        port=port,
        user=user,
        password=password,
        database=database,
        **settings,
    )
