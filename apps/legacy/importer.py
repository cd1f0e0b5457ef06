"""Copy the Prisma-era database into this one: ``piccolo db import-prisma``.

How (the rules themselves are in docs/import-prisma.md):

1. The source is read in one ``REPEATABLE READ, READ ONLY`` transaction; each known table is
   streamed with ``COPY (SELECT ...) TO STDOUT`` straight into ``COPY ... FROM STDIN`` of a
   temporary staging table on the target (text format: every value crosses byte for byte,
   naive UTC timestamps are turned into ``timestamptz`` by the source's own ``AT TIME ZONE``,
   and the source also sends, beside each old id, the UUID it spells: ``new_<column>``).
2. Everything else is set-based SQL in ONE target transaction: old ids that are not UUIDs get
   their uuid5 in ``prisma_id_map``; repairs rewrite staging rows; the target's own CHECK
   constraints, NOT NULL columns and unique rules are evaluated on the staging rows, and the
   rows that break one go to ``prisma_quarantine`` with every row that depends on them;
   the rest is upserted by id (a row equal to the target's is not touched). Into empty
   tables (a first import) the rows are inserted with every key, index and foreign key set
   aside, and those are rebuilt afterwards, as ``pg_restore`` does.
3. A dry run, a ``--strict`` refusal or any failure rolls that transaction back: the target
   is exactly as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import asyncpg

from apps.core.engine import BROKEN_CONNECTION_ERRORS
from apps.core.rawsql import statement
from apps.legacy.errors import SourceLostError, SourceSchemaError
from apps.legacy.spec import (
    API_KEY_NAME,
    API_KEY_SCOPES,
    EMBEDDING_DIMENSIONS,
    PRISMA_HISTORY_TABLE,
    TABLE_NAMES,
    TABLES,
    TableSpec,
    mapped_id,
    snake_case,
)

ProgressCallback = Callable[[str, int, int], None]
_REPORTED_MISSING = 1000  # ids listed per table when rows are gone from the source
_API_KEY_DISPLAY_LENGTH = 11  # as many characters as a new key's display prefix (gw_ + 8)
# A re-run reads the rows whose updatedAt >= the last run's largest one less this margin: a
# row written by a transaction that was still open then (Prisma stamps updatedAt when the
# statement runs, not when it commits) comes across if that transaction lasted less.
DELTA_MARGIN = datetime.timedelta(minutes=5)
_SOURCE_UPDATED_AT = "updatedAt"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(slots=True)
class TableCounts:
    """Per source table: ``source == imported + quarantined``."""

    source: int = 0
    imported: int = 0
    repaired: int = 0
    quarantined: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    missing_in_source: int = 0
    # a re-run: rows read since this mark (updatedAt), of source_total rows in the table
    read_since: datetime.datetime | None = None
    source_total: int = 0


@dataclass(slots=True)
class ImportReport:
    """What a run read, wrote, repaired and quarantined."""

    tables: dict[str, TableCounts] = field(default_factory=dict)
    api_keys: dict[str, int] = field(default_factory=dict)
    repairs: list[dict[str, str | None]] = field(default_factory=list)
    quarantined: list[dict[str, str | None]] = field(default_factory=list)
    missing_in_source: dict[str, list[str]] = field(default_factory=dict)
    unknown_tables: list[str] = field(default_factory=list)
    skipped_tables: list[str] = field(default_factory=list)
    unmapped_columns: dict[str, list[str]] = field(default_factory=dict)
    dry_run: bool = False
    strict: bool = False
    refused: bool = False
    committed: bool = False
    elapsed_seconds: float = 0.0
    # seconds per phase of the run (COPY, checks, writes, ...): where the time went
    phases: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Add the time spent in the ``with`` body to ``phases[name]``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - started

    @property
    def source_rows(self) -> int:
        return sum(counts.source for counts in self.tables.values())

    def as_dict(self) -> dict[str, Any]:
        """The JSON form written by ``--report``."""
        elapsed = self.elapsed_seconds
        return {
            "tables": {
                name: {
                    "source": c.source,
                    "imported": c.imported,
                    "repaired": c.repaired,
                    "quarantined": c.quarantined,
                    "inserted": c.inserted,
                    "updated": c.updated,
                    "unchanged": c.unchanged,
                    "missing_in_source": c.missing_in_source,
                    "source_total": c.source_total,
                    "read_since": c.read_since.isoformat() if c.read_since else None,
                }
                for name, c in self.tables.items()
            },
            "api_keys": self.api_keys,
            "repairs": self.repairs,
            "quarantined": self.quarantined,
            "missing_in_source": self.missing_in_source,
            "unknown_tables": self.unknown_tables,
            "skipped_tables": self.skipped_tables,
            "unmapped_columns": self.unmapped_columns,
            "dry_run": self.dry_run,
            "strict": self.strict,
            "refused": self.refused,
            "committed": self.committed,
            "elapsed_seconds": round(elapsed, 3),
            "phases": {name: round(seconds, 3) for name, seconds in self.phases.items()},
            "rows_per_second": round(self.source_rows / elapsed) if elapsed > 0 else None,
        }


@dataclass(slots=True)
class _Column:
    source: str  # the old column name
    select: str  # its expression in the source's COPY query
    staging: str  # its name in the staging table
    staging_type: str
    target: str | None  # the target column, None for the plaintext API key
    insert: str  # its expression in the upsert
    # its expression for a binary COPY (the staging type exactly), None: text COPY only
    binary: str | None = None


@dataclass(slots=True)
class _Plan:
    spec: TableSpec
    columns: list[_Column]
    target_types: dict[str, str]
    not_null: dict[str, str | None]  # NOT NULL target column -> its default (None: none)
    checks: list[tuple[str, str, list[str]]]  # name, expression, columns
    has_updated_at: bool = False  # the source table has updatedAt, the stage updated_at
    since: datetime.datetime | None = None  # read only rows with updatedAt >= since

    @property
    def staging(self) -> str:
        return _q(f"prisma_stage_{self.spec.name}")

    @property
    def ids(self) -> str:
        """The relation holding (src_id) every id of the source table."""
        return self.staging if self.since is None else _q(f"prisma_ids_{self.spec.name}")

    @property
    def staging_names(self) -> set[str]:
        return {column.staging for column in self.columns}

    @property
    def binary(self) -> bool:
        """Every column can cross in COPY's binary format (see ``_binary_select``)."""
        return all(column.binary is not None for column in self.columns)


_SOURCE_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1
"""
_SOURCE_COLUMNS = """
SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relname = ANY($1::text[]) AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""
_TARGET_COLUMNS = statement(
    """
SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attgenerated <> '' AS generated
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
""",
    owner=__name__,
)
_TARGET_CHECKS = statement(
    """
SELECT conname::text, pg_get_expr(conbin, conrelid),
       ARRAY(SELECT attname::text FROM pg_attribute
             WHERE attrelid = conrelid AND attnum = ANY(conkey)) AS columns
FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c' ORDER BY conname
""",
    owner=__name__,
)
_MARKS = statement("SELECT source_table, mark FROM prisma_watermark", owner=__name__)
_SET_MARK = statement(
    "INSERT INTO prisma_watermark (id, source_table, mark) VALUES (gen_random_uuid(), $1, $2) "
    "ON CONFLICT (source_table) DO UPDATE SET mark = greatest(prisma_watermark.mark, "
    "EXCLUDED.mark)",
    owner=__name__,
)
_MAP_IDS = statement(
    "INSERT INTO prisma_id_map (id, source_table, source_id, target_id) "
    "SELECT gen_random_uuid(), $1, s, t FROM unnest($2::text[], $3::uuid[]) AS u(s, t) "
    "ON CONFLICT (source_table, source_id) DO NOTHING",
    owner=__name__,
)
_TOUCH_TRIGGERS = statement(
    """
SELECT tgrelid::regclass::text, tgname::text FROM pg_trigger
WHERE NOT tgisinternal AND tgfoid = to_regproc('gatewaydb_touch_updated_at')
  AND tgrelid::regclass::text = ANY($1::text[])
""",
    owner=__name__,
)


