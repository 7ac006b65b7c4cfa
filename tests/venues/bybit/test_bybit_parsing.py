"""Bybit parsers against literal examples from Bybit's v5 docs (../shared/venues/doc-examples/bybit)."""

from __future__ import annotations

import orjson
import pytest
from seqkern._book import L2Book
from seqkern._fixed import parse_px, parse_qty
from seqkern._wire import (
    APPLIED,
    BAD_SHAPE,
    DEPTH,
    FORMAT_BYBIT,
    GAP,
    OTHER,
    RULE_FIRST_LAST,
    STALE,
    DepthDecoder,
)

from seqkern.venues.base import ControlEvent, FillEvent, OrderStatus, OrderUpdate, Side, TradeEvent
from seqkern.venues.bybit import BybitLinear, BybitSpot
from seqkern.venues.bybit.parsing import (
    parse_instruments,
    parse_market_message,
    parse_orderbook_snapshot,
    parse_private_push,
)

# docs/v5/websocket/public/orderbook.mdx examples (the snapshot's "..." placeholders dropped)
SNAPSHOT = (b'{"topic": "orderbook.50.BTCUSDT", "type": "snapshot", "ts": 1672304484978, "data": {"s": "BTCUSDT", '
            b'"b": [["16493.50", "0.006"], ["16493.00", "0.100"]], "a": [["16611.00", "0.029"], ["16612.00", "0.213"]], '
            b'"u": 18521288, "seq": 7961638724}, "cts": 1672304484976}')
DELTA = (b'{"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 1687940967466, "data": {"s": "BTCUSDT", "b": '
         b'[["30247.20", "30.028"], ["30245.40", "0.224"], ["30242.10", "1.593"], ["30240.30", "1.305"], ["30240.00", '
         b'"0"]], "a": [["30248.70", "0"], ["30249.30", "0.892"], ["30249.50", "1.778"], ["30249.60", "0"], '
         b'["30251.90", "2.947"], ["30252.20", "0.659"], ["30252.50", "4.591"]], "u": 177400507, "seq": 66544703342}, '
         b'"cts": 1687940967464}')


def test_snapshot_and_delta() -> None:
    d = DepthDecoder(FORMAT_BYBIT, 64)
    book = L2Book(parse_px("0.1"), depth_ticks=1 << 18)
    assert d.scan(SNAPSHOT) == DEPTH and d.is_snapshot and d.symbol == "BTCUSDT"
    assert (d.final_id, d.cross_seq, d.n_levels) == (18521288, 7961638724, 4)
    assert d.levels() == [(0, "16493.50", "0.006"), (0, "16493.00", "0.100"), (1, "16611.00", "0.029"),
                          (1, "16612.00", "0.213")]
    assert d.apply_snapshot(book) == APPLIED and book.last_update_id == 18521288
    assert book.best_bid() == (parse_px("16493.5"), parse_qty("0.006"))
    assert d.scan(DELTA) == DEPTH and not d.is_snapshot and d.n_levels == 12
    assert d.event_time_ns == 1687940967466 * 10**6 and d.transact_time_ns == 1687940967464 * 10**6
    # u jumps from 18521288 to 177400507: a gap under the u + 1 rule
    assert d.apply_checked(book, RULE_FIRST_LAST) == GAP and not book.valid


def test_u_chain_stale_and_restart() -> None:
    d = DepthDecoder(FORMAT_BYBIT, 64)
    book = L2Book(parse_px("0.1"), depth_ticks=1 << 18)
    d.scan(SNAPSHOT.replace(b"18521288", b"177400506"))
    d.apply_snapshot(book)
    d.scan(DELTA)
    assert d.apply_checked(book, RULE_FIRST_LAST) == APPLIED and book.last_update_id == 177400507
    assert book.best_bid() == (parse_px("30247.2"), parse_qty("30.028"))
    _, _, ap, aq = book.top(10)
    asks = list(zip(ap.tolist(), aq.tolist(), strict=True))
    assert (parse_px("30249.3"), parse_qty("0.892")) in asks and parse_px("30248.7") not in ap.tolist()
    d.scan(DELTA)
    assert d.apply_checked(book, RULE_FIRST_LAST) == STALE
    # u == 1: a service restart; even a "delta" type with u = 1 overwrites the book
    d.scan(DELTA.replace(b'"u": 177400507', b'"u": 1'))
    assert d.is_snapshot and d.final_id == 1


