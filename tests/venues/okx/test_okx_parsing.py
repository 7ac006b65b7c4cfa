"""OKX parsers against literal examples from OKX's v5 docs (../shared/venues/doc-examples/okx) and the
legacy CRC32 checksum against its worked example."""

from __future__ import annotations

import zlib

import pytest
from seqkern._book import L2Book
from seqkern._fixed import parse_px, parse_qty
from seqkern._wire import (
    APPLIED,
    BAD_JSON,
    CHECKSUM,
    DEPTH,
    FORMAT_OKX,
    GAP,
    OTHER,
    RULE_PREV_SEQ,
    DepthDecoder,
    RawLevels,
    okx_checksum_text,
)

from seqkern.venues.base import (
    BboEvent,
    ControlEvent,
    FillEvent,
    OrderStatus,
    OrderUpdate,
    Side,
    TradeEvent,
)
from seqkern.venues.okx import OkxSpot, OkxSwap
from seqkern.venues.okx.book import checksum, checksum_string
from seqkern.venues.okx.parsing import (
    parse_books_snapshot,
    parse_instruments,
    parse_market_message,
    parse_orders_push,
)

# "Order book channel" push examples (OKX v5 docs), as in doc-examples/okx/books_*_2026.json
SNAPSHOT = (b'{"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "snapshot", "data": [{"asks": '
            b'[["8476.98", "415", "0", "13"], ["8477", "7", "0", "2"], ["8477.34", "85", "0", "1"], ["8477.56", "1", '
            b'"0", "1"], ["8505.84", "8", "0", "1"], ["8506.37", "85", "0", "1"], ["8506.49", "2", "0", "1"], '
            b'["8506.96", "100", "0", "2"]], "bids": [["8476.97", "256", "0", "12"], ["8475.55", "101", "0", "1"], '
            b'["8475.54", "100", "0", "1"], ["8475.3", "1", "0", "1"], ["8447.32", "6", "0", "1"], ["8447.02", "246", '
            b'"0", "1"], ["8446.83", "24", "0", "1"], ["8446", "95", "0", "3"]], "ts": "1597026383085", "checksum": 0, '
            b'"prevSeqId": -1, "seqId": 123456}]}')
UPDATE = (b'{"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update", "data": [{"asks": [["8476.98", '
          b'"0", "0", "0"], ["8477.10", "3", "0", "1"]], "bids": [["8476.97", "200", "0", "11"]], "ts": '
          b'"1597026383185", "checksum": 0, "prevSeqId": 123456, "seqId": 123457}]}')
HEARTBEAT = (b'{"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update", "data": [{"asks": [], '
             b'"bids": [], "ts": "1597026443185", "checksum": 0, "prevSeqId": 123457, "seqId": 123457}]}')
LEGACY_TBT = (b'{"arg": {"channel": "books-l2-tbt", "instId": "BTC-USDT"}, "action": "update", "data": [{"asks": '
              b'[["31657.7", "0", "0", "0"], ["31659.7", "0.01", "0", "1"], ["31987.3", "0.01", "0", "1"]], "bids": '
              b'[["31642.9", "0.50296385", "0", "4"], ["31639.9", "0", "0", "0"], ["31638.7", "0.01", "0", "1"]], '
              b'"ts": "1626535709008", "checksum": 830931827}]}')


def _book() -> L2Book:
    return L2Book(parse_px("0.01"), depth_ticks=1 << 16)


