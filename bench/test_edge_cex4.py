"""Raw depth messages of Coinbase, Kraken, Bitget and Crypto.com to a book to a CC-LINK frame,
beside the plain Python path.

Subject: seqkern._wire per venue format (simdjson on-demand straight into L2Book; the venue's
continuity rule, Kraken's depth truncation and the Kraken / Bitget CRC32 checksums all in C), one
scan + one apply call per message, then the L2_DELTA frame written by seqkern._cclink.Encoder.
Peer: what a Python developer would write with orjson (stdlib json with Decimal for Kraken's JSON
numbers, as Kraken's guide says) and the `order-book` C library, including the same continuity
check and, for Kraken and Bitget, the library's own checksum (order-book's KRAKEN / OKX formats;
Bitget's recipe is OKX's legacy one), then the same L2_DELTA frame packed with `struct`.
"""

from __future__ import annotations

import json
import struct
from decimal import Decimal

import orjson
import pytest
from order_book import OrderBook
from seqkern._book import L2Book
from seqkern._fixed import format_px, format_qty
from seqkern._wire import (
    APPLIED,
    FORMAT_BITGET,
    FORMAT_COINBASE,
    FORMAT_CRYPTOCOM,
    FORMAT_KRAKEN,
    RULE_INCREASING,
    RULE_NONE,
    RULE_PREV_FINAL,
    DepthDecoder,
    RawLevels,
)

from seqkern import _cclink as CC

from .workload import TICK_1E9, l2_stream

LEVELS_PER_MSG = 10
N_MSGS = 10_000
SNAP_LEVELS = 100
PX_DEC, QTY_DEC = 2, 8
KRAKEN_DEPTH = 100
VENUES = ["coinbase", "kraken", "bitget", "cryptocom"]
HDR = "<HBBIBBHIQqq"                 # docs/cclink.md: the 40-byte frame header
FORMATS = {"coinbase": FORMAT_COINBASE, "kraken": FORMAT_KRAKEN, "bitget": FORMAT_BITGET,
           "cryptocom": FORMAT_CRYPTOCOM}
RULES = {"coinbase": RULE_NONE, "kraken": RULE_NONE, "bitget": RULE_INCREASING, "cryptocom": RULE_PREV_FINAL}


def _levels(side, px, qty, want: int) -> list[tuple[str, str]]:
    return [(format_px(int(p), PX_DEC), format_qty(int(q), QTY_DEC))
            for sd, p, q in zip(side, px, qty, strict=True) if sd == want]


def _message(venue: str, kind: str, seq: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]],
             checksum: int | None = None) -> bytes:
    if venue == "coinbase":
        ups = [{"side": "bid", "event_time": "2026-11-24T21:00:00.000000Z", "price_level": p, "new_quantity": q}
               for p, q in bids]
        ups += [{"side": "offer", "event_time": "2026-11-24T21:00:00.000000Z", "price_level": p, "new_quantity": q}
                for p, q in asks]
        return orjson.dumps({"channel": "l2_data", "client_id": "", "timestamp": "2026-11-24T21:00:00.123456Z",
                             "sequence_num": seq, "events": [{"type": kind, "product_id": "BTC-USD",
                                                              "updates": ups}]})
    if venue == "kraken":
        lv = lambda rows: "[" + ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in rows) + "]"  # noqa: E731
        ck = "" if checksum is None else f'"checksum":{checksum},'
        return (f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"BTC/USD","bids":{lv(bids)},'
                f'"asks":{lv(asks)},{ck}"timestamp":"2026-11-24T21:00:00.123456Z"}}]}}').encode()
    if venue == "bitget":
        d: dict = {"asks": [list(a) for a in asks], "bids": [list(b) for b in bids]}
        if checksum is not None:
            d["checksum"] = checksum
        d.update({"seq": seq, "ts": "1764018000123"})
        return orjson.dumps({"action": kind, "arg": {"instType": "SPOT", "channel": "books", "instId": "BTCUSDT"},
                             "data": [d], "ts": 1764018000125})
    data: dict = {"t": 1764018000123, "tt": 1764018000120, "u": seq}
    if kind == "snapshot":
        data.update({"asks": [[p, q, "0"] for p, q in asks], "bids": [[p, q, "0"] for p, q in bids]})
        channel = "book"
    else:
        data.update({"update": {"asks": [[p, q, "0"] for p, q in asks], "bids": [[p, q, "0"] for p, q in bids]},
                     "pu": seq - 1})
        channel = "book.update"
    return orjson.dumps({"id": -1, "method": "subscribe", "code": 0, "result": {
        "instrument_name": "BTC_USDT", "subscription": "book.BTC_USDT.50", "channel": channel, "depth": 50,
        "data": [data]}})


