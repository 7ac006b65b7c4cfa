"""Shared pytest configuration: hypothesis profiles (CI runs the default, bounded profile) and
`slow` tests (long fuzz runs), which run only when asked for (`-m slow` or SEQKERN_SLOW=1)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("SEQKERN_HYPOTHESIS", "default"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    markexpr = config.getoption("-m") or ""
    if ("slow" in markexpr and "not slow" not in markexpr) or os.environ.get("SEQKERN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow or SEQKERN_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