def _spells_uuid(text: str, *, input_is_valid: bool = False) -> str:
    """SQL true when ``text`` matches ``UUID_PATTERN`` (36 characters, hex and four dashes
    at positions 9, 14, 19 and 24), for any PostgreSQL version (it runs on the source too).

    ``input_is_valid`` (PostgreSQL 16 and later): 36 bytes with the dashes where a UUID has
    them (LIKE) that the uuid type reads (``pg_input_is_valid``: 32 hex digits, since a
    brace or a dash more leaves fewer), about 2.5 times cheaper than the form below.

    Per row this is the cheapest form found, about six times faster than the anchored
    pattern with bounded repeats (whose automaton is large) or a translate() of the
    lower-cased text: 36 bytes (so 36 one-byte characters), dashes where a UUID has them
    (LIKE), nothing but hex digits and dashes (a regex of one class), 32 of them not dashes.
    """
    shape = f"octet_length({text}) = 36 AND {text} LIKE '________-____-____-____-____________'"
    if input_is_valid:
        return f"({shape} AND pg_input_is_valid({text}, 'uuid'))"
    return (
        f"({shape} AND {text} ~ '^[0-9a-fA-F-]+$' AND octet_length(replace({text}, '-', '')) = 32)"
    )


def _mapped(table: str, source_id: str) -> str:
    """SQL: the uuid5 an old id of ``table`` that is not a UUID was given (prisma_id_map)."""
    return (
        "(SELECT m.target_id FROM prisma_id_map m "
        f"WHERE m.source_table = {_literal(table)} AND m.source_id = {source_id})"
    )


def _staged_id(table: str, alias: str, column: str = "id") -> str:
    """SQL for the new id of a staging row's id (or reference) ``column`` to ``table``.

    The source's COPY query already turned an old id that spells a UUID into that UUID
    (``new_<column>``, computed by the source's backend while the target's is busy); only
    the others (NULL there) are looked up in the id map.
    """
    old = f"{alias}.{_q('src_' + column)}"
    return f"coalesce({alias}.{_q('new_' + column)}, {_mapped(table, old)})"


def _new_id(table: str, source_id: str) -> str:
    """SQL for the id an old id of ``table`` becomes: the UUID it spells, else its uuid5.

    Inline (not a function call) so that the common case, a UUID string, costs a few string
    functions and a cast per row; the id map is only looked up for the others.
    """
    return (
        f"(CASE WHEN {_spells_uuid(source_id)} THEN {source_id}::uuid "
        f"ELSE {_mapped(table, source_id)} END)"
    )


def _naive_timestamp(source_type: str) -> bool:
    return source_type.startswith("timestamp") and source_type.endswith("without time zone")


_WIDENING = {("smallint", "integer"), ("smallint", "bigint"), ("integer", "bigint")}


def _binary_select(select: str, source_type: str, staging_type: str) -> str | None:
    """The source expression cast to ``staging_type`` for a binary COPY, or None.

    Binary COPY skips printing and parsing every value as text (floats and timestamps most
    of all), but the target then takes the bytes as they are: the source must send exactly
    the staging column's type. Only casts that give the value the text route would give are
    made: to text (what the text COPY sends), to the same type (a numeric's scale and
    precision applied as the target's input would), a wider integer, json to jsonb, and
    the naive UTC timestamp already turned into ``timestamptz`` (``AT TIME ZONE``).
    Anything else (a float to numeric, say, whose cast rounds differently from its text)
    returns None and the table crosses as text.
    """

    def base(name: str) -> str:
        return name.split("(", 1)[0] + ("[]" if name.endswith("[]") else "")

    if staging_type == "text":
        return f"({select})::text"
    if staging_type == "timestamp with time zone" and _naive_timestamp(source_type):
        return select  # (column AT TIME ZONE 'UTC') is a timestamptz
    if (
        base(source_type) == base(staging_type)
        or (source_type, staging_type) in _WIDENING
        or (source_type, staging_type) == ("json", "jsonb")
    ):
        return f"({select})::{staging_type}"
    return None


async def _plan(
    source: asyncpg.Connection, target: asyncpg.Connection, report: ImportReport
) -> list[_Plan]:
    """Read both catalogs and decide, per table, how each column crosses."""
    present = {row[0] for row in await source.fetch(_SOURCE_TABLES)}
    missing = [name for name in TABLE_NAMES if name not in present]
    if missing:
        raise SourceSchemaError(
            f"the source has no table {', '.join(missing)}: is it the Prisma-era database?",
            field="source",
            rule="prisma_schema",
        )
    report.unknown_tables = sorted(present - set(TABLE_NAMES) - {PRISMA_HISTORY_TABLE})
    report.skipped_tables = [PRISMA_HISTORY_TABLE] if PRISMA_HISTORY_TABLE in present else []
    # the cheaper UUID test where the source's PostgreSQL has pg_input_is_valid
    input_is_valid = source.get_server_version() >= (16,)
    source_columns: dict[str, list[tuple[str, str]]] = {name: [] for name in TABLE_NAMES}
    for table, column, data_type in await source.fetch(_SOURCE_COLUMNS, list(TABLE_NAMES)):
        source_columns[table].append((column, data_type))
    plans = []
    for spec in TABLES:
        target_rows = await target.fetch(_TARGET_COLUMNS, spec.name)
        target_types = {row[0]: row[1] for row in target_rows if not row[4]}
        not_null = {row[0]: row[3] for row in target_rows if row[2] and not row[4]}
        columns: list[_Column] = []
        unmapped: list[str] = []
        for name, data_type in source_columns[spec.name]:
            select = _q(name)
            if _naive_timestamp(data_type):
                # Prisma Client wrote UTC there; the source session's time zone is UTC.
                select = f"({select} AT TIME ZONE 'UTC')"
            wanted = snake_case(name)
            if spec.name == "users" and wanted == "api_key":
                binary = _binary_select(select, data_type, "text")
                columns.append(_Column(name, select, "api_key", "text", None, "", binary))
                continue
            if wanted not in target_types:
                unmapped.append(name)
                continue
            target_type = target_types[wanted]
            if wanted == "id" or wanted in spec.references:
                owner = spec.name if wanted == "id" else spec.references[wanted]
                # The old id as it was (checks, issues, the id map) and, computed by the
                # source, the UUID it spells (NULL when it spells none: then the id map's).
                old = _binary_select(select, data_type, "text")
                columns.append(_Column(name, select, f"src_{wanted}", "text", None, "", old))
                insert = _staged_id(owner, "s", wanted)
                spells = _spells_uuid(select, input_is_valid=input_is_valid)
                uuid_select = f"(CASE WHEN {spells} THEN {select} END)"
                binary = (
                    None
                    if old is None
                    else f"(CASE WHEN {_spells_uuid(old, input_is_valid=input_is_valid)} "
                    f"THEN {old}::uuid END)"
                )
                columns.append(
                    _Column(name, uuid_select, f"new_{wanted}", "uuid", wanted, insert, binary)
                )
            elif target_type.startswith("vector"):
                insert = f"s.{_q(wanted)}::{target_type}"
                binary = _binary_select(select, data_type, "double precision[]")
                columns.append(
                    _Column(name, select, wanted, "double precision[]", wanted, insert, binary)
                )
            else:
                binary = _binary_select(select, data_type, target_type)
                columns.append(
                    _Column(name, select, wanted, target_type, wanted, f"s.{_q(wanted)}", binary)
                )
        if "src_id" not in {column.staging for column in columns}:
            raise SourceSchemaError(
                f"the source table {spec.name} has no id column", field="source", rule="id"
            )
        if unmapped:
            report.unmapped_columns[spec.name] = unmapped
        checks = [
            (row[0], row[1], list(row[2])) for row in await target.fetch(_TARGET_CHECKS, spec.name)
        ]
        has_updated_at = any(
            column.source == _SOURCE_UPDATED_AT and column.staging == "updated_at"
            for column in columns
        ) and any(
            column == _SOURCE_UPDATED_AT and _naive_timestamp(data_type)
            for column, data_type in source_columns[spec.name]
        )
        plans.append(_Plan(spec, columns, target_types, not_null, checks, has_updated_at))
    return plans


