"""The compiled depth decoders and the venue parsers against literal example messages from the venues' docs."""

from __future__ import annotations

import orjson
import pytest
from seqkern._book import L2Book
from seqkern._fixed import parse_px, parse_qty
from seqkern._wire import (
    APPLIED,
    BAD_CHECKSUM,
    BAD_JSON,
    DEPTH,
    FORMAT_BITGET,
    FORMAT_COINBASE,
    FORMAT_CRYPTOCOM,
    FORMAT_KRAKEN,
    GAP,
    OTHER,
    RULE_INCREASING,
    RULE_NONE,
    RULE_PREV_FINAL,
    STALE,
    STREAM_GAP,
    DepthDecoder,
)

from seqkern.venues.base import ControlEvent, Side, TradeEvent
from seqkern.venues.bitget import BitgetSpot
from seqkern.venues.coinbase import CoinbaseSpot
from seqkern.venues.cryptocom import CryptocomSpot
from seqkern.venues.kraken import KrakenSpot

# docs.kraken.com "Book checksum (WebSocket v2)" guide snapshot; published checksum 3310070434
KRAKEN_GUIDE_SNAPSHOT = b"""{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[
{"price":45283.5,"qty":0.10000000},{"price":45283.4,"qty":1.54582015},{"price":45282.1,"qty":0.10000000},
{"price":45281.0,"qty":0.10000000},{"price":45280.3,"qty":1.54592586},{"price":45279.0,"qty":0.07990000},
{"price":45277.6,"qty":0.03310103},{"price":45277.5,"qty":0.30000000},{"price":45277.3,"qty":1.54602737},
{"price":45276.6,"qty":0.15445238}],"asks":[
{"price":45285.2,"qty":0.00100000},{"price":45286.4,"qty":1.54571953},{"price":45286.6,"qty":1.54571109},
{"price":45289.6,"qty":1.54560911},{"price":45290.2,"qty":0.15890660},{"price":45291.8,"qty":1.54553491},
{"price":45294.7,"qty":0.04454749},{"price":45296.1,"qty":0.35380000},{"price":45297.5,"qty":0.09945542},
{"price":45299.5,"qty":0.18772827}],"checksum":3310070434}]}"""
# an update derived from that snapshot (cex.md 3.3: computed with the guide's algorithm, not published)
KRAKEN_DERIVED_UPDATE = (b'{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":45283.5,'
                         b'"qty":0.05000000}],"asks":[{"price":45285.2,"qty":0.00000000}],"checksum":3545458514,'
                         b'"timestamp":"2023-10-06T17:35:55.440295Z"}]}')
# docs.kraken.com spot-websocket-v2 trade channel example
KRAKEN_TRADE = (b'{"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell","price":0.5117,'
                b'"qty":40.0,"ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"}]}')

# docs.cdp.coinbase.com advanced-trade level2 channel examples
COINBASE_SNAPSHOT = (b'{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z",'
                     b'"sequence_num":0,"events":[{"type":"snapshot","product_id":"BTC-USD","updates":[{"side":"bid",'
                     b'"event_time":"1970-01-01T00:00:00Z","price_level":"21921.74","new_quantity":"0.06317902"},'
                     b'{"side":"bid","event_time":"1970-01-01T00:00:00Z","price_level":"21921.3","new_quantity":"0.02"},'
                     b'{"side":"offer","event_time":"1970-01-01T00:00:00Z","price_level":"21921.75","new_quantity":"0.5"}]}]}')
COINBASE_UPDATE = (b'{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:51.012345678Z",'
                   b'"sequence_num":1,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid",'
                   b'"event_time":"2023-02-09T20:32:50.999Z","price_level":"21921.3","new_quantity":"0"},'
                   b'{"side":"offer","event_time":"2023-02-09T20:32:50.999Z","price_level":"21922.10","new_quantity":"1.25"}]}]}')
COINBASE_HEARTBEAT = (b'{"channel":"heartbeats","client_id":"","timestamp":"2023-06-23T20:31:26.122969572Z",'
                      b'"sequence_num":2,"events":[{"current_time":"2023-06-23 20:31:56.121961769 +0000 UTC '
                      b'm=+91717.525857105","heartbeat_counter":"3049"}]}')
COINBASE_TRADES = (b'{"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35.39625135Z",'
                   b'"sequence_num":0,"events":[{"type":"snapshot","trades":[{"trade_id":"000000000","product_id":'
                   b'"ETH-USD","price":"1260.01","size":"0.3","side":"BUY","time":"2019-08-14T20:42:27.265Z"}]}]}')

