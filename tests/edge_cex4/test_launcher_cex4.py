"""`venue-edge-cex` processes for coinbase, kraken, bitget and cryptocom against their simulators."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from seqkern.edge.launcher import configure, valid_venues
from seqkern.errors import CredentialError
from seqkern.sim.bitget import BitgetSim
from seqkern.sim.coinbase import CoinbaseSim
from seqkern.sim.cryptocom import CryptocomSim
from seqkern.sim.kraken import KrakenSim
from seqkern.venues.credentials import CexPassphraseCredentials

EDGE = [sys.executable, "-c", "import sys; from seqkern.cli import venue_edge_cex; sys.exit(venue_edge_cex())"]
KRAKEN_SECRET = base64.b64encode(b"launcher-kraken-secret").decode()
CB_KEY = ec.generate_private_key(ec.SECP256R1())
CB_PEM = CB_KEY.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def test_the_four_venues_are_valid_names() -> None:
    assert {"coinbase", "kraken", "bitget", "cryptocom"} <= set(valid_venues())


def test_passphrase_credentials_from_the_environment() -> None:
    conf = configure(["--venue", "bitget", "--symbols", "BTC-USDT"],
                     env={"BITGET_API_KEY": "k", "BITGET_API_SECRET": "s", "BITGET_API_PASSPHRASE": "p"})
    assert isinstance(conf.credentials, CexPassphraseCredentials) and conf.credentials.passphrase == "p"
    assert "'p'" not in repr(conf.credentials) and conf.venue.venue_symbol("BTC-USDT") == "BTCUSDT"
    with pytest.raises(CredentialError):        # the catalog's credentials table wants a passphrase here
        configure(["--venue", "cryptocom", "--symbols", "BTC-USDT"],
                  env={"CRYPTOCOM_API_KEY": "k", "CRYPTOCOM_API_SECRET": "s"})
    conf = configure(["--venue", "kraken", "--symbols", "XBT-USD"],
                     env={"KRAKEN_API_KEY": "k", "KRAKEN_API_SECRET": KRAKEN_SECRET})
    assert conf.venue.venue_symbol(conf.symbols[0]) == "BTC/USD"


def _setup(venue: str, sim) -> dict[str, str]:
    ws, http = sim.base_ws, sim.base_http
    if venue == "kraken":
        sim.add_account("kk", KRAKEN_SECRET)
        return {"KRAKEN_API_KEY": "kk", "KRAKEN_API_SECRET": KRAKEN_SECRET, "KRAKEN_MARKET_WS": f"{ws}/v2",
                "KRAKEN_TRADE_WS": f"{ws}/auth/v2", "KRAKEN_REST": http}
    if venue == "bitget":
        sim.add_account("bk", "bitget-launch-secret-77", "bp")
        return {"BITGET_API_KEY": "bk", "BITGET_API_SECRET": "bitget-launch-secret-77", "BITGET_API_PASSPHRASE": "bp",
                "BITGET_MARKET_WS": f"{ws}/v2/ws/public", "BITGET_TRADE_WS": f"{ws}/v2/ws/private",
                "BITGET_PRIVATE_WS": f"{ws}/v2/ws/private", "BITGET_REST": http}
    if venue == "cryptocom":
        sim.add_account("ck", "cdc-launch-secret-77", "cp")
        return {"CRYPTOCOM_API_KEY": "ck", "CRYPTOCOM_API_SECRET": "cdc-launch-secret-77", "CRYPTOCOM_API_PASSPHRASE": "cp",
                "CRYPTOCOM_MARKET_WS": f"{ws}/exchange/v1/market", "CRYPTOCOM_TRADE_WS": f"{ws}/exchange/v1/user",
                "CRYPTOCOM_REST": f"{http}/exchange/v1"}
    sim.add_cdp_key("organizations/o/apiKeys/k", CB_KEY.public_key())
    return {"COINBASE_API_KEY": "organizations/o/apiKeys/k", "COINBASE_API_SECRET": CB_PEM,
            "COINBASE_API_PASSPHRASE": "unused-by-cdp", "COINBASE_MARKET_WS": f"{ws}/",
            "COINBASE_TRADE_WS": f"{ws}/user", "COINBASE_PRIVATE_WS": f"{ws}/user", "COINBASE_REST": http}


CASES = {"kraken": (KrakenSim, "BTC-USD", "BTC/USD", 1), "coinbase": (CoinbaseSim, "BTC-USD", "BTC-USD", 2),
         "bitget": (BitgetSim, "BTC-USDT", "BTCUSDT", 4), "cryptocom": (CryptocomSim, "BTC-USDT", "BTC_USDT", 5)}


@pytest.mark.parametrize("venue", list(CASES))
def test_edge_process_against_the_simulator(venue: str, tmp_path: Path) -> None:
    sim_cls, symbol, vs, venue_id = CASES[venue]
    out = tmp_path / "records.jsonl"

    async def go() -> tuple[int, str, str]:
        sim = await sim_cls(seed=61).start()
        try:
            env = dict(os.environ, VENUE=venue, **_setup(venue, sim))
            proc = await asyncio.create_subprocess_exec(
                *EDGE, "--symbols", symbol, "--out", str(out), "--duration", "2.5",
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
            return proc.returncode or 0, err.decode(), env.get(f"{venue.upper()}_API_SECRET", "")
        finally:
            await sim.stop()

    rc, err, secret = asyncio.run(go())
    assert rc == 0, err
    assert secret.strip() not in err and "PRIVATE KEY" not in err
    recs = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    kinds = {r["kind"] for r in recs}
    assert {"PAIR_SPEC", "L2_SNAPSHOT", "L2_DELTA", "BBO"} <= kinds, kinds
    spec = next(r for r in recs if r["kind"] == "PAIR_SPEC")
    assert spec["venue_symbol"] == vs and spec["venue_id"] == venue_id
    assert "order entry on" in err


def test_seqkern_up_units_for_the_four_venues() -> None:
    """`seqkern up --venues coinbase,kraken,bitget,cryptocom`: units, simulator paths, and credentials in
    each venue's key format that the catalog accepts, each under its spec region (the default
    starts them too)."""
    from seqkern.cc.up import PASSPHRASE_VENUES, _sim_secret, up_units
    from seqkern.venues.credentials import validate_credentials

    assert {u.launcher for u in up_units()} >= {"coinbase", "kraken", "bitget", "cryptocom"}
    units = {u.launcher: u for u in up_units(["coinbase", "kraken", "bitget", "cryptocom"])}
    assert set(units) == {"coinbase", "kraken", "bitget", "cryptocom"}
    assert {n: u.region for n, u in units.items()} == {"coinbase": "na", "kraken": "eu", "bitget": "ap",
                                                       "cryptocom": "ap"}
    ep = units["cryptocom"].endpoints("ws://127.0.0.1:9", "http://127.0.0.1:9")
    assert ep == {"MARKET_WS": "ws://127.0.0.1:9/exchange/v1/market", "REST": "http://127.0.0.1:9/exchange/v1",
                  "TRADE_WS": "ws://127.0.0.1:9/exchange/v1/user"}
    assert units["kraken"].endpoints("ws://h:1", "http://h:1")["TRADE_WS"] == "ws://h:1/auth/v2"
    for venue in ("coinbase", "kraken", "bitget", "cryptocom"):
        payload = {"api_key": "k" * 16, "api_secret": _sim_secret(venue)}
        if venue in PASSPHRASE_VENUES:
            payload["passphrase"] = "Sim-pass"
        assert validate_credentials(venue, payload).venue == venue
