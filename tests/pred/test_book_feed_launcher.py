"""The book-feed venues run in venue-edge-cex as real processes against the simulators:
VENUE=hyperliquid, and VENUE=kalshi with discovery reaching the output (and a CC) as PAIR_SPEC."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import orjson

from seqkern.sim.hyperliquid import HyperliquidSim
from seqkern.sim.kalshi import KalshiSim
from tests.pred.rig import rsa_pem

BIN = Path(sys.executable).parent


async def _records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    # only newline-terminated lines: the edge may be half-way through writing the last one
    lines = path.read_text().split("\n")[:-1]
    return [orjson.loads(line) for line in lines if line.strip()]


async def _wait_records(path: Path, cond, timeout_s: float = 15.0) -> list[dict]:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        recs = await _records(path)
        if cond(recs):
            return recs
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out; got {(await _records(path))[:5]}")


def test_venue_edge_cex_runs_hyperliquid(tmp_path):
    async def go():
        sim = await HyperliquidSim().start()
        out = tmp_path / "hl.jsonl"
        env = {**os.environ, "VENUE": "hyperliquid", "HYPERLIQUID_MARKET_WS": sim.ws_url,
               "HYPERLIQUID_REST": sim.base_http}
        proc = await asyncio.create_subprocess_exec(str(BIN / "venue-edge-cex"), "--symbols", "BTC-USDC,ETH-USDC",
                                                    "--out", str(out), "--duration", "20", env=env,
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            recs = await _wait_records(out, lambda r: {x.get("symbol") for x in r if x["kind"] == "PAIR_SPEC"} ==
                                       {"BTC-USDC", "ETH-USDC"} and sum(x["kind"] == "BBO" for x in r) >= 2)
            assert any(x["kind"] == "L2_SNAPSHOT" for x in recs)
            btc = next(x for x in recs if x["kind"] == "PAIR_SPEC" and x["symbol"] == "BTC-USDC")
            assert btc["instrument_type"] == "perp" and btc["tick_1e9"] == 100_000_000 and btc["lot_1e8"] == 1000
        finally:
            proc.terminate()
            _, err = await proc.communicate()
            await sim.stop()
        assert proc.returncode == 0, err.decode()[-2000:]
    asyncio.run(asyncio.wait_for(go(), 60))


def test_venue_edge_cex_runs_kalshi_with_discovery(tmp_path):
    async def go():
        priv, pub = rsa_pem()
        key_id = "5a9e2c1b-0000-4000-8000-00000000abcd"
        sim = await KalshiSim().start()
        sim.add_account(key_id, pub)
        out = tmp_path / "k.jsonl"
        env = {**os.environ, "VENUE": "kalshi", "KALSHI_MARKET_WS": sim.ws_url, "KALSHI_REST": sim.base_http,
               "KALSHI_API_KEY": key_id, "KALSHI_API_SECRET": priv}
        proc = await asyncio.create_subprocess_exec(str(BIN / "venue-edge-cex"), "--symbols",
                                                    "KXBTCZ-26DEC31-T99000", "--out", str(out), "--duration", "20",
                                                    env=env, stderr=asyncio.subprocess.PIPE)
        try:
            await _wait_records(out, lambda r: sum(x["kind"] == "L2_SNAPSHOT" for x in r) >= 2)
            await sim.announce_market("KXETHZ-26DEC31-T5000")
            recs = await _wait_records(out, lambda r: any(x.get("symbol") == "KXETHZ-26DEC31-T5000:NO" for x in r))
            specs = [x["symbol"] for x in recs if x["kind"] == "PAIR_SPEC"]
            assert specs[:2] == ["KXBTCZ-26DEC31-T99000", "KXBTCZ-26DEC31-T99000:NO"]
            assert "KXETHZ-26DEC31-T5000" in specs
            first = next(x for x in recs if x["kind"] == "PAIR_SPEC")
            assert first["instrument_type"] == "binary" and first["tick_1e9"] == 10_000_000
        finally:
            proc.terminate()
            _, err = await proc.communicate()
            await sim.stop()
        assert proc.returncode == 0, err.decode()[-2000:]
        assert priv.splitlines()[1] not in err.decode()      # the key never reaches the logs
    asyncio.run(asyncio.wait_for(go(), 60))


def test_discovery_reaches_the_cc_over_cclink():
    """Kalshi edge process -> CC-LINK -> a CC: the announced market arrives as PAIR_SPEC frames
    (both legs, binary, its tick) within a bound, then its book."""
    from seqkern.cclink import CcLinkServer, Kind, Region

    async def go():
        priv, pub = rsa_pem()
        key_id = "5a9e2c1b-0000-4000-8000-00000000abcd"
        sim = await KalshiSim().start()
        sim.add_account(key_id, pub)
        cc = CcLinkServer("cc-eu", region=Region.EU)
        specs: dict[str, tuple[float, object]] = {}
        books: set[int] = set()
        ids: dict[int, str] = {}

        def on_spec(session, f) -> None:
            specs[f.symbol] = (time.monotonic(), f)
            ids[f.symbol_id] = f.symbol

        def on_book(session, f) -> None:
            books.add(f.symbol_id)

        cc.on(Kind.PAIR_SPEC, on_spec)
        cc.on(Kind.L2_SNAPSHOT, on_book)
        port = await cc.listen_tcp("127.0.0.1", 0)
        env = {**os.environ, "VENUE": "kalshi", "KALSHI_MARKET_WS": sim.ws_url, "KALSHI_REST": sim.base_http,
               "KALSHI_API_KEY": key_id, "KALSHI_API_SECRET": priv, "SEQKERN_CC": f"127.0.0.1:{port}"}
        proc = await asyncio.create_subprocess_exec(str(BIN / "venue-edge-cex"), "--symbols",
                                                    "KXBTCZ-26DEC31-T99000", "--duration", "20", env=env,
                                                    stderr=asyncio.subprocess.PIPE)
        new = "KXETHZ-26DEC31-T5000"
        try:
            end = time.monotonic() + 15
            while "KXBTCZ-26DEC31-T99000:NO" not in specs or len(books) < 2:
                assert time.monotonic() < end, f"edge never bound its symbols: {list(specs)}"
                await asyncio.sleep(0.02)
            t0 = time.monotonic()
            await sim.announce_market(new, step="0.0010")
            while f"{new}:NO" not in specs:
                assert time.monotonic() - t0 < 5, "announced market never reached the CC"
                await asyncio.sleep(0.005)
            delay = specs[new][0] - t0
            f = specs[new][1]
            assert f.venue_id == 19 and f.tick_1e9 == 1_000_000 and f.instrument_type == 3
            sid = next(i for i, s in ids.items() if s == new)
            while sid not in books:
                assert time.monotonic() - t0 < 5, "no book for the announced market"
                await asyncio.sleep(0.005)
            print(f"kalshi discovery over CC-LINK: PAIR_SPEC at the CC after {delay * 1e3:.1f} ms, "
                  f"book after {(time.monotonic() - t0) * 1e3:.1f} ms")
            assert delay < 0.5
        finally:
            proc.terminate()
            _, err = await proc.communicate()
            await cc.close()
            await sim.stop()
        assert proc.returncode == 0, err.decode()[-2000:]
    asyncio.run(asyncio.wait_for(go(), 60))


def test_venue_edge_cex_runs_polymarket_from_gamma_with_discovery(tmp_path):
    """VENUE=polymarket: L2 credentials derived from the EVM signer at start, rules and token ids
    from Gamma (the metadata host), both token books published, and an announced market bound as
    PAIR_SPEC for both legs."""
    from seqkern.sim.polymarket import PolymarketSim

    async def go():
        sim = await PolymarketSim().start()
        out = tmp_path / "pm.jsonl"
        key = "0x" + "5e" * 32
        env = {**os.environ, "VENUE": "polymarket", "POLYMARKET_MARKET_WS": sim.market_ws,
               "POLYMARKET_PRIVATE_WS": sim.user_ws, "POLYMARKET_REST": sim.base_http,
               "POLYMARKET_METADATA_REST": sim.base_http, "POLYMARKET_SIGNER_PRIVATE_KEY": key}
        slug = next(iter(sim.markets))
        proc = await asyncio.create_subprocess_exec(str(BIN / "venue-edge-cex"), "--symbols", slug, "--out", str(out),
                                                    "--duration", "20", env=env, stderr=asyncio.subprocess.PIPE)
        new = "eth-above-5000-on-december-31-2026"
        try:
            recs = await _wait_records(out, lambda r: sum(x["kind"] == "L2_SNAPSHOT" for x in r) >= 2)
            first = next(x for x in recs if x["kind"] == "PAIR_SPEC")
            assert sim.derive_calls == 1     # L2 credentials derived from the signer before the books
            assert first["symbol"] == slug and first["instrument_type"] == "binary"
            assert first["tick_1e9"] == sim.markets[slug].tick and first["venue_symbol"] == sim.markets[slug].yes_token
            await sim.announce_market(new, tick="0.001")
            recs = await _wait_records(out, lambda r: any(x.get("symbol") == f"{new}:no" for x in r))
            spec = next(x for x in recs if x["kind"] == "PAIR_SPEC" and x["symbol"] == new)
            assert spec["tick_1e9"] == 1_000_000
        finally:
            proc.terminate()
            _, err = await proc.communicate()
            await sim.stop()
        assert proc.returncode == 0, err.decode()[-2000:]
        assert key[2:] not in err.decode()      # the signer key never reaches the logs
    asyncio.run(asyncio.wait_for(go(), 60))


def test_polymarket_wallet_and_relayer_settings_reach_the_transport():
    """POLYMARKET_SIGNATURE_TYPE / _PROXY_ADDRESS choose the wallet the orders trade from; the chain
    RPC and the relayer credentials reach the transport; bad combinations are typed errors that
    never echo a secret."""
    import pytest

    from seqkern.edge.launcher import configure, load_credentials
    from seqkern.edge.rest import RateLimiter, RestClient
    from seqkern.errors import CredentialError
    from seqkern.venues.polymarket.signing import PolySigner

    key = "0x" + "5e" * 32
    safe = "0x" + "ab" * 20
    env = {"VENUE": "polymarket", "POLYMARKET_SIGNER_PRIVATE_KEY": key, "POLYMARKET_PROXY_ADDRESS": safe,
           "POLYMARKET_SIGNATURE_TYPE": "2", "POLYMARKET_CHAIN_RPC": "http://127.0.0.1:9/rpc",
           "POLYMARKET_RELAYER": "http://127.0.0.1:9", "POLYMARKET_BUILDER_API_KEY": "bk",
           "POLYMARKET_BUILDER_SECRET": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0cw==",
           "POLYMARKET_BUILDER_PASSPHRASE": "pp"}
    conf = configure(["--symbols", "btc-above-99000-on-december-31-2026", "--out", "-"], env)
    assert conf.credentials.signature_type == 2 and conf.credentials.proxy_address.lower() == safe
    assert "c2VjcmV0" not in repr(conf)     # relayer secrets stay out of the config's repr
    assert conf.venue.endpoints.chain_rpc == "http://127.0.0.1:9/rpc"
    rest = RestClient(conf.venue.endpoints.rest, RateLimiter(conf.venue.rate_limits))
    tr = conf.edge_venue.transport(conf.venue, conf.credentials, rest, options=conf.options)
    assert tr.signature_type == 2 and tr.maker.lower() == safe and tr.relayer_auth.key == "bk"
    assert tr.signer.address == PolySigner(key).address
    assert "c2VjcmV0" not in repr(tr.relayer_auth) and key[2:] not in repr(conf.credentials)
    with pytest.raises(CredentialError, match="signature_type") as bad:
        load_credentials("POLYMARKET", "polymarket", {}, {**env, "POLYMARKET_SIGNATURE_TYPE": "7"})
    assert key[2:] not in str(bad.value)
    with pytest.raises(CredentialError, match="proxy_address"):
        load_credentials("POLYMARKET", "polymarket", {}, {"POLYMARKET_SIGNER_PRIVATE_KEY": key,
                                                          "POLYMARKET_SIGNATURE_TYPE": "3"})
    no_secret = {k: v for k, v in env.items() if k != "POLYMARKET_BUILDER_SECRET"}
    conf = configure(["--symbols", "btc-above-99000-on-december-31-2026", "--out", "-"], no_secret)
    with pytest.raises(CredentialError, match="BUILDER_SECRET"):
        conf.edge_venue.transport(conf.venue, conf.credentials, rest, options=conf.options)
