"""Monthly RANGE partitions of the history tables (``conversions``, ``performance_metrics``).

- :func:`convert_to_partitioned` / :func:`convert_to_plain` are the migration's forwards and
  backwards steps. Forwards takes no long exclusive lock: a ``NOT VALID`` CHECK (key before
  the start of next month) is validated and the unique index on (id, key) is built
  CONCURRENTLY while writers go on; then one short transaction renames the table, creates
  the partitioned parent (columns, defaults, checks, foreign keys, triggers, indexes) and
  ATTACHes the old table as the partition of everything before next month; the validated
  CHECK spares the scan, the existing indexes are attached, not rebuilt.
- :func:`ensure_partitions` creates the partitions of the coming months (``piccolo db
  partitions``); :func:`detach_before` detaches old ones (CONCURRENTLY) for archiving.

Months are UTC months. A row whose key has no partition (more than the created months ahead)
is refused by PostgreSQL ("no partition of relation ... found for row").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from piccolo.engine import engine_finder
from piccolo.engine.base import Engine

from apps.db.errors import PartitionError

# Attempts of the short exclusive step; each waits at most LOCK_TIMEOUT for its locks, so
# writers queued behind it are never held longer than that.
LOCK_ATTEMPTS = 20
LOCK_TIMEOUT = "2s"


@dataclass(frozen=True)
class History:
    table: str
    key: str  # the partition key column
    key_type: str  # "date" or "timestamptz"

    def literal(self, month: date) -> str:
        if self.key_type == "date":
            return f"'{month.isoformat()}'::date"
        return f"'{month.isoformat()} 00:00:00+00'::timestamptz"

    def partition(self, month: date) -> str:
        return f"{self.table}_y{month.year:04d}m{month.month:02d}"

    def history_partition(self, bound: date) -> str:
        return f"{self.table}_before_y{bound.year:04d}m{bound.month:02d}"

    def bound_check(self, bound: date) -> str:
        return f"{self.table}_before_y{bound.year:04d}m{bound.month:02d}_check"


HISTORY = (
    History("conversions", "timestamp", "timestamptz"),
    History("performance_metrics", "date", "date"),
)
LEDGER = "conversion_external_ids"

# conversions.external_id is unique across partitions through this ledger (a unique index
# on a partitioned table must contain the partition key). The ingestion claims ids in the
# same statement; this trigger keeps every other write (admin, SQL) honest too.
LEDGER_FUNCTION = f"""
CREATE OR REPLACE FUNCTION gatewaydb_conversion_external_id() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.external_id IS NOT DISTINCT FROM OLD.external_id
       AND NEW.id = OLD.id AND NEW."timestamp" = OLD."timestamp" THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.external_id IS NOT NULL THEN
        DELETE FROM {LEDGER} WHERE external_id = OLD.external_id AND conversion_id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.external_id IS NOT NULL THEN
        UPDATE {LEDGER} SET "timestamp" = NEW."timestamp"
        WHERE external_id = NEW.external_id AND conversion_id = NEW.id;
        IF NOT FOUND THEN
            INSERT INTO {LEDGER} (external_id, conversion_id, "timestamp")
            VALUES (NEW.external_id, NEW.id, NEW."timestamp")
            ON CONFLICT (external_id) DO NOTHING;
            IF NOT FOUND THEN
                RAISE unique_violation USING
                    MESSAGE = 'duplicate key value violates unique constraint '
                              '"conversions_external_id_key"',
                    DETAIL = format('Key (external_id)=(%s) already exists.', NEW.external_id),
                    CONSTRAINT = 'conversions_external_id_key',
                    TABLE = 'conversions', COLUMN = 'external_id';
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END $$
"""
LEDGER_TRIGGER = (
    "CREATE TRIGGER conversions_external_id_unique AFTER INSERT OR UPDATE OR DELETE "
    "ON conversions FOR EACH ROW EXECUTE FUNCTION gatewaydb_conversion_external_id()"
)


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def this_month() -> date:
    return month_start(datetime.now(UTC).date())


def _engine() -> Engine[Any]:
    engine = engine_finder()
    assert engine is not None, "piccolo_conf.py defines no engine"
    return engine


async def _rows(sql: str) -> list[dict[str, Any]]:
    return list(await _engine().run_ddl(sql) or [])


async def is_partitioned(table: str) -> bool:
    rows = await _rows(
        f"SELECT relkind::text AS relkind FROM pg_class WHERE oid = to_regclass('{table}')"
    )
    return bool(rows) and rows[0]["relkind"] == "p"


@dataclass(frozen=True)
class Partition:
    name: str
    lower: date | None  # None: MINVALUE
    upper: date | None  # None: MAXVALUE


_BOUND = re.compile(r"FROM \((?P<lower>[^)]*)\) TO \((?P<upper>[^)]*)\)")


def _bound_date(text: str) -> date | None:
    if text in ("MINVALUE", "MAXVALUE"):
        return None
    return date.fromisoformat(text.strip("'")[:10])


async def list_partitions(history: History) -> list[Partition]:
    """The partitions of ``history`` in key order (bounds read in UTC)."""
    engine = _engine()
    async with engine.transaction():
        await engine.run_ddl("SET LOCAL TimeZone = 'UTC'")
        rows = await engine.run_ddl(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            f"WHERE i.inhparent = '{history.table}'::regclass"
        )
    partitions = []
    for row in rows or []:
        match = _BOUND.search(row["bound"])
        if match is None:  # a DEFAULT partition: not created by this module
            continue
        partitions.append(
            Partition(row["relname"], _bound_date(match["lower"]), _bound_date(match["upper"]))
        )
    return sorted(partitions, key=lambda p: p.lower or date.min)


async def _exclusive_step(statements: list[str]) -> None:
    """Run ``statements`` in one transaction, retrying when a lock is not granted in time."""
    engine = _engine()
    for attempt in range(LOCK_ATTEMPTS):
        try:
            async with engine.transaction():
                await engine.run_ddl(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                for statement in statements:
                    await engine.run_ddl(statement)
            return
        except asyncpg.LockNotAvailableError:
            if attempt == LOCK_ATTEMPTS - 1:
                raise


async def _catalog(table: str) -> dict[str, list[dict[str, Any]]]:
    oid = f"'{table}'::regclass"
    return {
        "indexes": await _rows(
            "SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition, "
            "c.conname AS constraint_name, c.contype::text AS contype "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid "
            f"WHERE x.indrelid = {oid} ORDER BY i.relname"
        ),
        "foreign_keys": await _rows(
            "SELECT conname AS name, pg_get_constraintdef(oid) AS definition "
            f"FROM pg_constraint WHERE conrelid = {oid} AND contype = 'f' ORDER BY conname"
        ),
        "triggers": await _rows(
            "SELECT tgname AS name, pg_get_triggerdef(oid) AS definition FROM pg_trigger "
            f"WHERE tgrelid = {oid} AND NOT tgisinternal ORDER BY tgname"
        ),
        "comment": await _rows(f"SELECT obj_description({oid}, 'pg_class') AS text"),
    }


def _renamed(name: str, table: str, new_table: str) -> str:
    suffix = name[len(table) :] if name.startswith(table) else "_" + name
    return (new_table + suffix)[:63]


async def convert_to_partitioned(history: History, *, today: date | None = None) -> None:
    """Forwards: turn the plain ``history`` table into a partitioned one, keeping every row."""
    if await is_partitioned(history.table):
        return
    table, key = history.table, history.key
    engine = _engine()
    # The history partition ends at the start of next month, or after the latest row when
    # some are dated later (read through the index on the key).
    bound = add_months(month_start(today or datetime.now(UTC).date()), 1)
    async with engine.transaction():
        await engine.run_ddl("SET LOCAL TimeZone = 'UTC'")
        latest = await _rows(f'SELECT max("{key}")::date AS latest FROM {table}')
    if latest and latest[0]["latest"] is not None:
        bound = max(bound, add_months(month_start(latest[0]["latest"]), 1))
    old = history.history_partition(bound)
    check = history.bound_check(bound)
    # 1. Outside any long lock: the CHECK (validated under SHARE UPDATE EXCLUSIVE) and the
    #    future primary key's index, built concurrently.
    await engine.run_ddl(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {check}")
    await engine.run_ddl(
        f'ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ("{key}" < {history.literal(bound)}) '
        "NOT VALID"
    )
    try:
        await engine.run_ddl(f"ALTER TABLE {table} VALIDATE CONSTRAINT {check}")
    except asyncpg.CheckViolationError:
        # A row dated later arrived meanwhile: leave the table as it was; run again.
        await engine.run_ddl(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {check}")
        raise
    new_pkey = f"{table}_id_{key}_key"
    await engine.run_ddl(f"DROP INDEX CONCURRENTLY IF EXISTS {new_pkey}")
    await engine.run_ddl(f'CREATE UNIQUE INDEX CONCURRENTLY {new_pkey} ON {table} (id, "{key}")')
    if table == "conversions":
        await engine.run_ddl(
            f"CREATE TABLE IF NOT EXISTS {LEDGER} ("
            "external_id text NOT NULL DEFAULT '' PRIMARY KEY, "
            "conversion_id uuid NOT NULL DEFAULT gen_random_uuid(), "
            '"timestamp" timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP)'
        )
        await engine.run_ddl(LEDGER_FUNCTION)
        await engine.run_ddl("DROP TRIGGER IF EXISTS conversions_external_id_unique ON conversions")
        await engine.run_ddl(LEDGER_TRIGGER)
        # New rows are claimed by the trigger from here on; the backfill claims the rest.
        await engine.run_ddl(
            f'INSERT INTO {LEDGER} (external_id, conversion_id, "timestamp") '
            'SELECT external_id, id, "timestamp" FROM conversions '
            "WHERE external_id IS NOT NULL ON CONFLICT (external_id) DO NOTHING"
        )
    catalog = await _catalog(table)
    # 2. The short exclusive step.
    steps = [f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE", f"ALTER TABLE {table} RENAME TO {old}"]
    parent_indexes: list[str] = []
    for index in catalog["indexes"]:
        name, definition = index["name"], index["definition"]
        if name == f"{table}_pkey" or name == new_pkey:
            continue
        if index["contype"] == "u" and name == "conversions_external_id_key":
            steps.append(f"ALTER TABLE {old} DROP CONSTRAINT {name}")  # the ledger rules now
            continue
        renamed = _renamed(name, table, old)
        if index["constraint_name"]:
            steps.append(f"ALTER TABLE {old} RENAME CONSTRAINT {name} TO {renamed}")
            columns = definition[definition.index(" USING btree ") + len(" USING btree ") :]
            parent_indexes.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE {columns}")
        else:
            steps.append(f"ALTER INDEX {name} RENAME TO {renamed}")
            parent_indexes.append(definition.replace(f" ON public.{table} ", f" ON {table} ", 1))
    steps += [
        f"ALTER TABLE {old} DROP CONSTRAINT {table}_pkey",
        f"ALTER TABLE {old} ADD CONSTRAINT {old}_pkey PRIMARY KEY USING INDEX {new_pkey}",
    ]
    steps += [f"DROP TRIGGER {trigger['name']} ON {old}" for trigger in catalog["triggers"]]
    steps += [
        f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        "INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS) "
        f'PARTITION BY RANGE ("{key}")',
        f"ALTER TABLE {table} DROP CONSTRAINT {check}",
        f'ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id, "{key}")',
        *parent_indexes,
        *(
            f"ALTER TABLE {table} ADD CONSTRAINT {fk['name']} {fk['definition']}"
            for fk in catalog["foreign_keys"]
        ),
        *(
            trigger["definition"].replace(f" ON public.{old} ", f" ON {table} ", 1)
            for trigger in catalog["triggers"]
        ),
        f"ALTER TABLE {table} ATTACH PARTITION {old} "
        f"FOR VALUES FROM (MINVALUE) TO ({history.literal(bound)})",
    ]
    comment = catalog["comment"][0]["text"] if catalog["comment"] else None
    if comment:
        steps.append(f"COMMENT ON TABLE {table} IS '{comment.replace(chr(39), chr(39) * 2)}'")
    await _exclusive_step(steps)
    await ensure_partitions(history, months=3, today=today)


async def ensure_partitions(
    history: History, *, months: int = 3, today: date | None = None
) -> list[str]:
    """Create the partitions of this month and the next ``months`` that are missing.

    Each is created as a plain table and ATTACHed (SHARE UPDATE EXCLUSIVE on the parent:
    reads and writes go on). Returns the names created.
    """
    if not await is_partitioned(history.table):
        return []
    first = month_start(today or datetime.now(UTC).date())
    existing = await list_partitions(history)
    unique = await _rows(
        "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
        f"WHERE conrelid = '{history.table}'::regclass AND contype = 'u'"
    )
    created = []
    for offset in range(months + 1):
        month = add_months(first, offset)
        covered = any(
            (p.lower is None or p.lower <= month) and (p.upper is None or month < p.upper)
            for p in existing
        )
        if covered:
            continue
        name, table = history.partition(month), history.table
        await _exclusive_step(
            [
                f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                "INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMPRESSION)",
                # Named after the parent's (one_row_per_day): errors name the rule broken.
                *(
                    f"ALTER TABLE {name} ADD CONSTRAINT {name}_{c['conname']} {c['definition']}"
                    for c in unique
                ),
                f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM "
                f"({history.literal(month)}) TO ({history.literal(add_months(month, 1))})",
            ]
        )
        existing.append(Partition(name, month, add_months(month, 1)))
        created.append(name)
    return created


async def detach_before(history: History, month: date) -> list[str]:
    """Detach (CONCURRENTLY) every partition wholly before ``month``; nothing is dropped.

    The detached tables keep their rows and names, ready to be archived (pg_dump -t) and
    dropped by an operator. Their external_ids stay in the ledger: a re-delivered archived
    conversion is still recognised as a duplicate.
    """
    if not await is_partitioned(history.table):
        return []
    detached = []
    for partition in await list_partitions(history):
        if partition.upper is not None and partition.upper <= month:
            await _engine().run_ddl(
                f"ALTER TABLE {history.table} DETACH PARTITION {partition.name} CONCURRENTLY"
            )
            detached.append(partition.name)
    return detached


async def convert_to_plain(history: History) -> None:
    """Backwards: merge the partitions back into one plain table, keeping every row."""
    if not await is_partitioned(history.table):
        return
    table = history.table
    partitions = await list_partitions(history)
    base = next((p for p in partitions if p.lower is None), None)
    if base is None:
        raise PartitionError(
            f"{table} has no partition of its history (FROM MINVALUE): cannot convert it back",
            field=table,
            rule="history_partition",
        )
    engine = _engine()
    # Built before the lock: the old primary key's index on the largest partition.
    await engine.run_ddl(f"DROP INDEX CONCURRENTLY IF EXISTS {table}_pkey_restored")
    await engine.run_ddl(
        f"CREATE UNIQUE INDEX CONCURRENTLY {table}_pkey_restored ON {base.name} (id)"
    )
    catalog = await _catalog(table)
    # Each index of the base partition and the parent index it is attached to (whose name
    # it takes back).
    base_indexes = await _rows(
        "SELECT ci.relname AS name, pi.relname AS parent_name, c.contype::text AS contype "
        "FROM pg_index x JOIN pg_class ci ON ci.oid = x.indexrelid "
        "LEFT JOIN pg_inherits i ON i.inhrelid = x.indexrelid "
        "LEFT JOIN pg_class pi ON pi.oid = i.inhparent "
        "LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid "
        f"WHERE x.indrelid = '{base.name}'::regclass"
    )
    bound_checks = await _rows(
        f"SELECT conname FROM pg_constraint WHERE conrelid = '{base.name}'::regclass "
        f"AND contype = 'c' AND conname LIKE '{table}\\_before\\_y%\\_check'"
    )
    others = [p.name for p in partitions if p.name != base.name]
    steps = [f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"]
    steps += [f"ALTER TABLE {table} DETACH PARTITION {p.name}" for p in partitions]
    steps += [f"ALTER TABLE {base.name} DROP CONSTRAINT {c['conname']}" for c in bound_checks]
    steps += [f"INSERT INTO {base.name} SELECT * FROM {name}" for name in others]
    steps += [f"DROP TABLE {name}" for name in others]
    steps.append(f"DROP TABLE {table}")
    steps += [f"ALTER TABLE {base.name} RENAME TO {table}"]
    for index in base_indexes:
        name, original = index["name"], index["parent_name"]
        if name == f"{table}_pkey_restored":
            continue
        if index["contype"] == "p":
            steps.append(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        elif original is None:
            continue
        elif index["contype"]:
            steps.append(f"ALTER TABLE {table} RENAME CONSTRAINT {name} TO {original}")
        else:
            steps.append(f"ALTER INDEX {name} RENAME TO {original}")
    steps += [
        f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY USING INDEX "
        f"{table}_pkey_restored",
    ]
    for trigger in catalog["triggers"]:
        if trigger["name"] == "conversions_external_id_unique":
            continue
        steps.append(trigger["definition"].replace(f" ON public.{table} ", f" ON {table} ", 1))
    comment = catalog["comment"][0]["text"] if catalog["comment"] else None
    if comment:
        steps.append(f"COMMENT ON TABLE {table} IS '{comment.replace(chr(39), chr(39) * 2)}'")
    await _exclusive_step(steps)
    if table == "conversions":
        await engine.run_ddl("DROP INDEX CONCURRENTLY IF EXISTS conversions_external_id_restored")
        await engine.run_ddl(
            "CREATE UNIQUE INDEX CONCURRENTLY conversions_external_id_restored "
            "ON conversions (external_id)"
        )
        await engine.run_ddl(
            "ALTER TABLE conversions ADD CONSTRAINT conversions_external_id_key "
            "UNIQUE USING INDEX conversions_external_id_restored"
        )
        await engine.run_ddl(f"DROP TABLE IF EXISTS {LEDGER}")
        await engine.run_ddl("DROP FUNCTION IF EXISTS gatewaydb_conversion_external_id()")


async def cover_months(
    conn: asyncpg.Connection, history: History, first: date, last: date
) -> list[str]:
    """On ``conn`` (inside its transaction), create the missing partitions from ``first``'s
    month to ``last``'s: for a bulk load (the Prisma import) of rows dated ahead."""
    rows = await conn.fetch(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound "
        "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        f"WHERE i.inhparent = '{history.table}'::regclass"
    )
    existing = []
    for row in rows:
        match = _BOUND.search(row["bound"])
        if match:
            lower, upper = _bound_date(match["lower"]), _bound_date(match["upper"])
            existing.append(Partition(row["relname"], lower, upper))
    unique = await conn.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
        f"WHERE conrelid = '{history.table}'::regclass AND contype = 'u'"
    )
    created = []
    month = month_start(first)
    while month <= last:
        covered = any(
            (p.lower is None or p.lower <= month) and (p.upper is None or month < p.upper)
            for p in existing
        )
        if not covered:
            name, table = history.partition(month), history.table
            await conn.execute(
                f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                "INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMPRESSION)"
            )
            for c in unique:
                await conn.execute(
                    f"ALTER TABLE {name} ADD CONSTRAINT {name}_{c['conname']} {c['definition']}"
                )
            await conn.execute(
                f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM "
                f"({history.literal(month)}) TO ({history.literal(add_months(month, 1))})"
            )
            existing.append(Partition(name, month, add_months(month, 1)))
            created.append(name)
        month = add_months(month, 1)
    return created
