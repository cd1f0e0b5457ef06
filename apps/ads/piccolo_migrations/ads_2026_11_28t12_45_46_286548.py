from piccolo.columns.column_types import Text
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.column_types import UUID
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.defaults.uuid import UUID4
from piccolo.columns.indexes import IndexMethod

from apps.core.migration_steps import RecordedOnlyMigrationManager
from apps.db.partitions import HISTORY, convert_to_partitioned, convert_to_plain

ID = "2026-11-28T12:45:46:286548"
VERSION = "1.38.0"
DESCRIPTION = "partition conversions and performance_metrics by month"

# conversions (by month of "timestamp") and performance_metrics (by month of date) become
# RANGE-partitioned without a long exclusive lock: see apps/db/partitions.py. The old table
# becomes the partition of everything before next month. conversions.external_id stays
# unique through conversion_external_ids (filled by a trigger and the ingestion). Piccolo's
# own operations below only record the new state (RecordedOnlyMigrationManager); the raw
# steps do the work, outside a transaction (concurrent index builds).


async def _forwards() -> None:
    for history in HISTORY:
        await convert_to_partitioned(history)


async def _backwards() -> None:
    for history in reversed(HISTORY):
        await convert_to_plain(history)


async def forwards():
    manager = RecordedOnlyMigrationManager(
        migration_id=ID, app_name="ads", description=DESCRIPTION, wrap_in_transaction=False
    )
    manager.add_raw(_forwards)
    manager.add_raw_backwards(_backwards)

    manager.add_table(
        class_name="ConversionExternalId",
        tablename="conversion_external_ids",
        schema=None,
        columns=None,
    )

    manager.add_column(
        table_class_name="ConversionExternalId",
        tablename="conversion_external_ids",
        column_name="external_id",
        db_column_name="external_id",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": "",
            "null": False,
            "primary_key": True,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="ConversionExternalId",
        tablename="conversion_external_ids",
        column_name="conversion_id",
        db_column_name="conversion_id",
        column_class_name="UUID",
        column_class=UUID,
        params={
            "default": UUID4(),
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="ConversionExternalId",
        tablename="conversion_external_ids",
        column_name="timestamp",
        db_column_name="timestamp",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": TimestamptzNow(),
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.alter_column(
        table_class_name="Conversion",
        tablename="conversions",
        column_name="external_id",
        db_column_name="external_id",
        params={"unique": False},
        old_params={"unique": True},
        column_class=Text,
        old_column_class=Text,
        schema=None,
    )

    return manager
