"""`piccolo db seed`: the docs/data-model.md sample data, the same rows however often it runs."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from piccolo.table import Table

from apps.ads.tables import Campaign, Conversion, Experiment, PerformanceMetric
from apps.db.seed import database_seed
from apps.knowledge.tables import KnowledgeDocument
from apps.media.tables import Asset, Clip, Prediction
from apps.users.tables import ApiKey, User
from tests.db.helpers import one_line_error, piccolo_db

EXPECTED_ROWS: dict[type[Table], int] = {
    User: 3,
    ApiKey: 3,
    Asset: 2,
    Clip: 11,
    Prediction: 5,
    Campaign: 2,
    Experiment: 1,
    Conversion: 10,
    PerformanceMetric: 14,
    KnowledgeDocument: 3,
}
KEY_LINE = re.compile(r"^API key for (\S+) \(shown once, store it now\): (\S+)$")


async def _ids() -> dict[str, list[Any]]:
    return {
        table._meta.tablename: sorted(
            str(row["id"]) for row in await table.select(table._meta.primary_key)
        )
        for table in EXPECTED_ROWS
    }


async def test_seed_creates_the_sample_data_of_the_data_model() -> None:
    # given an empty database
    # when it is seeded
    report = await database_seed()

    # then every table holds exactly the sample rows
    for table, rows in EXPECTED_ROWS.items():
        assert await table.count() == rows, table._meta.tablename
    assert report.created == {table._meta.tablename: n for table, n in EXPECTED_ROWS.items()}
    # and the shapes docs/data-model.md asks for are there
    roles = {row["role"] for row in await User.select(User.role)}
    assert roles == {"ADMIN", "USER", "ENTERPRISE"}
    assert await Asset.count().where(Asset.status == "READY") == 2
    assets = await Asset.select(Asset.id)
    clips_per_asset = sorted([await Clip.count().where(Clip.asset == a["id"]) for a in assets])
    assert clips_per_asset == [5, 6]
    assert await Prediction.count().where(Prediction.model_version == "v1.2.3") == 5
    assert await Campaign.count().where(Campaign.status == "ACTIVE") == 2
    assert await Experiment.count().where(Experiment.status == "RUNNING") == 1
    experiment = await Experiment.select(Experiment.variants).first().output(load_json=True)
    assert experiment is not None
    assert [v["impressions"] for v in experiment["variants"]] == [50_000, 50_000]
    assert await Conversion.count().where(Conversion.attributed_clip.is_not_null()) == 10
    assert await KnowledgeDocument.count().where(KnowledgeDocument.embedding.is_not_null()) == 3
    # the documents are embedded by the configured (offline) embedder, so search works
    from apps.knowledge.selectors import document_search_vector

    hits = await document_search_vector(query="how to calculate ROAS from revenue", k=3)
    assert hits and hits[0].document.name == "ROAS Calculation Methods"


async def test_seeding_twice_leaves_the_same_rows_with_the_same_ids() -> None:
    # given a seeded database
    first = await database_seed()
    ids = await _ids()

    # when it is seeded again
    second = await database_seed()

    # then nothing was added and every id is the same
    assert await _ids() == ids
    assert sum(second.created.values()) == 0
    assert second.rows == first.rows
    # and the conversions counted into their campaign once
    totals = await Campaign.select(Campaign.total_conversions).where(
        Campaign.name == "Summer Sale Conversions"
    )
    assert totals == [{"total_conversions": 187}]
    # and no API key is shown the second time
    assert len(first.secrets) == 3
    assert second.secrets == []


async def test_api_keys_are_shown_once_and_only_their_hash_is_stored() -> None:
    # given the keys a seed printed
    report = await database_seed()
    printed = [KEY_LINE.match(line) for line in report.secrets]
    assert all(printed)

    # then each key's hash is stored under its owner, and the key itself nowhere
    for match in printed:
        assert match is not None
        email, key = match.groups()
        stored = await ApiKey.select(ApiKey.key_hash, ApiKey.prefix).where(
            ApiKey.user.email == email
        )
        assert stored == [
            {"key_hash": hashlib.sha256(key.encode()).hexdigest(), "prefix": key[:11]}
        ]
        assert await ApiKey.count().where(ApiKey.key_hash == key) == 0


async def test_seed_if_empty_seeds_a_fresh_database_only_once(migrated_database: str) -> None:
    # given a fresh migrated database
    # when `seed --if-empty` runs twice
    first = piccolo_db("seed", "--if-empty", url=migrated_database)
    second = piccolo_db("seed", "--if-empty", url=migrated_database)

    # then the first seeds (printing three keys) and the second does nothing
    assert first.returncode == 0, first.stderr
    assert len([line for line in first.stdout.splitlines() if KEY_LINE.match(line)]) == 3
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "seed skipped: the database already has data"


async def test_seed_on_a_database_without_the_schema_says_to_deploy_first(
    scratch_database: str,
) -> None:
    # given an empty database without any migration
    # when it is seeded
    result = piccolo_db("seed", url=scratch_database)
    # then one line says what to do
    one_line_error(result, "does not exist: run `piccolo db deploy` before seeding")