def _since_clause(plan: _Plan) -> str:
    """The source query's filter of a re-run: rows at or after the mark ($1)."""
    if plan.since is None:
        return ""
    # The source session's time zone is UTC and updatedAt holds naive UTC.
    return f" WHERE {_q(_SOURCE_UPDATED_AT)} >= ($1::timestamptz AT TIME ZONE 'UTC')"


# How much of the source the read-ahead may hold that the target has not taken yet.
READ_AHEAD_BYTES = 256 * 1024 * 1024
# A source whose connection broke: what the engine knows a broken connection by, a socket
# error, a connection-class error (08xxx: "connection was closed in the middle of
# operation"), or the server's own FATAL (pg_terminate_backend, a crash) read mid-COPY.
_CONNECTION_LOST = (
    *BROKEN_CONNECTION_ERRORS,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


@dataclass(slots=True)
class _Copy:
    """One ``COPY (query) TO STDOUT`` of the source, for ``COPY table FROM STDIN``."""

    query: str
    args: tuple[Any, ...]
    table: str  # the target's (temporary) table it fills
    columns: list[str]
    binary: bool
    chunks: asyncio.Queue[bytes | BaseException | None] = field(default_factory=asyncio.Queue)


def _table_copy(plan: _Plan) -> _Copy:
    """The table's rows (a re-run: those changed since its mark, ``plan.since``)."""
    selects = [(column.binary or "") if plan.binary else column.select for column in plan.columns]
    return _Copy(
        f"SELECT {', '.join(selects)} FROM {_q(plan.spec.name)}" + _since_clause(plan),
        () if plan.since is None else (plan.since,),
        f"prisma_stage_{plan.spec.name}",
        [column.staging for column in plan.columns],
        plan.binary,
    )


def _ids_copy(plan: _Plan) -> _Copy:
    """A re-run's ids-only scan: every id the source table holds, for rows deleted there."""
    return _Copy(
        f"SELECT id FROM {_q(plan.spec.name)}",
        (),
        f"prisma_ids_{plan.spec.name}",
        ["src_id"],
        False,
    )


class _ReadAhead:
    """Reads the source's COPYs one after the other, as fast as the source sends them.

    The target takes each one when it gets to that table, after the work on the tables
    before: meanwhile the source's backend (and this process) read ahead, on the cores the
    target's single backend leaves idle. At most ``limit`` bytes are held; past that the
    reading waits. A failure reading the source is raised where the target takes the rows.
    """

    def __init__(self, source: asyncpg.Connection, copies: list[_Copy], limit: int) -> None:
        self._source = source
        self._copies = copies
        self._free = limit
        self._limit = limit
        self._room = asyncio.Condition()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        current: _Copy | None = None

        async def hold(chunk: bytes) -> None:
            assert current is not None
            async with self._room:
                # one chunk larger than the whole allowance passes when nothing else is held
                await self._room.wait_for(
                    lambda: self._free >= len(chunk) or self._free == self._limit
                )
                self._free -= len(chunk)
            current.chunks.put_nowait(chunk)

        try:
            for current in self._copies:
                await self._source.copy_from_query(
                    current.query,
                    *current.args,
                    output=hold,
                    format="binary" if current.binary else "text",
                )
                current.chunks.put_nowait(None)
        except BaseException as error:
            failed: BaseException = error
            if isinstance(error, _CONNECTION_LOST) and current is not None:
                # asyncpg says so in several ways: one typed error that names the table
                failed = SourceLostError(
                    f"the connection to the source broke while reading {current.table}: "
                    f"{str(error).splitlines()[0] if str(error) else type(error).__name__}; "
                    "nothing was written",
                    field="source",
                    rule="connection_lost",
                )
                failed.__cause__ = error
            # the table being read, and every later one, ends in the error
            failing = self._copies.index(current) if current is not None else 0
            for later in self._copies[failing:]:
                later.chunks.put_nowait(failed)
            raise

    async def into(
        self, target: asyncpg.Connection, copy: _Copy, progress: Callable[[int], None]
    ) -> None:
        """COPY the rows read for ``copy`` into its table on ``target``, reporting rows done."""
        rows = _BinaryRows() if copy.binary else None

        async def chunks() -> AsyncIterator[bytes]:
            # Progress is reported here, on the target's side: whatever stops the import (an
            # error, Ctrl-C) stops it while the target's COPY is open, which aborts that COPY.
            done = 0
            while (chunk := await copy.chunks.get()) is not None:
                if isinstance(chunk, BaseException):
                    raise chunk
                async with self._room:
                    self._free += len(chunk)
                    self._room.notify_all()
                yield chunk
                if rows is not None:
                    progress(rows.add(chunk))
                else:
                    # Text COPY escapes newlines inside values: each real one ends a row.
                    done += chunk.count(b"\n")
                    progress(done)

        status = await target.copy_to_table(
            copy.table,
            source=chunks(),
            columns=copy.columns,
            format="binary" if copy.binary else "text",
        )
        if rows is not None:
            progress(int(status.rsplit(" ", 1)[1]))  # COPY <rows>: the exact count

    async def close(self) -> None:
        """Stop reading (when the import ends early) and wait until the source is free."""
        if not self._task.done():
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class _BinaryRows:
    """Rows of a binary COPY stream so far, for the progress line.

    A binary row is a field count and, per field, its length and bytes: counting every row
    means walking every field in Python, which would cost more than the COPY. The rows of
    the first chunk (or first few, up to one whole row) are walked to learn the bytes per
    row; the rest is estimated from the bytes, and the COPY's own count ends it exactly.
    """

    _HEADER = 11 + 4 + 4  # signature, flags, length of the header extension

    def __init__(self) -> None:
        self._bytes = 0
        self._sample = b""
        self._per_row = 0.0

    def add(self, chunk: bytes) -> int:
        self._bytes += len(chunk)
        if not self._per_row:
            self._sample += chunk
            self._per_row = self._learn(self._sample)
            if self._per_row:
                self._sample = b""
        return int(self._bytes / self._per_row) if self._per_row else 0

    def _learn(self, data: bytes) -> float:
        if len(data) < self._HEADER:
            return 0.0
        start = position = self._HEADER + int.from_bytes(data[15:19], "big")
        complete = 0
        end = position
        while position + 2 <= len(data):
            fields = int.from_bytes(data[position : position + 2], "big", signed=True)
            if fields < 0:  # the trailer: the stream ended in this sample
                break
            position += 2
            for _ in range(fields):
                if position + 4 > len(data):
                    return self._per_row_of(complete, end - start)
                length = int.from_bytes(data[position : position + 4], "big", signed=True)
                position += 4 + max(length, 0)
            if position > len(data):
                break
            complete += 1
            end = position
        return self._per_row_of(complete, end - start)

    @staticmethod
    def _per_row_of(rows: int, size: int) -> float:
        return size / rows if rows else 0.0


async def _issue(
    target: asyncpg.Connection, sql: str, *, table: str, kind: str, rule: str, detail: str
) -> int:
    """Record, as ``kind`` by ``rule``, the src_id (and detail) of every row ``sql`` returns.

    ``sql`` is an UPDATE ... RETURNING or a SELECT that yields ``src_id`` (and ``detail``
    when ``detail`` is the empty string).
    """
    detail_sql = "r.detail" if detail == "" else _literal(detail)
    status = await target.execute(
        f"WITH r AS ({sql}) INSERT INTO prisma_issue (tbl, src_id, kind, rule, detail) "
        f"SELECT {_literal(table)}, r.src_id, {_literal(kind)}, {_literal(rule)}, {detail_sql} "
        "FROM r"
    )
    return int(status.rsplit(" ", 1)[1])  # INSERT 0 <rows>


def _quarantined_ids(plan: _Plan) -> str:
    """SQL: the old ids of ``plan``'s table that are quarantined after this run.

    Those this run flagged, and on a re-run those an earlier run kept in prisma_quarantine
    that this run did not read again.
    """
    name = _literal(plan.spec.name)
    flagged = f"SELECT src_id FROM prisma_issue WHERE kind = 'quarantined' AND tbl = {name}"
    if plan.since is None:
        return flagged
    return (
        f"{flagged} UNION ALL SELECT p.source_id FROM prisma_quarantine p "
        f"WHERE p.source_table = {name} AND NOT EXISTS (SELECT 1 FROM {plan.staging} r "
        "WHERE r.src_id = p.source_id)"
    )


class _Rule(NamedTuple):
    """A fixed repair or quarantine rule: ``sql`` yields the src_id (and detail) it hits."""

    table: str
    kind: str  # "repaired" or "quarantined"
    sql: str
    rule: str
    detail: str = ""  # "": the sql yields each row's own detail


async def _apply(target: asyncpg.Connection, *rules: _Rule) -> None:
    """Record every row each rule hits, rule by rule, in order."""
    for item in rules:
        await _issue(
            target, item.sql, table=item.table, kind=item.kind, rule=item.rule, detail=item.detail
        )


def _not_quarantined(table: str, alias: str = "s") -> str:
    return (
        "NOT EXISTS (SELECT 1 FROM prisma_issue q WHERE q.kind = 'quarantined' "
        f"AND q.tbl = {_literal(table)} AND q.src_id = {alias}.src_id)"
    )


async def _repair(target: asyncpg.Connection, plan: _Plan) -> None:
    """Rewrite the table's staging rows by the documented repair rules."""
    name = plan.spec.name
    stage = plan.staging
    defaults = [
        (column.staging, default)
        for column in plan.columns
        if column.target not in (None, "id")
        and (default := plan.not_null.get(column.staging)) is not None
    ]
    if defaults:
        # One scan finds every NULL of every such column (the rows that have one are
        # taken apart column by column, the others not), one UPDATE fills them all.
        nulls = await _issue(
            target,
            f"SELECT s.src_id, v.detail FROM (SELECT * FROM {stage} s WHERE "
            + " OR ".join(f"s.{_q(column)} IS NULL" for column, _ in defaults)
            + ") s CROSS JOIN LATERAL (VALUES "
            + ", ".join(
                f"(s.{_q(column)} IS NULL, {_literal(f'{column} was NULL, now {default}')})"
                for column, default in defaults
            )
            + ") v(hit, detail) WHERE v.hit",
            table=name,
            kind="repaired",
            rule="null_to_default",
            detail="",
        )
        if nulls:  # no row has one: no second scan
            await target.execute(
                f"UPDATE {stage} SET "
                + ", ".join(
                    f"{_q(column)} = coalesce({_q(column)}, {default})"
                    for column, default in defaults
                )
                + " WHERE "
                + " OR ".join(f"{_q(column)} IS NULL" for column, _ in defaults)
            )
    if "currency" in plan.staging_names:
        await _issue(
            target,
            f"UPDATE {stage} SET currency = upper(currency) "
            "WHERE currency <> upper(currency) RETURNING src_id",
            table=name,
            kind="repaired",
            rule="currency_upper_cased",
            detail="currency upper-cased",
        )
    if name == "users":
        await _apply(
            target,
            _Rule(
                "users",
                "repaired",
                f"UPDATE {stage} SET password_hash = NULL WHERE password_hash IS NOT NULL "
                "AND password_hash !~ '^\\$2[aby]\\$' AND password_hash !~ '^\\$argon2id\\$' "
                "RETURNING src_id",
                rule="password_hash_unknown_format",
                detail="not a bcrypt hash: cleared, the user must reset the password",
            ),
            _Rule(
                "users",
                "repaired",
                f"UPDATE {stage} SET api_key = NULL WHERE btrim(api_key) = '' RETURNING src_id",
                rule="api_key_blank",
                detail="a blank API key was not imported",
            ),
        )
    if name == "knowledge_documents":
        await _apply(
            target,
            _Rule(
                "knowledge_documents",
                "repaired",
                f"UPDATE {stage} SET embedding = NULL WHERE embedding IS NOT NULL "
                f"AND coalesce(array_length(embedding, 1), 0) <> {EMBEDDING_DIMENSIONS} "
                "RETURNING src_id, 'embedding of ' || coalesce(array_length(embedding, 1), 0) "
                "|| ' floats cleared; piccolo knowledge reembed fills it' AS detail",
                rule="embedding_wrong_length",
            ),
        )


async def _quarantine(target: asyncpg.Connection, plan: _Plan, plans: dict[str, _Plan]) -> None:
    """Flag the table's rows the target's rules refuse, then every row whose parent is.

    Tables come in dependency order: a parent's flags are complete before its children.
    """
    name = plan.spec.name
    # One scan per table evaluates every NOT NULL and CHECK rule of the target's table.
    rules = [
        (f"{column}_required", f"{column} is NULL", f"s.{_q(column)} IS NULL")
        for column, default in plan.not_null.items()
        if default is None and column in plan.staging_names
    ] + [
        (check_name, expression, f"({expression}) IS FALSE")
        for check_name, expression, check_columns in plan.checks
        # a check about an id or a vector: the staging row spells it differently
        if set(check_columns) <= plan.staging_names
    ]
    if rules:
        # The rows that break any rule are found first (one filter per row); only those
        # are taken apart rule by rule.
        await target.execute(
            "INSERT INTO prisma_issue (tbl, src_id, kind, rule, detail) "
            f"SELECT {_literal(name)}, s.src_id, 'quarantined', v.rule, v.detail "
            f"FROM (SELECT * FROM {plan.staging} s WHERE "
            + " OR ".join(hit for _, _, hit in rules)
            + ") s CROSS JOIN LATERAL (VALUES "
            + ", ".join(
                f"({_literal(rule)}, {_literal(detail)}, {hit})" for rule, detail, hit in rules
            )
            + ") v(rule, detail, hit) WHERE v.hit"
        )
    # The first of a group (by created_at, then old id) is kept, the others are quarantined.
    # One hash aggregate finds the groups of more than one row; only their rows are sorted.
    if name == "users":
        users = plan.staging
        await _apply(
            target,
            _Rule(
                "users",
                "quarantined",
                "SELECT src_id, 'same e-mail as user ' || first_id AS detail FROM ("
                "SELECT s.src_id, row_number() OVER w AS n, "
                "first_value(s.src_id) OVER w AS first_id "
                f"FROM {users} s WHERE {_not_quarantined('users')} AND lower(s.email) IN ("
                f"SELECT lower(s.email) FROM {users} s WHERE {_not_quarantined('users')} "
                "GROUP BY 1 HAVING count(*) > 1) "
                "WINDOW w AS (PARTITION BY lower(s.email) ORDER BY s.created_at, s.src_id)) d "
                "WHERE n > 1",
                rule="email_duplicate_ignoring_case",
            ),
            _Rule(
                "users",
                "quarantined",
                f"SELECT s.src_id FROM {users} s JOIN users u ON lower(u.email) = lower(s.email) "
                f"WHERE u.id <> {_staged_id('users', 's')} AND {_not_quarantined('users')}",
                rule="email_taken",
                detail="a different user of the target has this e-mail",
            ),
        )
    if name == "performance_metrics":
        metrics = plan.staging
        await _apply(
            target,
            _Rule(
                "performance_metrics",
                "quarantined",
                "SELECT src_id, 'same asset, platform and day as ' || first_id AS detail FROM ("
                "SELECT s.src_id, row_number() OVER w AS n, "
                "first_value(s.src_id) OVER w AS first_id "
                f"FROM {metrics} s WHERE {_not_quarantined('performance_metrics')} "
                "AND (s.src_asset_id, s.platform, s.date) IN ("
                f"SELECT s.src_asset_id, s.platform, s.date FROM {metrics} s "
                f"WHERE {_not_quarantined('performance_metrics')} GROUP BY 1, 2, 3 "
                "HAVING count(*) > 1) "
                "WINDOW w AS (PARTITION BY s.src_asset_id, s.platform, s.date "
                "ORDER BY s.created_at, s.src_id)) d WHERE n > 1",
                rule="performance_metric_duplicate_day",
            ),
            _Rule(
                "performance_metrics",
                "quarantined",
                f"SELECT s.src_id FROM {metrics} s JOIN performance_metrics m "
                f"ON m.asset_id = {_staged_id('assets', 's', 'asset_id')} "
                "AND m.platform = s.platform AND m.date = s.date "
                f"WHERE m.id <> {_staged_id('performance_metrics', 's')} "
                f"AND {_not_quarantined('performance_metrics')}",
                rule="performance_metric_duplicate_day",
                detail="the target already has this asset, platform and day",
            ),
        )
    for column, parent in plan.spec.references.items():
        if column in plan.spec.loose_references:
            continue
        if not await target.fetchval(f"SELECT EXISTS ({_quarantined_ids(plans[parent])})"):
            continue  # no parent quarantined: no scan of the children
        staging_column = _q(f"src_{column}")
        await _issue(
            target,
            f"SELECT s.src_id, {_literal(parent + ':')} || s.{staging_column} AS detail "
            f"FROM {plan.staging} s WHERE s.{staging_column} IN "
            f"({_quarantined_ids(plans[parent])}) AND {_not_quarantined(name)}",
            table=name,
            kind="quarantined",
            rule="parent_quarantined",
            detail="",
        )
    if name == "conversions":
        clips = plans["clips"]
        conversions = plan.staging
        # A clip that exists: its id is in the source (all ids: the stage, or a re-run's ids-only
        # scan) and it is not quarantined.
        await _issue(
            target,
            f"UPDATE {conversions} s SET metadata = s.metadata || jsonb_build_object("
            "'legacy_attributed_clip_id', s.src_attributed_clip_id), "
            "src_attributed_clip_id = NULL, "
            "new_attributed_clip_id = NULL "
            "FROM (SELECT x.src_id FROM "
            f"{conversions} x WHERE x.src_attributed_clip_id IS NOT NULL AND NOT EXISTS ("
            f"SELECT 1 FROM {clips.ids} c WHERE c.src_id = x.src_attributed_clip_id) "
            f"UNION SELECT x.src_id FROM {conversions} x WHERE x.src_attributed_clip_id IN "
            f"({_quarantined_ids(clips)})) d WHERE d.src_id = s.src_id "
            "RETURNING s.src_id",
            table="conversions",
            kind="repaired",
            rule="attributed_clip_missing",
            detail="attributed clip gone: kept in metadata.legacy_attributed_clip_id, set NULL",
        )


_BULK_INDEXES = statement(
    """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
       ARRAY(SELECT pg_get_indexdef(h.inhrelid) FROM pg_inherits h
             WHERE h.inhparent = i.indexrelid ORDER BY h.inhrelid::regclass::text) AS children
FROM pg_index i
WHERE i.indrelid = $1::regclass AND i.indisvalid
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1
""",
    owner=__name__,
)
# A partitioned table's key has a key of the same definition on each partition.
_BULK_KEYS = statement(
    """
SELECT p.conname::text, pg_get_constraintdef(p.oid),
       ARRAY(SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass,
                           c.conname, pg_get_constraintdef(c.oid))
             FROM pg_constraint c WHERE c.conparentid = p.oid
             ORDER BY c.conrelid::regclass::text) AS children
FROM pg_constraint p
WHERE p.conrelid = $1::regclass AND p.contype IN ('p', 'u') ORDER BY p.contype, p.conname
""",
    owner=__name__,
)
# Every foreign key (of a partitioned table: the parent's, its partitions' follow it) that
# belongs to one of the tables or references one.
_BULK_FOREIGN_KEYS = statement(
    """
SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid) FROM pg_constraint
WHERE contype = 'f' AND conparentid = 0
  AND (conrelid::regclass::text = ANY($1::text[]) OR confrelid::regclass::text = ANY($2::text[]))
ORDER BY 1, 2
""",
    owner=__name__,
)
_LEDGER_TRIGGERS = statement(
    """
SELECT tgname::text FROM pg_trigger
WHERE NOT tgisinternal AND tgrelid = 'conversions'::regclass
  AND tgfoid = to_regproc('gatewaydb_conversion_external_id')
""",
    owner=__name__,
)
# What conversions' external-id trigger does row by row, for a bulk load at once.
_FILL_LEDGER = statement(
    'INSERT INTO conversion_external_ids (external_id, conversion_id, "timestamp") '
    'SELECT external_id, id, "timestamp" FROM conversions WHERE external_id IS NOT NULL',
    owner=__name__,
)


@dataclass(slots=True)
class _BulkLoad:
    """The tables this run fills from empty, and what puts their indexes and keys back."""

    empty: set[str] = field(default_factory=set)
    restore: list[str] = field(default_factory=list)


async def _set_aside_for_bulk_load(target: asyncpg.Connection, tables: list[str]) -> _BulkLoad:
    """Into EMPTY tables, load as pg_restore does: keys, indexes and foreign keys set aside.

    Row-by-row maintenance of the primary key, the unique keys and a dozen indexes, and a
    foreign-key check per row, cost far more than building each index once by a sort and
    checking each foreign key with one join afterwards. First every foreign key that
    belongs to or references an empty table is dropped, then the empty tables' primary and
    unique keys, then their other indexes. ``restore`` puts them back in the opposite order,
    exactly as they were (same names, same definitions); it runs in the import's
    transaction, so a failure (a row breaking a key or a foreign key included) rolls
    everything back. A table that already has rows (a re-run) keeps all of them: only the
    difference is written there.

    A partitioned table's keys and indexes are put back as pg_dump puts them back: each
    partition's own (same name, same definition) first, then the parent's, which attaches
    them and builds one on any partition the import added.
    """
    load = _BulkLoad()
    for table in tables:
        if not await target.fetchval(f"SELECT EXISTS (SELECT 1 FROM {_q(table)})"):
            load.empty.add(table)
    if not load.empty:
        return load
    empty = [table for table in tables if table in load.empty]
    keys: list[str] = []
    indexes: list[str] = []
    foreign_keys: list[str] = []
    for table, name, definition in await target.fetch(
        _BULK_FOREIGN_KEYS, sorted(load.empty), empty
    ):
        await target.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_q(name)}")
        foreign_keys.append(f"ALTER TABLE {table} ADD CONSTRAINT {_q(name)} {definition}")
    for table in empty:
        for name, definition, children in await target.fetch(_BULK_KEYS, table):
            await target.execute(f"ALTER TABLE {_q(table)} DROP CONSTRAINT {_q(name)}")
            keys += [*children, f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}"]
        for name, definition, children in await target.fetch(_BULK_INDEXES, table):
            await target.execute(f"DROP INDEX {name}")
            # A partitioned index is defined ON ONLY the parent; without ONLY it attaches
            # the partitions' indexes made just before and builds the missing ones.
            indexes += [*children, definition.replace(" ON ONLY ", " ON ", 1)]
    load.restore = keys + indexes + foreign_keys
    return load


