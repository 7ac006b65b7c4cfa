"""The Python examples in docs/venues-okx.md and docs/venues-bybit.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("name", ["venues-okx.md", "venues-bybit.md"])
def test_doc_examples_run(name: str) -> None:
    doc = DOCS / name
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, str(doc), "exec"), {})
