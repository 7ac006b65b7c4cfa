"""OrderTransport.query_order against the venue simulators: the venue's status, quantities and
fills of an order (also one filled or cancelled while no client was connected), queried by a
fresh transport with no local memory; an unknown order is a typed not-found with the venue's code."""

from __future__ import annotations

import asyncio

import pytest
from seqkern._fixed import parse_qty

from seqkern.edge.rest import RateLimiter, RestClient
from seqkern.sim.matching import BUY, SELL, SimOrder
from seqkern.venues.base import (
    CexCredentials,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from seqkern.venues.binance.execution import BinanceWsApiTransport
from tests.edge import okxbybit_rig
from tests.edge.edge_rig import API_KEY, SECRET, rig, run, until
from tests.edge.test_edge_binance_orders import SYM, limit

CREDS = CexCredentials("binance", API_KEY, SECRET)


def okx_bybit_owner(venue: str) -> str:
    return okxbybit_rig.OKX_KEY if venue.startswith("okx") else okxbybit_rig.BYBIT_KEY


def _fresh_binance(r) -> BinanceWsApiTransport:
    """A second transport on the same account: nothing of the first one's memory."""
    v = r.edge.venue
    rest = RestClient(v.endpoints.rest, RateLimiter(v.rate_limits))
    return BinanceWsApiTransport(futures=r.futures, ws_api_url=v.endpoints.trade_ws, credentials=CREDS,
                                 rest=rest, private_ws_base=v.endpoints.private_ws)


@pytest.mark.parametrize("futures", [False, True], ids=["spot", "usdm"])
def test_binance_query_order_from_the_venue(futures: bool) -> None:
    async def go() -> None:
        async with rig(futures, credentials=CREDS) as r:
            r.sim.paused = True
            eng = r.sim.engine(SYM)
            tick = r.sim.spec(SYM).tick_1e9
            bid, ask = eng.best("BUY"), eng.best("SELL")
            assert ask - bid > tick
            px = bid + tick
            a = await r.edge.place(limit(px, "0.004", "qa"))
            b = await r.edge.place(limit(bid - 5 * tick, "0.003", "qb"))
            assert a.accepted and b.accepted
            await r.edge.transport.close()       # no client connected from here on
            st = r.sim._symbols[SYM]
            for q in ("0.001", "0.002"):
                fills = eng.submit(SimOrder(eng.next_order_id(), "SELL", px, parse_qty(q), tif="IOC"))
                await r.sim._after_match(st, fills)
            await r.sim._cancel(r.sim.accounts[API_KEY], {"symbol": SYM, "orderId": str(b.venue_order_id)})
            trade_ids = [f.trade_id for f in eng.fills_of[a.venue_order_id]]

            t = _fresh_binance(r)
            t.trades_page_size = 2     # page through myTrades / userTrades with fromId
            try:
                qa = await t.query_order(SYM, venue_order_id=a.venue_order_id)
                assert qa.found and qa.status is OrderStatus.PARTIALLY_FILLED and qa.side is Side.BUY
                assert qa.qty_1e8 == parse_qty("0.004") and qa.filled_qty_1e8 == parse_qty("0.003")
                assert qa.client_order_id == "qa" and qa.px_1e9 == px
                assert [f.trade_id for f in qa.fills] == trade_ids
                assert [f.qty_1e8 for f in qa.fills] == [parse_qty("0.001"), parse_qty("0.002")]
                assert [f.cum_qty_1e8 for f in qa.fills] == [parse_qty("0.001"), parse_qty("0.003")]
                assert all(f.px_1e9 == px and f.maker for f in qa.fills)
                assert qa.avg_px_1e9 == px and qa.last_px_1e9 == px
                qb = await t.query_order(SYM, client_order_id="qb")
                assert qb.found and qb.status is OrderStatus.CANCELED and qb.filled_qty_1e8 == 0
                assert qb.venue_order_id == b.venue_order_id and qb.fills == ()
                # fully filled while nobody listened
                fills = eng.submit(SimOrder(eng.next_order_id(), "SELL", px, parse_qty("0.005"), tif="IOC"))
                await r.sim._after_match(st, fills)
                qa2 = await t.query_order(SYM, client_order_id="qa")
                assert qa2.status is OrderStatus.FILLED and qa2.filled_qty_1e8 == parse_qty("0.004")
                assert len(qa2.fills) == 3 and qa2.fills[-1].cum_qty_1e8 == parse_qty("0.004")
                missing = await t.query_order(SYM, venue_order_id=999_999)
                assert not missing.found and missing.error_code == -2013
                missing = await t.query_order(SYM, client_order_id="never-placed")
                assert not missing.found and missing.error_code == -2013
            finally:
                await t.close()
                await t.rest.close()
    run(go())


@pytest.mark.parametrize("venue", ["okx", "okx-perp", "bybit", "bybit-perp"])
def test_okx_bybit_query_order_from_the_venue(venue: str) -> None:
    async def go() -> None:
        async with okxbybit_rig.rig(venue, orders=True) as r:
            t = r.transport
            assert t is not None
            r.sim.paused = True
            eng = r.sim.engine(r.symbol)
            st = r.sim.symbol_state(r.symbol)
            tick = eng.tick
            lot = max(eng.lot, st.spec.min_qty_1e8)     # venue units (OKX SWAP: contracts)
            blot = r.base(lot)                          # what the kernel sends and reads (base units)
            bid, ask = eng.best(BUY), eng.best(SELL)
            assert ask - bid > tick
            px = bid + tick
            cid_a, cid_b = ("qa1", "qb1") if venue.startswith("okx") else ("q-a1", "q-b1")
            a = await t.place(OrderRequest(r.symbol, Side.BUY, OrderType.LIMIT, 4 * blot, px, TimeInForce.GTC, cid_a))
            b = await t.place(OrderRequest(r.symbol, Side.BUY, OrderType.LIMIT, 3 * blot, bid - 5 * tick,
                                           TimeInForce.GTC, cid_b))
            assert a.accepted and b.accepted, (a, b)
            await t.close()                       # no client connected from here on
            sim_a = eng.lookup(okx_bybit_owner(venue), client_order_id=cid_a)
            sim_b = eng.lookup(okx_bybit_owner(venue), client_order_id=cid_b)
            assert sim_a is not None and sim_b is not None
            for q in (lot, 2 * lot):
                fills = eng.submit(SimOrder(eng.next_order_id(), SELL, px, q, tif="IOC"))
                await r.sim.after_match(st, fills)
            eng.cancel(sim_b.order_id)
            trade_ids = [f.trade_id for f in eng.fills_of[sim_a.order_id]]
            assert len(trade_ids) == 2

            qa = await t.query_order(r.symbol, venue_order_id=a.venue_order_id)
            assert qa.found and qa.status is OrderStatus.PARTIALLY_FILLED and qa.side is Side.BUY
            assert qa.qty_1e8 == 4 * blot and qa.filled_qty_1e8 == 3 * blot and qa.px_1e9 == px
            assert qa.client_order_id == cid_a and str(qa.venue_order_id) == str(a.venue_order_id)
            assert [f.qty_1e8 for f in qa.fills] == [blot, 2 * blot]
            assert [f.cum_qty_1e8 for f in qa.fills] == [blot, 3 * blot]
            assert all(f.px_1e9 == px and f.maker for f in qa.fills)
            assert len({f.trade_id for f in qa.fills}) == 2
            if venue.startswith("okx"):
                assert [f.trade_id for f in qa.fills] == trade_ids
            assert qa.avg_px_1e9 == px
            qb = await t.query_order(r.symbol, client_order_id=cid_b)
            assert qb.found and qb.status is OrderStatus.CANCELED and qb.filled_qty_1e8 == 0 and qb.fills == ()
            fills = eng.submit(SimOrder(eng.next_order_id(), SELL, px, 5 * lot, tif="IOC"))
            await r.sim.after_match(st, fills)
            qa2 = await t.query_order(r.symbol, client_order_id=cid_a)
            assert qa2.status is OrderStatus.FILLED and qa2.filled_qty_1e8 == 4 * blot and len(qa2.fills) == 3
            assert [f.trade_id for f in qa2.fills[:2]] == [f.trade_id for f in qa.fills]   # stable ids
            missing = await t.query_order(r.symbol, client_order_id="nosuch1")
            assert not missing.found
            if venue.startswith("okx"):
                assert missing.error_code == "51603"
    run(go())


def test_bridge_answers_report_this_order_queries() -> None:
    """The CC's ORDER_UPDATE with status UNSET over real CC-LINK: FILLs (venue trade ids) then the
    venue's status; an unknown order comes back EXPIRED with Binance's -2013 as reason; a bad
    symbol id or a venue failure is survived (no answer, the edge keeps serving)."""
    from seqkern.cclink import Kind
    from seqkern.cclink import OrderStatus as WireStatus
    from tests.edge.test_edge_cclink import EDGE_ID, linked

    async def go() -> None:
        async with linked() as (sim, edge, side, cc):
            sim.paused = True
            session = cc.session(EDGE_ID)
            eng = sim.engine(SYM)
            tick = sim.spec(SYM).tick_1e9
            bid = eng.best("BUY")
            px = bid + tick
            session.send_order(Kind.ORDER_NEW, symbol_id=0, side=1, order_type=1, tif=1, px_1e9=px,
                               qty_1e8=parse_qty("0.004"), request_id=501, client_order_id="sk501")
            await until_frames(side, Kind.ORDER_ACK, 501)
            ack = next(f for f in side.frames[Kind.ORDER_ACK] if f.request_id == 501)
            for q in ("0.001", "0.001"):
                fills = eng.submit(SimOrder(eng.next_order_id(), "SELL", px, parse_qty(q), tif="IOC"))
                await sim._after_match(sim._symbols[SYM], fills)
            live_fills = await until_frames(side, Kind.FILL, 501, n=2)
            side.frames[Kind.FILL].clear()
            session.send_order(Kind.ORDER_UPDATE, symbol_id=0, request_id=501, client_order_id="sk501",
                               venue_order_id=ack.venue_order_id, status=int(WireStatus.UNSET))
            upd = await until_update(side, 501, "RECONCILE")
            assert upd.status == WireStatus.PARTIALLY_FILLED and upd.filled_qty_1e8 == parse_qty("0.002")
            assert upd.qty_1e8 == parse_qty("0.004") and upd.venue_order_id == ack.venue_order_id
            again = [f for f in side.frames[Kind.FILL] if f.request_id == 501]
            assert sorted(f.fill_id for f in again) == sorted(f.fill_id for f in live_fills)
            assert all(f.venue_order_id == ack.venue_order_id for f in again)
            # an order the venue never saw: EXPIRED, reason = the venue's code
            session.send_order(Kind.ORDER_UPDATE, symbol_id=0, request_id=502, client_order_id="sk502",
                               status=int(WireStatus.UNSET))
            gone = await until_update(side, 502)
            assert gone.status == WireStatus.EXPIRED and gone.reason_code == 2013 and "not found" in gone.text
            # a symbol id the edge does not have, then the venue unreachable: no answer, no crash
            assert edge.transport is not None
            session.send_order(Kind.ORDER_UPDATE, symbol_id=77, request_id=503, client_order_id="sk503",
                               status=int(WireStatus.UNSET))
            edge.transport.request_timeout_s = 0.2
            orig = sim._order_status
            sim._order_status = lambda acct, p: (_ for _ in ()).throw(RuntimeError("venue bug"))
            session.send_order(Kind.ORDER_UPDATE, symbol_id=0, request_id=504, client_order_id="sk504",
                               status=int(WireStatus.UNSET))
            await asyncio.sleep(0.5)
            sim._order_status = orig
            edge.transport.request_timeout_s = 5.0
            assert not [f for f in side.frames[Kind.ORDER_UPDATE] if f.request_id in (503, 504)]
            # still serving
            session.send_order(Kind.ORDER_UPDATE, symbol_id=0, request_id=501, client_order_id="sk501",
                               venue_order_id=ack.venue_order_id, status=int(WireStatus.UNSET))
            await until(lambda: len([f for f in side.frames[Kind.ORDER_UPDATE]
                                     if f.request_id == 501 and f.text == "RECONCILE"]) >= 2, 5, "second answer")
    run(go())


async def until_frames(side, kind, request_id: int, n: int = 1) -> list:
    await until(lambda: len([f for f in side.frames[kind] if f.request_id == request_id]) >= n, 5.0,
                f"{kind} for request {request_id}")
    return [f for f in side.frames[kind] if f.request_id == request_id]


async def until_update(side, request_id: int, text: str | None = None):
    from seqkern.cclink import Kind

    def match(f) -> bool:
        return f.request_id == request_id and (text is None or f.text == text)
    await until(lambda: any(match(f) for f in side.frames[Kind.ORDER_UPDATE]), 5.0, f"update {request_id}")
    return next(f for f in side.frames[Kind.ORDER_UPDATE] if match(f))


@pytest.mark.parametrize("venue", ["okx", "bybit-perp"])
def test_okx_bybit_query_pages_through_many_fills(venue: str) -> None:
    """More fills than one page (100): OKX pages back with ``after`` (billId), Bybit follows
    ``nextPageCursor``; every fill comes back once, in order."""
    async def go() -> None:
        async with okxbybit_rig.rig(venue, orders=True) as r:
            t = r.transport
            assert t is not None
            r.sim.paused = True
            eng = r.sim.engine(r.symbol)
            st = r.sim.symbol_state(r.symbol)
            lot = max(eng.lot, st.spec.min_qty_1e8)
            bid, ask = eng.best(BUY), eng.best(SELL)
            assert ask - bid > eng.tick
            px = bid + eng.tick
            n = 130
            cid = "many1" if venue.startswith("okx") else "many-1"
            a = await t.place(OrderRequest(r.symbol, Side.BUY, OrderType.LIMIT, (n + 10) * lot, px,
                                           TimeInForce.GTC, cid))
            assert a.accepted, a
            for _ in range(n):
                await r.sim.after_match(st, eng.submit(SimOrder(eng.next_order_id(), SELL, px, lot, tif="IOC")))
            q = await t.query_order(r.symbol, venue_order_id=a.venue_order_id)
            assert q.status is OrderStatus.PARTIALLY_FILLED and q.filled_qty_1e8 == n * lot
            assert len(q.fills) == n and len({f.trade_id for f in q.fills}) == n
            assert [f.cum_qty_1e8 for f in q.fills] == [(i + 1) * lot for i in range(n)]
            assert r.sim.rest_calls[{"okx": "/api/v5/trade/fills"}.get(venue, "/v5/execution/list")] == 2
    run(go())