async def _restore_after_bulk_load(target: asyncpg.Connection, load: _BulkLoad) -> None:
    for restore in load.restore:
        await target.execute(restore)


# The primary keys of the tables partitioned by month hold the partition key.
_CONFLICT_KEYS = {"conversions": '(id, "timestamp")', "performance_metrics": "(id, date)"}


async def _cover_months(target: asyncpg.Connection, plan: _Plan, written: list[Any]) -> None:
    """The monthly partitions the rows to write need (rows may be dated months ahead)."""
    from apps.db.partitions import HISTORY, cover_months

    history = next((h for h in HISTORY if h.table == plan.spec.name), None)
    key = next((c for c in written if c.target == (history.key if history else None)), None)
    if history is None or key is None:
        return
    expression = f"({key.insert})::date"
    if history.key_type == "timestamptz":
        expression = f"(({key.insert}) AT TIME ZONE 'UTC')::date"
    bounds = await target.fetchrow(
        f"SELECT min({expression}), max({expression}) FROM {plan.staging} s"
    )
    if bounds is not None and bounds[0] is not None:
        await cover_months(target, history, bounds[0], bounds[1])


def _inserted(table: str) -> str:
    """Whether a RETURNING row was inserted (not updated) by the upsert."""
    if table not in _CONFLICT_KEYS:
        return "(xmax = 0)"
    # A partitioned table cannot return xmax; the statement's snapshot predates its writes.
    return f"NOT EXISTS (SELECT 1 FROM {_q(table)} o WHERE o.id = t.id)"


