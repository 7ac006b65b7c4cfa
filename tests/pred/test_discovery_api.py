"""Venue-initiated discovery end to end with real processes: the Kalshi or Polymarket simulator
announces a market, the `venue-edge-cex` process binds it and sends PAIR_SPEC over CC-LINK, and a
`seqkern cc` process serves it through the HTTP API: quoted (both legs), previewed and traded. The
test measures the delay from the announcement to the first successful quote."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

from seqkern.sim.kalshi import KalshiSim
from seqkern.sim.polymarket import PolymarketSim
from tests.cc.harness import CCProcess, free_port, http
from tests.pred.rig import rsa_pem

pytestmark = pytest.mark.integration

KEY_ID = "5a9e2c1b-0000-4000-8000-00000000beef"
POLY_KEY = "0x" + "6d" * 32


async def _kalshi():
    """(sim, edge env, CC credentials, listed, new, NO suffix, qty, announce, secret)"""
    priv, pub = rsa_pem()
    sim = await KalshiSim().start()
    sim.add_account(KEY_ID, pub)
    env = {"KALSHI_API_KEY": KEY_ID, "KALSHI_API_SECRET": priv, "KALSHI_MARKET_WS": sim.ws_url,
           "KALSHI_REST": sim.base_http}
    new = "KXETHZ-26DEC31-T5000"
    return (sim, env, {"api_key": KEY_ID, "api_secret": priv}, "KXBTCZ-26DEC31-T99000", new, ":NO", "1",
            lambda: sim.announce_market(new, step="0.0010"), priv.splitlines()[1])


async def _polymarket():
    sim = await PolymarketSim().start()
    env = {"POLYMARKET_SIGNER_PRIVATE_KEY": POLY_KEY, "POLYMARKET_MARKET_WS": sim.market_ws,
           "POLYMARKET_PRIVATE_WS": sim.user_ws, "POLYMARKET_REST": sim.base_http,
           "POLYMARKET_METADATA_REST": sim.base_http}
    new = "eth-above-5000-on-december-31-2026"
    return (sim, env, {"extra_json": {"signer_private_key": POLY_KEY}}, next(iter(sim.markets)), new, ":no", "5",
            lambda: sim.announce_market(new, tick="0.001"), POLY_KEY[2:])


async def _until(fn, what: str, timeout_s: float = 15.0, every_s: float = 0.005):
    end = time.monotonic() + timeout_s
    while True:
        got = await asyncio.to_thread(fn)
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every_s)


@pytest.mark.parametrize("venue", ["kalshi", "polymarket"])
def test_announced_market_is_quotable_and_tradable_through_the_api(tmp_path, venue):
    async def go():
        sim, venv, creds, listed, new, no_leg, qty, announce, secret = \
            await (_kalshi() if venue == "kalshi" else _polymarket())
        snap = tmp_path / "none.json"
        snap.write_text(json.dumps({"pairs": []}))
        data = tmp_path / "cc"
        data.mkdir()
        link = free_port()
        cc = await asyncio.to_thread(CCProcess, str(data), str(snap), str(tmp_path / "admin.key"),
                                     cclink_port=link)
        log = open(tmp_path / "edge.log", "ab")  # noqa: SIM115 - the child writes it
        env = dict(os.environ, **venv)
        edge = subprocess.Popen([sys.executable, "-c", "import sys; from seqkern.cli import venue_edge_cex; "
                                 "sys.exit(venue_edge_cex())", "--venue", venue, "--symbols", listed,
                                 "--cc", f"127.0.0.1:{link}", "--region", "ap"], env=env, stdout=log, stderr=log)
        try:
            st, _ = await asyncio.to_thread(http, "POST", cc.url + f"/v1/credentials/{venue}", creds, cc.admin)
            assert st in (200, 201)
            _, k = await asyncio.to_thread(http, "POST", cc.url + "/v1/keys", {"scopes": ["read", "trade"]},
                                           cc.admin)
            key = k["key"]

            def quote(symbol: str):
                st, q = http("GET", f"{cc.url}/v1/quotes/{symbol}", None, key)
                return q if st == 200 and q.get("nbbo", {}).get("bid") and q["nbbo"].get("ask") else None

            await _until(lambda: quote(listed), "the listed market's quote")
            st, q = await asyncio.to_thread(http, "GET", f"{cc.url}/v1/quotes/{new}", None, key)
            assert st != 200 or not q.get("nbbo", {}).get("bid"), "the new market is quoted before it exists"

            t0 = time.monotonic()
            await announce()
            q = await _until(lambda: quote(new), "the announced market's quote", timeout_s=5.0)
            quoted_s = time.monotonic() - t0
            assert venue in q["nbbo"].get("venues", [venue])
            # both legs: the NO leg mirrors the YES book
            q_no = await _until(lambda: quote(f"{new}{no_leg}"), "the NO leg's quote", timeout_s=5.0)
            st, pv = await asyncio.to_thread(http, "POST", cc.url + "/v1/preview",
                                             {"symbol": new, "side": "buy", "qty": qty}, key)
            assert st == 200, pv
            # tradable: a limit IOC at the ask reaches the venue (filled, or expired if the touch moved)
            ask = q["nbbo"]["ask"]
            st, o = await asyncio.to_thread(http, "POST", cc.url + "/v1/orders",
                                            {"symbol": new, "side": "buy", "qty": qty, "price": str(ask),
                                             "time_in_force": "ioc"}, key)
            assert st == 201, o
            done = await _until(lambda: (r := http("GET", f"{cc.url}/v1/orders/{o['order_id']}", None, key)[1])
                                and r.get("terminal") and r, "the order's end", timeout_s=10.0, every_s=0.05)
            traded_s = time.monotonic() - t0
            assert done["status"] in ("filled", "expired"), done
            engine = sim.markets[new].engine
            assert any(o.owner for o in engine.history.values()), "the order never reached the venue"
            print(f"{venue} discovery through the API: quotable {quoted_s * 1e3:.1f} ms after the announcement "
                  f"(NO leg {q_no['nbbo']['bid']}/{q_no['nbbo']['ask']}), order {done['status']} after {traded_s * 1e3:.0f} ms")
            assert quoted_s < 2.0
        finally:
            edge.terminate()
            await asyncio.to_thread(edge.wait, 15)
            log.close()
            await asyncio.to_thread(cc.stop)
            await sim.stop()
        errors = (tmp_path / "edge.log").read_text()
        assert secret not in errors        # the key never reaches the logs
    asyncio.run(asyncio.wait_for(go(), 120))
