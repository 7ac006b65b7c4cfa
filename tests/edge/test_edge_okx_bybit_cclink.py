"""OKX and Bybit edges publishing to a CC over CC-LINK and executing its order frames (real sockets)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

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
from seqkern.venues.base import contracts_to_base
from tests.edge.okxbybit_rig import (
    bybit_credentials,
    endpoints,
    make_sim,
    okx_credentials,
    run,
    transport_for,
    until,
    venue_for,
)
from tests.edge.test_edge_cclink import CcSide


@contextlib.asynccontextmanager
async def linked(name: str) -> AsyncIterator[tuple[Any, EdgeRunner, CcSide, CcLinkServer, str]]:
    sim = make_sim(name)
    await sim.start()
    cc = CcLinkServer("cc-ap", region=Region.AP)
    side = CcSide()
    for kind in (Kind.BBO, Kind.L2_SNAPSHOT, Kind.L2_DELTA, Kind.TRADE, Kind.FILL, Kind.ORDER_ACK,
                 Kind.ORDER_REJECT, Kind.ORDER_UPDATE, Kind.BALANCE, Kind.PAIR_SPEC):
        cc.on(kind, side.handler)
    port = await cc.listen_tcp("127.0.0.1", 0)
    venue = venue_for(name, endpoints(name, sim))
    rest = RestClient(venue.endpoints.rest, RateLimiter(venue.rate_limits))
    creds = okx_credentials() if name.startswith("okx") else bybit_credentials()
    transport = transport_for(name, venue, rest, creds)
    edge_id = f"venue-edge-{name}"
    client = EdgeLinkClient(edge_id, region=Region.AP, venue_slot=venue.venue_id,
                            instrument_type=InstrumentType.PERP if name.endswith("-perp") else InstrumentType.SPOT)
    sink = CcLinkSink(client)
    edge = EdgeRunner(venue, ["BTC-USDT"], sink, transport=transport, rest=rest, backoff=Backoff(0.05, 0.5))
    sink.attach(edge)
    await client.connect_tcp("127.0.0.1", port)
    try:
        await edge.start()
        await edge.wait_live("BTC-USDT", 10)
        yield sim, edge, side, cc, venue.venue_symbol("BTC-USDT")
    finally:
        await edge.stop()
        await client.close()
        await cc.close()
        await sim.stop()


@pytest.mark.parametrize("name", ["okx-perp", "bybit"])
def test_cc_book_and_orders_through_cclink(name: str) -> None:
    async def go() -> None:
        async with linked(name) as (sim, edge, side, cc, sym):
            ct = edge.venue.contract_size_1e8(sym)     # OKX SWAP: the simulator sizes in contracts

            def b(q: int) -> int:                      # venue size -> the base units CC-LINK carries
                return contracts_to_base(q, ct)

            await until(lambda: Kind.PAIR_SPEC in side.frames and side.frames[Kind.L2_SNAPSHOT], 5, "spec+snapshot")
            # CcSide rebuilds books with tick 0.01, which divides both simulators' ticks
            await asyncio.sleep(0.3)
            sim.paused = True
            uid = sim.last_seq_id(sym) if name.startswith("okx") else sim.last_u(sym)
            await until(lambda: 0 in side.books and side.books[0].last_update_id == uid, 5, "the CC's book")
            bids, asks = sim.true_depth(sym, 50)
            bids, asks = [(p, b(q)) for p, q in bids], [(p, b(q)) for p, q in asks]
            bp, bq, ap, aq = side.books[0].top(50)
            assert list(zip(bp.tolist(), bq.tolist(), strict=True)) == bids
            assert list(zip(ap.tolist(), aq.tolist(), strict=True)) == asks
            sim.paused = False
            sim.faults.skip_sequence = 1      # gap: the CC's book is withdrawn, then restored from the new snapshot
            await until(lambda: side.withdrawn, 5, "the withdrawal")
            await until(lambda: side.books[0].valid, 5, "the fresh snapshot")
            sim.paused = True
            session = cc.session(f"venue-edge-{name}")
            eng = sim.engine(sym)
            bid, ask = eng.best("BUY"), eng.best("SELL")
            qty = 100 * eng.lot
            session.send_order(Kind.ORDER_NEW, symbol_id=0, side=1, order_type=1, tif=1, px_1e9=bid - 10 * eng.tick,
                               qty_1e8=b(qty), request_id=201, client_order_id="cc1")
            await until(lambda: any(f.request_id == 201 for f in side.frames[Kind.ORDER_ACK]), 5, "ack")
            session.send_order(Kind.ORDER_DECREASE, symbol_id=0, qty_1e8=b(qty) // 2, request_id=202,
                               client_order_id="cc1")
            await until(lambda: any(f.request_id == 202 for f in side.frames[Kind.ORDER_ACK]), 5, "decrease")
            dec = next(f for f in side.frames[Kind.ORDER_ACK] if f.request_id == 202)
            assert dec.amend_mode == AmendMode.NATIVE_ATOMIC
            mine = [o for o in eng.orders.values() if o.owner is not None]
            assert [o.qty for o in mine] == [qty // 2]
            take = eng.level_qty("SELL", ask) + max(5 * eng.lot, sim.symbol_state(sym).spec.min_qty_1e8)
            session.send_order(Kind.ORDER_NEW, symbol_id=0, side=1, order_type=1, tif=1, px_1e9=ask,
                               qty_1e8=b(take), request_id=203, client_order_id="cc2")
            await until(lambda: any(f.request_id == 203 for f in side.frames[Kind.FILL]), 5, "the fill over CC-LINK")
            fill = next(f for f in side.frames[Kind.FILL] if f.request_id == 203)
            assert fill.px_1e9 == ask and fill.client_order_id == "cc2"
            await until(lambda: side.frames[Kind.ORDER_UPDATE], 5, "order updates over CC-LINK")
            session.send_order(Kind.ORDER_CANCEL, symbol_id=0, request_id=204, client_order_id="cc1")
            await until(lambda: any(f.request_id == 204 for f in side.frames[Kind.ORDER_ACK]), 5, "cancel")
            assert next(f for f in side.frames[Kind.ORDER_ACK] if f.request_id == 204).status == OrderStatus.CANCELED
    run(go())
