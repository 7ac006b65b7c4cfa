from __future__ import annotations

import pytest

from tests.cc.harness import BOOKS, ThreadedCC


@pytest.fixture
def cc(tmp_path):
    c = ThreadedCC(str(tmp_path / "cc"), books=BOOKS)
    try:
        yield c
    finally:
        c.close()