def test_snapshot_update_heartbeat_chain() -> None:
    d = DepthDecoder(FORMAT_OKX, 64)
    book = _book()
    assert d.scan(SNAPSHOT) == DEPTH and d.is_snapshot and d.symbol == "BTC-USDT"
    assert (d.final_id, d.prev_final_id, d.n_levels, d.event_time_ns) == (123456, -1, 16, 1597026383085 * 10**6)
    assert d.apply_snapshot(book) == APPLIED and book.valid and book.last_update_id == 123456
    assert book.best_bid() == (parse_px("8476.97"), parse_qty("256"))
    assert book.best_ask() == (parse_px("8476.98"), parse_qty("415"))
    assert d.scan(UPDATE) == DEPTH and not d.is_snapshot
    assert d.apply_checked(book, RULE_PREV_SEQ) == APPLIED and book.last_update_id == 123457
    assert book.best_ask() == (parse_px("8477"), parse_qty("7"))
    assert book.best_bid() == (parse_px("8476.97"), parse_qty("200"))
    assert d.scan(HEARTBEAT) == DEPTH and d.n_levels == 0
    assert d.apply_checked(book, RULE_PREV_SEQ) == APPLIED and book.last_update_id == 123457
    # replaying the update: prevSeqId 123456 != 123457 -> gap
    d.scan(UPDATE)
    assert d.apply_checked(book, RULE_PREV_SEQ) == GAP and not book.valid


def test_swap_contract_sizes_become_base_units_in_c() -> None:
    """A SWAP sized in contracts (ctVal 0.01 BTC): the decoder writes base units into the book and
    its delta rows (what CC-LINK carries); another symbol on the same connection is untouched."""
    swap = SNAPSHOT.replace(b'"BTC-USDT"', b'"BTC-USDT-SWAP"')
    d = DepthDecoder(FORMAT_OKX, 64)
    d.register_symbol("BTC-USDT", 0)
    d.register_symbol("BTC-USDT-SWAP", parse_qty("0.01"))
    book, spot = _book(), _book()
    assert d.scan(swap) == DEPTH and d.symbol_index == 1
    assert d.apply_snapshot(book) == APPLIED
    assert book.best_bid() == (parse_px("8476.97"), parse_qty("2.56"))      # 256 contracts x 0.01 BTC
    assert book.best_ask() == (parse_px("8476.98"), parse_qty("4.15"))
    assert d.n_bids == 8 and int(d.delta_bids[0][1]) == parse_qty("2.56")
    upd = UPDATE.replace(b'"BTC-USDT"', b'"BTC-USDT-SWAP"')
    assert d.scan(upd) == DEPTH and d.apply_checked(book, RULE_PREV_SEQ) == APPLIED
    assert book.best_ask() == (parse_px("8477"), parse_qty("0.07"))       # 8476.98 removed (qty 0)
    assert d.scan(SNAPSHOT) == DEPTH and d.symbol_index == 0 and d.apply_snapshot(spot) == APPLIED
    assert spot.best_bid() == (parse_px("8476.97"), parse_qty("256"))
    with pytest.raises(ValueError):
        d.register_symbol("X", -1)


def test_swap_records_and_rules_in_base_units() -> None:
    from seqkern.venues.base import VenueRejected, base_to_contracts, contracts_to_base
    from seqkern.venues.okx.parsing import events_in_base

    swap = OkxSwap()
    info = swap.parse_instruments(b'{"code":"0","data":[{"instType":"SWAP","instId":"ETH-USDT-SWAP","tickSz":"0.01",'
                                  b'"lotSz":"1","minSz":"1","ctVal":"0.1","ctValCcy":"ETH","settleCcy":"USDT"}]}')
    assert info["ETH-USDT-SWAP"].lot_1e8 == parse_qty("0.1") and swap.contract_size_1e8("ETH-USDT-SWAP") == parse_qty("0.1")
    trade = swap.parse_market_message({"arg": {"channel": "trades", "instId": "ETH-USDT-SWAP"}, "data": [
        {"instId": "ETH-USDT-SWAP", "tradeId": "7", "px": "3000.5", "sz": "25", "side": "buy", "ts": "1"}]}, 0)
    assert trade.qty_1e8 == parse_qty("2.5")
    # a record of an instrument whose contract size is unknown is never published in contracts
    assert swap.parse_market_message({"arg": {"channel": "trades", "instId": "SOL-USDT-SWAP"}, "data": [
        {"instId": "SOL-USDT-SWAP", "tradeId": "8", "px": "150", "sz": "3", "side": "sell", "ts": "1"}]}, 0) is None
    assert events_in_base([trade], 0) == [trade]
    assert base_to_contracts(parse_qty("2.5"), parse_qty("0.1")) == parse_qty("25")
    assert contracts_to_base(parse_qty("25"), parse_qty("0.1")) == parse_qty("2.5")
    with pytest.raises(VenueRejected, match="whole number of contracts"):
        base_to_contracts(1, parse_qty("3"))        # 1e-8 ETH is 1/3e8 of a 3-ETH contract


