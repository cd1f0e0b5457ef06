"""Settings: read from the environment in one place, with clear errors."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.core.errors import ConfigurationError
from apps.core.settings import (
    PROJECT_ROOT,
    Settings,
    check_environment,
    get_settings,
    setting_names,
)


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_defaults_use_the_embedded_server_in_the_project() -> None:
    settings = Settings(_env_file=None, database_url=None)  # type: ignore[call-arg]
    assert settings.data_dir == PROJECT_ROOT / ".data" / "postgres"
    assert settings.pool_timeout == 10 and settings.connect_timeout == 5
    assert not settings.is_production


def test_environment_variables_are_read(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://h/db")
    monkeypatch.setenv("GATEWAYDB_POOL_MAX_SIZE", "25")
    monkeypatch.setenv("GATEWAYDB_DATA_DIR", "/srv/pg")
    settings = get_settings()
    assert settings.database_url == "postgresql://h/db"
    assert settings.pool_max_size == 25 and settings.data_dir == Path("/srv/pg")


def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("GATEWAYDB_POOL_MAX_SIZE", "lots")
    with pytest.raises(ConfigurationError, match="GATEWAYDB_POOL_MAX_SIZE"):
        get_settings()


def test_production_needs_its_own_secret_key(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("GATEWAYDB_ENVIRONMENT", "production")
    with pytest.raises(ConfigurationError, match="GATEWAYDB_SECRET_KEY"):
        get_settings()
    get_settings.cache_clear()
    monkeypatch.setenv("GATEWAYDB_SECRET_KEY", "a-real-secret-of-enough-length")
    assert get_settings().is_production


def test_an_unknown_gatewaydb_variable_is_refused_with_the_closest_setting(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("GATEWAYDB_ENV", "test")
    with pytest.raises(ConfigurationError) as raised:
        get_settings()
    assert str(raised.value) == (
        "unknown setting GATEWAYDB_ENV (not a GATEWAYDB_* setting); "
        "did you mean GATEWAYDB_ENVIRONMENT?"
    )


def test_every_setting_is_a_known_variable(fresh_settings: None) -> None:
    names = setting_names()
    assert "DATABASE_URL" in names and "GATEWAYDB_POOL_TIMEOUT" in names
    check_environment({name: "x" for name in names} | {"OTHER_THING": "1"})
    with pytest.raises(ConfigurationError, match=r"GATEWAYDB_POOL_TIMOUT.*GATEWAYDB_POOL_TIMEOUT"):
        check_environment({"GATEWAYDB_POOL_TIMOUT": "3"})
