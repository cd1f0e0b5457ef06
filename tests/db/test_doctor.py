"""`piccolo db doctor`: the facts of the configured database; one line per problem."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SERVER_URL, admin_execute
from tests.db.helpers import ADD_ADMIN_LOGIN, MIGRATION_FILES, fetch, lines, piccolo_db


def _facts(stdout: str) -> list[str]:
    """The report's lines with runs of spaces squeezed."""
    return [" ".join(line.split()) for line in stdout.splitlines()]


def _read(path: str) -> str:
    return Path(path).read_text()


def _write(path: str, text: str) -> None:
    Path(path).write_text(text)


def _with_login(url: str, user: str, password: str) -> str:
    return url.replace("postgresql://postgres:@", f"postgresql://{user}:{password}@", 1).replace(
        "postgresql://postgres@", f"postgresql://{user}:{password}@", 1
    )


async def test_doctor_reports_a_missing_admin_login_with_its_fix(migrated_database: str) -> None:
    # given a migrated database where nobody may log in to the admin
    # when the doctor checks it
    result = piccolo_db("doctor", url=migrated_database)
    # then that is a problem, with the command that fixes it
    assert result.returncode == 1
    assert "admin logins 0" in _facts(result.stdout)
    assert lines(result.stdout + result.stderr, "problem: no admin login") == [
        "problem: no admin login: run `make run` (it creates the local login on the embedded "
        "database) or `piccolo user create` (answer yes to 'admin user')"
    ]


async def test_doctor_reports_a_healthy_database_without_the_password(
    migrated_database: str,
) -> None:
    # given a migrated database reached with a password in the URL (the server trusts
    # local logins, so any password works)
    url = _with_login(migrated_database, "postgres", "s3cret-Pa55")
    assert "s3cret-Pa55" in url
    await fetch(migrated_database, ADD_ADMIN_LOGIN)

    # when the doctor checks it
    result = piccolo_db("doctor", url=url)

    # then it reports server, pgvector, pool, migrations and drift, and no problem
    assert result.returncode == 0, result.stderr
    assert "PostgreSQL 18" in result.stdout
    assert lines(result.stdout, "pgvector")[0].split()[-1] == "0.8.5"
    assert "min 1, max 10, acquire timeout 10 s, connect timeout 5 s" in result.stdout
    assert "migrations users 5 applied, 0 pending" in _facts(result.stdout)
    assert lines(result.stdout, "drift")[0].split()[-1] == "none"
    assert result.stdout.splitlines()[-1] == "ok: no problems found"
    # and the password is never shown
    assert "s3cret-Pa55" not in result.stdout + result.stderr
    assert ":***@" in result.stdout


async def test_doctor_reports_an_unreachable_server_in_one_line() -> None:
    # given a URL where nothing listens
    url = "postgresql://postgres:pw@127.0.0.1:9/gatewaydb?connect_timeout=2"
    # when the doctor checks it
    result = piccolo_db("doctor", url=url)
    # then exactly one problem says it cannot connect, and the exit status is 1
    assert result.returncode == 1
    problems = lines(result.stderr, "problem: ")
    assert len(problems) == 1, result.stderr
    assert "cannot connect to the database at postgresql://postgres:***@127.0.0.1:9" in problems[0]
    assert "pw@" not in result.stdout + result.stderr


async def test_doctor_reports_a_bad_password_in_one_line(migrated_database: str) -> None:
    # given a role that must log in with a password (scram), and a wrong password
    rows = await fetch(SERVER_URL, "SHOW hba_file")
    hba_file = rows[0]["hba_file"]
    hba = _read(hba_file)
    await admin_execute("CREATE ROLE doctor_login LOGIN PASSWORD 'right-password'")
    try:
        _write(hba_file, "local all doctor_login scram-sha-256\n" + hba)
        await admin_execute("SELECT pg_reload_conf()")
        url = _with_login(migrated_database, "doctor_login", "wrong-password")

        # when the doctor checks it
        result = piccolo_db("doctor", url=url)
    finally:
        _write(hba_file, hba)
        await admin_execute("SELECT pg_reload_conf()", "DROP ROLE doctor_login")

    # then one problem names the failed password login, without the password
    assert result.returncode == 1
    problems = lines(result.stderr, "problem: ")
    assert len(problems) == 1, result.stderr
    assert 'password authentication failed for user "doctor_login"' in problems[0]
    assert "wrong-password" not in result.stdout + result.stderr


async def test_doctor_reports_a_missing_extension_and_pending_migrations(
    scratch_database: str,
) -> None:
    # given an empty database: no pgvector, no migration applied
    # when the doctor checks it
    result = piccolo_db("doctor", url=scratch_database)
    # then each problem is one line, and the exit status is 1
    assert result.returncode == 1
    problems = lines(result.stderr, "problem: ")
    assert len(problems) == 2, result.stderr
    assert "the pgvector extension is not installed" in problems[0]
    assert "version 0.8.5 is available" in problems[0]
    assert problems[1] == (
        f"problem: {MIGRATION_FILES} migration(s) pending: run `piccolo db deploy`"
    )
    assert "migrations users 0 applied, 5 pending" in _facts(result.stdout)


async def test_doctor_connects_with_the_configured_timeout(migrated_database: str) -> None:
    # given a configured connect timeout of 3 seconds
    # when the doctor checks a healthy database
    await fetch(migrated_database, ADD_ADMIN_LOGIN)
    result = piccolo_db("doctor", url=migrated_database, GATEWAYDB_CONNECT_TIMEOUT="3")
    # then it reports the timeout it used
    assert result.returncode == 0, result.stderr
    assert "connect timeout 3 s" in result.stdout