# bitget api-doc Depth-Channel (books5 example) and the synthetic books pair of cex.md B.6.2
BITGET_BOOKS5 = (b'{"action":"snapshot","arg":{"instType":"SPOT","channel":"books5","instId":"BTCUSDT"},"data":[{"asks":'
                 b'[["26274.9","0.0009"],["26275.0","0.0500"]],"bids":[["26274.8","0.0009"],["26274.7","0.0027"]],'
                 b'"seq":123,"ts":"1695710946294"}],"ts":1695710946294}')
BITGET_SNAPSHOT = (b'{"action":"snapshot","arg":{"instType":"SPOT","channel":"books","instId":"BTCUSDT"},"data":[{"asks":'
                   b'[["26274.9","0.0009"],["26275.0","0.0500"],["26275.3","0.3100"]],"bids":[["26274.8","0.0009"],'
                   b'["26274.7","0.0027"],["26274.5","1.2000"]],"checksum":-609382856,"seq":1000,"ts":"1695710946294"}],'
                   b'"ts":1695710946300}')
BITGET_UPDATE = (b'{"action":"update","arg":{"instType":"SPOT","channel":"books","instId":"BTCUSDT"},"data":[{"asks":'
                 b'[["26274.9","0"]],"bids":[["26274.7","0.0100"],["26274.6","0.5000"]],"checksum":-589951054,'
                 b'"seq":1003,"ts":"1695710946494"}],"ts":1695710946500}')
BITGET_SUBSCRIBED = b'{"event":"subscribe","arg":{"instType":"SPOT","channel":"books5","instId":"BTCUSDT"}}'

# exchange-developer.crypto.com book.{instrument_name}.{depth} examples (snapshot and delta)
CDC_SNAPSHOT = (b'{"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTCUSD-PERP","subscription":'
                b'"book.BTCUSD-PERP.10","channel":"book","depth":10,"data":[{"asks":[["30082.5","0.1689","1"],'
                b'["30083.0","0.1288","1"]],"bids":[["30079.0","0.0505","1"],["30077.5","1.0527","2"]],'
                b'"t":1654780033786,"tt":1654780033755,"u":542048017824}]}}')
CDC_UPDATE = (b'{"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTCUSD-PERP","subscription":'
              b'"book.BTCUSD-PERP.10","channel":"book.update","depth":10,"data":[{"update":{"asks":[["50126.000000",'
              b'"0","0"],["50180.000000","3.279000","10"]],"bids":[["50097.000000","0.252000","1"]]},"tt":1647917463003,'
              b'"t":1647917463003,"u":7845460002,"pu":7845460001}]}}')
CDC_HEARTBEAT = b'{"id":1587523073344,"method":"public/heartbeat","code":0}'
CDC_TRADE = (b'{"code":0,"method":"subscribe","result":{"instrument_name":"BTC_USDT","subscription":"trade.BTC_USDT",'
             b'"channel":"trade","data":[{"dataTime":1648122434405,"d":"2358394540212355488","s":"SELL","p":42980.85,'
             b'"q":0.002325,"t":1648122434404,"i":"BTC_USDT"}]}}')


def test_kraken_guide_checksum_and_derived_update_in_c() -> None:
    dec = DepthDecoder(FORMAT_KRAKEN, 100)
    book = L2Book(parse_px("0.1"))
    assert dec.scan(KRAKEN_GUIDE_SNAPSHOT) == DEPTH
    assert dec.is_snapshot and dec.has_checksum and dec.checksum == 3310070434
    assert (dec.px_decimals, dec.qty_decimals) == (1, 8)
    assert dec.apply_verified(book, -1, -1, 10) == APPLIED
    assert dec.book_checksum(book, 1, 8) == 3310070434
    assert dec.scan(KRAKEN_DERIVED_UPDATE) == DEPTH and not dec.is_snapshot
    assert dec.apply_checked_verified(book, RULE_NONE, 1, 8, 10) == APPLIED
    assert book.best_bid() == (parse_px("45283.5"), parse_qty("0.05"))
    assert book.best_ask() == (parse_px("45286.4"), parse_qty("1.54571953"))
    assert book.ask_count == 9
    assert dec.event_time_ns == 1696613755440295000
    # the same update against a book that missed a change: the checksum catches it
    book2 = L2Book(parse_px("0.1"))
    dec.scan(KRAKEN_GUIDE_SNAPSHOT)
    dec.apply_verified(book2, -1, -1, 10)
    book2.set(0, parse_px("45276.6"), 0)
    dec.scan(KRAKEN_DERIVED_UPDATE)
    assert dec.apply_checked_verified(book2, RULE_NONE, 1, 8, 10) == BAD_CHECKSUM
    assert not book2.valid


