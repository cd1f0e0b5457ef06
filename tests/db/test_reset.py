"""`piccolo db reset`: drop everything, migrate, seed; guarded against accidents."""

from __future__ import annotations

from tests.db.helpers import MIGRATION_FILES, fetch, one_line_error, piccolo_db, table_checksums


async def _count(url: str, table: str) -> int:
    rows = await fetch(url, f"SELECT count(*) AS n FROM {table}")
    return int(rows[0]["n"])


async def test_reset_rebuilds_the_database_and_seeds_it(migrated_database: str) -> None:
    # given a database with stray data and a table no migration knows
    await fetch(migrated_database, "CREATE TABLE leftover (id integer)")
    await fetch(migrated_database, "INSERT INTO users (email, name) VALUES ('stray@x.io', 'Stray')")

    # when it is reset
    result = piccolo_db("reset", "--yes", url=migrated_database)

    # then only the migrated schema and the sample data remain
    assert result.returncode == 0, result.stderr
    leftover = await fetch(migrated_database, "SELECT to_regclass('leftover') AS t")
    assert leftover[0]["t"] is None
    assert await _count(migrated_database, "migration") == MIGRATION_FILES
    assert await _count(migrated_database, "users") == 3
    assert await _count(migrated_database, "users WHERE email = 'stray@x.io'") == 0
    assert result.stdout.count("API key for ") == 3
    # and it says what it removed, the admin logins included, and how to get one back
    assert (
        "reset done; removed every table and its rows, the migration history, "
        "the admin logins (piccolo_user) and their sessions"
    ) in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == (
        "no admin login exists now: run `piccolo user create` (answer yes to 'admin user')"
    )


async def test_reset_no_seed_leaves_an_empty_migrated_database(migrated_database: str) -> None:
    # given a seeded database
    assert piccolo_db("seed", url=migrated_database).returncode == 0
    # when it is reset without seeding
    result = piccolo_db("reset", "--yes", "--no-seed", url=migrated_database)
    # then the schema is there and empty
    assert result.returncode == 0, result.stderr
    assert await _count(migrated_database, "migration") == MIGRATION_FILES
    assert await _count(migrated_database, "users") == 0


async def test_reset_without_a_terminal_needs_yes(migrated_database: str) -> None:
    # given a seeded database
    assert piccolo_db("seed", url=migrated_database).returncode == 0
    before = await table_checksums(migrated_database)
    # when reset runs from a script without --yes
    result = piccolo_db("reset", url=migrated_database)
    # then it is refused and nothing changed
    one_line_error(result, "not a terminal", "--yes")
    assert await table_checksums(migrated_database) == before


async def test_reset_is_refused_in_production_whatever_the_flags(migrated_database: str) -> None:
    # given a seeded database in an environment marked production
    assert piccolo_db("seed", url=migrated_database).returncode == 0
    before = await table_checksums(migrated_database)
    # when reset runs with --yes
    result = piccolo_db(
        "reset",
        "--yes",
        "--no-seed",
        url=migrated_database,
        GATEWAYDB_ENVIRONMENT="production",
        GATEWAYDB_SECRET_KEY="a-production-secret-for-tests",
    )
    # then it is refused and nothing changed
    one_line_error(result, "refused in production")
    assert await table_checksums(migrated_database) == before
