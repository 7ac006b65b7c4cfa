"""docs/sor.md stays true: its Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "sor.md"


def test_doc_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 2
    ns: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), ns)
    out = capsys.readouterr().out
    assert out.strip()
    plan = ns["plan"]
    assert plan.filled_qty_1e8 + plan.unfilled_qty_1e8 == 150_000_000
    assert ns["filled"] == int(ns["router"].child_qty_1e8.sum())
