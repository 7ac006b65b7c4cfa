"""Crypto.com order entry on the user websocket against the simulator: every verb, modes, limits, fills."""

from __future__ import annotations

import asyncio

import pytest
from seqkern._fixed import parse_qty

from seqkern.sim.cryptocom import CryptocomSim
from seqkern.sim.matching import BUY, SELL
from seqkern.venues.base import (
    AmendMode,
    BatchMode,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    VenueRejected,
)
from seqkern.venues.credentials import CexPassphraseCredentials
from seqkern.venues.cryptocom.execution import CryptocomUserTransport
from tests.edge_cex4.harness import start_edge
from tests.edge_cex4.test_marketdata_edge import _cryptocom

KEY = "cdc-test-key"
SECRET = "cdc-test-secret"


async def _rig():
    sim = await CryptocomSim(seed=31, heartbeat_s=1.0).start()
    sim.add_account(KEY, SECRET, "pass")
    venue = _cryptocom(sim)
    transport = CryptocomUserTransport(user_ws=venue.endpoints.trade_ws, connect_delay_s=0.05,
                                       credentials=CexPassphraseCredentials("cryptocom", KEY, SECRET, "pass"))
    runner, sink = await start_edge(venue, ["BTC-USDT"], transport=transport)
    await runner.wait_live("BTC-USDT", 10)
    return sim, runner, sink


def test_cryptocom_every_order_verb() -> None:
    async def run() -> None:
        sim, runner, _ = await _rig()
        try:
            e = sim.engine("BTC_USDT")
            px = e.best(BUY) - 300 * e.tick
            lot = sim.books["BTC_USDT"].spec.min_qty_1e8
            r = await runner.place(OrderRequest("BTC_USDT", Side.BUY, OrderType.LIMIT, 20 * lot, px,
                                                TimeInForce.GTC, "c-1"))
            assert r.accepted and r.client_order_id == "c-1"
            o = next(o for o in e.orders.values() if o.client_order_id == "c-1")
            assert (await runner.place(OrderRequest("BTC_USDT", Side.BUY, OrderType.LIMIT, lot, px))).accepted
            d = await runner.decrease("BTC_USDT", venue_order_id=r.venue_order_id, new_qty_1e8=10 * lot)
            assert d.mode is AmendMode.NATIVE_ATOMIC and d.keeps_priority and e.queue_position(o.order_id) == 0
            a = await runner.amend("BTC_USDT", venue_order_id=r.venue_order_id, new_px_1e9=px - e.tick)
            assert a.mode is AmendMode.NATIVE_ATOMIC and not a.keeps_priority
            assert (o.px, o.qty) == (px - e.tick, 10 * lot)            # unchanged quantity resent
            c = await runner.cancel("BTC_USDT", venue_order_id=r.venue_order_id)
            assert c.accepted and o.order_id not in e.orders
            c2 = await runner.cancel("BTC_USDT", venue_order_id=r.venue_order_id)
            assert not c2.accepted and c2.error_code == 316
            reqs = [OrderRequest("BTC_USDT", Side.BUY, OrderType.LIMIT, lot, px - k * e.tick) for k in range(12)]
            reqs[3] = OrderRequest("BTC_USDT", Side.BUY, OrderType.LIMIT, lot, px + 1)     # bad price
            b = await runner.batch(reqs)
            assert b.mode is BatchMode.NATIVE_BEST_EFFORT and b.max_batch == 10
            assert [x.accepted for x in b.results] == [k != 3 for k in range(12)]
            assert b.results[3].error_code == 308
            sim.paused = True   # the touch holds still between reading it and the order
            po = await runner.place(OrderRequest("BTC_USDT", Side.BUY, OrderType.LIMIT, lot, e.best(SELL),
                                                 TimeInForce.POST_ONLY))
            assert not po.accepted and po.error_code == 43005
            dup = await runner.place(OrderRequest("BTC_USDT", Side.BUY, OrderType.LIMIT, lot, px, client_order_id="c-9"))
            dup2 = await runner.place(OrderRequest("BTC_USDT", Side.BUY, OrderType.LIMIT, lot, px, client_order_id="c-9"))
            assert dup.accepted and not dup2.accepted and dup2.error_code == 204
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(run())


def test_cryptocom_fills_arrive_over_user_trade() -> None:
    async def run() -> None:
        sim, runner, sink = await _rig()
        try:
            e = sim.engine("BTC_USDT")
            sim.paused = True   # the touch holds still between reading it and the order
            ask = e.best(SELL)
            qty = sim.books["BTC_USDT"].spec.min_qty_1e8
            r = await runner.place(OrderRequest("BTC_USDT", Side.BUY, OrderType.LIMIT, qty, ask, TimeInForce.IOC, "t-1"))
            assert r.accepted
            for _ in range(100):
                if sink.fills and any(u.status is OrderStatus.FILLED for _, u in sink.order_updates):
                    break
                await asyncio.sleep(0.02)
            _, f = sink.fills[0]
            assert f.venue_order_id == r.venue_order_id and (f.px_1e9, f.qty_1e8, f.maker) == (ask, qty, False)
            assert any(u.status is OrderStatus.FILLED for _, u in sink.order_updates)
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(run())


def test_cryptocom_bad_signature_is_unauthorized() -> None:
    async def run() -> None:
        sim = await CryptocomSim(seed=32).start()
        sim.add_account(KEY, SECRET, "pass")
        t = CryptocomUserTransport(user_ws=f"{sim.base_ws}/exchange/v1/user", connect_delay_s=0.0,
                                   credentials=CexPassphraseCredentials("cryptocom", KEY, "wrong", "pass"))
        try:
            with pytest.raises(VenueRejected) as exc:
                await t.connect()
            assert exc.value.venue_code == 40101 and "wrong" not in str(exc.value)
        finally:
            await t.close()
            await sim.stop()
    asyncio.run(run())


def test_cryptocom_quantity_must_be_a_decimal_string() -> None:
    assert parse_qty("0.00001") == 1000
