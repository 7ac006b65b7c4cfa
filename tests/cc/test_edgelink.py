"""The CC's CC-LINK side against a scripted edge speaking real CC-LINK over TCP: PAIR_SPEC, books,
BALANCE in; ORDER_NEW / CANCEL out; ACK / FILL / UPDATE / REJECT back; reconcile on reconnect."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("seqkern.cclink")

from seqkern.cclink import EdgeLinkClient, Kind, OrderStatus, Region
from seqkern.cclink.wire import InstrumentType, Liquidity
from tests.cc.harness import ThreadedCC, http

pytestmark = pytest.mark.integration
BTC = "BTC-USDT"


@pytest.fixture
def cc(tmp_path):
    c = ThreadedCC(str(tmp_path / "cc"), cclink=True)
    try:
        yield c
    finally:
        c.close()


class ScriptedEdge:
    """A Binance spot edge played by the test: it answers the CC's orders as told."""

    def __init__(self, port: int, mode: str = "fill") -> None:
        self.port = port
        self.mode = mode
        self.got: list = []
        self.client = EdgeLinkClient("venue-edge-binance", region=Region.AP, venue_slot=3,
                                     instrument_type=InstrumentType.SPOT)
        for k in (Kind.ORDER_NEW, Kind.ORDER_CANCEL, Kind.ORDER_AMEND, Kind.ORDER_DECREASE,
                  Kind.ORDER_UPDATE):
            self.client.on(k, self._order)
        self.fills = 0

    async def start(self) -> None:
        self.client.bind_symbol(7, BTC, "BTCUSDT", 3, int(InstrumentType.SPOT), 10_000_000, 1000,
                                taker_fee_bps_e4=100_000)
        await self.client.connect_tcp("127.0.0.1", self.port)
        link = self.client.link
        link.send_l2(int(Kind.L2_SNAPSHOT), 7, 100,
                     np.array([[100_000 * 10**9, 2 * 10**8]], dtype=np.int64),
                     np.array([[100_001 * 10**9, 3 * 10**8]], dtype=np.int64))
        link.send_balance(asset="USDT", total_1e8=500_000 * 10**8, available_1e8=500_000 * 10**8)
        link.send_balance(asset="BTC", total_1e8=10 * 10**8, available_1e8=10 * 10**8)
        link.flush()

    def _order(self, session, f) -> None:
        self.got.append(f)
        link = self.client.link
        common = dict(symbol_id=f.symbol_id, request_id=f.request_id,
                      client_order_id=f.client_order_id, venue_order_id=f"v{f.request_id}")
        if f.kind == Kind.ORDER_NEW:
            if self.mode == "reject":
                link.send_order(int(Kind.ORDER_REJECT), reason_code=2010,
                                text="Account has insufficient balance", **common)
            else:
                link.send_order(int(Kind.ORDER_ACK), status=int(OrderStatus.ACCEPTED), **common)
                if self.mode == "fill":
                    self.fills += 1
                    link.send_fill(symbol_id=f.symbol_id, side=f.side, px_1e9=100_001 * 10**9,
                                   qty_1e8=f.qty_1e8, fee_1e9=0, fill_id=self.fills,
                                   request_id=f.request_id, liquidity=int(Liquidity.TAKER),
                                   client_order_id=f.client_order_id,
                                   venue_order_id=f"v{f.request_id}")
        elif f.kind == Kind.ORDER_CANCEL:
            # like the real edge: the cancel is answered by an ACK carrying the new status
            link.send_order(int(Kind.ORDER_ACK), status=int(OrderStatus.CANCELED), **common)
        elif f.kind in (Kind.ORDER_AMEND, Kind.ORDER_DECREASE):
            # the ACK echoes the request (amend: new qty and price; decrease: the amount) + mode
            link.send_order(int(Kind.ORDER_ACK), status=int(OrderStatus.ACCEPTED), qty_1e8=f.qty_1e8,
                            px_1e9=f.px_1e9, amend_mode=1, **common)
        link.flush()

    async def close(self) -> None:
        await self.client.close()


