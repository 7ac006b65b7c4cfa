"""Order entry through the edge against the Binance simulators: modes, batches, errors, user data."""

from __future__ import annotations

import asyncio

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from seqkern._fixed import parse_px, parse_qty

from seqkern.venues.base import (
    AmendMode,
    BatchMode,
    CexCredentials,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from tests.edge.edge_rig import API_KEY, SECRET, rig, run, until

CREDS = CexCredentials("binance", API_KEY, SECRET)
SYM = "BTCUSDT"
TICK = parse_px("0.01")


def limit(px: int, qty: str, cid: str, side: Side = Side.BUY, tif: TimeInForce = TimeInForce.GTC) -> OrderRequest:
    return OrderRequest(SYM, side, OrderType.LIMIT, parse_qty(qty), px, tif=tif, client_order_id=cid)


def test_spot_place_decrease_amend_batch_cancel() -> None:
    async def go() -> None:
        async with rig(False, credentials=CREDS) as r:
            r.sim.paused = True
            eng = r.sim.engine(SYM)
            bid = eng.best("BUY")
            placed = await r.edge.place(limit(bid, "0.02", "c1"))
            assert placed.accepted and placed.status is OrderStatus.NEW
            oid = placed.venue_order_id
            eng.submit(__import__("seqkern.sim.matching", fromlist=["SimOrder"]).SimOrder(
                eng.next_order_id(), "BUY", bid, parse_qty("0.001")))   # someone queues behind us
            pos = eng.queue_position(oid)
            dec = await r.edge.decrease(SYM, venue_order_id=oid, new_qty_1e8=parse_qty("0.01"))
            assert dec.mode is AmendMode.NATIVE_ATOMIC and dec.keeps_priority and dec.result.accepted
            assert eng.orders[oid].qty == parse_qty("0.01") and eng.queue_position(oid) == pos
            known = r.edge.transport.open_order(client_order_id="c1")
            assert known is not None and known.qty_1e8 == parse_qty("0.01") and known.px_1e9 == bid
            # increasing is not allowed by keepPriority: the spot edge reports a cancel-replace
            am = await r.edge.amend(SYM, venue_order_id=oid, new_px_1e9=bid - TICK)
            assert am.mode is AmendMode.CANCEL_REPLACE and am.replaced_order_id == oid
            assert am.result.accepted and am.result.venue_order_id != oid
            assert oid not in eng.orders and eng.orders[am.result.venue_order_id].px == bid - TICK
            # a pure quantity reduction through amend() runs the native path
            am2 = await r.edge.amend(SYM, venue_order_id=am.result.venue_order_id, new_qty_1e8=parse_qty("0.005"))
            assert am2.mode is AmendMode.NATIVE_ATOMIC and am2.keeps_priority
            b = await r.edge.batch([limit(bid - TICK * (i + 2), "0.001", f"b{i}") for i in range(3)])
            assert b.mode is BatchMode.SERIAL and all(x.accepted for x in b.results)
            c = await r.edge.cancel(SYM, venue_order_id=am.result.venue_order_id)
            assert c.accepted and c.status is OrderStatus.CANCELED
            await until(lambda: any(u.exec_type == "REPLACED" for _, u in r.sink.order_updates), 3.0, "REPLACED")
            await until(lambda: any(u.status is OrderStatus.CANCELED for _, u in r.sink.order_updates), 3.0, "CANCELED")
    run(go())


def test_spot_venue_errors_are_typed_results() -> None:
    async def go() -> None:
        async with rig(False, credentials=CREDS) as r:
            bid = r.sim.engine(SYM).best("BUY")
            bad_px = await r.edge.place(limit(bid + 1, "0.01", "e1"))
            assert not bad_px.accepted and bad_px.error_code == -1013 and "PRICE_FILTER" in bad_px.error_msg
            bad_lot = await r.edge.place(limit(bid, "0.000001", "e2"))
            assert bad_lot.error_code == -1013 and "LOT_SIZE" in bad_lot.error_msg
            bad_sym = await r.edge.place(OrderRequest("NOPEUSDT", Side.BUY, OrderType.LIMIT, parse_qty("1"), bid))
            assert bad_sym.error_code == -1121
            broke = await r.edge.place(limit(bid, "5000", "e3"))
            assert broke.error_code == -2010 and "insufficient balance" in broke.error_msg
            unknown = await r.edge.cancel(SYM, venue_order_id=987654321)
            assert not unknown.accepted and unknown.error_code == -2011
            ask = r.sim.engine(SYM).best("SELL")
            maker = await r.edge.place(limit(ask, "0.01", "e4", tif=TimeInForce.POST_ONLY))
            assert maker.error_code == -2010 and "take" in maker.error_msg
    run(go())


def test_spot_fills_reach_the_sink_over_the_ws_api_user_stream() -> None:
    async def go() -> None:
        async with rig(False, credentials=CREDS) as r:
            r.sim.paused = True
            eng = r.sim.engine(SYM)
            ask = eng.best("SELL")
            top = eng.level_qty("SELL", ask)
            t = await r.edge.place(limit(ask, "0.5", "take1", tif=TimeInForce.IOC))
            assert t.accepted and t.filled_qty_1e8 == min(top, parse_qty("0.5"))
            await until(lambda: any(f.client_order_id == "take1" for _, f in r.sink.fills), 3.0, "the fill")
            fill = next(f for _, f in r.sink.fills if f.client_order_id == "take1")
            assert fill.px_1e9 == ask and not fill.maker and fill.side is Side.BUY
            await until(lambda: any(b.asset == "BTC" for b in r.sink.balances), 3.0, "a balance")
            # a resting order filled later by other participants arrives as a maker fill
            bid = eng.best("BUY")
            rest = await r.edge.place(limit(bid + TICK, "0.001", "maker1"))
            assert rest.accepted
            r.sim.paused = False
            from seqkern.sim.matching import SimOrder
            fills = eng.submit(SimOrder(eng.next_order_id(), "SELL", 0, parse_qty("1"), order_type="MARKET", tif="IOC"))
            await r.sim._after_match(r.sim._symbols[SYM], fills)
            await until(lambda: any(f.client_order_id == "maker1" and f.maker for _, f in r.sink.fills), 3.0, "maker fill")
    run(go())


def test_usdm_modify_batch_and_private_stream() -> None:
    async def go() -> None:
        async with rig(True, credentials=CREDS) as r:
            r.sim.paused = True
            eng = r.sim.engine(SYM)
            bid = eng.best("BUY")
            tick = r.sim.spec(SYM).tick_1e9     # USD-M BTCUSDT: 0.1, min notional 100
            p = await r.edge.place(limit(bid, "0.003", "f1"))
            assert p.accepted
            am = await r.edge.amend(SYM, venue_order_id=p.venue_order_id, new_px_1e9=bid - tick, new_qty_1e8=parse_qty("0.004"))
            assert am.mode is AmendMode.NATIVE_ATOMIC and not am.keeps_priority
            assert am.result.venue_order_id == p.venue_order_id          # modified in place
            assert eng.orders[p.venue_order_id].px == bid - tick
            dec = await r.edge.decrease(SYM, venue_order_id=p.venue_order_id, new_qty_1e8=parse_qty("0.003"))
            assert dec.mode is AmendMode.NATIVE_ATOMIC and dec.result.accepted
            reqs = [limit(bid - tick * (i + 3), "0.002", f"bb{i}") for i in range(7)]
            reqs.append(limit(bid + 1, "0.002", "bad"))                   # off-tick: rejected alone
            b = await r.edge.batch(reqs)
            assert b.mode is BatchMode.NATIVE_BEST_EFFORT and b.max_batch == 5
            assert [x.accepted for x in b.results] == [True] * 7 + [False]
            assert b.results[-1].error_code == -1013
            assert r.sim.rest_calls["/fapi/v1/batchOrders"] == 2        # 8 orders = 5 + 3
            c = await r.edge.cancel(SYM, client_order_id="bb0")
            assert c.accepted and c.status is OrderStatus.CANCELED
            ask = eng.best("SELL")
            t = await r.edge.place(limit(ask, "0.002", "ft", tif=TimeInForce.IOC))
            assert t.accepted
            await until(lambda: any(f.client_order_id == "ft" for _, f in r.sink.fills), 3.0, "the /private fill")
            await until(lambda: any(u.exec_type == "AMENDMENT" for _, u in r.sink.order_updates), 3.0, "AMENDMENT")
            gtx = await r.edge.place(limit(eng.best("SELL"), "0.002", "gtx", tif=TimeInForce.POST_ONLY))
            assert not gtx.accepted and gtx.error_code == -5022
    run(go())


def test_bad_signature_is_rejected_as_binance_does() -> None:
    async def go() -> None:
        async with rig(False, credentials=CexCredentials("binance", API_KEY, "wrong-secret")) as _:
            raise AssertionError("unreachable: the user-stream subscription must fail")
    try:
        run(go())
    except Exception as exc:   # the edge refuses to start without its user stream
        assert getattr(exc, "venue_code", None) == -1022, exc
    else:
        raise AssertionError("a bad signature must be rejected")


def test_ed25519_session_logon_user_stream() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    pub = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()

    async def go() -> None:
        def arm(sim) -> None:
            sim.add_account("ed-key", "", pub, balances={"USDT": "100000"})
        # an Ed25519 API key: session.logon + userDataStream.subscribe, orders signed with Ed25519
        async with rig(False, credentials=CexCredentials("binance", "ed-key", pem), before_start=arm) as r:
            assert r.edge.transport is not None
            await asyncio.sleep(0.05)
            ask = r.sim.engine(SYM).best("SELL")
            t = await r.edge.place(limit(ask, "0.001", "edfill", tif=TimeInForce.IOC))
            assert t.accepted
            await until(lambda: any(f.client_order_id == "edfill" for _, f in r.sink.fills), 3.0, "fill")
    run(go())


def test_slow_ws_api_answers_and_timeouts() -> None:
    from seqkern.venues.base import VenueUnavailable

    async def go() -> None:
        async with rig(False, credentials=CREDS) as r:
            r.sim.faults.ws_api_delay_s = 0.3
            bid = r.sim.engine(SYM).best("BUY")
            ok = await r.edge.place(limit(bid, "0.001", "slow1"))
            assert ok.accepted
            r.edge.transport.request_timeout_s = 0.1
            try:
                await r.edge.place(limit(bid, "0.001", "slow2"))
            except VenueUnavailable as exc:
                assert "no response" in exc.message
            else:
                raise AssertionError("a late answer must surface as VenueUnavailable")
            r.sim.faults.ws_api_delay_s = 0.0
            r.edge.transport.request_timeout_s = 5.0
            await asyncio.sleep(0.4)   # the late answer arrives and is dropped
            again = await r.edge.place(limit(bid, "0.001", "fast3"))
            assert again.accepted
    run(go())


def test_user_stream_survives_a_dropped_session(futures: bool) -> None:
    async def go() -> None:
        async with rig(futures, credentials=CREDS) as r:
            transport = r.edge.transport
            r.sim.faults.drop_user_sockets = 1
            await until(lambda: r.sim.faults.drop_user_sockets == 0, 3.0, "the drop")
            if not futures:
                await until(lambda: transport.sessions >= 2, 5.0, "a new WS API session")
            await asyncio.sleep(0.5)   # USD-M: the private loop reconnects with a fresh listenKey
            r.sim.paused = True
            eng = r.sim.engine(SYM)
            ask = eng.best("SELL")
            qty = "0.002" if futures else "0.001"
            t = await r.edge.place(limit(ask, qty, "after-drop", tif=TimeInForce.IOC))
            assert t.accepted
            await until(lambda: any(f.client_order_id == "after-drop" for _, f in r.sink.fills), 5.0,
                        "a fill on the revived user stream")
    run(go())