class Feed:
    def __init__(self, venue: str) -> None:
        self.venue = venue
        s = l2_stream(N_MSGS * LEVELS_PER_MSG)
        snap_b = [(format_px(int(p), PX_DEC), format_qty(int(q), QTY_DEC))
                  for p, q in zip(s.snap_bid_px[:SNAP_LEVELS], s.snap_bid_qty[:SNAP_LEVELS], strict=True)]
        snap_a = [(format_px(int(p), PX_DEC), format_qty(int(q), QTY_DEC))
                  for p, q in zip(s.snap_ask_px[:SNAP_LEVELS], s.snap_ask_qty[:SNAP_LEVELS], strict=True)]
        self.depth = KRAKEN_DEPTH if venue == "kraken" else 0
        fmt = FORMATS[venue]
        # checksums: the venue computes them on its book; here a reference pass of the decoder stands in
        ref_dec, ref = DepthDecoder(fmt, 1000), L2Book(TICK_1E9, 1 << 16)
        updates = []
        for m in range(N_MSGS):
            i = m * LEVELS_PER_MSG
            sl = slice(i, i + LEVELS_PER_MSG)
            updates.append((_levels(s.side[sl], s.px[sl], s.qty[sl], 0), _levels(s.side[sl], s.px[sl], s.qty[sl], 1)))
        seq0 = 1000

        def ck() -> int | None:
            if venue not in ("kraken", "bitget"):
                return None
            return int(ref_dec.book_checksum(ref, PX_DEC, QTY_DEC))

        ref_dec.book_depth = self.depth
        raw = _message(venue, "snapshot", seq0, snap_b, snap_a)       # no checksum: the reference pass
        ref_dec.scan(raw)
        assert ref_dec.apply_snapshot(ref) == APPLIED
        self.snapshot = _message(venue, "snapshot", seq0, snap_b, snap_a, ck())
        self.raw = []
        for k, (b, a) in enumerate(updates):
            seq = seq0 + 1 + k
            ref_dec.scan(_message(venue, "update", seq, b, a))
            assert ref_dec.apply(ref) == APPLIED
            self.raw.append(_message(venue, "update", seq, b, a, ck()))


@pytest.fixture(scope="module", params=VENUES)
def feed(request: pytest.FixtureRequest) -> Feed:
    return Feed(request.param)


def test_edge_cex4_depth_bytes_to_book_seqkern(benchmark, feed: Feed) -> None:
    benchmark.extra_info["ops"] = N_MSGS
    benchmark.extra_info["venue"] = feed.venue
    dec = DepthDecoder(FORMATS[feed.venue], 1000)
    rule = RULES[feed.venue]
    depth = feed.depth
    enc = CC.Encoder(capacity=1 << 16, venue_slot=3)

    def setup():
        # as the sync machine does: raw strings kept for checksum venues (Bitget's checksum is
        # over them; Kraken's is computed from the book), depth and precision set at the snapshot
        book = L2Book(TICK_1E9, 1 << 16)
        raw = RawLevels() if feed.venue in ("kraken", "bitget") else None
        dec.reset_stream()
        dec.book_depth = depth
        dec.scan(feed.snapshot)
        assert dec.apply_snapshot(book, raw) == APPLIED
        dec.set_symbol_precision(-1, dec.px_decimals, dec.qty_decimals)
        return (book, raw), {}

    def run(book: L2Book, raw: RawLevels | None) -> None:
        scan = dec.scan
        apply = dec.apply_checked                   # the runner's inlined live path
        frame = enc.l2_delta
        bids, asks = dec.delta_bids, dec.delta_asks
        for msg in feed.raw:
            scan(msg)
            if apply(book, rule, raw) != APPLIED:
                raise AssertionError(f"{feed.venue}: sequence or checksum broken")
            frame(0, dec.final_id, bids[:dec.n_bids], asks[:dec.n_asks], dec.event_time_ns)
            enc.clear()                  # stands for the socket write of the frame

    benchmark.pedantic(run, setup=setup, rounds=5, warmup_rounds=1)


