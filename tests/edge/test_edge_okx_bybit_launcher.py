"""`venue-edge-cex` with VENUE=okx|okx-perp|bybit|bybit-perp against the simulators, as a real process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from seqkern.edge.launcher import configure
from tests.edge.okxbybit_rig import (
    BYBIT_KEY,
    BYBIT_SECRET,
    OKX_KEY,
    OKX_PASSPHRASE,
    OKX_SECRET,
    VENUES,
    make_sim,
    run,
)

EDGE = [sys.executable, "-c", "import sys; from seqkern.cli import venue_edge_cex; sys.exit(venue_edge_cex())"]


def _env(venue: str, sim) -> dict[str, str]:  # type: ignore[no-untyped-def]
    if venue.startswith("okx"):
        return {"VENUE": venue, "OKX_API_KEY": OKX_KEY, "OKX_API_SECRET": OKX_SECRET,
                "OKX_API_PASSPHRASE": OKX_PASSPHRASE, "OKX_MARKET_WS": sim.base_ws, "OKX_REST": sim.base_http,
                "OKX_PRIVATE_WS": sim.base_ws + "/ws/v5/private", "OKX_TRADE_WS": sim.base_ws + "/ws/v5/private"}
    return {"VENUE": venue, "BYBIT_API_KEY": BYBIT_KEY, "BYBIT_API_SECRET": BYBIT_SECRET,
            "BYBIT_MARKET_WS": sim.base_ws, "BYBIT_REST": sim.base_http,
            "BYBIT_PRIVATE_WS": sim.base_ws + "/v5/private", "BYBIT_TRADE_WS": sim.base_ws + "/v5/trade"}


def test_okx_passphrase_is_read_and_hidden() -> None:
    conf = configure(["--symbols", "BTC-USDT"], env={"VENUE": "okx-perp", "OKX_API_KEY": OKX_KEY,
                                                      "OKX_API_SECRET": OKX_SECRET, "OKX_API_PASSPHRASE": OKX_PASSPHRASE})
    assert conf.venue_name == "okx-perp" and conf.venue.venue_symbol("BTC-USDT") == "BTC-USDT-SWAP"
    assert conf.credentials is not None and conf.credentials.passphrase == OKX_PASSPHRASE  # type: ignore[attr-defined]
    assert OKX_PASSPHRASE not in repr(conf.credentials) and OKX_SECRET not in repr(conf.credentials)


@pytest.mark.parametrize("venue", VENUES)
def test_edge_process_publishes_from_the_simulator(tmp_path: Path, venue: str) -> None:
    out = tmp_path / "records.jsonl"

    async def go() -> tuple[int, str]:
        sim = make_sim(venue)
        await sim.start()
        try:
            proc = await asyncio.create_subprocess_exec(
                *EDGE, "--symbols", "BTC-USDT", "--out", str(out), "--duration", "1.5",
                env=dict(os.environ, **_env(venue, sim)), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            _, err = await asyncio.wait_for(proc.communicate(), 20)
            return proc.returncode or 0, err.decode()
        finally:
            await sim.stop()

    rc, err = run(go())
    assert rc == 0, err
    assert OKX_SECRET not in err and BYBIT_SECRET not in err and OKX_PASSPHRASE not in err
    assert "order entry on" in err
    recs = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert {"PAIR_SPEC", "L2_SNAPSHOT", "L2_DELTA", "BBO"} <= {r["kind"] for r in recs}
    spec = next(r for r in recs if r["kind"] == "PAIR_SPEC")
    assert spec["venue_id"] == (8 if venue.startswith("okx") else 9)
    assert spec["instrument_type"] == ("perp" if venue.endswith("-perp") else "spot")