def test_sequence_reset_chains_on_prev_seq_id() -> None:
    d = DepthDecoder(FORMAT_OKX, 64)
    book = _book()
    d.scan(SNAPSHOT)
    d.apply_snapshot(book)
    reset = UPDATE.replace(b'"seqId": 123457', b'"seqId": 3')   # seqId < prevSeqId: maintenance reset
    d.scan(reset)
    assert d.apply_checked(book, RULE_PREV_SEQ) == APPLIED and book.last_update_id == 3


def test_non_book_messages_are_other() -> None:
    d = DepthDecoder(FORMAT_OKX, 64)
    for msg in (b'{"id": "1512", "event": "subscribe", "arg": {"channel": "books", "instId": "BTC-USDT"}, '
                b'"connId": "a4d3ae55"}',
                b'{"arg": {"channel": "books5", "instId": "BCH-USDT-SWAP"}, "data": [{"asks": [["111.06", "55154", '
                b'"0", "2"]], "bids": [["111.05", "57745", "0", "2"]], "instId": "BCH-USDT-SWAP", "ts": '
                b'"1670324386802", "seqId": 363996337}]}',
                b'{"arg": {"channel": "trades", "instId": "BTC-USD"}, "data": [{"instId": "BTC-USD", "tradeId": '
                b'"130639474", "px": "42219.9", "sz": "0.12060306", "side": "buy", "ts": "1630048897897", "count": "3"}]}'):
        assert d.scan(msg) == OTHER
    assert d.scan(SNAPSHOT[:60]) == BAD_JSON


def test_checksum_worked_example() -> None:
    # OKX's checksum description: bid1:ask1:bid2:ask2 ... ; a shorter side is skipped
    v1 = checksum_string([("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")])
    assert v1 == "3366.1:7:3366.8:9:3366:6:3368:8"
    assert checksum([("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")]) == -1881014294
    v2 = checksum_string([("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")])
    assert v2 == "3366.1:7:3366.8:9:3368:8:3372:8"
    assert okx_checksum_text(v2) == 831078360
    for s in (v1, v2, "", "a" * 1000):
        expected = zlib.crc32(s.encode())
        assert okx_checksum_text(s) == (expected - (1 << 32) if expected >= 1 << 31 else expected)


def test_checksum_verified_over_raw_strings_in_c() -> None:
    """The book keeps the venue's own strings: "8477.10" is checksummed as sent, not as 8477.1."""
    d = DepthDecoder(FORMAT_OKX, 64)
    book, raw = _book(), RawLevels()
    bids = [("8476.97", "256"), ("8475.55", "101"), ("8475.54", "100"), ("8475.3", "1"), ("8447.32", "6"),
            ("8447.02", "246"), ("8446.83", "24"), ("8446", "95")]
    asks = [("8476.98", "415"), ("8477", "7"), ("8477.34", "85"), ("8477.56", "1"), ("8505.84", "8"),
            ("8506.37", "85"), ("8506.49", "2"), ("8506.96", "100")]
    snap = SNAPSHOT.replace(b'"checksum": 0', b'"checksum": %d' % checksum(bids, asks))
    d.scan(snap)
    assert d.apply_snapshot(book, raw) == APPLIED and raw.active and len(raw) == 16
    assert raw.checksum() == checksum(bids, asks) == -2102840145   # cex.md 4.3: the doc's -855196043 is illustrative
    bids2 = [("8476.97", "200"), *bids[1:]]
    asks2 = [("8477", "7"), ("8477.10", "3"), *asks[2:]]
    good = checksum(bids2, asks2)
    assert good != checksum(bids2, [("8477", "7"), ("8477.1", "3"), *asks[2:]])
    d.scan(UPDATE.replace(b'"checksum": 0', b'"checksum": %d' % good))
    assert d.apply_checked(book, RULE_PREV_SEQ, raw) == APPLIED and book.valid
    bad = UPDATE.replace(b'"checksum": 0', b'"checksum": %d' % (good + 1)).replace(b"123456", b"123457", 1)
    bad = bad.replace(b'"seqId": 123457', b'"seqId": 123458')
    d.scan(bad)
    assert d.apply_checked(book, RULE_PREV_SEQ, raw) == CHECKSUM and not book.valid