def test_kraken_truncates_to_the_subscribed_depth() -> None:
    dec = DepthDecoder(FORMAT_KRAKEN, 100)
    book = L2Book(parse_px("0.1"))
    dec.scan(KRAKEN_GUIDE_SNAPSHOT)
    dec.apply_verified(book, -1, -1, 10)
    # an insert at the top pushes the 10th bid out of a depth-10 book; no delete is sent for it
    ins = (b'{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":45284.0,'
           b'"qty":1.00000000}],"asks":[],"checksum":0}]}')
    dec.scan(ins)
    assert dec.apply_checked_verified(book, RULE_NONE, 1, 8, 10) == BAD_CHECKSUM   # checksum 0 is wrong ...
    assert book.bid_count == 10                                                # ... but truncation ran
    assert book.levels(0)[0][-1] == parse_px("45277.3")


def test_kraken_trade_and_heartbeat_parse() -> None:
    v = KrakenSpot()
    ev = v.parse_market_message(orjson.loads(KRAKEN_TRADE), 7)
    assert isinstance(ev, TradeEvent)
    assert (ev.venue_symbol, ev.px_1e9, ev.qty_1e8, ev.taker_side, ev.trade_id) == (
        "MATIC/USD", parse_px("0.5117"), parse_qty("40"), Side.SELL, 4665906)
    assert DepthDecoder(FORMAT_KRAKEN).scan(b'{"channel":"heartbeat"}') == OTHER
    assert v.parse_market_message({"channel": "heartbeat"}, 0) is None


def test_kraken_symbols_xbt_and_btc() -> None:
    v = KrakenSpot()
    assert v.venue_symbol("BTC-USD") == "BTC/USD"
    assert v.venue_symbol("XBT/USD") == "BTC/USD"
    assert v.venue_symbol("XXBT-ZUSD") == "BTC/USD"
    assert v.venue_symbol("XDG-USD") == "DOGE/USD"


def test_coinbase_doc_examples_and_sequence() -> None:
    dec = DepthDecoder(FORMAT_COINBASE, 100)
    book = L2Book(parse_px("0.01"))
    assert dec.scan(COINBASE_SNAPSHOT) == DEPTH and dec.is_snapshot and dec.symbol == "BTC-USD"
    assert dec.apply_verified(book) == APPLIED
    assert dec.event_time_ns == 1675974770714964855
    assert dec.scan(COINBASE_UPDATE) == DEPTH and not dec.is_snapshot
    assert dec.apply_checked(book, RULE_NONE) == APPLIED
    assert book.best_bid() == (parse_px("21921.74"), parse_qty("0.06317902"))
    assert book.bid_count == 1 and book.ask_count == 2
    assert dec.scan(COINBASE_HEARTBEAT) == OTHER and dec.stream_seq == 2
    assert dec.scan(COINBASE_UPDATE) == STREAM_GAP          # sequence_num 1 after 2
    dec.reset_stream()
    assert dec.scan(COINBASE_UPDATE) == DEPTH
    ev = CoinbaseSpot().parse_market_message(orjson.loads(COINBASE_TRADES), 0)
    assert ev is None       # the snapshot of past trades is not republished
    upd = orjson.loads(COINBASE_TRADES)
    upd["events"][0]["type"] = "update"
    ev = CoinbaseSpot().parse_market_message(upd, 0)
    assert isinstance(ev, TradeEvent) and ev.taker_side is Side.BUY and ev.qty_1e8 == parse_qty("0.3")


def test_bitget_doc_examples_and_checksum() -> None:
    dec = DepthDecoder(FORMAT_BITGET, 100)
    assert dec.scan(BITGET_BOOKS5) == OTHER          # books5 is a snapshot-only feed, not the synced book
    assert dec.scan(BITGET_SUBSCRIBED) == OTHER
    assert dec.scan(b"pong") == BAD_JSON             # the runner matches the venue's pong text first
    book = L2Book(parse_px("0.1"))
    assert dec.scan(BITGET_SNAPSHOT) == DEPTH and dec.is_snapshot and dec.checksum == -609382856
    assert dec.apply_verified(book) == APPLIED
    pd, qd = dec.px_decimals, dec.qty_decimals
    assert (pd, qd) == (1, 4)
    assert dec.scan(BITGET_UPDATE) == DEPTH and dec.final_id == 1003
    assert dec.apply_checked_verified(book, RULE_INCREASING, pd, qd, 0) == APPLIED
    assert dec.book_checksum(book, pd, qd) == -589951054
    assert BitgetSpot().venue_symbol("BTC-USDT") == "BTCUSDT"


