"""Kraken through CC-LINK: the CC's book equals the venue's depth-10 view (truncation deltas included),
orders sent as CC-LINK frames run with Kraken's native amend, fills come back as frames."""

from __future__ import annotations

import asyncio
import base64

from seqkern._fixed import parse_qty

from seqkern.cclink import (
    AmendMode,
    CcLinkServer,
    EdgeLinkClient,
    InstrumentType,
    Kind,
    OrderStatus,
    Region,
)
from seqkern.edge.backoff import Backoff
from seqkern.edge.cclink_sink import CcLinkSink
from seqkern.edge.rest import RateLimiter, RestClient
from seqkern.edge.runner import EdgeRunner
from seqkern.sim.kraken import KrakenSim
from seqkern.venues.base import CexCredentials, VenueEndpoints
from seqkern.venues.kraken import KrakenSpot
from seqkern.venues.kraken.execution import KrakenWsTransport
from tests.edge.edge_rig import run, until
from tests.edge.test_edge_cclink import CcSide

KEY = "kraken-cc-key"
SECRET = base64.b64encode(b"kraken-cc-secret").decode()


def test_kraken_book_and_orders_through_cclink() -> None:
    async def go() -> None:
        sim = await KrakenSim(seed=71).start()
        sim.add_account(KEY, SECRET)
        cc = CcLinkServer("cc-eu", region=Region.EU)
        side = CcSide()
        for kind in (Kind.BBO, Kind.L2_SNAPSHOT, Kind.L2_DELTA, Kind.TRADE, Kind.FILL, Kind.ORDER_ACK,
                     Kind.ORDER_REJECT, Kind.ORDER_UPDATE, Kind.PAIR_SPEC):
            cc.on(kind, side.handler)
        port = await cc.listen_tcp("127.0.0.1", 0)
        venue = KrakenSpot(VenueEndpoints(market_ws=f"{sim.base_ws}/v2", trade_ws=f"{sim.base_ws}/auth/v2",
                                          rest=sim.base_http))
        rest = RestClient(venue.endpoints.rest, RateLimiter(venue.rate_limits))
        transport = KrakenWsTransport(trade_ws=venue.endpoints.trade_ws,
                                      credentials=CexCredentials("kraken", KEY, SECRET), rest=rest)
        client = EdgeLinkClient("venue-edge-kraken", region=Region.EU, venue_slot=1,
                                instrument_type=InstrumentType.SPOT)
        sink = CcLinkSink(client)
        edge = EdgeRunner(venue, ["BTC-USD"], sink, transport=transport, rest=rest, backoff=Backoff(0.05, 0.5))
        sink.attach(edge)
        await client.connect_tcp("127.0.0.1", port)
        try:
            await edge.start()
            await edge.wait_live("BTC-USD", 10)
            await until(lambda: side.frames[Kind.L2_SNAPSHOT] and Kind.PAIR_SPEC in side.frames, 5, "snapshot")
            await asyncio.sleep(0.3)
            sim.paused = True
            await asyncio.sleep(0.2)
            bids, asks = sim.true_depth("BTC/USD", 10)
            bp, bq, ap, aq = side.books[0].top(50)
            assert list(zip(bp.tolist(), bq.tolist(), strict=True)) == bids      # exactly the 10-level view
            assert list(zip(ap.tolist(), aq.tolist(), strict=True)) == asks
            session = cc.session("venue-edge-kraken")
            eng = sim.engine("BTC/USD")
            bid, ask = eng.best("BUY"), eng.best("SELL")
            session.send_order(Kind.ORDER_NEW, symbol_id=0, side=1, order_type=1, tif=1, px_1e9=bid - 50 * eng.tick,
                               qty_1e8=parse_qty("0.02"), request_id=201, client_order_id="kc-1")
            await until(lambda: any(f.request_id == 201 for f in side.frames[Kind.ORDER_ACK]), 5, "ack")
            ack = next(f for f in side.frames[Kind.ORDER_ACK] if f.request_id == 201)
            assert ack.status == OrderStatus.ACCEPTED and ack.venue_order_id
            session.send_order(Kind.ORDER_AMEND, symbol_id=0, side=1, px_1e9=bid - 60 * eng.tick,
                               qty_1e8=parse_qty("0.02"), request_id=202, client_order_id="kc-1")
            await until(lambda: any(f.request_id == 202 for f in side.frames[Kind.ORDER_ACK]), 5, "amend")
            am = next(f for f in side.frames[Kind.ORDER_ACK] if f.request_id == 202)
            assert am.amend_mode == AmendMode.NATIVE_ATOMIC
            session.send_order(Kind.ORDER_NEW, symbol_id=0, side=1, order_type=1, tif=2, px_1e9=ask,
                               qty_1e8=sim.books["BTC/USD"].spec.min_qty_1e8, request_id=203,
                               client_order_id="kc-take")
            await until(lambda: side.frames[Kind.FILL], 5, "the fill")
            assert side.frames[Kind.FILL][0].px_1e9 == ask
        finally:
            await edge.stop()
            await client.close()
            await cc.close()
            await sim.stop()
    run(go())