def test_edge_cex4_depth_bytes_to_book_plain(benchmark, feed: Feed) -> None:
    benchmark.extra_info["ops"] = N_MSGS
    benchmark.extra_info["venue"] = feed.venue
    venue = feed.venue

    def apply_rows(side, rows, conv) -> None:
        for p, q in rows:
            qty = conv(q)
            if qty:
                side[conv(p)] = qty
            else:
                try:  # noqa: SIM105 - the fastest idiom; the peer deserves its best code
                    del side[conv(p)]
                except KeyError:
                    pass

    structs: dict[int, struct.Struct] = {}
    out = bytearray()

    def write_frame(seq: int, update_id: int, bid_rows: list, ask_rows: list) -> None:
        """The L2_DELTA frame as a Python developer would pack it (levels as px_1e9 / qty_1e8 ints)."""
        nb, na = len(bid_rows), len(ask_rows)
        st = structs.get(nb + na)
        if st is None:
            st = structs[nb + na] = struct.Struct(HDR + "IHHQ" + "qq" * (nb + na))
        flat = []
        for p, q in bid_rows:
            flat += (round(float(p) * 1e9), round(float(q) * 1e8))
        for p, q in ask_rows:
            flat += (round(float(p) * 1e9), round(float(q) * 1e8))
        out[:] = st.pack(0x4B43, 1, CC.L2_DELTA, st.size - 40, 0, 3, 0, 0, seq, 0, 0, 0, nb, na, update_id, *flat)

    def setup():
        if venue == "kraken":
            ob = OrderBook(checksum_format="KRAKEN", max_depth=KRAKEN_DEPTH)
        elif venue == "bitget":
            ob = OrderBook(checksum_format="OKX")
        else:
            ob = OrderBook()
        return (ob,), {}

    def run(ob: OrderBook) -> None:
        loads = orjson.loads
        bids, asks = ob.bids, ob.asks
        mismatches = 0
        if venue == "coinbase":
            last = -1
            for raw in [feed.snapshot, *feed.raw]:
                d = loads(raw)
                if last >= 0 and d["sequence_num"] != last + 1:
                    raise AssertionError("gap")
                last = d["sequence_num"]
                for ev in d["events"]:
                    fb, fa = [], []
                    for u in ev["updates"]:
                        book = bids if u["side"] == "bid" else asks
                        row = (u["price_level"], u["new_quantity"])
                        apply_rows(book, (row,), float)
                        (fb if u["side"] == "bid" else fa).append(row)
                    write_frame(last, last, fb, fa)
        elif venue == "cryptocom":
            last = -1
            for raw in [feed.snapshot, *feed.raw]:
                r = loads(raw)["result"]
                d = r["data"][0]
                if r["channel"] == "book.update":
                    if d["pu"] != last:
                        raise AssertionError("gap")
                    last = d["u"]
                    d = d["update"]
                else:
                    last = d["u"]
                apply_rows(bids, ((b[0], b[1]) for b in d["bids"]), float)
                apply_rows(asks, ((a[0], a[1]) for a in d["asks"]), float)
                write_frame(last, last, [(b[0], b[1]) for b in d["bids"]], [(a[0], a[1]) for a in d["asks"]])
        elif venue == "kraken":
            dec_loads = json.loads
            for raw in [feed.snapshot, *feed.raw]:
                d = dec_loads(raw, parse_float=Decimal)["data"][0]
                for lv in d["bids"]:
                    apply_rows(bids, ((lv["price"], lv["qty"]),), Decimal)
                for lv in d["asks"]:
                    apply_rows(asks, ((lv["price"], lv["qty"]),), Decimal)
                if ob.checksum() != d["checksum"]:
                    mismatches += 1
                write_frame(0, 0, [(lv["price"], lv["qty"]) for lv in d["bids"]],
                            [(lv["price"], lv["qty"]) for lv in d["asks"]])
        else:
            last = -1
            for raw in [feed.snapshot, *feed.raw]:
                d = loads(raw)["data"][0]
                if d["seq"] <= last:
                    continue
                last = d["seq"]
                apply_rows(bids, d["bids"], Decimal)
                apply_rows(asks, d["asks"], Decimal)
                if ob.checksum() != d["checksum"] & 0xFFFFFFFF:
                    mismatches += 1
                write_frame(last, last, d["bids"], d["asks"])
        benchmark.extra_info["checksum_mismatches"] = mismatches

    benchmark.pedantic(run, setup=setup, rounds=3, warmup_rounds=1)
