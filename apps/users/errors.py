"""Errors of the users app; each subclasses an error of :mod:`apps.core.errors`."""

from __future__ import annotations

from apps.core.errors import ConflictError, GatewayError, NotFoundError


class UserNotFoundError(NotFoundError):
    """No live user has this id or email."""

    code = "user_not_found"


class EmailTakenError(ConflictError):
    """Another user already has this email (compared case-insensitively)."""

    code = "email_taken"


class InvalidCredentialsError(GatewayError):
    """The email and password do not match a live user with a password."""

    code = "invalid_credentials"


class ApiKeyNotFoundError(NotFoundError):
    """No API key of a live user has this id."""

    code = "api_key_not_found"


class InvalidApiKeyError(GatewayError):
    """The presented API key is unknown, revoked or expired (deliberately not told which)."""

    code = "invalid_api_key"


class ApiKeyScopeError(GatewayError):
    """The API key is valid but lacks a scope the operation requires."""

    code = "api_key_scope"
