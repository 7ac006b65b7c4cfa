"""The edge publishing to a CC over CC-LINK and executing the CC's order frames (real sockets)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from seqkern._book import L2Book
from seqkern._fixed import parse_qty

from seqkern.cclink import (
    AmendMode,
    BatchMode,
    CcLinkServer,
    EdgeLinkClient,
    Flag,
    InstrumentType,
    Kind,
    OrderStatus,
    Region,
)
from seqkern.edge.backoff import Backoff
from seqkern.edge.cclink_sink import CcLinkSink
from seqkern.edge.rest import RateLimiter, RestClient
from seqkern.edge.runner import EdgeRunner
from seqkern.sim.binance import BinanceSim
from seqkern.venues.base import CexCredentials
from seqkern.venues.binance import BinanceSpot, BinanceUsdm
from seqkern.venues.binance.execution import BinanceWsApiTransport
from tests.edge.edge_rig import API_KEY, SECRET, endpoints, run, until

EDGE_ID = "venue-edge-binance"


class CcSide:
    """What the CC sees: frames by kind, and the book rebuilt from L2 frames."""

    def __init__(self) -> None:
        self.frames: dict[int, list[Any]] = defaultdict(list)
        self.books: dict[int, L2Book] = {}
        self.withdrawn: list[int] = []

    def handler(self, session: Any, f: Any) -> None:
        self.frames[f.kind].append(f)
        if f.kind == Kind.L2_SNAPSHOT:
            book = self.books.setdefault(f.symbol_id, L2Book(10_000_000, depth_ticks=1 << 16))
            if f.flags & Flag.RESYNC and f.bids.shape[0] == 0 and f.asks.shape[0] == 0:
                book.clear()
                self.withdrawn.append(f.symbol_id)
                return
            book.apply_snapshot(np.ascontiguousarray(f.bids[:, 0]), np.ascontiguousarray(f.bids[:, 1]),
                                np.ascontiguousarray(f.asks[:, 0]), np.ascontiguousarray(f.asks[:, 1]),
                                f.update_id)
        elif f.kind == Kind.L2_DELTA:
            book = self.books.get(f.symbol_id)
            if book is not None and book.valid:
                book.apply_update(np.ascontiguousarray(f.bids[:, 0]), np.ascontiguousarray(f.bids[:, 1]),
                                  np.ascontiguousarray(f.asks[:, 0]), np.ascontiguousarray(f.asks[:, 1]),
                                  f.update_id)


@contextlib.asynccontextmanager
async def linked(futures: bool = False) -> AsyncIterator[tuple[BinanceSim, EdgeRunner, CcSide, CcLinkServer]]:
    sim = BinanceSim(futures=futures)
    sim.add_account(API_KEY, SECRET, balances={"USDT": "1000000", "BTC": "100"})
    await sim.start()
    cc = CcLinkServer("cc-ap", region=Region.AP)
    side = CcSide()
    for kind in (Kind.BBO, Kind.L2_SNAPSHOT, Kind.L2_DELTA, Kind.TRADE, Kind.FILL, Kind.ORDER_ACK,
                 Kind.ORDER_REJECT, Kind.ORDER_UPDATE, Kind.BALANCE, Kind.PAIR_SPEC):
        cc.on(kind, side.handler)
    port = await cc.listen_tcp("127.0.0.1", 0)
    venue = (BinanceUsdm if futures else BinanceSpot)(endpoints(sim))
    rest = RestClient(venue.endpoints.rest, RateLimiter(venue.rate_limits))
    transport = BinanceWsApiTransport(futures=futures, ws_api_url=venue.endpoints.trade_ws,
                                      credentials=CexCredentials("binance", API_KEY, SECRET), rest=rest,
                                      private_ws_base=venue.endpoints.private_ws)
    client = EdgeLinkClient(EDGE_ID + ("-perp" if futures else ""), region=Region.AP, venue_slot=3,
                            instrument_type=InstrumentType.PERP if futures else InstrumentType.SPOT)
    sink = CcLinkSink(client)
    edge = EdgeRunner(venue, ["BTC-USDT"], sink, transport=transport, rest=rest, backoff=Backoff(0.05, 0.5))
    sink.attach(edge)
    await client.connect_tcp("127.0.0.1", port)
    try:
        await edge.start()
        await edge.wait_live("BTC-USDT", 10)
        yield sim, edge, side, cc
    finally:
        await edge.stop()
        await client.close()
        await cc.close()
        await sim.stop()


def test_cc_book_equals_the_venue_book_through_cclink() -> None:
    async def go() -> None:
        async with linked() as (sim, edge, side, _cc):
            await until(lambda: Kind.PAIR_SPEC in side.frames and side.frames[Kind.L2_SNAPSHOT], 5, "spec+snapshot")
            spec = side.frames[Kind.PAIR_SPEC][0]
            assert (spec.symbol, spec.venue_symbol, spec.tick_1e9) == ("BTC-USDT", "BTCUSDT", 10_000_000)
            await asyncio.sleep(0.3)
            sim.paused = True
            await until(lambda: edge.book("BTC-USDT").last_update_id == sim.last_update_id("BTCUSDT"), 5, "edge")
            await until(lambda: side.books[0].last_update_id == sim.last_update_id("BTCUSDT"), 5, "cc")
            bids, asks = sim.true_depth("BTCUSDT", 200)
            bp, bq, ap, aq = side.books[0].top(200)
            assert list(zip(bp.tolist(), bq.tolist(), strict=True)) == bids
            assert list(zip(ap.tolist(), aq.tolist(), strict=True)) == asks
            assert side.frames[Kind.TRADE] and side.frames[Kind.BBO]
            sim.paused = False
            # a gap withdraws the CC's book, then a new snapshot restores it
            sim.faults.skip_sequence = 1
            await until(lambda: side.withdrawn, 5, "the withdrawal")
            await until(lambda: side.books[0].valid, 5, "the fresh snapshot")
    run(go())


def test_order_frames_from_the_cc_are_executed_with_their_modes() -> None:
    async def go() -> None:
        async with linked() as (sim, _edge, side, cc):
            sim.paused = True
            session = cc.session(EDGE_ID)
            eng = sim.engine("BTCUSDT")
            bid, ask = eng.best("BUY"), eng.best("SELL")
            session.send_order(Kind.ORDER_NEW, symbol_id=0, side=1, order_type=1, tif=1, px_1e9=bid,
                               qty_1e8=parse_qty("0.02"), request_id=101, client_order_id="cc-1")
            await until(lambda: any(f.request_id == 101 for f in side.frames[Kind.ORDER_ACK]), 5, "ack")
            ack = next(f for f in side.frames[Kind.ORDER_ACK] if f.request_id == 101)
            assert ack.status == OrderStatus.ACCEPTED and ack.venue_order_id and ack.client_order_id == "cc-1"
            session.send_order(Kind.ORDER_DECREASE, symbol_id=0, qty_1e8=parse_qty("0.005"), request_id=102,
                               client_order_id="cc-1")
            await until(lambda: any(f.request_id == 102 for f in side.frames[Kind.ORDER_ACK]), 5, "decrease")
            dec = next(f for f in side.frames[Kind.ORDER_ACK] if f.request_id == 102)
            assert dec.amend_mode == AmendMode.NATIVE_ATOMIC
            assert eng.orders[int(ack.venue_order_id)].qty == parse_qty("0.015")
            session.send_order(Kind.ORDER_AMEND, symbol_id=0, side=1, px_1e9=bid - 10_000_000,
                               qty_1e8=parse_qty("0.015"), request_id=103, client_order_id="cc-1")
            await until(lambda: any(f.request_id == 103 for f in side.frames[Kind.ORDER_ACK]), 5, "amend")
            am = next(f for f in side.frames[Kind.ORDER_ACK] if f.request_id == 103)
            assert am.amend_mode == AmendMode.CANCEL_REPLACE
            session.send_order_batch([
                {"op": Kind.ORDER_NEW, "symbol_id": 0, "side": 1, "order_type": 1, "tif": 1,
                 "px_1e9": bid - 20_000_000 * (i + 1), "qty_1e8": parse_qty("0.001"), "request_id": 110 + i,
                 "client_order_id": f"cc-b{i}"} for i in range(3)], request_id=109, batch_mode=BatchMode.SERIAL)
            await until(lambda: sum(1 for f in side.frames[Kind.ORDER_ACK] if 110 <= f.request_id < 113) == 3, 5,
                        "batch acks")
            assert all(f.batch_mode == BatchMode.SERIAL for f in side.frames[Kind.ORDER_ACK] if 110 <= f.request_id < 113)
            session.send_order(Kind.ORDER_NEW, symbol_id=0, side=1, order_type=1, tif=2, px_1e9=ask,
                               qty_1e8=parse_qty("0.0001"), request_id=120, client_order_id="cc-take")
            await until(lambda: any(f.request_id == 120 for f in side.frames[Kind.FILL]), 5, "the fill")
            fill = next(f for f in side.frames[Kind.FILL] if f.request_id == 120)
            assert fill.px_1e9 == ask and fill.client_order_id == "cc-take" and fill.liquidity == 2
            await until(lambda: side.frames[Kind.ORDER_UPDATE] and side.frames[Kind.BALANCE], 5, "updates")
            session.send_order(Kind.ORDER_NEW, symbol_id=0, side=1, order_type=1, tif=1, px_1e9=bid + 1,
                               qty_1e8=parse_qty("0.01"), request_id=130, client_order_id="cc-bad")
            await until(lambda: any(f.request_id == 130 for f in side.frames[Kind.ORDER_REJECT]), 5, "reject")
            rej = next(f for f in side.frames[Kind.ORDER_REJECT] if f.request_id == 130)
            assert rej.status == OrderStatus.REJECTED and rej.reason_code == 1013 and "PRICE_FILTER" in rej.text
            session.send_order(Kind.ORDER_CANCEL, symbol_id=0, request_id=140, client_order_id="cc-b0")
            await until(lambda: any(f.request_id == 140 for f in side.frames[Kind.ORDER_ACK]), 5, "cancel")
            assert next(f for f in side.frames[Kind.ORDER_ACK] if f.request_id == 140).status == OrderStatus.CANCELED
    run(go())


def test_usdm_batch_from_the_cc_runs_natively() -> None:
    async def go() -> None:
        async with linked(futures=True) as (sim, _edge, side, cc):
            sim.paused = True
            session = cc.session(EDGE_ID + "-perp")
            eng = sim.engine("BTCUSDT")
            bid = eng.best("BUY")
            tick = sim.spec("BTCUSDT").tick_1e9
            session.send_order_batch([
                {"op": Kind.ORDER_NEW, "symbol_id": 0, "side": 1, "order_type": 1, "tif": 1,
                 "px_1e9": bid - tick * (i + 1), "qty_1e8": parse_qty("0.002"), "request_id": 200 + i,
                 "client_order_id": f"p-b{i}"} for i in range(7)], request_id=199,
                batch_mode=BatchMode.NATIVE_BEST_EFFORT)
            await until(lambda: sum(1 for f in side.frames[Kind.ORDER_ACK] if 200 <= f.request_id < 207) == 7, 5,
                        "seven acks")
            acks = [f for f in side.frames[Kind.ORDER_ACK] if 200 <= f.request_id < 207]
            assert all(f.batch_mode == BatchMode.NATIVE_BEST_EFFORT for f in acks)
            assert sim.rest_calls["/fapi/v1/batchOrders"] == 2          # 5 + 2: Binance's limit of 5
            session.send_order(Kind.ORDER_AMEND, symbol_id=0, side=1, px_1e9=bid - tick * 20,
                               qty_1e8=parse_qty("0.003"), request_id=210, client_order_id="p-b0")
            await until(lambda: any(f.request_id == 210 for f in side.frames[Kind.ORDER_ACK]), 5, "modify")
            am = next(f for f in side.frames[Kind.ORDER_ACK] if f.request_id == 210)
            assert am.amend_mode == AmendMode.NATIVE_ATOMIC
    run(go())