async def _until(pred, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def test_edge_registers_books_and_balances(cc):
    async def run():
        edge = ScriptedEdge(cc.link_port)
        await edge.start()
        await _until(lambda: http("GET", cc.url + "/v1/edges", key=cc.admin)[1]
                     and http("GET", cc.url + "/v1/edges", key=cc.admin)[1][0]["bbo"] == 1)
        (e,) = http("GET", cc.url + "/v1/edges?symbols=1", key=cc.admin)[1]
        assert (e["edge_id"], e["region"], e["syms"], e["bbo"], e["connected"]) == \
            ("venue-edge-binance", "ap", 1, 1, True)
        assert e["symbols"] == [BTC] and e["age_ms"] >= 0 and "remote" not in e
        q = http("GET", cc.url + f"/v1/quotes/{BTC}", key=cc.admin)[1]
        assert q["venues"]["binance"]["bid"] == 100000.0 and q["venues"]["binance"]["ask_size"] == 3.0
        bal = {b["asset"]: b for b in http("GET", cc.url + "/v1/balances", key=cc.admin)[1]
               if b["account"] == "live"}
        assert bal["USDT"]["balance_1e8"] == 500_000 * 10**8
        await edge.close()
        await _until(lambda: not http("GET", cc.url + "/v1/edges", key=cc.admin)[1][0]["connected"])
        q = http("GET", cc.url + f"/v1/quotes/{BTC}", key=cc.admin)[1]
        assert q["venues"]["binance"]["bid"] is None   # the book is invalid once its edge is gone

    asyncio.run(run())


def test_live_order_ack_fill_cancel_reject(cc):
    key = cc.key(["read", "trade"])

    async def run():
        edge = ScriptedEdge(cc.link_port)
        await edge.start()
        await _until(lambda: cc.cc.ledger.balance("live", 3, "USDT") > 0)
        st, e = await asyncio.to_thread(http, "POST", cc.url + "/v1/orders",
                                        {"symbol": BTC, "side": "buy", "qty": "0.5"}, key)
        assert st == 422 and e["error"]["code"] == "NO_ROUTABLE_VENUE"   # no credentials yet
        http("POST", cc.url + "/v1/credentials/binance", {"api_key": "k", "api_secret": "s"},
             key=cc.admin)
        st, o = await asyncio.to_thread(http, "POST", cc.url + "/v1/orders",
                                        {"symbol": BTC, "side": "buy", "qty": "0.5"}, key)
        assert st == 201 and not o["sandbox"] and o["children"][0]["venue"] == "binance"
        await _until(lambda: edge.got)
        f = edge.got[0]
        assert (f.kind, f.symbol_id, f.side, f.qty_1e8, f.client_order_id) == \
            (Kind.ORDER_NEW, 7, 1, 50_000_000, "sk1")
        await _until(lambda: http("GET", cc.url + "/v1/orders/" + o["order_id"], key=key)[1]
                     ["status"] == "filled")
        fills = http("GET", cc.url + "/v1/fills", key=key)[1]
        assert len(fills) == 1 and fills[0]["price_1e9"] == 100_001 * 10**9
        assert cc.cc.ledger.reserved("live", 3, "USDT") == 0
        # a resting order: acked, then cancelled through the edge
        edge.mode = "rest"
        st, r = await asyncio.to_thread(http, "POST", cc.url + "/v1/orders",
                                        {"symbol": BTC, "side": "buy", "qty": "1", "price": "99000"}, key)
        await _until(lambda: http("GET", cc.url + "/v1/orders/" + r["order_id"], key=key)[1]
                     ["status"] == "accepted")
        assert cc.cc.ledger.reserved("live", 3, "USDT") == 99_000 * 10**8
        # amend the price natively, then take 0.25 off: the reservation follows
        st, a = await asyncio.to_thread(http, "POST", cc.url + f"/v1/orders/{r['order_id']}/amend",
                                        {"price": "99500"}, key)
        assert st == 200 and a["amend_mode"] == "native_atomic"
        await _until(lambda: cc.cc.ledger.reserved("live", 3, "USDT") == 99_500 * 10**8)
        am = next(x for x in edge.got if x.kind == Kind.ORDER_AMEND)
        assert (am.px_1e9, am.qty_1e8, am.client_order_id) == (99_500 * 10**9, 10**8, "sk2")
        st, _d = await asyncio.to_thread(http, "POST", cc.url + f"/v1/orders/{r['order_id']}/decrease",
                                        {"qty": "0.25"}, key)
        assert st == 200
        await _until(lambda: http("GET", cc.url + "/v1/orders/" + r["order_id"], key=key)[1]
                     ["qty_1e8"] == 75_000_000)
        dec = next(x for x in edge.got if x.kind == Kind.ORDER_DECREASE)
        assert dec.qty_1e8 == 25_000_000          # the amount taken off
        assert cc.cc.ledger.reserved("live", 3, "USDT") == 75_000_000 * 99_500
        st, c = await asyncio.to_thread(http, "POST", cc.url + f"/v1/orders/{r['order_id']}/cancel",
                                        None, key)
        assert st == 200 and c["status"] == "accepted" and c["children"][0]["cancel_requested"]
        await _until(lambda: http("GET", cc.url + "/v1/orders/" + r["order_id"], key=key)[1]
                     ["status"] == "cancelled")
        assert cc.cc.ledger.reserved("live", 3, "USDT") == 0
        # a venue reject
        edge.mode = "reject"
        st, j = await asyncio.to_thread(http, "POST", cc.url + "/v1/orders",
                                        {"symbol": BTC, "side": "buy", "qty": "1", "price": "99000"}, key)
        await _until(lambda: http("GET", cc.url + "/v1/orders/" + j["order_id"], key=key)[1]
                     ["status"] == "rejected")
        g = http("GET", cc.url + "/v1/orders/" + j["order_id"], key=key)[1]
        assert "insufficient balance" in g["failure_reason"]
        # reconnect: the CC asks the edge about its open orders
        edge.mode = "rest"
        st, k = await asyncio.to_thread(http, "POST", cc.url + "/v1/orders",
                                        {"symbol": BTC, "side": "sell", "qty": "1", "price": "101000"}, key)
        await _until(lambda: len(edge.got) == 7)
        await edge.close()
        edge2 = ScriptedEdge(cc.link_port, mode="rest")
        await edge2.start()
        await _until(lambda: any(f.kind == Kind.ORDER_UPDATE for f in edge2.got))
        q = [f for f in edge2.got if f.kind == Kind.ORDER_UPDATE]
        assert [x.client_order_id for x in q] == ["sk4"] and k["status"] == "new"
        assert q[0].status == int(OrderStatus.UNSET)
        await edge2.close()

    asyncio.run(run())


def test_reconcile_answer_for_an_order_the_venue_does_not_know(cc):
    """The edge answers "report this order" with EXPIRED + the venue's not-found code: the CC
    ends the child (expired, the venue's text as reason) and releases its reservation."""
    key = cc.key(["read", "trade"])

    async def run():
        edge = ScriptedEdge(cc.link_port, mode="rest")
        await edge.start()
        await _until(lambda: cc.cc.ledger.balance("live", 3, "USDT") > 0)
        http("POST", cc.url + "/v1/credentials/binance", {"api_key": "k", "api_secret": "s"}, key=cc.admin)
        st, r = await asyncio.to_thread(http, "POST", cc.url + "/v1/orders",
                                        {"symbol": BTC, "side": "buy", "qty": "1", "price": "99000"}, key)
        assert st == 201
        await _until(lambda: http("GET", cc.url + "/v1/orders/" + r["order_id"], key=key)[1]
                     ["status"] == "accepted")
        assert cc.cc.ledger.reserved("live", 3, "USDT") == 99_000 * 10**8
        await edge.close()
        edge2 = ScriptedEdge(cc.link_port, mode="rest")
        await edge2.start()
        await _until(lambda: any(f.kind == Kind.ORDER_UPDATE for f in edge2.got))
        (q,) = [f for f in edge2.got if f.kind == Kind.ORDER_UPDATE]
        link = edge2.client.link
        link.send_order(int(Kind.ORDER_UPDATE), symbol_id=q.symbol_id, request_id=q.request_id,
                        client_order_id=q.client_order_id, status=int(OrderStatus.EXPIRED), reason_code=2013,
                        text="not found at the venue: -2013 Order does not exist.")
        link.flush()
        await _until(lambda: http("GET", cc.url + "/v1/orders/" + r["order_id"], key=key)[1]
                     ["status"] == "expired")
        g = http("GET", cc.url + "/v1/orders/" + r["order_id"], key=key)[1]
        assert g["terminal"] and "not found at the venue" in (g["failure_reason"] or g["children"][0].get("failure_reason", ""))
        assert cc.cc.ledger.reserved("live", 3, "USDT") == 0
        await edge2.close()

    asyncio.run(run())
