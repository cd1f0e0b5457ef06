"""`piccolo db import-prisma`: the Prisma-era database, imported into a migrated one."""

from __future__ import annotations

import datetime
import json
import re
import struct
from typing import Any

import asyncpg
import pytest

from apps.core.errors import ValidationError
from apps.knowledge.selectors import document_pending_embedding_count
from apps.legacy.importer import DELTA_MARGIN, ImportReport, _spells_uuid, import_prisma
from apps.legacy.services import prisma_import
from apps.legacy.spec import (
    API_KEY_NAME,
    API_KEY_SCOPES,
    TABLES,
    UUID_PATTERN,
    mapped_id,
    snake_case,
)
from apps.users.errors import InvalidApiKeyError, InvalidCredentialsError
from apps.users.services import api_key_verify, user_check_password
from tests.fixtures.prisma_rows import DEMO_PASSWORD, LEGACY_A_PASSWORD, SEED_KEYS
from tests.prisma_import.conftest import SOURCE_VOLUME

EXPECTED_QUARANTINE = {
    ("users", "dup-user-later", "email_duplicate_ignoring_case"),
    ("assets", "dup-user-asset", "parent_quarantined"),
    ("assets", "negative-size-asset", "file_size_not_negative"),
    ("clips", "negative-size-clip", "parent_quarantined"),
    ("clips", "backwards-clip", "times_are_ordered"),
    ("predictions", "backwards-clip-prediction", "parent_quarantined"),
    ("campaigns", "backwards-campaign", "dates_are_ordered"),
    ("experiments", "backwards-campaign-experiment", "parent_quarantined"),
    ("performance_metrics", "duplicate-day-metric", "performance_metric_duplicate_day"),
}
EXPECTED_REPAIRS = {
    ("users", "settings-null-user", "null_to_default"),
    ("users", "md5-user", "password_hash_unknown_format"),
    ("clips", "handwritten-clip", "null_to_default"),
    ("campaigns", "lower-currency-campaign", "currency_upper_cased"),
    ("campaigns", "null-json-campaign", "null_to_default"),
    ("conversions", "dangling-clip-conversion", "attributed_clip_missing"),
    ("conversions", "lower-currency-conversion", "currency_upper_cased"),
    ("knowledge_documents", "short-embedding-doc", "embedding_wrong_length"),
    ("knowledge_documents", "empty-embedding-doc", "embedding_wrong_length"),
}
TARGET_TABLES = [spec.name for spec in TABLES] + ["api_keys", "prisma_id_map", "prisma_quarantine"]


def _float4(value: float) -> float:
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _issues(entries: list[dict[str, str | None]]) -> set[tuple[str | None, ...]]:
    return {(entry["table"], entry["source_id"], entry["rule"]) for entry in entries}


async def _fingerprint(target: asyncpg.Connection) -> dict[str, int]:
    return {
        table: await target.fetchval(f"SELECT count(*) FROM {table}") for table in TARGET_TABLES
    }


def _expected(table: str, column: str, value: Any) -> tuple[str, Any]:
    """The target column and value an old column's value must have become."""
    spec = next(spec for spec in TABLES if spec.name == table)
    name = snake_case(column)
    if value is not None and name == "id":
        return name, mapped_id(table, value)
    if value is not None and name in spec.references:
        return name, mapped_id(spec.references[name], value)
    if isinstance(value, datetime.datetime):
        return name, value.replace(tzinfo=datetime.UTC)
    return name, value


async def _target_rows(target: asyncpg.Connection, table: str) -> dict[Any, asyncpg.Record]:
    extra = ", t.embedding::real[] AS embedding_floats" if table == "knowledge_documents" else ""
    rows = await target.fetch(f"SELECT t.*{extra} FROM {table} t")
    return {row["id"]: row for row in rows}