async def _write(
    target: asyncpg.Connection,
    plan: _Plan,
    counts: TableCounts,
    report: ImportReport,
    load: _BulkLoad,
) -> None:
    """Upsert the table's clean staging rows by id; an unchanged row is not touched.

    Into a table that was empty (``load.empty``), a plain INSERT: no conflict to look for,
    no row to compare, no key or index to maintain row by row (they are set aside).
    """
    written = [column for column in plan.columns if column.target is not None]
    targets = ", ".join(_q(column.target or "") for column in written)
    inserts = ", ".join(column.insert for column in written)
    changing = [_q(column.target or "") for column in written if column.target != "id"]
    sets = ", ".join(f"{column} = EXCLUDED.{column}" for column in changing)
    old = ", ".join(f"t.{column}" for column in changing)
    new = ", ".join(f"EXCLUDED.{column}" for column in changing)
    with report.phase("partitions"):
        await _cover_months(target, plan, written)
    bulk = plan.spec.name in load.empty
    # conversions' external ids: a trigger claims each in the ledger row by row; into an
    # empty table, one INSERT ... SELECT claims them all afterwards (a duplicate still fails).
    ledger = (
        await target.fetch(_LEDGER_TRIGGERS) if bulk and plan.spec.name == "conversions" else []
    )
    for trigger in ledger:
        await target.execute(f"ALTER TABLE conversions DISABLE TRIGGER {_q(trigger[0])}")
    with report.phase(f"write {plan.spec.name}"):
        if bulk:
            status = await target.execute(
                f"INSERT INTO {_q(plan.spec.name)} ({targets}) SELECT {inserts} "
                f"FROM {plan.staging} s WHERE {_not_quarantined(plan.spec.name)}"
            )
            row = (int(status.rsplit(" ", 1)[1]), 0)
            if ledger:
                await target.execute(_FILL_LEDGER)
        else:
            row = await target.fetchrow(
                f"WITH w AS (INSERT INTO {_q(plan.spec.name)} AS t ({targets}) "
                f"SELECT {inserts} FROM {plan.staging} s "
                f"WHERE {_not_quarantined(plan.spec.name)} ORDER BY 1 "
                f"ON CONFLICT {_CONFLICT_KEYS.get(plan.spec.name, '(id)')} DO UPDATE SET {sets} "
                f"WHERE ({old}) IS DISTINCT FROM ({new}) "
                f"RETURNING {_inserted(plan.spec.name)} AS inserted) "
                "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) "
                "FROM w"
            )
    for trigger in ledger:
        await target.execute(f"ALTER TABLE conversions ENABLE TRIGGER {_q(trigger[0])}")
    assert row is not None
    counts.inserted, counts.updated = row[0], row[1]
    counts.unchanged = counts.imported - counts.inserted - counts.updated


