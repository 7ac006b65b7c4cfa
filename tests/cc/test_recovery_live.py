"""kill -9 the CC while a live order rests on the venue; the venue fills it while the CC is down;
on restart the journal brings the order and its reservation back, the edge reconnects and
delivers the fill it kept, and nothing is lost or counted twice."""

from __future__ import annotations

import json
import secrets
import time

import pytest

from tests.cc.harness import CCProcess, SimThread, free_port, http, start_edge

pytestmark = pytest.mark.integration


def _until(pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_kill9_with_a_live_order_filled_while_down(tmp_path):
    from seqkern.sim.matching import SimOrder

    api_key, secret = secrets.token_hex(16), secrets.token_hex(32)
    sim = SimThread(api_key, secret)
    snap = tmp_path / "none.json"
    snap.write_text(json.dumps({"pairs": []}))
    data = tmp_path / "cc"
    data.mkdir()
    link = free_port()
    cc = CCProcess(str(data), str(snap), str(tmp_path / "admin.key"), cclink_port=link)
    edge = start_edge(str(tmp_path / "edge.log"), link, sim.sim, api_key, secret)
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
        bid = eng.best("BUY")
        px = bid.px if hasattr(bid, "px") else bid
        st, o = http("POST", cc.url + "/v1/orders",
                     {"symbol": "BTC-USDT", "side": "buy", "qty": "0.001", "price": str(px / 1e9)}, key)
        assert st == 201, o
        _until(lambda: http("GET", cc.url + "/v1/orders/" + o["order_id"], None, key)[1]["status"]
               == "accepted", what="the venue's ack")
        reserved = next(b for b in http("GET", cc.url + "/v1/balances", None, cc.admin)[1]
                    if b["account"] == "live" and b["asset"] == "USDT")["reserved_1e8"]
        assert reserved == 100_000 * px // 10**9

        cc.kill9()

        # the venue fills the resting order while the CC is down; the edge keeps the frames
        async def take():
            fills = eng.submit(SimOrder(eng.next_order_id(), "SELL", 0, 10**8, order_type="MARKET",
                                        tif="IOC"))
            await sim.sim._after_match(sim.sim._symbols["BTCUSDT"], fills)
        sim.call(take())
        time.sleep(0.5)

        cc2 = CCProcess(str(data), str(snap), str(tmp_path / "admin.key"), cclink_port=link)
        assert cc2.info["recovered"]["open_children"] == 1
        assert cc2.info["recovered"]["reservations"] == 1
        _until(lambda: http("GET", cc2.url + "/v1/orders/" + o["order_id"], None, key)[1]["status"]
               == "filled", what="the fill kept by the edge")
        g = http("GET", cc2.url + "/v1/orders/" + o["order_id"], None, key)[1]
        assert g["filled_qty_1e8"] == 100_000 and g["terminal"]
        fills = http("GET", cc2.url + "/v1/fills", None, key)[1]
        assert len(fills) == 1 and fills[0]["qty_1e8"] == 100_000
        res = [b for b in http("GET", cc2.url + "/v1/balances", None, cc2.admin)[1]
               if b["account"] == "live" and b["asset"] == "USDT"]
        assert res and res[0]["reserved_1e8"] == 0
    finally:
        edge.terminate()
        edge.wait(10)
        if cc2 is not None:
            cc2.stop()
        sim.close()
