"""Observability tests: the hook's configuration is restored after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.core import observability


@pytest.fixture(autouse=True)
def observability_config() -> Iterator[observability.Config]:
    saved = (observability.config.enabled, observability.config.slow_query_seconds)
    yield observability.config
    observability.config.enabled, observability.config.slow_query_seconds = saved


def sample(name: str, **labels: str) -> float:
    """A metric's current value in the project's registry (0 when never recorded)."""
    value = observability.REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value
