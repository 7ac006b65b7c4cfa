"""`seqkern venues` runs as the installed console script and prints the catalog."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import seqkern.venues as V

SCRIPT = Path(sys.executable).with_name("seqkern")


def test_seqkern_venues_console_script():
    assert SCRIPT.exists(), f"console script not installed next to {sys.executable}"
    out = subprocess.run(
        [str(SCRIPT), "venues"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    lines = out.splitlines()
    header = lines[0].split()
    assert header[:4] == ["id", "venue", "class", "region"]
    for word in ("amend", "batch", "settlement", "credentials"):
        assert word in lines[0]
    for unit in V.all_units():
        assert unit.name in out
    rows = {line.split()[1]: line for line in lines[2:] if line[:1].isdigit()}
    assert set(rows) == set(V.venue_names())
    assert rows["kalshi"].split()[:4] == ["19", "kalshi", "prediction", "eu"]
    assert "graph cancel_replace" in rows["kalshi"] and "20 ops atomic" in rows["kalshi"]
    assert "onchain_redemption" in rows["polymarket"]
    assert "passphrase" in rows["okx"] and "passphrase" not in rows["binance"]


def test_format_catalog_matches_cli():
    out = subprocess.run(
        [str(SCRIPT), "venues"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.rstrip("\n") == V.format_catalog()
