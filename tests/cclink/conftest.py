"""CC-LINK test setup: `slow` tests (long fuzz runs) run only when asked for."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    markexpr = config.getoption("-m") or ""
    if ("slow" in markexpr and "not slow" not in markexpr) or os.environ.get("SEQKERN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow or SEQKERN_SLOW=1")
    for item in items:
        if "slow" in item.keywords and "cclink" in str(item.fspath):
            item.add_marker(skip)
