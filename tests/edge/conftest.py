"""Fixtures of the edge tests."""

from __future__ import annotations

import pytest


@pytest.fixture(params=[False, True], ids=["spot", "usdm"])
def futures(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)
