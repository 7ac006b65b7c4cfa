"""Bitget order entry (signed REST + private websocket) against the simulator: every verb, modes, fills."""

from __future__ import annotations

import asyncio

import pytest

from seqkern.edge.rest import RateLimiter, RestClient
from seqkern.sim.bitget import BitgetSim
from seqkern.sim.matching import BUY, SELL
from seqkern.venues.base import (
    AmendMode,
    BatchMode,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    VenueEndpoints,
    VenueRejected,
)
from seqkern.venues.bitget import BitgetSpot
from seqkern.venues.bitget.execution import BitgetRestTransport
from seqkern.venues.credentials import CexPassphraseCredentials
from tests.edge_cex4.harness import start_edge

KEY, SECRET, PASS = "bg-key", "bg-secret", "bg-pass"


async def _rig(passphrase: str = PASS):
    sim = await BitgetSim(seed=41).start()
    sim.add_account(KEY, SECRET, PASS)
    venue = BitgetSpot(VenueEndpoints(market_ws=f"{sim.base_ws}/v2/ws/public", trade_ws=f"{sim.base_ws}/v2/ws/private",
                                      rest=sim.base_http, private_ws=f"{sim.base_ws}/v2/ws/private"))
    rest = RestClient(venue.endpoints.rest, RateLimiter(venue.rate_limits))
    t = BitgetRestTransport(rest=rest, private_ws=venue.endpoints.private_ws,
                            credentials=CexPassphraseCredentials("bitget", KEY, SECRET, passphrase))
    runner, sink = await start_edge(venue, ["BTC-USDT"], transport=t, rest=rest)
    await runner.wait_live("BTC-USDT", 10)
    return sim, runner, sink


def test_bitget_every_order_verb() -> None:
    async def run() -> None:
        sim, runner, _ = await _rig()
        try:
            e = sim.engine("BTCUSDT")
            lot = sim.books["BTCUSDT"].spec.min_qty_1e8
            px = e.best(BUY) - 300 * e.tick
            r = await runner.place(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, 10 * lot, px, TimeInForce.GTC, "b-1"))
            assert r.accepted and r.client_order_id == "b-1"
            o = next(o for o in e.orders.values() if o.client_order_id == "b-1")
            a = await runner.amend("BTCUSDT", venue_order_id=r.venue_order_id, new_px_1e9=px - e.tick, new_qty_1e8=5 * lot)
            assert a.mode is AmendMode.CANCEL_REPLACE and not a.keeps_priority and a.result.accepted
            assert a.replaced_order_id == r.venue_order_id and a.result.venue_order_id != r.venue_order_id
            assert o.order_id not in e.orders
            new = next(x for x in e.orders.values() if x.extra.get("vid") == a.result.venue_order_id)
            assert (new.px, new.qty) == (px - e.tick, 5 * lot)
            d = await runner.decrease("BTCUSDT", venue_order_id=a.result.venue_order_id, new_qty_1e8=2 * lot)
            assert d.mode is AmendMode.CANCEL_REPLACE and d.result.accepted
            c = await runner.cancel("BTCUSDT", venue_order_id=d.result.venue_order_id)
            assert c.accepted
            c2 = await runner.cancel("BTCUSDT", venue_order_id=d.result.venue_order_id)
            assert not c2.accepted and c2.error_code == "43001"
            reqs = [OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, lot, px - k * e.tick) for k in range(55)]
            reqs[7] = OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, lot, px + 1)
            b = await runner.batch(reqs)
            assert b.mode is BatchMode.NATIVE_BEST_EFFORT and b.max_batch == 50
            assert [x.accepted for x in b.results] == [k != 7 for k in range(55)]
            assert b.results[7].error_code == "40808"
            sim.paused = True   # the touch holds still between reading it and the order
            po = await runner.place(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, lot, e.best(SELL), TimeInForce.POST_ONLY))
            assert not po.accepted
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(run())


def test_bitget_fills_arrive_over_the_private_stream() -> None:
    async def run() -> None:
        sim, runner, sink = await _rig()
        try:
            e = sim.engine("BTCUSDT")
            sim.paused = True   # the touch holds still between reading it and the order
            ask = e.best(SELL)
            qty = sim.books["BTCUSDT"].spec.min_qty_1e8
            r = await runner.place(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, qty, ask, TimeInForce.IOC, "bt-1"))
            assert r.accepted
            for _ in range(100):
                if sink.fills and any(u.status is OrderStatus.FILLED for _, u in sink.order_updates):
                    break
                await asyncio.sleep(0.02)
            _, f = sink.fills[0]
            assert f.venue_order_id == r.venue_order_id and (f.px_1e9, f.qty_1e8, f.maker) == (ask, qty, False)
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(run())


def test_bitget_wrong_passphrase_and_signature() -> None:
    async def run() -> None:
        sim = await BitgetSim(seed=42).start()
        sim.add_account(KEY, SECRET, PASS)
        rest = RestClient(sim.base_http, RateLimiter(BitgetSpot.rate_limits))
        try:
            for creds, code in ((CexPassphraseCredentials("bitget", KEY, SECRET, "nope"), "40012"),
                                (CexPassphraseCredentials("bitget", KEY, "bad", PASS), "40009")):
                t = BitgetRestTransport(rest=rest, private_ws=f"{sim.base_ws}/v2/ws/private", credentials=creds)
                r = await t.place(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, 100000, 10_000_000_000_000))
                assert not r.accepted and r.error_code == code
                assert "bad" not in r.error_msg and "nope" not in r.error_msg
                with pytest.raises(VenueRejected):
                    await t.subscribe_user_stream(lambda ev: None)
                await t.close()
        finally:
            await rest.close()
            await sim.stop()
    asyncio.run(run())


def test_bitget_order_rest_faults_are_unavailable_not_retried() -> None:
    """A 5xx or 429 on an order request: VenueUnavailable (fate unknown), never sent twice."""
    from seqkern.venues.base import VenueUnavailable

    async def run() -> None:
        sim, runner, _ = await _rig()
        try:
            e = sim.engine("BTCUSDT")
            lot = sim.books["BTCUSDT"].spec.min_qty_1e8
            px = e.best(BUY) - 300 * e.tick
            before = sim.rest_calls.get("/api/v2/spot/trade/place-order", 0)
            for status in (503, 429):
                sim.faults.rest_errors = [(status, 0.0)]
                with pytest.raises(VenueUnavailable):
                    await runner.place(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, lot, px))
            assert sim.rest_calls["/api/v2/spot/trade/place-order"] == before + 2
            sim.faults.rest_delay_s = 0.2
            r = await runner.place(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, lot, px))
            assert r.accepted
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(run())