def test_spot_field_order_and_non_book_messages() -> None:
    d = DepthDecoder(FORMAT_BYBIT, 64)
    # spot puts ts before type; orderbook.full is delta-only
    full = (b'{"topic": "orderbook.full.MNTUSDT", "ts": 1784103477732, "type": "delta", "data": {"s": "MNTUSDT", '
            b'"b": [["0.4758", "2342.47"]], "a": [], "u": 278547, "seq": 1501100579}, "cts": 1784103477730}')
    assert d.scan(full) == DEPTH and d.symbol == "MNTUSDT" and not d.is_snapshot
    for msg in (b'{"success": true, "ret_msg": "pong", "conn_id": "0970e817", "op": "ping"}',
                b'{"success": true, "ret_msg": "", "conn_id": "3cd84cb1", "req_id": "", "op": "subscribe"}',
                b'{"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": 1672304486868, "data": [{"T": '
                b'1672304486865, "s": "BTCUSDT", "S": "Buy", "v": "0.001", "p": "16578.50", "L": "PlusTick", '
                b'"i": "20f43950-d8dd-5b31-9112-a178eb6023af", "BT": false, "seq": 1783284617}]}'):
        assert d.scan(msg) == OTHER
    assert d.scan(b'{"topic":"orderbook.50.X","type":"delta","data":{"s":"X","b":[["1"]],"a":[],"u":3}}') == BAD_SHAPE


def test_market_messages() -> None:
    t = parse_market_message(orjson.loads(
        b'{"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": 1672304486868, "data": [{"T": 1672304486865, '
        b'"s": "BTCUSDT", "S": "Buy", "v": "0.001", "p": "16578.50", "L": "PlusTick", "i": '
        b'"20f43950-d8dd-5b31-9112-a178eb6023af", "BT": false, "seq": 1783284617}]}'), 3)
    assert t == TradeEvent("BTCUSDT", parse_px("16578.5"), parse_qty("0.001"), Side.BUY, 1783284617,
                           1672304486865 * 10**6, 3)
    assert parse_market_message({"success": True, "ret_msg": "pong", "conn_id": "x", "op": "ping"}, 0) is None
    e = parse_market_message({"success": False, "ret_msg": "Invalid topic: invalid.topic.BTCUSDT", "conn_id": "c",
                              "op": "subscribe"}, 0)
    assert isinstance(e, ControlEvent) and e.action == "error" and "Invalid topic" in e.detail


def test_private_execution_and_order() -> None:
    # docs/v5/websocket/private/execution.mdx example (abridged)
    ex = {"topic": "execution", "id": "386825804_BTCUSDT_140612148849382", "creationTime": 1746270400355, "data": [{
        "category": "linear", "symbol": "BTCUSDT", "execFee": "26.3725275", "execId": "0ab1bdf7-4219-438b-b30a-32ec863018f7",
        "execPrice": "95900.1", "execQty": "0.5", "execType": "Trade", "feeRate": "0.00055", "leavesQty": "0",
        "orderId": "9aac161b-8ed6-450d-9cab-c5cc67c21784", "orderLinkId": "", "orderPrice": "94942.5",
        "orderQty": "0.5", "orderType": "Market", "side": "Sell", "execTime": "1746270400353", "isMaker": False,
        "seq": 140612148849382, "feeCurrency": "USDT"}]}
    [f] = parse_private_push(ex, 9)
    assert isinstance(f, FillEvent) and f.side is Side.SELL and not f.maker and f.trade_id == 140612148849382
    assert f.px_1e9 == parse_px("95900.1") and f.qty_1e8 == parse_qty("0.5") and f.cum_qty_1e8 == parse_qty("0.5")
    assert f.fee == "26.3725275" and f.fee_asset == "USDT"
    # docs/v5/websocket/private/order.mdx example (abridged)
    od = {"id": "5923240c6880ab-c59f-420b-9adb-3639adc9dd90", "topic": "order", "creationTime": 1672364262474, "data": [{
        "symbol": "ETH-30DEC22-1400-C", "orderId": "5cf98598-39a7-459e-97bf-76ca765ee020", "side": "Sell",
        "orderType": "Market", "price": "72.5", "qty": "1", "timeInForce": "IOC", "orderStatus": "Filled",
        "orderLinkId": "", "cumExecQty": "1", "createdTime": "1672364262444", "updatedTime": "1672364262457",
        "category": "option"}]}
    [u] = parse_private_push(od, 9)
    assert isinstance(u, OrderUpdate) and u.status is OrderStatus.FILLED and u.cum_qty_1e8 == parse_qty("1")
    assert u.ts_event_ns == 1672364262457 * 10**6