_API_KEY_ROWS = (
    "SELECT md5('prisma-import:api_keys:' || s.src_id)::uuid, "
    f"{_staged_id('users', 's')}, $1, left(s.api_key, $2), "
    "encode(sha256(convert_to(s.api_key, 'UTF8')), 'hex'), $3::text[], s.created_at "
    f"FROM prisma_stage_users s WHERE s.api_key IS NOT NULL AND {_not_quarantined('users')}"
)


async def _write_api_keys(
    target: asyncpg.Connection, report: ImportReport, load: _BulkLoad
) -> None:
    """One api_keys row per imported user with an old key: its SHA-256, never the key."""
    arguments = (API_KEY_NAME, _API_KEY_DISPLAY_LENGTH, list(API_KEY_SCOPES))
    columns = "(id, user_id, name, prefix, key_hash, scopes, created_at)"
    if "api_keys" in load.empty:
        # Nothing to conflict with, nothing to revoke.
        status = await target.execute(f"INSERT INTO api_keys {columns} {_API_KEY_ROWS}", *arguments)
        report.api_keys = {"inserted": int(status.rsplit(" ", 1)[1]), "updated": 0, "revoked": 0}
        return
    row = await target.fetchrow(
        f"WITH w AS (INSERT INTO api_keys AS k {columns} {_API_KEY_ROWS} "
        "ON CONFLICT (id) DO UPDATE SET prefix = EXCLUDED.prefix, key_hash = EXCLUDED.key_hash "
        "WHERE k.key_hash <> EXCLUDED.key_hash RETURNING (xmax = 0) AS inserted) "
        "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM w",
        *arguments,
    )
    assert row is not None
    # A key the old platform took away (apiKey now NULL or blank) stops working here too.
    revoked = await target.fetchval(
        "WITH r AS (UPDATE api_keys k SET revoked_at = now() FROM prisma_stage_users s "
        "WHERE k.id = md5('prisma-import:api_keys:' || s.src_id)::uuid "
        "AND s.api_key IS NULL AND k.revoked_at IS NULL RETURNING 1) SELECT count(*) FROM r"
    )
    report.api_keys = {"inserted": row[0], "updated": row[1], "revoked": revoked}