def test_legacy_message_without_seq_ids_relies_on_checksum() -> None:
    d = DepthDecoder(FORMAT_OKX, 64)
    assert d.scan(LEGACY_TBT) == DEPTH and not d.has_seq and d.checksum == 830931827
    book = L2Book(parse_px("0.1"), depth_ticks=1 << 16)
    # no book built from checksummed data: the checksum cannot be verified -> resync
    assert d.apply_checked(book, RULE_PREV_SEQ, RawLevels()) == CHECKSUM


def test_market_messages() -> None:
    t = parse_market_message({"arg": {"channel": "trades", "instId": "BTC-USD"}, "data": [
        {"instId": "BTC-USD", "tradeId": "130639474", "px": "42219.9", "sz": "0.12060306", "side": "buy",
         "ts": "1630048897897", "count": "3"}]}, 5)
    assert t == TradeEvent("BTC-USD", parse_px("42219.9"), parse_qty("0.12060306"), Side.BUY, 130639474,
                           1630048897897 * 10**6, 5)
    b = parse_market_message({"arg": {"channel": "bbo-tbt", "instId": "BTC-USDT"}, "data": [
        {"asks": [["8476.98", "415", "0", "13"]], "bids": [["8476.97", "256", "0", "12"]], "ts": "1597026383085",
         "seqId": 123456}]}, 5)
    assert isinstance(b, BboEvent) and b.bid_px_1e9 == parse_px("8476.97") and b.ask_qty_1e8 == parse_qty("415")
    assert b.update_id == 123456
    tk = parse_market_message({"arg": {"channel": "tickers", "instId": "BTC-USDT"}, "data": [
        {"instType": "SPOT", "instId": "BTC-USDT", "last": "9999.99", "lastSz": "0.1", "askPx": "9999.99",
         "askSz": "11", "bidPx": "8888.88", "bidSz": "5", "ts": "1597026383085"}]}, 5)
    assert isinstance(tk, BboEvent) and tk.bid_px_1e9 == parse_px("8888.88")
    ack = parse_market_message({"id": "1512", "event": "subscribe", "arg": {"channel": "books"}, "connId": "a"}, 0)
    assert isinstance(ack, ControlEvent) and ack.action == "ack"
    err = parse_market_message({"event": "error", "code": "60012", "msg": "Invalid request"}, 0)
    assert isinstance(err, ControlEvent) and err.action == "error" and "60012" in err.detail
    up = parse_market_message({"event": "notice", "code": "64008", "msg": "service upgrade"}, 0)
    assert isinstance(up, ControlEvent) and up.action == "reconnect"


