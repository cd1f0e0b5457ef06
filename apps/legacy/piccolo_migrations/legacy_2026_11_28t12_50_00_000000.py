from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.column_types import UUID
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.defaults.uuid import UUID4
from piccolo.columns.indexes import IndexMethod
from piccolo.constraints import Unique

ID = "2026-11-28T12:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Prisma-era import: a high-water mark of updatedAt per source table"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="legacy", description=DESCRIPTION
    )

    manager.add_table(
        class_name="PrismaWatermark",
        tablename="prisma_watermark",
        schema=None,
        columns=None,
    )

    manager.add_column(
        table_class_name="PrismaWatermark",
        tablename="prisma_watermark",
        column_name="id",
        db_column_name="id",
        column_class_name="UUID",
        column_class=UUID,
        params={
            "default": UUID4(),
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
        table_class_name="PrismaWatermark",
        tablename="prisma_watermark",
        column_name="source_table",
        db_column_name="source_table",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": None,
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
        table_class_name="PrismaWatermark",
        tablename="prisma_watermark",
        column_name="mark",
        db_column_name="mark",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
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
        table_class_name="PrismaWatermark",
        tablename="prisma_watermark",
        column_name="created_at",
        db_column_name="created_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": TimestamptzNow(),
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_constraint(
        table_class_name="PrismaWatermark",
        tablename="prisma_watermark",
        constraint_name="watermark_source_key",
        constraint_class=Unique,
        params={"columns": ["source_table"], "nulls_distinct": True},
        schema=None,
    )

    return manager
