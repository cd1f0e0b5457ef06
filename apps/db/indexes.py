"""Invalid indexes: what an interrupted ``CREATE INDEX CONCURRENTLY`` leaves behind.

PostgreSQL keeps such an index (``pg_index.indisvalid = false``): it is never used by the
planner but still slows every write, and ``CREATE INDEX CONCURRENTLY IF NOT EXISTS`` then
skips the build because the name exists. Deploy and doctor report them.
"""

from __future__ import annotations

import asyncpg

from apps.core import rawsql

INVALID_INDEXES_SQL = rawsql.statement(
    """
SELECT c.relname AS index_name, t.relname AS table_name
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
WHERE NOT i.indisvalid
  AND c.relnamespace = ANY (current_schemas(false)::regnamespace[])
ORDER BY c.relname
""",
    owner=__name__,
)


async def invalid_indexes(connection: asyncpg.Connection) -> list[str]:
    """``index on table`` for every invalid index of the schemas on the search path."""
    rows = await connection.fetch(INVALID_INDEXES_SQL)
    return [f"{row['index_name']} on {row['table_name']}" for row in rows]


def invalid_index_advice(found: list[str]) -> str:
    """One line that names the invalid indexes and says how to repair them."""
    return (
        f"{len(found)} invalid index(es) (an interrupted concurrent build): "
        + ", ".join(found)
        + "; drop each with DROP INDEX CONCURRENTLY and run the migration that builds it again"
    )