def test_rest_orderbook_and_instruments() -> None:
    s = parse_orderbook_snapshot(b'{"retCode":0,"retMsg":"OK","result":{"s":"BTCUSDT","b":[["27450.50","1.500"]],'
                                 b'"a":[["27451.00","1.200"]],"ts":1709891679000,"u":1234567,"seq":9876543,'
                                 b'"cts":1709891679000},"time":1709891679050}')
    assert s.update_id == 1234567 and s.bid_px.tolist() == [parse_px("27450.5")]
    spot = parse_instruments(b'{"retCode":0,"result":{"list":[{"symbol":"BTCUSDT","baseCoin":"BTC","quoteCoin":"USDT",'
                             b'"lotSizeFilter":{"basePrecision":"0.0001","minOrderQty":"0.001","minOrderAmt":"10"},'
                             b'"priceFilter":{"tickSize":"0.1"}}]}}')["BTCUSDT"]
    assert (spot.lot_1e8, spot.min_qty_1e8, spot.min_notional_1e9) == (parse_qty("0.0001"), parse_qty("0.001"),
                                                                       parse_px("10"))
    lin = parse_instruments(b'{"retCode":0,"result":{"list":[{"symbol":"BTCUSDT","baseCoin":"BTC","quoteCoin":"USDT",'
                            b'"lotSizeFilter":{"qtyStep":"0.001","minOrderQty":"0.001","minNotionalValue":"5"},'
                            b'"priceFilter":{"tickSize":"0.5"}}]}}')["BTCUSDT"]
    assert (lin.tick_1e9, lin.lot_1e8) == (parse_px("0.5"), parse_qty("0.001"))


def test_venues_frames_and_limits() -> None:
    spot, lin = BybitSpot(), BybitLinear()
    assert spot.venue_symbol("BTC-USDT") == "BTCUSDT" == lin.venue_symbol("btc/usdt")
    assert spot.market_ws_url([]) == "wss://stream.bybit.com/v5/public/spot"
    assert lin.market_ws_url([]) == "wss://stream.bybit.com/v5/public/linear"
    streams = [f"orderbook.50.S{i}USDT" for i in range(23)]
    frames = [orjson.loads(f) for f in spot.subscribe_frames(streams, 1)]
    assert [len(f["args"]) for f in frames] == [10, 10, 3], "spot: at most 10 args per subscribe"
    assert frames[0]["op"] == "subscribe" and frames[0]["req_id"] == "1"
    assert len(lin.subscribe_frames(streams, 1)) == 1
    assert (spot.batch_max, lin.batch_max) == (10, 20)


@pytest.mark.parametrize("status,expected", [("New", OrderStatus.NEW), ("PartiallyFilled", OrderStatus.PARTIALLY_FILLED),
                                             ("Cancelled", OrderStatus.CANCELED), ("Rejected", OrderStatus.REJECTED)])
def test_status_map(status: str, expected: OrderStatus) -> None:
    from seqkern.venues.bybit.parsing import order_status
    assert order_status(status) is expected
