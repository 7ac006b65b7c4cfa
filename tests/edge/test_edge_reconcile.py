"""OrderTransport.query_order against the venue simulators: the venue's status, quantities and
fills of an order (also one filled or cancelled while no client was connected), queried by a
fresh transport with no local memory; an unknown order is a typed not-found with the venue's code."""

from __future__ import annotations

import pytest
from seqkern._fixed import parse_qty

from seqkern.edge.rest import RateLimiter, RestClient
from seqkern.sim.matching import SimOrder
from seqkern.venues.base import CexCredentials, OrderStatus, Side
from seqkern.venues.binance.execution import BinanceWsApiTransport
from tests.edge.edge_rig import API_KEY, SECRET, rig, run
from tests.edge.test_edge_binance_orders import SYM, limit

CREDS = CexCredentials("binance", API_KEY, SECRET)


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
