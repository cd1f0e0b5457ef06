"""The import as a service: open both connections, run it, close them."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

from apps.core.dburl import redact
from apps.core.errors import ValidationError
from apps.legacy.importer import ImportReport, ProgressCallback, import_prisma

__all__ = ["ImportReport", "prisma_import"]


def _source_dsn(url: str) -> str:
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme not in ("postgres", "postgresql"):
        raise ValidationError(
            f"--source must be a postgresql:// URL, not {redact(url)!r}",
            field="source",
            rule="url",
        )
    return url


async def prisma_import(
    *,
    source_url: str,
    dry_run: bool = False,
    strict: bool = False,
    full: bool = False,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import the Prisma-era database at ``source_url`` into the configured database.

    Raises ValidationError (source) and SourceSchemaError; see ``import_prisma``.
    """
    from apps.db.connection import dedicated_connection

    source = await asyncpg.connect(_source_dsn(source_url))
    try:
        async with dedicated_connection() as target:
            return await import_prisma(
                source=source,
                target=target,
                dry_run=dry_run,
                strict=strict,
                full=full,
                progress=progress,
            )
    finally:
        await source.close()