async def _keep_quarantine(target: asyncpg.Connection, plan: _Plan) -> None:
    """Store the table's quarantined rows whole (the plaintext API key as its SHA-256)."""
    name = _literal(plan.spec.name)
    # the row as the source had it: without the UUIDs its ids spell (new_*)
    row_json = (
        "(to_jsonb(s)"
        + "".join(
            f" - {_literal(column.staging)}"
            for column in plan.columns
            if column.staging.startswith("new_")
        )
        + ")"
    )
    if plan.spec.name == "users":
        row_json = (
            f"({row_json} - 'api_key') || jsonb_build_object('api_key_sha256', "
            "encode(sha256(convert_to(s.api_key, 'UTF8')), 'hex'))"
        )
    # The few ids are fetched first: the stage (every row read) is then scanned once with
    # a hashed filter, no hash of the whole stage is built.
    flagged = [
        row[0]
        for row in await target.fetch(
            f"SELECT DISTINCT src_id FROM prisma_issue WHERE kind = 'quarantined' AND tbl = {name}"
        )
    ]
    if flagged:
        await target.execute(
            "INSERT INTO prisma_quarantine (id, source_table, source_id, rules, row, seen_at) "
            f"SELECT gen_random_uuid(), {name}, s.src_id, q.rules, {row_json}, now() "
            f"FROM {plan.staging} s JOIN (SELECT src_id, array_agg(DISTINCT rule ORDER BY rule) "
            f"AS rules FROM prisma_issue WHERE kind = 'quarantined' AND tbl = {name} "
            "GROUP BY src_id) q ON q.src_id = s.src_id WHERE s.src_id = ANY($1::text[]) "
            "ON CONFLICT (source_table, source_id) DO UPDATE "
            "SET rules = EXCLUDED.rules, row = EXCLUDED.row, seen_at = EXCLUDED.seen_at",
            flagged,
        )
    # A row read again that imports cleanly now, or gone from the source, leaves the
    # quarantine (a re-run did not read the others: they stay).
    cleared = [
        row[0]
        for row in await target.fetch(
            f"SELECT p.source_id FROM prisma_quarantine p WHERE p.source_table = {name} "
            "AND p.source_id <> ALL($1::text[])",
            flagged,
        )
    ]
    if cleared:
        await target.execute(
            f"DELETE FROM prisma_quarantine p WHERE p.source_table = {name} "
            "AND p.source_id = ANY($1::text[]) AND (p.source_id IN ("
            f"SELECT r.src_id FROM {plan.staging} r WHERE r.src_id = ANY($1::text[])) "
            f"OR p.source_id NOT IN (SELECT i.src_id FROM {plan.ids} i "
            "WHERE i.src_id = ANY($1::text[])))",
            cleared,
        )


async def _count(target: asyncpg.Connection, plan: _Plan, counts: TableCounts) -> None:
    name = _literal(plan.spec.name)
    row = await target.fetchrow(
        f"SELECT (SELECT count(*) FROM {plan.staging}), "
        "(SELECT count(DISTINCT src_id) FROM prisma_issue "
        f"WHERE tbl = {name} AND kind = 'quarantined'), "
        "(SELECT count(DISTINCT r.src_id) FROM prisma_issue r "
        f"WHERE r.tbl = {name} AND r.kind = 'repaired' AND {_not_quarantined(plan.spec.name, 'r')})"
    )
    assert row is not None
    counts.source, counts.quarantined, counts.repaired = row[0], row[1], row[2]
    counts.read_since = plan.since
    counts.source_total = (
        counts.source
        if plan.since is None
        else await target.fetchval(f"SELECT count(*) FROM {plan.ids}")
    )
    counts.imported = counts.source - counts.quarantined


async def _missing(
    target: asyncpg.Connection, plan: _Plan, counts: TableCounts, report: ImportReport
) -> None:
    """Target rows whose id the source no longer has (deleted there since the last run)."""
    rows = await target.fetch(
        f"SELECT id::text FROM {_q(plan.spec.name)} EXCEPT "
        f"SELECT {_new_id(plan.spec.name, 'src_id')}::text FROM {plan.ids} ORDER BY 1"
    )
    counts.missing_in_source = len(rows)
    if rows:
        report.missing_in_source[plan.spec.name] = [row[0] for row in rows[:_REPORTED_MISSING]]


async def _map_ids(target: asyncpg.Connection, plan: _Plan) -> None:
    """Give every old id that is not a UUID its uuid5, kept in prisma_id_map."""
    rows = await target.fetch(f"SELECT src_id FROM {plan.staging} WHERE new_id IS NULL")
    if not rows:
        return
    source_ids = [row[0] for row in rows]
    await target.execute(
        _MAP_IDS,
        plan.spec.name,
        source_ids,
        [mapped_id(plan.spec.name, source_id) for source_id in source_ids],
    )


