"""Benchmark configuration: GC off while measuring; workloads are seeded and shared."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture(autouse=True)
def _no_gc():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
