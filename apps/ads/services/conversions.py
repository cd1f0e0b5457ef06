"""Idempotent batch ingestion of conversions, attributed to campaigns and clips."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

from apps.ads.errors import AdsValidationError
from apps.ads.records import ConversionInput, IngestResult
from apps.ads.tables import Conversion, ConversionSource
from apps.core import rawsql
from apps.core.db_errors import translate_errors
from apps.core.validation import (
    aware,
    currency,
    json_object,
    money,
    not_blank,
    validated,
)

# Batches larger than this go through COPY into a temporary table; smaller ones are sent
# as arrays in one INSERT ... SELECT FROM unnest(...).
COPY_THRESHOLD: Final = 1000

# In the table's order (``id`` first); the INSERT below selects its values in that order.
_CONVERSION_COLUMNS = rawsql.columns(
    Conversion,
    only=(
        "id",
        "campaign_id",
        "source",
        "external_id",
        "value",
        "currency",
        "attributed_clip_id",
        "attributed_ad_id",
        "timestamp",
        "metadata",
    ),
)
# conversions is partitioned by month, so external_id's unique rule lives in
# conversion_external_ids: one statement claims the ids there (ON CONFLICT DO NOTHING skips
# ids already stored, or earlier in the batch) and inserts only the conversions it claimed
# ids for. The trigger on conversions then finds each claim made by its own row.
_CLAIM_AND_INSERT = f"""
, claimed AS (
    INSERT INTO conversion_external_ids (external_id, conversion_id, "timestamp")
    SELECT x.external_id, x.id, x.ts FROM x WHERE x.external_id IS NOT NULL
    ORDER BY x.external_id
    ON CONFLICT (external_id) DO NOTHING
    RETURNING conversion_id
)
INSERT INTO conversions ({_CONVERSION_COLUMNS})
SELECT x.id, x.campaign_id, $1::text, x.external_id, x.value, x.currency, x.clip_id, x.ad_id,
       x.ts, x.metadata
FROM x
WHERE x.external_id IS NULL OR x.id IN (SELECT conversion_id FROM claimed)
ORDER BY x.external_id
RETURNING external_id, campaign_id
"""
_CONVERSION_INSERT_ARRAYS = rawsql.statement(
    f"""
WITH x AS MATERIALIZED (
    SELECT gen_random_uuid() AS id, x.external_id, x.value, x.currency, x.campaign_id,
           x.clip_id, x.ad_id, COALESCE(x.ts, now()) AS ts, x.metadata::jsonb AS metadata
    FROM unnest($2::text[], $3::numeric[], $4::text[], $5::uuid[], $6::uuid[], $7::text[],
                $8::timestamptz[], $9::text[])
         AS x(external_id, value, currency, campaign_id, clip_id, ad_id, ts, metadata)
)
{_CLAIM_AND_INSERT}""",
    owner=__name__,
)
_INCOMING_TABLE = "ads_conversions_incoming"
# A large batch is copied into this temporary table of the session first; the statements
# reading it are recorded with it as their setup.
_INCOMING_CREATE = rawsql.statement(
    f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {_INCOMING_TABLE} (
    external_id text, value numeric, currency text, campaign_id uuid, clip_id uuid,
    ad_id text, ts timestamptz, metadata jsonb
) ON COMMIT DELETE ROWS
""",
    owner=__name__,
)
_INCOMING_TRUNCATE = rawsql.statement(
    f"TRUNCATE {_INCOMING_TABLE}", owner=__name__, setup=_INCOMING_CREATE
)
# Run by the large-batch test of tests/ads/test_conversions.py.
_CONVERSION_INSERT_COPIED = rawsql.statement(
    f"""
WITH x AS MATERIALIZED (
    SELECT gen_random_uuid() AS id, x.external_id, x.value, x.currency, x.campaign_id,
           x.clip_id, x.ad_id, COALESCE(x.ts, now()) AS ts, x.metadata
    FROM {_INCOMING_TABLE} x
)
{_CLAIM_AND_INSERT}""",
    owner=__name__,
    setup=_INCOMING_CREATE,
)
# One statement for every touched campaign, whatever their number. The ids arrive sorted and
# the join runs from the (small) array to the primary key, so rows are locked in id order
# and concurrent batches cannot deadlock.
_BUMP_CONVERSIONS = rawsql.statement(
    """
UPDATE campaigns c SET total_conversions = c.total_conversions + x.added
FROM unnest($1::uuid[], $2::bigint[]) AS x(id, added)
WHERE c.id = x.id
""",
    owner=__name__,
)