def test_cryptocom_doc_examples_and_pu_chain() -> None:
    dec = DepthDecoder(FORMAT_CRYPTOCOM, 100)
    book = L2Book(parse_px("0.5"))
    assert dec.scan(CDC_SNAPSHOT) == DEPTH and dec.is_snapshot and dec.final_id == 542048017824
    assert dec.apply_verified(book) == APPLIED and book.last_update_id == 542048017824
    assert dec.scan(CDC_UPDATE) == DEPTH and (dec.prev_final_id, dec.final_id) == (7845460001, 7845460002)
    # the two doc examples come from different books: older than the snapshot is stale, a broken pu a gap
    assert dec.apply_checked(book, RULE_PREV_FINAL) == STALE
    later = L2Book(parse_px("0.5"))
    later.apply_snapshot(*(__import__("numpy").array([], dtype="int64"),) * 4, 7845460000)
    assert dec.apply_checked(later, RULE_PREV_FINAL) == GAP
    fresh = L2Book(parse_px("0.5"))
    fresh.apply_snapshot(*(__import__("numpy").array([], dtype="int64"),) * 4, 7845460001)
    assert dec.apply_checked(fresh, RULE_PREV_FINAL) == APPLIED
    assert fresh.best_ask() == (parse_px("50180"), parse_qty("3.279"))
    v = CryptocomSpot()
    hb = v.parse_market_message(orjson.loads(CDC_HEARTBEAT), 0)
    assert isinstance(hb, ControlEvent) and hb.action == "reply"
    assert orjson.loads(hb.reply) == {"id": 1587523073344, "method": "public/respond-heartbeat"}
    tr = v.parse_market_message(orjson.loads(CDC_TRADE), 0)
    assert isinstance(tr, TradeEvent) and tr.taker_side is Side.SELL and tr.px_1e9 == parse_px("42980.85")
    assert v.venue_symbol("BTC-USDT") == "BTC_USDT"


@pytest.mark.parametrize("fmt", [FORMAT_COINBASE, FORMAT_KRAKEN, FORMAT_BITGET, FORMAT_CRYPTOCOM])
@pytest.mark.parametrize("junk", [b"{", b"", b'{"channel":"book","type":"update","data":[{"symbol":1}]}', b"[1,2"])
def test_malformed_input_is_a_code_not_a_crash(fmt: int, junk: bytes) -> None:
    rc = DepthDecoder(fmt).scan(junk)
    assert rc in (BAD_JSON, OTHER, -2)


def test_checksums_agree_with_the_order_book_library_on_random_books() -> None:
    """An independent implementation: order-book's KRAKEN and OKX (= Bitget) checksums."""
    ob_mod = pytest.importorskip("order_book")
    import random
    from decimal import Decimal

    rng = random.Random(7)
    for fmt, lib_fmt in ((FORMAT_KRAKEN, "KRAKEN"), (FORMAT_BITGET, "OKX")):
        dec = DepthDecoder(fmt, 10)
        for _ in range(50):
            px_dec, qty_dec = rng.choice([(1, 8), (2, 4), (5, 2), (0, 6)])
            book = L2Book(parse_px(f"1e-{px_dec}") if px_dec else parse_px("1"), 1 << 14)
            ob = ob_mod.OrderBook(checksum_format=lib_fmt)
            mid = rng.randint(1000, 90000)
            for side, sign in ((0, -1), (1, 1)):
                for _ in range(rng.randint(0, 40)):
                    ticks = mid * 10**px_dec + sign * rng.randint(1, 3000)
                    q = rng.randint(1, 10**(qty_dec + 3))
                    p_txt = f"{ticks // 10**px_dec}.{ticks % 10**px_dec:0{px_dec}d}" if px_dec else str(ticks)
                    q_txt = f"{q // 10**qty_dec}.{q % 10**qty_dec:0{qty_dec}d}" if qty_dec else str(q)
                    book.set(side, parse_px(p_txt), parse_qty(q_txt))
                    (ob.bids if side == 0 else ob.asks)[Decimal(p_txt)] = Decimal(q_txt)
            ours = dec.book_checksum(book, px_dec, qty_dec) & 0xFFFFFFFF
            assert ours == ob.checksum(), (fmt, px_dec, qty_dec)


def test_every_trade_of_a_batched_message_is_published() -> None:
    """Kraken's doc trade message carries two trades: both become records (a list), in order."""
    msg = {"channel": "trade", "type": "update", "data": [
        {"symbol": "BTC/USD", "side": "buy", "price": "105944.2", "qty": "0.00027625", "ord_type": "limit",
         "trade_id": 10218208, "timestamp": "2023-10-06T17:35:55.440295Z"},
        {"symbol": "BTC/USD", "side": "sell", "price": "105910.5", "qty": "0.0001246", "ord_type": "market",
         "trade_id": 10218209, "timestamp": "2023-10-06T17:35:56.123456Z"}]}
    evs = KrakenSpot().parse_market_message(msg, 0)
    assert isinstance(evs, list) and [e.trade_id for e in evs] == [10218208, 10218209]
    assert [e.taker_side for e in evs] == [Side.BUY, Side.SELL]
