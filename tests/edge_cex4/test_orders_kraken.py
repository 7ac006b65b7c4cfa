"""Kraken order entry (WS v2 on ws-auth) against the simulator: every verb, modes, limits, fills."""

from __future__ import annotations

import asyncio
import base64

from seqkern._fixed import parse_qty

from seqkern.edge.rest import RateLimiter, RestClient
from seqkern.sim.kraken import KrakenSim
from seqkern.sim.matching import BUY, SELL
from seqkern.venues.base import (
    AmendMode,
    BatchMode,
    CexCredentials,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    VenueEndpoints,
    VenueRejected,
)
from seqkern.venues.kraken import KrakenSpot
from seqkern.venues.kraken.execution import KrakenWsTransport
from tests.edge_cex4.harness import start_edge

KEY = "kraken-test-key"
SECRET = base64.b64encode(b"kraken-simulated-secret-0123456789").decode()


async def _rig(secret: str = SECRET):
    sim = await KrakenSim(seed=21).start()
    sim.add_account(KEY, SECRET)
    venue = KrakenSpot(VenueEndpoints(market_ws=f"{sim.base_ws}/v2", trade_ws=f"{sim.base_ws}/auth/v2",
                                      rest=sim.base_http))
    rest = RestClient(venue.endpoints.rest, RateLimiter(venue.rate_limits))
    transport = KrakenWsTransport(trade_ws=venue.endpoints.trade_ws,
                                  credentials=CexCredentials("kraken", KEY, secret), rest=rest)
    runner, sink = await start_edge(venue, ["BTC-USD"], transport=transport, rest=rest)
    await runner.wait_live("BTC-USD", 10)
    return sim, runner, sink


def _far_bid(sim: KrakenSim, ticks: int = 200) -> int:
    e = sim.engine("BTC/USD")
    return e.best(BUY) - ticks * e.tick


def test_kraken_every_order_verb() -> None:
    async def run() -> None:
        sim, runner, _sink = await _rig()
        try:
            e = sim.engine("BTC/USD")
            px = _far_bid(sim)
            r = await runner.place(OrderRequest("BTC/USD", Side.BUY, OrderType.LIMIT, parse_qty("0.5"), px,
                                                TimeInForce.GTC, "cid-1"))
            assert r.accepted and isinstance(r.venue_order_id, str) and len(r.venue_order_id) == 19
            o = next(o for o in e.orders.values() if o.client_order_id == "cid-1")
            # a second order at the same price queues behind ours
            r2 = await runner.place(OrderRequest("BTC/USD", Side.BUY, OrderType.LIMIT, parse_qty("0.3"), px))
            assert r2.accepted
            # decrease keeps the queue position (native in-place amend)
            a = await runner.decrease("BTC/USD", venue_order_id=r.venue_order_id, new_qty_1e8=parse_qty("0.2"))
            assert a.mode is AmendMode.NATIVE_ATOMIC and a.keeps_priority and a.result.accepted
            assert e.queue_position(o.order_id) == 0 and o.qty == parse_qty("0.2")
            # a price change is native too, and re-queues the order
            a2 = await runner.amend("BTC/USD", venue_order_id=r.venue_order_id, new_px_1e9=px - e.tick,
                                    new_qty_1e8=parse_qty("0.2"))
            assert a2.mode is AmendMode.NATIVE_ATOMIC and not a2.keeps_priority and o.px == px - e.tick
            c = await runner.cancel("BTC/USD", venue_order_id=r.venue_order_id)
            assert c.accepted and o.order_id not in e.orders
            c2 = await runner.cancel("BTC/USD", venue_order_id=r.venue_order_id)
            assert not c2.accepted and c2.error_code == "EOrder:Unknown order"
            # batch_add: native, 2..15 per pair
            reqs = [OrderRequest("BTC/USD", Side.BUY, OrderType.LIMIT, parse_qty("0.01"), px - k * e.tick)
                    for k in range(16)]
            b = await runner.batch(reqs)
            assert b.mode is BatchMode.NATIVE_BEST_EFFORT and b.max_batch == 15
            assert all(x.accepted for x in b.results) and len(b.results) == 16
            # the whole batch is validated first: one bad order rejects all
            bad = [OrderRequest("BTC/USD", Side.BUY, OrderType.LIMIT, parse_qty("0.01"), px),
                   OrderRequest("BTC/USD", Side.BUY, OrderType.LIMIT, parse_qty("0.01"), px + 1)]
            def mine() -> int:   # the account's resting orders (the simulated market adds its own)
                return sum(o.owner is not None for o in e.orders.values())

            nb = mine()
            b2 = await runner.batch(bad)
            assert not any(x.accepted for x in b2.results) and b2.results[0].error_code == "EOrder:Invalid price"
            assert mine() == nb
            # a post-only order that would take is rejected with Kraken's error
            sim.paused = True   # the touch holds still between reading it and the order
            ask = e.best(SELL)
            po = await runner.place(OrderRequest("BTC/USD", Side.BUY, OrderType.LIMIT, parse_qty("0.01"), ask,
                                                 TimeInForce.POST_ONLY))
            assert not po.accepted and po.error_code == "EOrder:Post only order"
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(run())


def test_kraken_fills_arrive_over_executions() -> None:
    async def run() -> None:
        sim, runner, sink = await _rig()
        try:
            e = sim.engine("BTC/USD")
            sim.paused = True   # the touch holds still between reading it and the order
            ask = e.best(SELL)
            qty = min(e.level_qty(SELL, ask), parse_qty("0.0001"))
            r = await runner.place(OrderRequest("BTC/USD", Side.BUY, OrderType.LIMIT, qty, ask, TimeInForce.IOC,
                                                "take-1"))
            assert r.accepted
            for _ in range(100):
                if sink.fills:
                    break
                await asyncio.sleep(0.02)
            sid, f = sink.fills[0]
            assert sid == 0 and f.venue_order_id == r.venue_order_id and f.client_order_id == "take-1"
            assert (f.px_1e9, f.qty_1e8, f.maker, f.side) == (ask, qty, False, Side.BUY)
            assert any(u.status is OrderStatus.FILLED for _, u in sink.order_updates)
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(run())


def test_kraken_bad_signature_is_rejected() -> None:
    async def run() -> None:
        sim = await KrakenSim(seed=22).start()
        sim.add_account(KEY, SECRET)
        rest = RestClient(sim.base_http, RateLimiter(KrakenSpot.rate_limits))
        t = KrakenWsTransport(trade_ws=f"{sim.base_ws}/auth/v2", credentials=CexCredentials(
            "kraken", KEY, base64.b64encode(b"wrong-secret").decode()), rest=rest)
        try:
            try:
                await t.connect()
                raise AssertionError("connected with a wrong secret")
            except VenueRejected as exc:
                assert exc.venue_code == "EAPI:Invalid signature"
                assert "wrong-secret" not in str(exc)
        finally:
            await rest.close()
            await sim.stop()
    asyncio.run(run())
