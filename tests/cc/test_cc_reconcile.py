"""kill -9 both the CC and its edge while orders rest on the venue; the venue fills one (partly,
or fully) and cancels another while both are down; after both restart the CC reconciles with
the edge, which queries the venue: statuses, filled quantities and reservations match the
venue's truth, each fill counted once, and a second reconnect changes nothing.
Binance spot (WS API queries), OKX and Bybit spot (signed REST queries), real processes."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import threading
import time
from typing import Any

import pytest

from tests.cc.harness import CCProcess, SimThread, free_port, http, start_edge

pytestmark = pytest.mark.integration


def _until(pred, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _kill9(proc) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _order(cc, key, oid):
    return http("GET", cc.url + "/v1/orders/" + oid, None, key)[1]


def _reserved(cc) -> int:
    rows = [b for b in http("GET", cc.url + "/v1/balances", None, cc.admin)[1]
            if b["account"] == "live" and b["asset"] == "USDT"]
    return rows[0]["reserved_1e8"] if rows else 0


def _reconciled_lines(path: str) -> list[str]:
    with open(path, errors="replace") as f:
        return [line for line in f if "reconciled " in line]


class Venue:
    """One simulated venue on its own event-loop thread, its account, and how to start its edge."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "binance":
            self.api_key, self.secret = secrets.token_hex(16), secrets.token_hex(32)
            self.thread = SimThread(self.api_key, self.secret)
            self.sim: Any = self.thread.sim
            self.symbol = "BTCUSDT"
            return
        from tests.edge import okxbybit_rig as R

        self.loop = asyncio.new_event_loop()
        self._t = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._t.start()

        async def start() -> Any:
            sim = R.make_sim(name)
            await sim.start()
            return sim
        self.sim = asyncio.run_coroutine_threadsafe(start(), self.loop).result(20)
        okx = name == "okx"
        self.api_key = R.OKX_KEY if okx else R.BYBIT_KEY
        self.secret = R.OKX_SECRET if okx else R.BYBIT_SECRET
        self.passphrase = R.OKX_PASSPHRASE if okx else ""
        self.symbol = "BTC-USDT" if okx else "BTCUSDT"

    def call(self, coro: Any) -> Any:
        if self.name == "binance":
            return self.thread.call(coro)
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(20)

    def credentials(self) -> dict[str, str]:
        c = {"api_key": self.api_key, "api_secret": self.secret}
        if self.name == "okx":
            c["passphrase"] = self.passphrase
        return c

    def start_edge(self, log_path: str, link: int) -> subprocess.Popen:
        if self.name == "binance":
            return start_edge(log_path, link, self.sim, self.api_key, self.secret)
        from tests.edge.test_edge_okx_bybit_launcher import EDGE, _env

        log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
        return subprocess.Popen([*EDGE, "--symbols", "BTC-USDT", "--cc", f"127.0.0.1:{link}"],
                                env=dict(os.environ, **_env(self.name, self.sim)), stdout=log, stderr=log)

    async def after_match(self, fills: list) -> None:
        if self.name == "binance":
            await self.sim._after_match(self.sim._symbols[self.symbol], fills)
        else:
            await self.sim.after_match(self.sim.symbol_state(self.symbol), fills)

    async def venue_cancel(self, o: Any) -> None:
        if self.name == "binance":
            await self.sim._cancel(self.sim.accounts[self.api_key], {"symbol": self.symbol,
                                                                     "orderId": str(o.order_id)})
        else:
            self.sim.engine(self.symbol).cancel(o.order_id)

    def tick(self) -> int:
        if self.name == "binance":
            return self.sim.spec(self.symbol).tick_1e9
        return self.sim.symbol_state(self.symbol).spec.tick_1e9

    def close(self) -> None:
        if self.name == "binance":
            self.thread.close()
            return
        self.call(self.sim.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._t.join(5)


@pytest.mark.parametrize("fill", ["partial", "full"])
@pytest.mark.parametrize("venue_name", ["binance", "okx", "bybit"])
def test_orders_reconciled_after_cc_and_edge_kill9(tmp_path, venue_name, fill):
    from seqkern._fixed import format_px

    from seqkern.sim.matching import SimOrder

    venue = Venue(venue_name)
    sim = venue.sim
    snap = tmp_path / "none.json"
    snap.write_text(json.dumps({"pairs": []}))
    data = tmp_path / "cc"
    data.mkdir()
    link = free_port()
    edge_log = str(tmp_path / "edge.log")
    cc = CCProcess(str(data), str(snap), str(tmp_path / "admin.key"), cclink_port=link)
    edge = venue.start_edge(edge_log, link)
    cc2 = None
    try:
        st, _ = http("POST", cc.url + f"/v1/credentials/{venue_name}", venue.credentials(), cc.admin)
        assert st in (200, 201)
        _, k = http("POST", cc.url + "/v1/keys", {"scopes": ["read", "trade"]}, cc.admin)
        key = k["key"]
        _until(lambda: (e := http("GET", cc.url + "/v1/edges", None, key)[1]) and e[0]["bbo"],
               what="the edge's book")
        sim.paused = True          # freeze the random walk: only this test moves the book
        time.sleep(0.2)
        eng = sim.engine(venue.symbol)
        tick = venue.tick()
        bid, ask = eng.best("BUY"), eng.best("SELL")
        assert ask - bid > tick, "the simulator's spread leaves no room for a top-of-book bid"
        px_a = bid + tick              # alone at the top of the book: the first to be hit
        px_b = bid - 10 * tick
        ids = []
        for px, qty in ((px_a, "0.002"), (px_b, "0.001")):
            st, o = http("POST", cc.url + "/v1/orders",
                         {"symbol": "BTC-USDT", "side": "buy", "qty": qty, "price": format_px(px)}, key)
            assert st == 201, o
            ids.append(o["order_id"])
        a_id, b_id = ids
        for oid in ids:
            _until(lambda oid=oid: _order(cc, key, oid)["status"] == "accepted", what="the venue's ack")
        assert _reserved(cc) == (200_000 * px_a + 100_000 * px_b) // 10**9
        mine = {o.px: o for o in eng.orders.values() if o.owner == venue.api_key}
        venue_a, venue_b = mine[px_a], mine[px_b]

        cc.kill9()
        _kill9(edge)

        # while both are down: the venue fills A (one trade, or two) and cancels B
        take = [100_000] if fill == "partial" else [50_000, 150_000]

        async def venue_moves():
            for q in take:
                await venue.after_match(eng.submit(SimOrder(eng.next_order_id(), "SELL", px_a, q, tif="IOC")))
            await venue.venue_cancel(venue_b)
        venue.call(venue_moves())
        filled = sum(take)
        assert venue_a.filled == filled and venue_b.status == "CANCELED"

        cc2 = CCProcess(str(data), str(snap), str(tmp_path / "admin.key"), cclink_port=link)
        assert cc2.info["recovered"]["open_children"] == 2
        edge = venue.start_edge(edge_log, link)
        want = "partially_filled" if fill == "partial" else "filled"
        _until(lambda: _order(cc2, key, a_id)["status"] == want
               and _order(cc2, key, a_id)["filled_qty_1e8"] == filled, what=f"A {want} from the venue")
        _until(lambda: _order(cc2, key, b_id)["status"] == "cancelled", what="B cancelled by the venue")
        a = _order(cc2, key, a_id)
        assert a["terminal"] == (fill == "full")
        assert _order(cc2, key, b_id)["terminal"]
        fills = list(http("GET", cc2.url + "/v1/fills", None, key)[1])
        assert sorted(f["qty_1e8"] for f in fills) == sorted(take)
        assert all(f["price_1e9"] == px_a for f in fills)
        assert len({f["fill_id"] for f in fills}) == len(take)
        open_qty = 200_000 - filled
        assert _reserved(cc2) == open_qty * px_a // 10**9

        # a second reconnect: the edge answers again (for A if still open); nothing is counted twice
        before = len(_reconciled_lines(edge_log))
        _kill9(edge)
        edge = venue.start_edge(edge_log, link)
        if fill == "partial":
            _until(lambda: len(_reconciled_lines(edge_log)) > before, what="the second reconciliation")
        else:
            _until(lambda: any(e["connected"] for e in http("GET", cc2.url + "/v1/edges", None, key)[1]),
                   what="the edge back")
        time.sleep(0.5)
        fills2 = http("GET", cc2.url + "/v1/fills", None, key)[1]
        assert len(fills2) == len(take)
        assert _order(cc2, key, a_id)["filled_qty_1e8"] == filled
        assert _reserved(cc2) == open_qty * px_a // 10**9
    finally:
        edge.terminate()
        edge.wait(10)
        if cc2 is not None:
            cc2.stop()
        else:
            cc.stop()
        venue.close()