def test_orders_channel_pushes() -> None:
    # doc-examples/okx/orders_channel_push.json (abridged to the fields read)
    live = {"arg": {"channel": "orders", "instType": "SPOT"}, "data": [{
        "accFillSz": "0", "amendResult": "", "avgPx": "", "cTime": "1634548275191", "clOrdId": "e847386590ce4dBC330547db94a08ba0",
        "execType": "", "fee": "0", "feeCcy": "USDT", "fillFee": "0", "fillFeeCcy": "", "fillPx": "", "fillSz": "0",
        "fillTime": "", "instId": "ETH-USDT", "instType": "SPOT", "ordId": "370257534141235201", "ordType": "limit",
        "px": "60000", "side": "sell", "state": "live", "sz": "0.007526", "tdMode": "cash", "tradeId": "",
        "uTime": "1634548275191"}]}
    [u] = parse_orders_push(live, 1)
    assert isinstance(u, OrderUpdate) and u.status is OrderStatus.NEW and u.side is Side.SELL
    assert u.venue_order_id == "370257534141235201" and u.qty_1e8 == parse_qty("0.007526")
    # doc-examples/okx/private_orders_fill_swap.json (abridged)
    fill = {"arg": {"channel": "orders", "instType": "SWAP"}, "data": [{
        "accFillSz": "0.03", "avgPx": "103698.9", "cTime": "1746947317401", "clOrdId": "001BTCUSDT20250106001",
        "execType": "M", "fee": "-0.021776769", "feeCcy": "USDT", "fillPx": "103698.9", "fillSz": "0.03",
        "fillTime": "1746947317402", "instId": "BTC-USDT-SWAP", "instType": "SWAP", "ordId": "2497956918703120384",
        "ordType": "market", "px": "", "side": "buy", "state": "filled", "sz": "0.03", "tdMode": "isolated",
        "tradeId": "1518905529", "uTime": "1746947317402"}]}
    f, u2 = parse_orders_push(fill, 1)
    assert isinstance(f, FillEvent) and f.maker and f.trade_id == 1518905529 and f.px_1e9 == parse_px("103698.9")
    assert f.fee == "-0.021776769" and f.fee_asset == "USDT" and f.ts_event_ns == 1746947317402 * 10**6
    assert isinstance(u2, OrderUpdate) and u2.status is OrderStatus.FILLED and u2.cum_qty_1e8 == parse_qty("0.03")


def test_rest_snapshot_and_instruments() -> None:
    body = (b'{"code":"0","msg":"","data":[{"asks":[["41006.8","0.60038921","0","1"],["41006.9","0.30178218","0","2"]],'
            b'"bids":[["41006.7","0.48792100","0","1"]],"ts":"1704067200000"}]}')
    s = parse_books_snapshot(body)
    assert s.update_id == -1 and s.bid_px.tolist() == [parse_px("41006.7")]
    assert s.ask_qty.tolist() == [parse_qty("0.60038921"), parse_qty("0.30178218")]
    inst = parse_instruments(b'{"code":"0","data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","instIdCode":10459,'
                             b'"tickSz":"0.1","lotSz":"0.01","minSz":"0.01","ctVal":"0.01","ctValCcy":"BTC",'
                             b'"settleCcy":"USDT","baseCcy":"","quoteCcy":""}]}')
    i = inst["BTC-USDT-SWAP"]
    # sizes in contracts of ctVal 0.01 BTC: the rules come back in BTC, with the contract size
    assert (i.base, i.quote, i.tick_1e9, i.lot_1e8) == ("BTC", "USDT", parse_px("0.1"), parse_qty("0.0001"))
    assert i.min_qty_1e8 == parse_qty("0.0001") and i.contract_1e8 == parse_qty("0.01")
    from seqkern.venues.base import VenueMessageError
    with pytest.raises(VenueMessageError):
        parse_books_snapshot(b'{"code":"50011","msg":"Too Many Requests","data":[]}')


def test_symbols_and_frames() -> None:
    spot, swap = OkxSpot(), OkxSwap()
    assert spot.venue_symbol("btc-usdt") == "BTC-USDT" and swap.venue_symbol("BTC-USDT") == "BTC-USDT-SWAP"
    assert spot.market_streams("BTC-USDT") == ["books:BTC-USDT", "trades:BTC-USDT"]
    assert spot.market_ws_url([]) == "wss://ws.okx.com:8443/ws/v5/public"
    import orjson
    [f] = spot.subscribe_frames(["books:BTC-USDT"], 7)
    assert orjson.loads(f) == {"id": "7", "op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]}
    un, sub = spot.resubscribe_frames(["books:BTC-USDT"], 9)
    assert orjson.loads(un)["op"] == "unsubscribe" and orjson.loads(sub)["op"] == "subscribe"
    from seqkern.errors import UnknownSymbol
    with pytest.raises(UnknownSymbol):
        spot.venue_symbol("BTCUSDT")
