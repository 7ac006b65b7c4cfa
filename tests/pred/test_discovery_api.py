"""Venue-initiated discovery end to end with real processes: the Kalshi simulator announces a
market, the `venue-edge-cex` process binds it and sends PAIR_SPEC over CC-LINK, and a `seqkern cc`
process serves it through the HTTP API: quoted, previewed and traded. The test measures the delay
from the announcement to the first successful quote."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

from seqkern.sim.kalshi import KalshiSim
from tests.cc.harness import CCProcess, free_port, http
from tests.pred.rig import rsa_pem

pytestmark = pytest.mark.integration

KEY_ID = "5a9e2c1b-0000-4000-8000-00000000beef"
LISTED = "KXBTCZ-26DEC31-T99000"
NEW = "KXETHZ-26DEC31-T5000"


async def _until(fn, what: str, timeout_s: float = 15.0, every_s: float = 0.005):
    end = time.monotonic() + timeout_s
    while True:
        got = await asyncio.to_thread(fn)
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every_s)


def test_announced_market_is_quotable_and_tradable_through_the_api(tmp_path):
    async def go():
        priv, pub = rsa_pem()
        sim = await KalshiSim().start()
        sim.add_account(KEY_ID, pub)
        snap = tmp_path / "none.json"
        snap.write_text(json.dumps({"pairs": []}))
        data = tmp_path / "cc"
        data.mkdir()
        link = free_port()
        cc = await asyncio.to_thread(CCProcess, str(data), str(snap), str(tmp_path / "admin.key"),
                                     cclink_port=link)
        log = open(tmp_path / "edge.log", "ab")  # noqa: SIM115 - the child writes it
        env = dict(os.environ, KALSHI_API_KEY=KEY_ID, KALSHI_API_SECRET=priv, KALSHI_MARKET_WS=sim.ws_url,
                   KALSHI_REST=sim.base_http)
        edge = subprocess.Popen([sys.executable, "-c", "import sys; from seqkern.cli import venue_edge_cex; "
                                 "sys.exit(venue_edge_cex())", "--venue", "kalshi", "--symbols", LISTED,
                                 "--cc", f"127.0.0.1:{link}", "--region", "ap"], env=env, stdout=log, stderr=log)
        try:
            st, _ = await asyncio.to_thread(http, "POST", cc.url + "/v1/credentials/kalshi",
                                            {"api_key": KEY_ID, "api_secret": priv}, cc.admin)
            assert st in (200, 201)
            _, k = await asyncio.to_thread(http, "POST", cc.url + "/v1/keys", {"scopes": ["read", "trade"]},
                                           cc.admin)
            key = k["key"]

            def quote(symbol: str):
                st, q = http("GET", f"{cc.url}/v1/quotes/{symbol}", None, key)
                return q if st == 200 and q.get("nbbo", {}).get("bid") and q["nbbo"].get("ask") else None

            await _until(lambda: quote(LISTED), "the listed market's quote")
            st, q = await asyncio.to_thread(http, "GET", f"{cc.url}/v1/quotes/{NEW}", None, key)
            assert st != 200 or not q.get("nbbo", {}).get("bid"), "the new market is quoted before it exists"

            t0 = time.monotonic()
            await sim.announce_market(NEW, step="0.0010")
            q = await _until(lambda: quote(NEW), "the announced market's quote", timeout_s=5.0)
            quoted_s = time.monotonic() - t0
            assert "kalshi" in q["nbbo"].get("venues", ["kalshi"])
            # both legs: the NO leg mirrors the YES book
            q_no = await _until(lambda: quote(f"{NEW}:NO"), "the NO leg's quote", timeout_s=5.0)
            st, pv = await asyncio.to_thread(http, "POST", cc.url + "/v1/preview",
                                             {"symbol": NEW, "side": "buy", "qty": "1"}, key)
            assert st == 200, pv
            # tradable: a limit IOC at the ask reaches the venue and fills there
            ask = q["nbbo"]["ask"]
            st, o = await asyncio.to_thread(http, "POST", cc.url + "/v1/orders",
                                            {"symbol": NEW, "side": "buy", "qty": "1", "price": str(ask),
                                             "time_in_force": "ioc"}, key)
            assert st == 201, o
            done = await _until(lambda: (r := http("GET", f"{cc.url}/v1/orders/{o['order_id']}", None, key)[1])
                                and r.get("terminal") and r, "the order's end", timeout_s=10.0, every_s=0.05)
            traded_s = time.monotonic() - t0
            assert done["status"] in ("filled", "expired"), done
            assert any(t == NEW for t, _ in sim._orders.values()), "the order never reached the venue"
            print(f"kalshi discovery through the API: quotable {quoted_s * 1e3:.1f} ms after the announcement "
                  f"(NO leg {q_no['nbbo']['bid']}/{q_no['nbbo']['ask']}), order done after {traded_s * 1e3:.0f} ms")
            assert quoted_s < 2.0
        finally:
            edge.terminate()
            await asyncio.to_thread(edge.wait, 15)
            log.close()
            await asyncio.to_thread(cc.stop)
            await sim.stop()
        errors = (tmp_path / "edge.log").read_text()
        assert priv.splitlines()[1] not in errors        # the key never reaches the logs
    asyncio.run(asyncio.wait_for(go(), 120))
