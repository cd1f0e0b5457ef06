"""Settings: read from the environment in one place, with clear errors."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.core.errors import ConfigurationError
from apps.core.settings import PROJECT_ROOT, Settings, get_settings


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
