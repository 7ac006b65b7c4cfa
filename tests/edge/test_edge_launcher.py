"""`venue-edge-cex` as a real process against a simulator; configuration errors are clear."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from seqkern.edge.launcher import configure, main
from seqkern.errors import CredentialError, UnknownVenue
from seqkern.sim.binance import BinanceSim
from tests.edge.edge_rig import API_KEY, SECRET, run

EDGE = [sys.executable, "-c", "import sys; from seqkern.cli import venue_edge_cex; sys.exit(venue_edge_cex())"]


def test_unknown_venue_lists_valid_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--venue", "nasdaq", "--symbols", "BTC-USDT"]) == 2
    err = capsys.readouterr().err
    assert "unknown VENUE 'nasdaq'" in err and "binance, binance-perp" in err and "UNKNOWN_VENUE" in err
    with pytest.raises(UnknownVenue, match="catalog but this build has no edge adapter"):
        configure(["--symbols", "BTC-USDT"], env={"VENUE": "okx"})
    with pytest.raises(UnknownVenue, match="VENUE is not set"):
        configure(["--symbols", "BTC-USDT"], env={})


def test_configuration_sources_and_checks(tmp_path: Path) -> None:
    cfg = tmp_path / "edge.toml"
    cfg.write_text('[edge]\nvenue = "binance-perp"\nsymbols = ["BTC-USDT", "ETH-USDT"]\n'
                   '[endpoints]\nrest = "http://127.0.0.1:9"\n'
                   '[credentials]\napi_key = "k1"\napi_secret_env = "MY_SECRET"\n')
    conf = configure(["--config", str(cfg)], env={"MY_SECRET": "s3cr3t"})
    assert conf.venue_name == "binance-perp" and conf.symbols == ["BTC-USDT", "ETH-USDT"]
    assert conf.venue.endpoints.rest == "http://127.0.0.1:9"
    assert conf.venue.endpoints.market_ws == "wss://fstream.binance.com"   # default kept
    assert conf.credentials is not None and conf.credentials.api_key == "k1"
    assert "s3cr3t" not in repr(conf.credentials)
    # flags beat the environment, which beats the file
    conf = configure(["--config", str(cfg), "--symbols", "SOL-USDT"], env={"VENUE": "binance", "MY_SECRET": "x"})
    assert conf.venue_name == "binance" and conf.symbols == ["SOL-USDT"]
    with pytest.raises(CredentialError):
        configure(["--venue", "binance", "--symbols", "BTC-USDT"], env={"BINANCE_API_KEY": "only-a-key"})
    with pytest.raises(Exception, match="only allowed to loopback"):
        configure(["--venue", "binance", "--symbols", "BTC-USDT", "--rest", "http://example.com"], env={})


def test_edge_process_publishes_from_the_simulator(tmp_path: Path) -> None:
    out = tmp_path / "records.jsonl"

    async def go() -> tuple[int, str]:
        sim = BinanceSim()
        sim.add_account(API_KEY, SECRET, balances={"USDT": "1000"})
        await sim.start()
        try:
            env = dict(os.environ, VENUE="binance", BINANCE_API_KEY=API_KEY, BINANCE_API_SECRET=SECRET,
                       BINANCE_MARKET_WS=sim.base_ws, BINANCE_REST=sim.base_http,
                       BINANCE_TRADE_WS=sim.base_ws + "/ws-api/v3")
            proc = await asyncio.create_subprocess_exec(
                *EDGE, "--symbols", "BTC-USDT", "--out", str(out), "--duration", "1.5",
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            _, err = await asyncio.wait_for(proc.communicate(), 20)
            return proc.returncode or 0, err.decode()
        finally:
            await sim.stop()

    rc, err = run(go())
    assert rc == 0, err
    assert SECRET not in err
    recs = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    kinds = {r["kind"] for r in recs}
    assert {"PAIR_SPEC", "L2_SNAPSHOT", "L2_DELTA", "BBO", "TRADE"} <= kinds
    spec = next(r for r in recs if r["kind"] == "PAIR_SPEC")
    assert spec["venue_symbol"] == "BTCUSDT" and spec["venue_id"] == 3 and spec["instrument_type"] == "spot"
    assert spec["tick_1e9"] == 10_000_000
    assert "order entry on" in err
