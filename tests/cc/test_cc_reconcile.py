"""kill -9 both the CC and its edge while orders rest on the venue; the venue fills one (partly,
or fully) and cancels another while both are down; after both restart the CC reconciles with
the edge, which queries the venue: statuses, filled quantities and reservations match the
venue's truth, each fill counted once, and a second reconnect changes nothing."""

from __future__ import annotations

import json
import os
import secrets
import signal
import time

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


@pytest.mark.parametrize("fill", ["partial", "full"])
def test_orders_reconciled_after_cc_and_edge_kill9(tmp_path, fill):
    from seqkern._fixed import format_px

    from seqkern.sim.matching import SimOrder

    api_key, secret = secrets.token_hex(16), secrets.token_hex(32)
    sim = SimThread(api_key, secret)
    snap = tmp_path / "none.json"
    snap.write_text(json.dumps({"pairs": []}))
    data = tmp_path / "cc"
    data.mkdir()
    link = free_port()
    edge_log = str(tmp_path / "edge.log")
    cc = CCProcess(str(data), str(snap), str(tmp_path / "admin.key"), cclink_port=link)
    edge = start_edge(edge_log, link, sim.sim, api_key, secret)
    cc2 = None
    try:
        http("POST", cc.url + "/v1/credentials/binance", {"api_key": api_key, "api_secret": secret},
             cc.admin)
        _, k = http("POST", cc.url + "/v1/keys", {"scopes": ["read", "trade"]}, cc.admin)
        key = k["key"]
        _until(lambda: (e := http("GET", cc.url + "/v1/edges", None, key)[1]) and e[0]["bbo"],
               what="the edge's book")
        sim.sim.paused = True          # freeze the random walk: only this test moves the book
        time.sleep(0.2)
        eng = sim.sim.engine("BTCUSDT")
        tick = sim.sim.spec("BTCUSDT").tick_1e9
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
        mine = {o.px: o for o in eng.orders.values() if o.owner == api_key}
        venue_a, venue_b = mine[px_a], mine[px_b]

        cc.kill9()
        _kill9(edge)

        # while both are down: the venue fills A (one trade, or two) and cancels B
        take = [100_000] if fill == "partial" else [50_000, 150_000]

        async def venue_moves():
            st = sim.sim._symbols["BTCUSDT"]
            for q in take:
                fills = eng.submit(SimOrder(eng.next_order_id(), "SELL", px_a, q, tif="IOC"))
                await sim.sim._after_match(st, fills)
            await sim.sim._cancel(sim.sim.accounts[api_key], {"symbol": "BTCUSDT",
                                                              "orderId": str(venue_b.order_id)})
        sim.call(venue_moves())
        filled = sum(take)
        assert venue_a.filled == filled and venue_b.status == "CANCELED"

        cc2 = CCProcess(str(data), str(snap), str(tmp_path / "admin.key"), cclink_port=link)
        assert cc2.info["recovered"]["open_children"] == 2
        edge = start_edge(edge_log, link, sim.sim, api_key, secret)
        want = "partially_filled" if fill == "partial" else "filled"
        _until(lambda: _order(cc2, key, a_id)["status"] == want
               and _order(cc2, key, a_id)["filled_qty_1e8"] == filled, what=f"A {want} from the venue")
        _until(lambda: _order(cc2, key, b_id)["status"] == "cancelled", what="B cancelled by the venue")
        a = _order(cc2, key, a_id)
        assert a["terminal"] == (fill == "full")
        assert _order(cc2, key, b_id)["terminal"]
        fills = [f for f in http("GET", cc2.url + "/v1/fills", None, key)[1]]
        assert sorted(f["qty_1e8"] for f in fills) == sorted(take)
        assert all(f["price_1e9"] == px_a for f in fills)
        assert len({f["fill_id"] for f in fills}) == len(take)
        open_qty = 200_000 - filled
        assert _reserved(cc2) == open_qty * px_a // 10**9

        # a second reconnect: the edge answers again (for A if still open); nothing is counted twice
        before = len(_reconciled_lines(edge_log))
        _kill9(edge)
        edge = start_edge(edge_log, link, sim.sim, api_key, secret)
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
        sim.close()
