"""DATABASE_URL parsing: schemes, sockets, Prisma pool parameters, clear errors."""

import pytest

from apps.core.dburl import parse_database_url, redact
from apps.core.errors import ConfigurationError


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_both_schemes_are_accepted(scheme: str) -> None:
    url = parse_database_url(f"{scheme}://app:s3cret@db.internal:6543/gateway")
    assert (url.host, url.port, url.user, url.database) == ("db.internal", 6543, "app", "gateway")
    assert url.password == "s3cret"


def test_unix_socket_host_without_password() -> None:
    url = parse_database_url("postgresql://postgres:@/gatewaydb?host=/tmp/pg")
    assert url.host == "/tmp/pg" and url.database == "gatewaydb"
    assert not url.password
    assert url.asyncpg_arguments()["dsn"] == "postgresql://postgres:@/gatewaydb?host=%2Ftmp%2Fpg"


def test_url_without_user_or_password() -> None:
    url = parse_database_url("postgresql://localhost/gateway")
    assert url.user is None and url.password is None and url.port is None


def test_percent_encoded_credentials_are_decoded() -> None:
    url = parse_database_url("postgresql://app%40corp:p%40ss%2Fword@h/db")
    assert url.user == "app@corp" and url.password == "p@ss/word"


def test_prisma_pool_parameters_become_pool_settings() -> None:
    url = parse_database_url(
        "postgresql://u:p@h/db?connection_limit=7&pool_timeout=2.5&connect_timeout=3"
        "&schema=gateway&socket_timeout=30"
    )
    assert url.pool_max_size == 7
    assert url.pool_timeout == 2.5
    assert url.connect_timeout == 3
    arguments = url.asyncpg_arguments()
    assert arguments["timeout"] == 3
    assert arguments["command_timeout"] == 30
    assert arguments["server_settings"] == {"search_path": "gateway"}
    # Prisma's parameters are not passed on to the driver
    assert "connection_limit" not in arguments["dsn"] and "pool_timeout" not in arguments["dsn"]


def test_pgbouncer_mode_disables_the_statement_cache() -> None:
    url = parse_database_url("postgresql://u@h/db?pgbouncer=true")
    assert url.asyncpg_arguments()["statement_cache_size"] == 0


def test_zero_pool_timeout_means_wait_for_ever_as_in_prisma() -> None:
    assert parse_database_url("postgresql://h/db?pool_timeout=0").pool_timeout == 0


def test_libpq_ssl_parameters_pass_through_to_the_driver() -> None:
    url = parse_database_url("postgresql://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem")
    assert "sslmode=verify-full" in url.dsn and "sslrootcert=%2Fca.pem" in url.dsn


@pytest.mark.parametrize(
    ("url", "field", "rule"),
    [
        ("postgresql://h/db?foo=1", "foo", "unknown_parameter"),
        ("postgresql://h/db?sslaccept=strict", "sslaccept", "unknown_parameter"),
        ("postgresql://h/db?connection_limit=0", "connection_limit", "min"),
        ("postgresql://h/db?connection_limit=ten", "connection_limit", "number"),
        ("postgresql://h/db?pool_timeout=-1", "pool_timeout", "min"),
        ("postgresql://h/db?pool_timeout=nan", "pool_timeout", "min"),
        ("postgresql://h/db?connect_timeout=soon", "connect_timeout", "number"),
        ("postgresql://h/db?sslmode=maybe", "sslmode", "one_of"),
        ("postgresql://h/db?pgbouncer=yes", "pgbouncer", "type"),
        (
            "postgresql://h/db?connection_limit=1&connection_limit=2",
            "connection_limit",
            "unique",
        ),
        ("mysql://h/db", "DATABASE_URL", "scheme"),
        ("postgresql://h:port/db", "DATABASE_URL", "url"),
        ("postgresql:///db", "host", "required"),
    ],
)
def test_bad_urls_are_clear_errors_naming_the_problem(url: str, field: str, rule: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_database_url(url)
    assert info.value.field == field and info.value.rule == rule
    assert field in str(info.value) or field == "DATABASE_URL"


def test_the_password_is_never_shown() -> None:
    url = parse_database_url("postgresql://app:hunter2@h/db?connection_limit=3")
    assert "hunter2" not in repr(url)
    assert "hunter2" not in url.redacted and "app:***@h" in url.redacted
    with pytest.raises(ConfigurationError) as info:
        parse_database_url("postgresql://app:hunter2@h/db?bogus=1")
    assert "hunter2" not in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        parse_database_url("postgresql://app:hunter2@h:99999/db")
    assert "hunter2" not in str(info.value)


def test_redact_leaves_urls_without_password_alone() -> None:
    assert redact("postgresql://h/db") == "postgresql://h/db"


def test_the_cli_reports_a_bad_url_in_one_line_without_traceback() -> None:
    from tests.conftest import run_piccolo

    result = run_piccolo(
        "migrations", "check", url="postgresql://app:hunter2@h/db?bogus=1", check=False
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip().splitlines() == [result.stderr.strip()]
        and "unknown parameter 'bogus'" in result.stderr
    )
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr
