"""Raw driver errors become the project's typed errors, naming the field and the rule.

Services wrap their queries in ``async with translate_errors():``; nothing from asyncpg
escapes to a caller.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

import asyncpg

from apps.core.errors import (
    ConflictError,
    DatabaseUnavailableError,
    GatewayError,
    LockTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    StatementTimeoutError,
    ValidationError,
)

_KEY_DETAIL = re.compile(r"Key \((?P<columns>.+?)\)=")
_PRIVILEGE_TARGET = re.compile(
    r"(?:for|of) (?:table|relation|sequence|schema|database|view|function) \"?([\w.]+)"
)
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_SQL_WORDS = frozenset(
    {"lower", "btrim", "and", "or", "not", "like", "in", "is", "null", "coalesce"}
)


@cache
def _check_constraint_fields() -> dict[tuple[str, str], str]:
    """(table, constraint) -> the first column its condition mentions."""
    from piccolo.conf.apps import Finder
    from piccolo.constraints import Check

    fields: dict[tuple[str, str], str] = {}
    for table in Finder().get_table_classes():
        columns = {column._meta.db_column_name for column in table._meta.columns}
        for constraint in table._meta.constraints:
            if isinstance(constraint, Check):
                words = _IDENTIFIER.findall(constraint.get_condition_str())
                field = next((word for word in words if word in columns), None)
                if field:
                    fields[(table._meta.tablename, constraint._meta.name)] = field
    return fields


def _columns_from_detail(detail: str | None) -> str | None:
    match = _KEY_DETAIL.search(detail or "")
    if not match:
        return None
    words = [w for w in _IDENTIFIER.findall(match.group("columns")) if w not in _SQL_WORDS]
    return ", ".join(words) or None


# A monthly partition (conversions_y2026m12, conversions_before_y2026m12) reports its own
# name: errors name the partitioned table.
_PARTITION_SUFFIX = re.compile(r"_(?:before_)?y\d{4}m\d{2}$")


def translate(error: asyncpg.PostgresError) -> GatewayError:
    """The typed error for a database error (its message never includes row values)."""
    table = getattr(error, "table_name", None)
    if table:
        table = _PARTITION_SUFFIX.sub("", table)
    constraint = getattr(error, "constraint_name", None)
    if isinstance(error, asyncpg.UniqueViolationError):
        field = _columns_from_detail(getattr(error, "detail", None)) or constraint
        return ConflictError(
            f"{table or 'row'}: another row already has this {field}",
            field=field,
            rule="unique",
        )
    if isinstance(error, asyncpg.NotNullViolationError):
        field = getattr(error, "column_name", None)
        return ValidationError(f"{table}.{field} is required", field=field, rule="required")
    if isinstance(error, asyncpg.CheckViolationError):
        field = _check_constraint_fields().get((table or "", constraint or ""))
        return ValidationError(
            f"{table}.{field or '?'} breaks the rule {constraint}", field=field, rule=constraint
        )
    if isinstance(error, asyncpg.ForeignKeyViolationError):
        field = _columns_from_detail(getattr(error, "detail", None))
        return NotFoundError(
            f"{table}.{field}: the referenced row does not exist", field=field, rule="exists"
        )
    if isinstance(error, asyncpg.DataError):
        return ValidationError(f"invalid value: {error.args[0] if error.args else error}")
    if isinstance(error, asyncpg.InsufficientPrivilegeError):
        # "permission denied for table migration", "must be owner of table users": the
        # object refused is the field; the rule is the privilege the role lacks.
        target = _PRIVILEGE_TARGET.search(str(error))
        return PermissionDeniedError(
            f"permission denied: {error}",
            field=target.group(1) if target else table,
            rule="owner" if "must be owner" in str(error) else "privilege",
        )
    if isinstance(error, asyncpg.QueryCanceledError):
        return StatementTimeoutError(
            f"the statement was cancelled (statement_timeout or a cancel request): {error}",
            rule="statement_timeout",
        )
    if isinstance(error, asyncpg.LockNotAvailableError):
        return LockTimeoutError(
            f"a lock was not granted in time (lock_timeout): {error}", rule="lock_timeout"
        )
    if isinstance(
        error,
        asyncpg.CannotConnectNowError
        | asyncpg.ConnectionDoesNotExistError
        | asyncpg.AdminShutdownError
        | asyncpg.CrashShutdownError,
    ):
        return DatabaseUnavailableError(f"the database connection failed: {error}")
    return GatewayError(f"database error ({type(error).__name__}): {error}")


@asynccontextmanager
async def translate_errors() -> AsyncIterator[None]:
    """Re-raise asyncpg errors raised inside the block as typed errors."""
    try:
        yield
    except asyncpg.PostgresError as error:
        raise translate(error) from error
    except asyncpg.InterfaceError as error:
        raise DatabaseUnavailableError(f"the database connection failed: {error}") from error
