"""Binance parsers against literal example messages from Binance's docs (sources inline)."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from seqkern._book import L2Book
from seqkern._fixed import parse_px, parse_qty
from seqkern._wire import (
    APPLIED,
    DEPTH,
    FORMAT_BINANCE_USDM,
    RULE_FIRST_LAST,
    RULE_PREV_FINAL,
    DepthDecoder,
)

from seqkern.venues.base import (
    BalanceEvent,
    BboEvent,
    ControlEvent,
    FillEvent,
    OrderStatus,
    OrderUpdate,
    Side,
    TradeEvent,
    VenueMessageError,
)
from seqkern.venues.binance import BinanceSpot, BinanceUsdm
from seqkern.venues.binance.parsing import (
    parse_depth_snapshot,
    parse_exchange_info,
    parse_market_message,
    parse_user_event,
)

# web-socket-streams.md "Diff. Depth Stream" payload
SPOT_DEPTH = b'{"e": "depthUpdate", "E": 1672515782136, "s": "BNBBTC", "U": 157, "u": 160, "b": [["0.0024", "10"]], "a": [["0.0026", "100"]]}'
# USD-M "Diff. Book Depth Streams" payload
USDM_DEPTH = b'{"e": "depthUpdate", "E": 123456789, "T": 123456788, "s": "BTCUSDT", "U": 157, "u": 160, "pu": 149, "b": [["0.0024", "10"]], "a": [["0.0026", "100"]]}'
# rest-api.md "Order book" response
SPOT_SNAPSHOT = b'{"lastUpdateId": 1027024, "bids": [["4.00000000", "431.00000000"]], "asks": [["4.00000200", "12.00000000"]]}'
# web-socket-streams.md "Trade Streams" / "Individual Symbol Book Ticker Streams"
SPOT_TRADE = b'{"e": "trade", "E": 1672515782136, "s": "BNBBTC", "t": 12345, "p": "0.001", "q": "100", "T": 1672515782136, "m": true, "M": true}'
SPOT_BOOK_TICKER = b'{"u": 400900217, "s": "BNBUSDT", "b": "25.35190000", "B": "31.21000000", "a": "25.36520000", "A": "40.66000000"}'
USDM_AGG_TRADE = b'{"e": "aggTrade", "E": 123456789, "s": "BTCUSDT", "a": 5933014, "p": "0.001", "q": "100", "f": 100, "l": 105, "T": 123456785, "m": true}'
# user-data-stream.md executionReport, as delivered by userDataStream.subscribe (wrapped)
EXEC_REPORT_NEW = b'{"subscriptionId": 0, "event": {"e": "executionReport", "E": 1499405658658, "s": "ETHBTC", "c": "mUvoqJxFIILMdfAW5iGSOW", "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "1.00000000", "p": "0.10264410", "P": "0.00000000", "F": "0.00000000", "g": -1, "C": "", "x": "NEW", "X": "NEW", "r": "NONE", "i": 4293153, "l": "0.00000000", "z": "0.00000000", "L": "0.00000000", "n": "0", "N": null, "T": 1499405658657, "t": -1, "v": 3, "I": 8641984, "w": true, "m": false, "M": false, "O": 1499405658657, "Z": "0.00000000", "Y": "0.00000000", "Q": "0.00000000", "W": 1499405658657, "V": "NONE"}}'
# USD-M "Event: Order Update" example
ORDER_TRADE_UPDATE = b'{"e":"ORDER_TRADE_UPDATE","T":1568879465651,"E":1568879465651,"o":{"s":"BTCUSDT","c":"TEST","S":"BUY","o":"LIMIT","f":"GTC","q":"0.001","p":"7100.50","ap":"7100.50","sp":"0","x":"TRADE","X":"PARTIALLY_FILLED","i":8886774,"l":"0.001","z":"0.001","L":"7100.50","N":"USDT","n":"0.01000000","T":1568879465651,"t":12345678,"b":"0","a":"0","m":true,"R":false,"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"LONG","cp":false,"AP":"0","cr":"0","pP":false,"si":0,"ss":0,"rp":"12.34","V":"EXPIRE_TAKER"}}'
# user-data-stream.md "Account Update" (wrapped)
ACCOUNT_POSITION = b'{"subscriptionId": 0, "event": {"e": "outboundAccountPosition", "E": 1564034571105, "u": 1564034571073, "B": [{"a": "ETH", "f": "10000.000000", "l": "0.000000"}]}}'


def test_depth_update_doc_example_through_the_compiled_decoder() -> None:
    dec = DepthDecoder()
    assert dec.scan(SPOT_DEPTH) == DEPTH
    assert (dec.first_id, dec.final_id, dec.prev_final_id) == (157, 160, -1)
    assert dec.symbol == "BNBBTC"
    assert dec.event_time_ns == 1672515782136 * 1_000_000
    assert dec.levels() == [(0, "0.0024", "10"), (1, "0.0026", "100")]
    book = L2Book(parse_px("0.0001"))
    book.apply_snapshot(np.array([], np.int64), np.array([], np.int64), np.array([], np.int64),
                        np.array([], np.int64), 156)
    assert dec.apply_checked(book, RULE_FIRST_LAST) == APPLIED
    assert book.best_bid() == (parse_px("0.0024"), parse_qty("10"))
    assert book.best_ask() == (parse_px("0.0026"), parse_qty("100"))
    assert book.last_update_id == 160


def test_usdm_depth_doc_example_carries_pu() -> None:
    spot = DepthDecoder()
    assert spot.scan(USDM_DEPTH) == DEPTH and spot.prev_final_id == -1   # spot format ignores pu
    dec = DepthDecoder(FORMAT_BINANCE_USDM)
    assert dec.scan(USDM_DEPTH) == DEPTH
    assert (dec.first_id, dec.final_id, dec.prev_final_id) == (157, 160, 149)
    assert dec.transact_time_ns == 123456788 * 1_000_000
    book = L2Book(parse_px("0.0001"))
    book.apply_snapshot(np.array([], np.int64), np.array([], np.int64), np.array([], np.int64),
                        np.array([], np.int64), 149)
    assert dec.apply_checked(book, RULE_PREV_FINAL) == APPLIED


def test_combined_stream_wrapper_is_unwrapped() -> None:
    dec = DepthDecoder()
    combined = b'{"stream": "bnbbtc@depth@100ms", "data": ' + SPOT_DEPTH + b"}"
    assert dec.scan(combined) == DEPTH
    assert dec.final_id == 160 and dec.symbol == "BNBBTC"


def test_rest_snapshot_doc_example() -> None:
    snap = parse_depth_snapshot(SPOT_SNAPSHOT)
    assert snap.update_id == 1027024
    assert snap.bid_px.tolist() == [parse_px("4.00000000")]
    assert snap.bid_qty.tolist() == [parse_qty("431")]
    assert snap.ask_px.tolist() == [parse_px("4.000002")]
    with pytest.raises(VenueMessageError):
        parse_depth_snapshot(b'{"lastUpdateId": 1, "bids": [["x", "1"]], "asks": []}')
    with pytest.raises(VenueMessageError):
        parse_depth_snapshot(b"{")


def test_trade_and_book_ticker_doc_examples() -> None:
    t = parse_market_message(orjson.loads(SPOT_TRADE), 5)
    assert isinstance(t, TradeEvent)
    assert (t.px_1e9, t.qty_1e8, t.trade_id) == (parse_px("0.001"), parse_qty("100"), 12345)
    assert t.taker_side is Side.SELL   # m = buyer is maker
    a = parse_market_message(orjson.loads(USDM_AGG_TRADE), 5)
    assert isinstance(a, TradeEvent) and a.trade_id == 5933014
    b = parse_market_message(orjson.loads(SPOT_BOOK_TICKER), 5)
    assert isinstance(b, BboEvent)
    assert (b.bid_px_1e9, b.ask_qty_1e8, b.update_id) == (parse_px("25.3519"), parse_qty("40.66"), 400900217)
    assert parse_market_message({"result": None, "id": 1}, 0) == ControlEvent("ack", "1")
    assert parse_market_message({"e": "serverShutdown", "E": 1770123456789}, 0).action == "reconnect"
    with pytest.raises(VenueMessageError):
        parse_market_message({"e": "trade", "s": "X"}, 0)


def test_execution_report_and_order_trade_update() -> None:
    [upd] = parse_user_event(orjson.loads(EXEC_REPORT_NEW), 9)
    assert isinstance(upd, OrderUpdate)
    assert (upd.venue_order_id, upd.client_order_id, upd.status, upd.exec_type) == (
        4293153, "mUvoqJxFIILMdfAW5iGSOW", OrderStatus.NEW, "NEW")
    assert upd.px_1e9 == parse_px("0.10264410")
    fill, upd2 = parse_user_event(orjson.loads(ORDER_TRADE_UPDATE), 9)
    assert isinstance(fill, FillEvent) and isinstance(upd2, OrderUpdate)
    assert (fill.px_1e9, fill.qty_1e8, fill.fee, fill.fee_asset, fill.maker, fill.trade_id) == (
        parse_px("7100.50"), parse_qty("0.001"), "0.01000000", "USDT", True, 12345678)
    assert upd2.status is OrderStatus.PARTIALLY_FILLED
    [bal] = parse_user_event(orjson.loads(ACCOUNT_POSITION), 9)
    assert isinstance(bal, BalanceEvent) and (bal.asset, bal.free) == ("ETH", "10000.000000")
    with pytest.raises(VenueMessageError):
        parse_user_event({"e": "executionReport", "s": "X"}, 0)


def test_exchange_info_filters_to_instrument_rules() -> None:
    body = orjson.dumps({"symbols": [{"symbol": "BTCUSDT", "baseAsset": "BTC", "quoteAsset": "USDT", "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00", "tickSize": "0.01000000"},
        {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00", "stepSize": "0.00001000"},
        {"filterType": "NOTIONAL", "minNotional": "5.00000000"}]}]})
    info = parse_exchange_info(body)["BTCUSDT"]
    assert (info.tick_1e9, info.lot_1e8, info.min_notional_1e9) == (parse_px("0.01"), parse_qty("0.00001"),
                                                                   parse_px("5"))


def test_venue_declarations() -> None:
    spot, perp = BinanceSpot(), BinanceUsdm()
    assert spot.venue_symbol("btc-usdt") == "BTCUSDT"
    assert spot.market_streams("BTCUSDT")[0] == "btcusdt@depth@100ms"
    assert orjson.loads(spot.subscribe_frames(["btcusdt@depth@100ms"], 7)[0]) == {
        "method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 7}
    assert orjson.loads(spot.unsubscribe_frames(["a", "b"], 9)[0])["method"] == "UNSUBSCRIBE"
    assert spot.snapshot_request("BTCUSDT").cost == (("REQUEST_WEIGHT", 50),)   # limit 1000
    # USD-M: depth on /public, trades on /market, separate connections
    shards = perp.shard_streams(perp.market_streams("BTCUSDT"))
    assert [perp.market_ws_url(s) for s in shards] == ["wss://fstream.binance.com/public/stream",
                                                      "wss://fstream.binance.com/market/stream"]
    assert perp.snapshot_request("BTCUSDT").path == "/fapi/v1/depth"
    many = [f"s{i}@depth" for i in range(450)]
    assert [len(g) for g in perp.shard_streams(many)] == [200, 200, 50]