async def test_every_value_crosses_field_by_field(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    # given the Prisma-era database, when it is imported
    report = await import_prisma(source=source, target=target)
    touched = {(table, source_id) for table, source_id, _ in _issues(report.repairs)}
    quarantined = {(table, source_id) for table, source_id, _ in EXPECTED_QUARANTINE}
    compared = 0
    # then every clean row is in the target with every value as it was
    for spec in TABLES:
        imported = await _target_rows(target, spec.name)
        for old in await source.fetch(f'SELECT * FROM "{spec.name}"'):
            if (spec.name, old["id"]) in touched | quarantined:
                continue
            new = imported[mapped_id(spec.name, old["id"])]
            for column, value in old.items():
                if column == "apiKey":
                    continue
                name, expected = _expected(spec.name, column, value)
                actual = new[name]
                if name == "embedding":
                    # pgvector stores float4: each float crosses as its nearest float4
                    actual = new["embedding_floats"]
                    expected = [_float4(x) for x in value] if value is not None else None
                elif isinstance(actual, str) and isinstance(value, str) and column in (
                    "settings", "metadata", "features", "targetAudience", "targetLocations",
                    "targetAgeRange", "variants", "metrics", "raw_data",
                ):  # fmt: skip
                    actual, expected = json.loads(actual), json.loads(value)
                assert actual == expected, (spec.name, old["id"], column)
                compared += 1
    assert compared > 20 * SOURCE_VOLUME
    # the values that test the edges came across exactly
    big = await target.fetchval("SELECT max(total_impressions) FROM campaigns")
    assert big > 2**31
    assert await target.fetchval("SELECT count(*) FROM performance_metrics WHERE raw_data IS NULL")


async def test_awkward_rows_are_repaired_or_quarantined_and_the_report_adds_up(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    report = await import_prisma(source=source, target=target)
    # every awkward row was handled by its rule; none dropped silently
    assert _issues(report.quarantined) >= EXPECTED_QUARANTINE
    assert _issues(report.repairs) >= EXPECTED_REPAIRS
    for name, counts in report.tables.items():
        assert counts.source == counts.imported + counts.quarantined, name
        assert counts.source == await source.fetchval(f'SELECT count(*) FROM "{name}"')
        assert counts.imported == await target.fetchval(f"SELECT count(*) FROM {name}")
        assert counts.quarantined == len(
            {s for t, s, _ in _issues(report.quarantined) if t == name}
        )
    assert report.unknown_tables == ["image_generations"]
    assert report.skipped_tables == ["_prisma_migrations"]
    # each quarantined row is kept whole with its rules; the plaintext key never is
    kept = await target.fetch("SELECT source_table, source_id, rules, row FROM prisma_quarantine")
    assert {(r[0], r[1]) for r in kept} == {(t, s) for t, s, _ in EXPECTED_QUARANTINE}
    backwards = next(r for r in kept if r[1] == "backwards-clip")
    assert backwards[2] == ["times_are_ordered"]
    assert json.loads(backwards[3])["start_time"] == 10.0
    assert "api_key" not in json.loads(next(r for r in kept if r[1] == "dup-user-later")[3])
    # the repairs themselves
    currencies = await target.fetch("SELECT DISTINCT currency FROM conversions ORDER BY 1")
    assert [r[0] for r in currencies] == ["GBP", "USD"]
    dangling = await target.fetchrow(
        "SELECT attributed_clip_id, metadata FROM conversions WHERE id = $1",
        mapped_id("conversions", "dangling-clip-conversion"),
    )
    assert dangling is not None and dangling[0] is None
    assert json.loads(dangling[1]) == {
        "pixel": True,
        "legacy_attributed_clip_id": "clip-deleted-long-ago",
    }
    settings = await target.fetchval(
        "SELECT settings FROM users WHERE id = $1", mapped_id("users", "settings-null-user")
    )
    assert json.loads(settings) == {}


_CATALOG_TABLES = [*TARGET_TABLES, "conversion_external_ids", "knowledge_document_versions"]


async def _catalog(target: asyncpg.Connection) -> dict[str, set[tuple[Any, ...]]]:
    """Every index, key, foreign key and trigger state of the imported tables (partitions too)."""
    relations = (
        "SELECT c.oid FROM pg_class c WHERE c.relname = ANY($1::text[]) UNION "
        "SELECT i.inhrelid FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
        "WHERE p.relname = ANY($1::text[])"
    )
    indexes = await target.fetch(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid), indisvalid "
        f"FROM pg_index WHERE indrelid IN ({relations})",
        _CATALOG_TABLES,
    )
    constraints = await target.fetch(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated "
        f"FROM pg_constraint WHERE conrelid IN ({relations})",
        _CATALOG_TABLES,
    )
    triggers = await target.fetch(
        "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger "
        f"WHERE NOT tgisinternal AND tgrelid IN ({relations})",
        _CATALOG_TABLES,
    )
    return {
        "indexes": {tuple(row) for row in indexes},
        "constraints": {tuple(row) for row in constraints},
        "triggers": {tuple(row) for row in triggers},
    }


async def test_a_first_import_sets_keys_and_indexes_aside_and_puts_back_the_same(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    # given an empty migrated target: what its catalog holds
    before = await _catalog(target)
    assert any(name == "users_pkey" for _, name, _, _ in before["constraints"])
    # when the first import loads it (keys, indexes and foreign keys set aside meanwhile)
    report = await import_prisma(source=source, target=target)
    assert report.phases["rebuild indexes+fks"] > 0
    # then every index, key and foreign key is back, the same name and definition, valid;
    # every trigger enabled again (the partitions the rows needed come with their own)
    after = await _catalog(target)
    for kind in ("indexes", "constraints", "triggers"):
        assert after[kind] >= before[kind], kind
        added = {row[0] for row in after[kind] - before[kind]}
        assert all(name.startswith(("conversions_y", "performance_metrics_y")) for name in added)
    # conversions' external ids were claimed in the ledger (one INSERT instead of the
    # trigger's row by row), and the ledger's trigger works again afterwards
    claimed = await target.fetchval(
        "SELECT count(*) FROM conversions c JOIN conversion_external_ids l "
        "ON l.external_id = c.external_id AND l.conversion_id = c.id"
    )
    assert claimed == await target.fetchval(
        "SELECT count(*) FROM conversions WHERE external_id IS NOT NULL"
    )
    assert claimed > 0
    with pytest.raises(asyncpg.UniqueViolationError):
        async with target.transaction():
            await target.execute(
                "INSERT INTO conversions (id, campaign_id, source, external_id, value, currency,"
                ' "timestamp") SELECT gen_random_uuid(), campaign_id, source, external_id,'
                ' value, currency, "timestamp" FROM conversions'
                " WHERE external_id IS NOT NULL LIMIT 1"
            )


async def test_a_target_that_already_has_users_keeps_their_keys_and_the_rest_loads_in_bulk(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    # given a target with one user of its own (created here before the import)
    own = await target.fetchval(
        "INSERT INTO users (id, email, name) VALUES (gen_random_uuid(), 'own@new.example', "
        "'Own') RETURNING id"
    )
    before = await _catalog(target)
    # when the import runs: users keeps its keys (an upsert), the empty tables load in bulk
    report = await import_prisma(source=source, target=target)
    # then everything adds up, the own user is still there, and the catalog is the same
    users = report.tables["users"]
    assert users.inserted == users.imported and users.updated == 0
    assert await target.fetchval("SELECT count(*) FROM users") == users.imported + 1
    assert report.missing_in_source == {"users": [str(own)]}
    assert report.tables["assets"].inserted == report.tables["assets"].imported > 0
    after = await _catalog(target)
    for kind in ("indexes", "constraints", "triggers"):
        added = {row[0] for row in after[kind] - before[kind]}
        assert after[kind] >= before[kind] and all(
            name.startswith(("conversions_y", "performance_metrics_y")) for name in added
        ), kind
    # the foreign key from assets to users was checked again on the way back
    orphans = await target.fetchval(
        "SELECT count(*) FROM assets a "
        "WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = a.user_id)"
    )
    assert orphans == 0


async def test_ids_that_are_not_uuids_become_uuid5_and_children_follow(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    await import_prisma(source=source, target=target)
    user_id = mapped_id("users", "user-handwritten-7")
    assert user_id.version == 5
    mapping = await target.fetch(
        "SELECT source_table, source_id, target_id FROM prisma_id_map ORDER BY 1, 2"
    )
    assert ("users", "user-handwritten-7", user_id) in [tuple(row) for row in mapping]
    asset_owner = await target.fetchval(
        "SELECT user_id FROM assets WHERE id = $1", mapped_id("assets", "asset-handwritten-7")
    )
    assert asset_owner == user_id
    clip_asset = await target.fetchval(
        "SELECT asset_id FROM clips WHERE id = $1", mapped_id("clips", "handwritten-clip")
    )
    assert clip_asset == mapped_id("assets", "asset-handwritten-7")


async def test_legacy_api_keys_verify_by_the_one_indexed_lookup(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    report = await import_prisma(source=source, target=target)
    keyed = await source.fetchval('SELECT count(*) FROM users WHERE "apiKey" IS NOT NULL')
    assert report.api_keys == {"inserted": keyed, "updated": 0, "revoked": 0}
    for email, key in [*SEED_KEYS.items(), ("user0@example.com", "legacy_key_0")]:
        principal = await api_key_verify(key=key, required_scopes=API_KEY_SCOPES)
        owner = await source.fetchval("SELECT id FROM users WHERE email = $1", email)
        assert principal.user_id == mapped_id("users", owner)
    row = await target.fetchrow(
        "SELECT name, prefix, scopes FROM api_keys WHERE user_id = $1",
        mapped_id("users", await source.fetchval("SELECT id FROM users WHERE role = 'ADMIN'")),
    )
    assert row is not None and tuple(row) == (API_KEY_NAME, "dev_admin_k", sorted(API_KEY_SCOPES))
    # the plaintext is stored nowhere
    for key in SEED_KEYS.values():
        hits = await target.fetchval(
            "SELECT count(*) FROM api_keys k WHERE k::text LIKE '%' || $1 || '%'", key
        )
        assert hits == 0
    plan = await target.fetchval(
        "EXPLAIN (FORMAT JSON) SELECT id FROM api_keys WHERE key_hash = $1", "x" * 64
    )
    assert "api_keys_key_hash" in plan and "Seq Scan" not in plan


async def test_a_bcrypt_password_logs_in_and_is_rehashed_to_argon2id(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    await import_prisma(source=source, target=target)
    for email, password, prefix in [
        ("demo@gateway.dev", DEMO_PASSWORD, "$2b$"),
        ("enterprise@gateway.dev", LEGACY_A_PASSWORD, "$2a$"),
    ]:
        before = await target.fetchval("SELECT password_hash FROM users WHERE email = $1", email)
        assert before.startswith(prefix)
        with pytest.raises(InvalidCredentialsError):
            await user_check_password(email=email, password="not-the-password")
        user = await user_check_password(email=email, password=password)
        after = await target.fetchval("SELECT password_hash FROM users WHERE id = $1", user.id)
        assert after.startswith("$argon2id$")
        assert (await user_check_password(email=email, password=password)).id == user.id
    cleared = await target.fetchval(
        "SELECT password_hash FROM users WHERE id = $1", mapped_id("users", "md5-user")
    )
    assert cleared is None


async def test_embeddings_of_another_length_are_cleared_and_left_for_reembed(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    await import_prisma(source=source, target=target)
    rows = await target.fetch(
        "SELECT name, vector_dims(embedding) FROM knowledge_documents ORDER BY name"
    )
    assert [tuple(row) for row in rows] == [
        ("Document 0", 1536),
        ("Document 1", 1536),
        ("Document 10", None),
        ("Document 11", None),
        ("Document 12", None),
        ("Document 2", 1536),
    ]
    assert await document_pending_embedding_count(model="text-embedding-3-small") == 3


async def test_a_dry_run_writes_nothing(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    before = await _fingerprint(target)
    report = await import_prisma(source=source, target=target, dry_run=True)
    assert report.tables["clips"].inserted > 0 and not report.committed
    assert _issues(report.quarantined) >= EXPECTED_QUARANTINE
    assert await _fingerprint(target) == before


async def _rows_from(source: asyncpg.Connection, table: str, since: datetime.datetime) -> int:
    """How many rows of the source table have updatedAt >= since (a naive UTC stamp)."""
    count: int = await source.fetchval(
        f'SELECT count(*) FROM {table} WHERE "updatedAt" >= $1', since
    )
    return count


async def test_a_second_run_changes_nothing_and_a_third_brings_only_the_changes(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    first = await import_prisma(source=source, target=target)
    # the first run leaves, per table with updatedAt, the largest one it imported
    marks = dict(await target.fetch("SELECT source_table, mark FROM prisma_watermark"))
    newest = {
        spec.name: await source.fetchval(f'SELECT max("updatedAt") FROM {spec.name}')
        for spec in TABLES
        if spec.name != "performance_metrics"  # the one old table without updatedAt
    }
    assert {name: mark.replace(tzinfo=None) for name, mark in marks.items()} == newest
    second = await import_prisma(source=source, target=target)
    for name, counts in second.tables.items():
        assert (counts.inserted, counts.updated) == (0, 0), name
        assert counts.unchanged == counts.imported, name
        assert counts.source_total == first.tables[name].source, name
        if name in newest:  # read again: only the rows within the margin of the mark
            since = newest[name] - DELTA_MARGIN
            assert counts.source == await _rows_from(source, name, since), name
            assert counts.read_since == marks[name] - DELTA_MARGIN
        else:  # no updatedAt: read whole and compared
            assert counts.source == first.tables[name].source
    delta_read = sum(second.tables[name].source for name in newest)
    assert delta_read < sum(first.tables[name].source for name in newest) / 20
    assert second.api_keys == {"inserted": 0, "updated": 0, "revoked": 0}
    assert not second.missing_in_source
    # when the source changes: one row edited (Prisma bumps updatedAt), one added, one deleted
    demo = await source.fetchval("SELECT id FROM users WHERE email = 'demo@gateway.dev'")
    await source.execute(
        'UPDATE campaigns SET budget = 7500.00, "updatedAt" = now() '
        "WHERE \"metaCampaignId\" = 'meta-c-1'"
    )
    await source.execute(
        'INSERT INTO campaigns (id, "userId", name, budget, "updatedAt") '
        "VALUES ('new-since-last-run', $1, 'Late campaign', 10.00, now())",
        demo,
    )
    gone = await source.fetchval("SELECT id FROM predictions ORDER BY id LIMIT 1")
    await source.execute("DELETE FROM predictions WHERE id = $1", gone)
    third = await import_prisma(source=source, target=target)
    changed = {
        n: (c.inserted, c.updated) for n, c in third.tables.items() if c.inserted or c.updated
    }
    assert changed == {"campaigns": (1, 1)}
    # then it read those two campaigns and the margin's rows, not the whole table
    within_margin = await _rows_from(source, "campaigns", newest["campaigns"] - DELTA_MARGIN)
    assert third.tables["campaigns"].source == within_margin
    assert (
        sum(third.tables[name].source for name in newest)
        < sum(third.tables[name].source_total for name in newest) / 20
    )
    # the deleted row is found by the ids-only scan
    assert third.missing_in_source == {"predictions": [str(mapped_id("predictions", gone))]}
    assert third.tables["predictions"].source < third.tables["predictions"].source_total
    budget = await target.fetchval(
        "SELECT budget FROM campaigns WHERE meta_campaign_id = 'meta-c-1'"
    )
    assert str(budget) == "7500.00"
    # and --full (full=True) reads everything again and still changes nothing
    full = await import_prisma(source=source, target=target, full=True)
    assert full.source_rows == sum(c.source_total for c in third.tables.values())
    assert all((c.inserted, c.updated) == (0, 0) for c in full.tables.values())


async def test_a_key_changed_or_taken_away_in_the_source_follows_on_the_next_run(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    # given an import, when the old platform rotates one key and takes another away
    await import_prisma(source=source, target=target)
    await source.execute(
        'UPDATE users SET "apiKey" = \'rotated_demo_key\', "updatedAt" = now() '
        "WHERE email = 'demo@gateway.dev'"
    )
    await source.execute(
        'UPDATE users SET "apiKey" = NULL, "updatedAt" = now() '
        "WHERE email = 'enterprise@gateway.dev'"
    )
    again = await import_prisma(source=source, target=target)
    # then the next run follows: the old strings stop working, the new one works
    assert again.api_keys == {"inserted": 0, "updated": 1, "revoked": 1}
    for gone in (SEED_KEYS["demo@gateway.dev"], SEED_KEYS["enterprise@gateway.dev"]):
        with pytest.raises(InvalidApiKeyError):
            await api_key_verify(key=gone)
    demo = await source.fetchval("SELECT id FROM users WHERE email = 'demo@gateway.dev'")
    assert (await api_key_verify(key="rotated_demo_key")).user_id == mapped_id("users", demo)
    assert (await api_key_verify(key=SEED_KEYS["admin@gateway.dev"])).user_id is not None


async def test_a_failure_half_way_leaves_the_target_as_it_was(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    before = await _fingerprint(target)

    def fail_on_campaigns(table: str, done: int, total: int) -> None:
        if table == "campaigns":
            raise RuntimeError("the operator pressed Ctrl-C")

    with pytest.raises(RuntimeError):
        await import_prisma(source=source, target=target, progress=fail_on_campaigns)
    assert await _fingerprint(target) == before
    # and the connection is usable: the next run goes through
    report = await import_prisma(source=source, target=target)
    assert report.committed


async def test_strict_refuses_the_whole_import_when_any_row_is_repaired_or_quarantined(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    before = await _fingerprint(target)
    report: ImportReport = await import_prisma(source=source, target=target, strict=True)
    assert report.refused and not report.committed
    assert await _fingerprint(target) == before


async def _source_checksum(source: asyncpg.Connection) -> dict[str, str]:
    return {
        spec.name: await source.fetchval(
            "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) "
            f'FROM "{spec.name}" t'
        )
        for spec in TABLES
    }


async def test_the_source_is_only_read(
    source: asyncpg.Connection, target: asyncpg.Connection
) -> None:
    before = await _source_checksum(source)
    await import_prisma(source=source, target=target)
    assert await _source_checksum(source) == before
    assert not source.is_in_transaction()


async def test_a_source_that_is_not_a_url_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as refused:
        await prisma_import(source_url="mysql://old:secret@db/gateway")
    assert refused.value.field == "source" and refused.value.rule == "url"
    assert "secret" not in refused.value.message


@pytest.mark.parametrize(
    "old_id",
    [
        "0b7c3a52-5d7e-4c1f-9a3b-2f1e0d9c8b7a",
        "0B7C3A52-5D7E-4C1F-9A3B-2F1E0D9C8B7A",
        "0b7c3a525d7e4c1f9a3b2f1e0d9c8b7a",
        "{0b7c3a52-5d7e-4c1f-9a3b-2f1e0d9c8b}",
        "{b7c3a52-5d7e-4c1f-9a3b-2f1e0d9c8b7}",
        "0b7c3a52-5d7e-4c1f-9a3b-2f1e0d9c8-7a",
        "0b7c3a52-5d7e-4c1f-9a3b+2f1e0d9c8b7a",
        "------------------------------------",
        "0b7c3a52-----4c1f-9a3b-2f1e0d9c8b7a",
        "0b7c3a52-5d7e-4c1f-9a3b-2f1e0d9c8b7g",
        "0b7c3a52-5d7e-4c1f-9a3b-2f1e0d9c8b7a ",
        "0b7c3a52-5d7e-4c1f-9a3b-2f1e0d9c8b7é",
        "éééééééé-éééé-éééé-éééé-éééééééééééé",
        "user-handwritten-7",
        "",
    ],
)
async def test_the_sql_uuid_test_agrees_with_the_documented_pattern(
    target: asyncpg.Connection, old_id: str
) -> None:
    # the importer's per-row SQL (no anchored bounded-repeat regex) says what UUID_PATTERN
    # says, in both its forms (pg_input_is_valid where the source has it, PostgreSQL 16+)
    expected = re.fullmatch(UUID_PATTERN, old_id) is not None
    for input_is_valid in (False, True):
        sql = _spells_uuid("$1::text", input_is_valid=input_is_valid)
        assert await target.fetchval(f"SELECT {sql}", old_id) is expected, (old_id, sql)
