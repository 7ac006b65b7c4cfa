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
from seqkern.edge.ws import EdgeConfigError
from seqkern.errors import CredentialError, UnknownSymbol, UnknownVenue
from seqkern.sim.binance import BinanceSim
from tests.edge.edge_rig import API_KEY, SECRET, run

EDGE = [sys.executable, "-c", "import sys; from seqkern.cli import venue_edge_cex; sys.exit(venue_edge_cex())"]


def test_unknown_venue_lists_valid_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--venue", "nasdaq", "--symbols", "BTC-USDT"]) == 2
    err = capsys.readouterr().err
    assert "unknown VENUE 'nasdaq'" in err and "binance, binance-perp" in err and "UNKNOWN_VENUE" in err
    with pytest.raises(UnknownVenue, match="catalog but this build has no edge adapter"):
        configure(["--symbols", "WETH-USDC"], env={"VENUE": "dex-eth"})   # DEXes have no CEX edge
    # the book-feed venues run on this binary too; a symbol foreign to the venue is refused
    with pytest.raises(UnknownSymbol, match="quoted in USDC"):
        configure(["--symbols", "BTC-USDT"], env={"VENUE": "hyperliquid"})
    with pytest.raises(EdgeConfigError, match="Kalshi signs even its market-data websocket"):
        configure(["--symbols", "KXBTCZ-26DEC31-T99000"], env={"VENUE": "kalshi"})
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


def test_ed25519_key_from_a_secret_file(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    pem = Ed25519PrivateKey.from_private_bytes(bytes(range(32))).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    key_file = tmp_path / "ed25519.pem"
    key_file.write_text(pem)
    conf = configure(["--venue", "binance", "--symbols", "BTC-USDT"],
                     env={"BINANCE_API_KEY": "ed-key", "BINANCE_API_SECRET_FILE": str(key_file)})
    assert conf.credentials is not None and conf.credentials.api_secret.startswith("-----BEGIN")
    assert "BEGIN" not in repr(conf.credentials)
    with pytest.raises(CredentialError):
        configure(["--venue", "binance", "--symbols", "BTC-USDT"],
                  env={"BINANCE_API_KEY": "k", "BINANCE_API_SECRET_FILE": str(tmp_path / "missing.pem")})


def test_edge_process_publishes_to_a_cc_over_cclink() -> None:
    from collections import Counter

    from seqkern.cclink import CcLinkServer, Kind, Region

    async def go() -> tuple[int, str, Counter, set]:
        sim = BinanceSim()
        await sim.start()
        cc = CcLinkServer("cc-ap", region=Region.AP)
        kinds: Counter = Counter()
        edges: set = set()

        def seen(session, f) -> None:
            kinds[Kind(f.kind).name] += 1
            edges.add((session.edge_id, session.venue_slot))

        for k in (Kind.PAIR_SPEC, Kind.L2_SNAPSHOT, Kind.L2_DELTA, Kind.BBO, Kind.TRADE):
            cc.on(k, seen)
        port = await cc.listen_tcp("127.0.0.1", 0)
        try:
            env = dict(os.environ, VENUE="binance", SEQKERN_CC=f"127.0.0.1:{port}",
                       BINANCE_MARKET_WS=sim.base_ws, BINANCE_REST=sim.base_http)
            proc = await asyncio.create_subprocess_exec(
                *EDGE, "--symbols", "BTC-USDT", "--duration", "1.5", env=env,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            _, err = await asyncio.wait_for(proc.communicate(), 20)
            return proc.returncode or 0, err.decode(), kinds, edges
        finally:
            await cc.close()
            await sim.stop()

    rc, err, kinds, edges = run(go())
    assert rc == 0, err
    assert edges == {("venue-edge-binance", 3)}
    assert kinds["PAIR_SPEC"] == 1 and kinds["L2_SNAPSHOT"] >= 1 and kinds["L2_DELTA"] > 5
    assert kinds["BBO"] > 0 and kinds["TRADE"] > 0


def test_bad_cc_address_is_a_clear_error() -> None:
    with pytest.raises(Exception, match="expected host:port or unix:/path"):
        configure(["--venue", "binance", "--symbols", "BTC-USDT", "--cc", "nowhere"], env={})