async def _load_table(
    target: asyncpg.Connection,
    read_ahead: _ReadAhead,
    plan: _Plan,
    copy: _Copy,
    ids: _Copy | None,
    total: int,
    progress: ProgressCallback | None,
    report: ImportReport,
) -> None:
    """The table's rows into its stage (a re-run: its ids too), analyzed, ids mapped."""
    name = plan.spec.name
    if ids is not None:
        with report.phase("ids-only scan"):
            await target.execute(f"CREATE TEMP TABLE {plan.ids} (src_id text) ON COMMIT DROP")
            await read_ahead.into(target, ids, lambda done: None)
            await target.execute(f"ANALYZE {plan.ids}")
    columns = ", ".join(f"{_q(c.staging)} {c.staging_type}" for c in plan.columns)
    await target.execute(f"CREATE TEMP TABLE {plan.staging} ({columns}) ON COMMIT DROP")
    with report.phase(f"copy {name}"):
        await read_ahead.into(
            target,
            copy,
            lambda done: progress(name, min(done, total), total) if progress else None,
        )
    with report.phase("staging analyze"):
        # No index: every check is a scan or a hash join over the whole stage. The row
        # count and the keys' statistics steer those; statistics of JSON and array columns
        # (the costly ones to gather) steer nothing here.
        analyzed = ", ".join(
            _q(column.staging)
            for column in plan.columns
            if not column.staging_type.endswith("[]")
            and column.staging_type not in ("json", "jsonb")
        )
        await target.execute(f"ANALYZE {plan.staging} ({analyzed})")
    with report.phase("map ids"):
        await _map_ids(target, plan)


async def _check_table(
    target: asyncpg.Connection, plan: _Plan, plans: dict[str, _Plan], report: ImportReport
) -> None:
    """Repair the table's stage, then flag what the target's rules refuse."""
    with report.phase("repair"):
        await _repair(target, plan)
    with report.phase("quarantine"):
        await _quarantine(target, plan, plans)
        await target.execute("ANALYZE prisma_issue")


async def import_prisma(
    *,
    source: asyncpg.Connection,
    target: asyncpg.Connection,
    dry_run: bool = False,
    strict: bool = False,
    full: bool = False,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Copy the Prisma-era database on ``source`` into the migrated database on ``target``.

    A re-run reads, of each table with ``updatedAt``, only the rows at or after the mark the
    last run left (less ``DELTA_MARGIN``), plus every id to find the rows deleted since;
    ``full`` reads everything again. Returns the report. Nothing is written on the target
    when ``dry_run``, when ``strict`` and a row would be repaired or quarantined
    (``report.refused``), or when anything fails; nothing is ever written on the source.
    """
    started = time.perf_counter()
    report = ImportReport(dry_run=dry_run, strict=strict)
    await source.execute("SET TIME ZONE 'UTC'")
    source_transaction = source.transaction(isolation="repeatable_read", readonly=True)
    await source_transaction.start()
    target_transaction = target.transaction()
    await target_transaction.start()
    try:
        # One import at a time; a second one waits for the first to finish.
        await target.execute("SELECT pg_advisory_xact_lock(hashtext('gatewaydb.import_prisma'))")
        # Sorts for the index builds and hashes for the checks stay in memory.
        await target.execute("SET LOCAL maintenance_work_mem = '256MB'")
        await target.execute("SET LOCAL work_mem = '64MB'")
        # The staging tables' statistics only steer scans and hash joins: a small sample does.
        await target.execute("SET LOCAL default_statistics_target = 10")
        with report.phase("plan"):
            plans = {plan.spec.name: plan for plan in await _plan(source, target, report)}
        if not full:
            for table, mark in await target.fetch(_MARKS):
                if table in plans and plans[table].has_updated_at:
                    plans[table].since = mark - DELTA_MARGIN
        await target.execute(
            "CREATE TEMP TABLE prisma_issue (tbl text, src_id text, kind text, rule text, "
            "detail text) ON COMMIT DROP"
        )
        await target.execute("CREATE INDEX ON prisma_issue (tbl, src_id)")
        totals = {}
        with report.phase("count source"):
            for name, plan in plans.items():
                totals[name] = await source.fetchval(
                    f"SELECT count(*) FROM {_q(name)}{_since_clause(plan)}",
                    *(() if plan.since is None else (plan.since,)),
                )
        triggers = await target.fetch(_TOUCH_TRIGGERS, list(TABLE_NAMES))
        # updated_at must come across as the source had it, not as the time of the import.
        for table, trigger in triggers:
            await target.execute(f"ALTER TABLE {_q(table)} DISABLE TRIGGER {_q(trigger)}")
        with report.phase("set aside indexes+fks"):
            load = await _set_aside_for_bulk_load(target, [*TABLE_NAMES, "api_keys"])
        # Each table is copied, checked and written in dependency order; meanwhile the source
        # is read ahead (the tables after it), on the cores the target's backend leaves idle.
        copies = {name: _table_copy(plan) for name, plan in plans.items()}
        ids = {name: _ids_copy(plan) for name, plan in plans.items() if plan.since is not None}
        read_ahead = _ReadAhead(
            source,
            [copy for name in plans for copy in (ids.get(name), copies[name]) if copy is not None],
            READ_AHEAD_BYTES,
        )
        try:
            for name, plan in plans.items():
                await _load_table(
                    target,
                    read_ahead,
                    plan,
                    copies[name],
                    ids.get(name),
                    totals[name],
                    progress,
                    report,
                )
                await _check_table(target, plan, plans, report)
                counts = report.tables[name] = TableCounts()
                with report.phase("count"):
                    await _count(target, plan, counts)
                await _write(target, plan, counts, report, load)
                if name == "users":
                    with report.phase("api keys"):
                        await _write_api_keys(target, report, load)
                with report.phase("keep quarantine"):
                    await _keep_quarantine(target, plan)
                # a table filled by this run alone has nothing the source lacks
                if name not in load.empty:
                    with report.phase("missing"):
                        await _missing(target, plan, counts, report)
        finally:
            await read_ahead.close()
        with report.phase("rebuild indexes+fks"):
            await _restore_after_bulk_load(target, load)
        for table, trigger in triggers:
            await target.execute(f"ALTER TABLE {_q(table)} ENABLE TRIGGER {_q(trigger)}")
        for name, plan in plans.items():
            if plan.has_updated_at:
                mark = await target.fetchval(f"SELECT max(updated_at) FROM {plan.staging}")
                if mark is not None:
                    await target.execute(_SET_MARK, name, mark)
        for kind, bucket in (("repaired", report.repairs), ("quarantined", report.quarantined)):
            for issue in await target.fetch(
                "SELECT tbl, src_id, rule, detail FROM prisma_issue WHERE kind = $1 "
                "ORDER BY tbl, src_id, rule",
                kind,
            ):
                bucket.append(
                    {"table": issue[0], "source_id": issue[1], "rule": issue[2], "detail": issue[3]}
                )
        # ON COMMIT DROP does not fire when the caller's transaction holds this one (a
        # savepoint): drop the scaffolding now so that the next run can build it again.
        stages = ", ".join(
            [plan.staging for plan in plans.values()]
            + [plan.ids for plan in plans.values() if plan.since is not None]
        )
        await target.execute(f"DROP TABLE prisma_issue, {stages}")
        report.refused = strict and bool(report.repairs or report.quarantined)
        if dry_run or report.refused:
            await target_transaction.rollback()
        else:
            await target_transaction.commit()
            report.committed = True
    except BaseException:
        await target_transaction.rollback()
        raise
    finally:
        # A source connection lost after (or while) it was read has nothing to roll back:
        # the error that ended the import, if any, is the one to see.
        if not source.is_closed():
            await source_transaction.rollback()
        report.elapsed_seconds = time.perf_counter() - started
    return report
