"""Errors of the Prisma-era import; each is printed as one line by the CLI."""

from __future__ import annotations

from apps.core.errors import GatewayError


class SourceSchemaError(GatewayError):
    """The source database does not hold the Prisma-era schema the import expects."""

    code = "source_schema"


class SourceLostError(GatewayError):
    """The connection to the source broke while its rows were being read."""

    code = "source_lost"


class StrictRefusedError(GatewayError):
    """``--strict`` was given and some rows would be repaired or quarantined."""

    code = "strict_refused"
