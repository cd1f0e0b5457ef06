"""The one error base of the project; every app subclasses these.

An error carries a stable ``code`` for machines, and names the ``field`` and the ``rule``
it broke when there is one, so a caller can tell the user exactly what to fix.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    """Base of every error this project raises on purpose."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description, for HTTP responses and logs."""
        return {"code": self.code, "message": self.message, "field": self.field, "rule": self.rule}


class NotFoundError(GatewayError):
    """The row asked for does not exist (or is soft-deleted)."""

    code = "not_found"


class ConflictError(GatewayError):
    """The write collides with an existing row on a unique field."""

    code = "conflict"


class ValidationError(GatewayError):
    """A value breaks a rule of the data model."""

    code = "invalid"


class InvalidStateTransitionError(GatewayError):
    """A status change that the state machine does not allow.

    ``current`` and ``requested`` are the two status values; ``rule`` is ``current->requested``.
    """

    code = "invalid_transition"

    def __init__(
        self,
        message: str,
        *,
        current: str | None = None,
        requested: str | None = None,
        field: str | None = "status",
        rule: str | None = None,
    ) -> None:
        if rule is None and current is not None and requested is not None:
            rule = f"{current}->{requested}"
        super().__init__(message, field=field, rule=rule)
        self.current = current
        self.requested = requested


class ConfigurationError(GatewayError):
    """The settings or the database URL are wrong."""

    code = "configuration"


class DatabaseUnavailableError(GatewayError):
    """The database server cannot be reached or refuses the login."""

    code = "database_unavailable"


class PoolTimeoutError(GatewayError):
    """No pooled connection became free within the pool timeout."""

    code = "pool_timeout"


class StatementTimeoutError(GatewayError):
    """A statement ran past ``statement_timeout`` (or was cancelled); nothing of it stayed."""

    code = "statement_timeout"


class LockTimeoutError(GatewayError):
    """A row or table lock was not granted within ``lock_timeout``; try again later."""

    code = "lock_timeout"


class PermissionDeniedError(GatewayError):
    """The database role may not do this (DDL, the migration history, changing audit entries)."""

    code = "permission_denied"
