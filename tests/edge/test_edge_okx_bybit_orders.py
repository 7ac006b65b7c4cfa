"""OKX and Bybit order entry against the simulators: place, amend (native), decrease, batch (native,
venue limit), cancel; fills and order updates over the private stream reach the sink; bad credentials."""

from __future__ import annotations

import pytest

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
from tests.edge.okxbybit_rig import (
    VENUES,
    bybit_credentials,
    endpoints,
    make_sim,
    okx_credentials,
    rig,
    run,
    transport_for,
    until,
    venue_for,
)


@pytest.fixture(params=VENUES)
def venue(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _cid(venue: str, n: int) -> str:
    return f"sk{n}x{venue.replace('-', '')}"   # alphanumeric: valid for OKX and Bybit


def test_place_amend_decrease_cancel(venue: str) -> None:
    async def go() -> None:
        async with rig(venue, orders=True) as r:
            t = r.transport
            assert t is not None and t.amend_mode is AmendMode.NATIVE_ATOMIC
            eng = r.sim.engine(r.symbol)
            tick, lot = eng.tick, eng.lot                  # the venue's units (OKX SWAP: contracts)
            blot = r.base(lot)                             # the kernel's (base units)
            px = eng.best(BUY) - 30 * tick
            res = await t.place(OrderRequest(r.symbol, Side.BUY, OrderType.LIMIT, 500 * blot, px, TimeInForce.GTC,
                                             _cid(venue, 1)))
            assert res.accepted, res
            oid = res.venue_order_id
            sim_order = next(o for o in eng.orders.values() if o.owner is not None)
            assert sim_order.px == px and sim_order.qty == 500 * lot
            await until(lambda: any(u.venue_order_id == oid for _, u in r.sink.order_updates), 5.0, "NEW push")

            # decrease: native amend of the size, the order keeps its id
            dec = await t.decrease(r.symbol, venue_order_id=oid, new_qty_1e8=300 * blot)
            assert dec.mode is AmendMode.NATIVE_ATOMIC and dec.result.accepted, dec
            assert dec.result.venue_order_id == oid and sim_order.qty == 300 * lot
            known = t.open_order(venue_order_id=oid)
            assert known is not None and known.qty_1e8 == 300 * blot and known.px_1e9 == px
            assert t.open_order(client_order_id=_cid(venue, 1)) == known

            # amend price and size in place (same id)
            am = await t.amend(r.symbol, venue_order_id=oid, new_qty_1e8=400 * blot, new_px_1e9=px - tick)
            assert am.mode is AmendMode.NATIVE_ATOMIC and am.result.accepted, am
            assert am.result.venue_order_id == oid
            assert sim_order.px == px - tick and sim_order.qty == 400 * lot

            # amend of an unknown order: the venue's own error code
            bad = await t.amend(r.symbol, venue_order_id="999999" if r.okx else "nope", new_qty_1e8=blot)
            assert not bad.result.accepted and bad.result.error_code not in (None, "", 0)

            assert t.open_order(venue_order_id=oid).px_1e9 == px - tick   # type: ignore[union-attr]
            can = await t.cancel(r.symbol, venue_order_id=oid)
            assert can.accepted and can.status is OrderStatus.CANCELED
            assert t.open_order(venue_order_id=oid) is None
            assert sim_order.status == "CANCELED"
            await until(lambda: any(u.status is OrderStatus.CANCELED and u.venue_order_id == oid
                                    for _, u in r.sink.order_updates), 5.0, "CANCELED push")
            again = await t.cancel(r.symbol, venue_order_id=oid)
            assert not again.accepted and again.error_code is not None
    run(go())


def test_native_batch_with_per_order_results(venue: str) -> None:
    async def go() -> None:
        async with rig(venue, orders=True) as r:
            t = r.transport
            assert t is not None and t.batch_mode is BatchMode.NATIVE_BEST_EFFORT
            assert t.max_batch == {"okx": 20, "okx-perp": 20, "bybit": 10, "bybit-perp": 20}[venue]
            eng = r.sim.engine(r.symbol)
            base = eng.best(SELL) + 40 * eng.tick
            reqs = [OrderRequest(r.symbol, Side.SELL, OrderType.LIMIT, r.base(100 * eng.lot), base + k * eng.tick,
                                 TimeInForce.GTC, _cid(venue, 10 + k)) for k in range(t.max_batch + 2)]
            # one order with a price off the tick grid: rejected on its own, the others go through
            bad = reqs[3]
            reqs[3] = OrderRequest(bad.venue_symbol, bad.side, bad.order_type, bad.qty_1e8, bad.px_1e9 + eng.tick // 2,
                                   bad.tif, bad.client_order_id)
            res = await t.batch(reqs)
            assert res.mode is BatchMode.NATIVE_BEST_EFFORT and res.max_batch == t.max_batch
            assert len(res.results) == len(reqs)
            assert [x.accepted for x in res.results] == [k != 3 for k in range(len(reqs))]
            assert res.results[3].error_code not in (None, 0, "0")
            mine = [o for o in eng.orders.values() if o.owner is not None]
            assert len(mine) == len(reqs) - 1
    run(go())


def test_fills_and_order_updates_reach_the_sink(venue: str) -> None:
    async def go() -> None:
        async with rig(venue, orders=True) as r:
            t = r.transport
            assert t is not None
            eng = r.sim.engine(r.symbol)
            r.sim.paused = True
            ask = eng.best(SELL)
            min_qty = r.sim.symbol_state(r.symbol).spec.min_qty_1e8
            taken = eng.level_qty(SELL, ask)
            qty = taken + max(5 * eng.lot, min_qty)   # takes the best ask, rests the rest (venue units)
            res = await t.place(OrderRequest(r.symbol, Side.BUY, OrderType.LIMIT, r.base(qty), ask, TimeInForce.GTC,
                                             _cid(venue, 99)))
            assert res.accepted, res
            await until(lambda: len(r.sink.fills) >= 1, 5.0, "fills over the private stream")
            f = r.sink.fills[0][1]
            assert f.venue_symbol == r.symbol and f.side is Side.BUY and f.px_1e9 == ask and not f.maker
            # fills come back in base units: what was taken at the ask, whatever the venue's unit
            await until(lambda: sum(x.qty_1e8 for _, x in r.sink.fills) >= r.base(taken), 5.0, "every fill")
            assert sum(x.qty_1e8 for _, x in r.sink.fills) == r.base(taken)
            assert r.sink.fills[0][0] == 0, "fills carry the edge's symbol id"
            await until(lambda: any(u.status is OrderStatus.PARTIALLY_FILLED for _, u in r.sink.order_updates),
                        5.0, "a partially-filled order update")
            r.sim.paused = False
            await r.checkpoint()
    run(go())


def test_post_only_that_would_take_is_refused(venue: str) -> None:
    async def go() -> None:
        async with rig(venue, orders=True) as r:
            t = r.transport
            assert t is not None
            eng = r.sim.engine(r.symbol)
            r.sim.paused = True
            res = await t.place(OrderRequest(r.symbol, Side.BUY, OrderType.LIMIT, r.base(eng.lot * 100), eng.best(SELL),
                                             TimeInForce.POST_ONLY, _cid(venue, 7)))
            if r.okx:
                assert not res.accepted and res.error_code in ("51019", "51020")
            else:   # Bybit acknowledges, then cancels it (rejectReason EC_PostOnlyWillTakeLiquidity)
                assert res.accepted
                await until(lambda: any(u.status is OrderStatus.CANCELED for _, u in r.sink.order_updates),
                            5.0, "the post-only cancel")
            assert not [o for o in eng.orders.values() if o.owner is not None]
    run(go())


@pytest.mark.parametrize("case", ["okx-bad-secret", "okx-bad-passphrase", "bybit-bad-secret"])
def test_bad_credentials_are_refused_with_the_venue_code(case: str) -> None:
    async def go() -> None:
        from seqkern.edge.rest import RateLimiter, RestClient
        name = "okx" if case.startswith("okx") else "bybit"
        sim = make_sim(name)
        await sim.start()
        try:
            v = venue_for(name, endpoints(name, sim))
            rest = RestClient(v.endpoints.rest, RateLimiter(v.rate_limits))
            creds = {"okx-bad-secret": okx_credentials(secret="0" * 32),
                     "okx-bad-passphrase": okx_credentials(passphrase="wrong"),
                     "bybit-bad-secret": bybit_credentials(secret="z" * 36)}[case]
            t = transport_for(name, v, rest, creds)
            with pytest.raises(VenueRejected) as ei:
                await t.connect()
            assert ei.value.venue_code == {"okx-bad-secret": "60007", "okx-bad-passphrase": "60024",
                                           "bybit-bad-secret": "10004"}[case]
            assert "0" * 32 not in repr(t) and "z" * 36 not in str(ei.value)
            await t.close()
            await rest.close()
        finally:
            await sim.stop()
    run(go())


def test_delayed_order_responses_time_out_cleanly_then_recover(venue: str) -> None:
    async def go() -> None:
        from seqkern.venues.base import VenueUnavailable

        async with rig(venue, orders=True) as r:
            t = r.transport
            assert t is not None
            session = t.session if r.okx else t.trade   # type: ignore[attr-defined]
            eng = r.sim.engine(r.symbol)
            req = OrderRequest(r.symbol, Side.BUY, OrderType.LIMIT, 500 * eng.lot, eng.best(BUY) - 40 * eng.tick,
                               TimeInForce.GTC, _cid(venue, 50))
            r.sim.faults.ws_api_delay_s = 0.6
            session.request_timeout_s = 0.2
            with pytest.raises(VenueUnavailable):
                await t.place(req)              # fate unknown: the venue may still execute it
            session.request_timeout_s = 5.0
            res = await t.place(OrderRequest(req.venue_symbol, req.side, req.order_type, req.qty_1e8, req.px_1e9,
                                             req.tif, _cid(venue, 51)))
            assert res.accepted                  # delayed but answered within the timeout
            r.sim.faults.ws_api_delay_s = 0.0
            await until(lambda: len([o for o in eng.orders.values() if o.owner is not None]) == 2, 5.0,
                        "both orders resting (the timed-out one was executed late)")
    run(go())