def _conversion(index: int, item: Any) -> tuple[ConversionInput, str]:
    """The checked conversion and its metadata as JSON text."""
    if not isinstance(item, ConversionInput):
        raise AdsValidationError(
            f"conversions[{index}] must be a ConversionInput",
            field=f"conversions[{index}]",
            rule="type",
        )
    where = f"conversions[{index}]"
    if not isinstance(item.external_id, str):
        raise AdsValidationError(
            f"{where}.external_id must be a string", field=f"{where}.external_id", rule="type"
        )
    not_blank(item.external_id, field=f"{where}.external_id")
    money(item.value, field=f"{where}.value")
    currency(item.currency, field=f"{where}.currency")
    aware(item.timestamp, field=f"{where}.timestamp")
    return item, json_object(item.metadata, field=f"{where}.metadata")


@validated(error=AdsValidationError)
async def conversion_ingest_batch(
    *, source: ConversionSource, conversions: Sequence[ConversionInput]
) -> IngestResult:
    """Store a batch of reported conversions idempotently, in one transaction.

    A conversion whose ``external_id`` is already stored (or appears earlier in the same
    batch) is skipped: re-delivering a batch changes nothing, and concurrent deliveries of
    the same conversion store and count it once (the primary key of
    conversion_external_ids decides, across the monthly partitions of conversions).
    Each new conversion adds 1 to its campaign's ``total_conversions``; its ``value`` is
    revenue, summed by :func:`apps.ads.selectors.campaign_rollup`, not a campaign total.
    Rows are inserted, and campaigns updated, in key order so that concurrent batches
    cannot deadlock. An unknown campaign or clip fails the whole batch (NotFoundError
    naming ``campaign_id`` or ``attributed_clip_id``): nothing is half written.
    """
    source_value = ConversionSource(source).value
    checked = sorted(
        (_conversion(i, item) for i, item in enumerate(conversions)),
        key=lambda pair: pair[0].external_id,
    )
    items = [item for item, _ in checked]
    metadata = [text for _, text in checked]
    if not items:
        return IngestResult(received=0, inserted=0, duplicates=0, new_external_ids=())
    engine = rawsql.engine_of(Conversion)
    async with translate_errors(), engine.transaction(), rawsql.connection(engine) as conn:
        if len(items) > COPY_THRESHOLD:
            await conn.execute(_INCOMING_CREATE)
            await conn.execute(_INCOMING_TRUNCATE)
            await conn.copy_records_to_table(
                _INCOMING_TABLE,
                records=[
                    (
                        c.external_id,
                        c.value,
                        c.currency,
                        c.campaign_id,
                        c.attributed_clip_id,
                        c.attributed_ad_id,
                        c.timestamp,
                        text,
                    )
                    for c, text in checked
                ],
            )
            rows = await conn.fetch(_CONVERSION_INSERT_COPIED, source_value)
        else:
            rows = await conn.fetch(
                _CONVERSION_INSERT_ARRAYS,
                source_value,
                [c.external_id for c in items],
                [c.value for c in items],
                [c.currency for c in items],
                [c.campaign_id for c in items],
                [c.attributed_clip_id for c in items],
                [c.attributed_ad_id for c in items],
                [c.timestamp for c in items],
                metadata,
            )
        per_campaign = Counter(row["campaign_id"] for row in rows if row["campaign_id"])
        if per_campaign:
            touched = sorted(per_campaign.items())
            await conn.execute(
                _BUMP_CONVERSIONS,
                [campaign_id for campaign_id, _ in touched],
                [added for _, added in touched],
            )
    return IngestResult(
        received=len(items),
        inserted=len(rows),
        duplicates=len(items) - len(rows),
        new_external_ids=tuple(row["external_id"] for row in rows),
    )
