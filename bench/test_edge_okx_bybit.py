"""Edge hot path for OKX and Bybit: raw depth-message bytes to the book, beside the plain Python path.

Subject: seqkern._wire (simdjson on-demand, parse_decimal, L2Book.set_level in C, the venue's
sequence rule in C: OKX prevSeqId == last seqId, Bybit u == last + 1), one Python call pair per
message. Peer: what a Python developer would write: orjson.loads, float prices, the `order-book`
C library, and the same sequence check. Messages are formatted as the venues send them (OKX
``books`` update with 4-element levels, string ts, checksum 0, seqId chain; Bybit
``orderbook.50`` delta), 15 levels each, from the shared seeded workload. The OKX legacy mode
(CRC32 over the top 25 levels of the venue's own strings, verified in C) is measured on its own.
"""

from __future__ import annotations

import dataclasses
import zlib

import orjson
import pytest
from order_book import OrderBook
from seqkern._book import L2Book
from seqkern._fixed import format_px, format_qty
from seqkern._wire import (
    APPLIED,
    FORMAT_BYBIT,
    FORMAT_OKX,
    RULE_FIRST_LAST,
    RULE_PREV_SEQ,
    DepthDecoder,
    RawLevels,
)

from .workload import TICK_1E9, l2_stream

LEVELS_PER_MSG = 15
N_MSGS = 20_000
FIRST_ID = 1_000_000
N_LEGACY = 2_000


class Messages:
    def __init__(self, okx: list[bytes], bybit: list[bytes], okx_snapshot: bytes, bybit_snapshot: bytes,
                 okx_legacy: list[bytes], okx_legacy_snapshot: bytes, stream) -> None:
        self.okx = okx
        self.bybit = bybit
        self.okx_snapshot = okx_snapshot
        self.bybit_snapshot = bybit_snapshot
        self.okx_legacy = okx_legacy
        self.okx_legacy_snapshot = okx_legacy_snapshot
        self.stream = stream


def _okx_levels(px, qty) -> list[list[str]]:
    return [[format_px(int(p), 2), format_qty(int(q), 8), "0", "1" if q else "0"] for p, q in zip(px, qty, strict=True)]


def _bybit_levels(px, qty) -> list[list[str]]:
    return [[format_px(int(p), 2), format_qty(int(q), 8)] for p, q in zip(px, qty, strict=True)]


def _okx_checksum(bids: dict[str, str], asks: dict[str, str]) -> int:
    b = sorted(bids.items(), key=lambda kv: -float(kv[0]))[:25]
    a = sorted(asks.items(), key=lambda kv: float(kv[0]))[:25]
    parts: list[str] = []
    for i in range(25):
        if i < len(b):
            parts.extend(b[i])
        if i < len(a):
            parts.extend(a[i])
    c = zlib.crc32(":".join(parts).encode())
    return c - (1 << 32) if c >= 1 << 31 else c


@pytest.fixture(scope="module")
def messages() -> Messages:
    s = l2_stream(N_MSGS * LEVELS_PER_MSG)
    okx, bybit = [], []
    ts = 1_700_000_000_000
    for m in range(N_MSGS):
        i = m * LEVELS_PER_MSG
        side, px, qty = s.side[i:i + LEVELS_PER_MSG], s.px[i:i + LEVELS_PER_MSG], s.qty[i:i + LEVELS_PER_MSG]
        bp = [p for sd, p in zip(side, px, strict=True) if sd == 0]
        bq = [q for sd, q in zip(side, qty, strict=True) if sd == 0]
        ap = [p for sd, p in zip(side, px, strict=True) if sd == 1]
        aq = [q for sd, q in zip(side, qty, strict=True) if sd == 1]
        okx.append(orjson.dumps({"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update", "data": [
            {"asks": _okx_levels(ap, aq), "bids": _okx_levels(bp, bq), "ts": str(ts + m), "checksum": 0,
             "prevSeqId": FIRST_ID + 7 * m, "seqId": FIRST_ID + 7 * (m + 1)}]}))
        bybit.append(orjson.dumps({"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": ts + m, "data": {
            "s": "BTCUSDT", "b": _bybit_levels(bp, bq), "a": _bybit_levels(ap, aq), "u": FIRST_ID + m + 1,
            "seq": 9 * (FIRST_ID + m)}, "cts": ts + m - 1}))
    okx_snap = {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "snapshot", "data": [
        {"asks": _okx_levels(s.snap_ask_px, s.snap_ask_qty), "bids": _okx_levels(s.snap_bid_px, s.snap_bid_qty),
         "ts": str(ts), "checksum": 0, "prevSeqId": -1, "seqId": FIRST_ID}]}
    bybit_snap = {"topic": "orderbook.50.BTCUSDT", "type": "snapshot", "ts": ts, "data": {
        "s": "BTCUSDT", "b": _bybit_levels(s.snap_bid_px, s.snap_bid_qty),
        "a": _bybit_levels(s.snap_ask_px, s.snap_ask_qty), "u": FIRST_ID, "seq": 1}, "cts": ts}
    # legacy OKX: the same updates with the checksum each one leaves (computed here in Python)
    bids = {r[0]: r[1] for r in okx_snap["data"][0]["bids"]}
    asks = {r[0]: r[1] for r in okx_snap["data"][0]["asks"]}
    okx_snap["data"][0]["checksum"] = _okx_checksum(bids, asks)
    legacy_snap = orjson.dumps(okx_snap)
    okx_snap["data"][0]["checksum"] = 0
    legacy = []
    for raw in okx[:N_LEGACY]:
        d = orjson.loads(raw)
        for side_book, rows in ((bids, d["data"][0]["bids"]), (asks, d["data"][0]["asks"])):
            for p, q, _, _ in rows:
                if q == "0.00000000" or float(q) == 0:
                    side_book.pop(p, None)
                else:
                    side_book[p] = q
        d["data"][0]["checksum"] = _okx_checksum(bids, asks)
        legacy.append(orjson.dumps(d))
    return Messages(okx, bybit, orjson.dumps(okx_snap), orjson.dumps(bybit_snap), legacy, legacy_snap, s)


def _book(dec: DepthDecoder, snapshot: bytes, raw: RawLevels | None = None) -> L2Book:
    book = L2Book(TICK_1E9, 4096)
    dec.scan(snapshot)
    if dec.apply_snapshot(book, raw) != APPLIED:
        raise AssertionError("snapshot rejected")
    return book


def _run_seqkern(benchmark, msgs: list[bytes], fmt: int, rule: int, snapshot: bytes) -> None:
    benchmark.extra_info["ops"] = len(msgs)
    dec = DepthDecoder(fmt, 20000)

    def setup():
        return (_book(dec, snapshot),), {}

    def run(book):
        scan = dec.scan
        apply = dec.apply_checked
        for raw in msgs:
            scan(raw)
            if apply(book, rule) != APPLIED:
                raise AssertionError("sequence broken")

    benchmark.pedantic(run, setup=setup, rounds=7, warmup_rounds=1)


def _plain_book(s) -> OrderBook:
    ob = OrderBook()
    for p, q in zip(s.snap_bid_px.tolist(), s.snap_bid_qty.tolist(), strict=True):
        ob.bids[p / 1e9] = q / 1e8
    for p, q in zip(s.snap_ask_px.tolist(), s.snap_ask_qty.tolist(), strict=True):
        ob.asks[p / 1e9] = q / 1e8
    return ob


def _apply_side(side, rows) -> None:
    for row in rows:
        qty = float(row[1])
        if qty:
            side[float(row[0])] = qty
        else:
            try:  # noqa: SIM105 - the fastest idiom; the peer deserves its best code
                del side[float(row[0])]
            except KeyError:
                pass


def test_edge_okx_depth_bytes_to_book_seqkern(benchmark, messages):
    _run_seqkern(benchmark, messages.okx, FORMAT_OKX, RULE_PREV_SEQ, messages.okx_snapshot)


def test_edge_okx_depth_bytes_to_book_plain(benchmark, messages):
    benchmark.extra_info["ops"] = N_MSGS

    def setup():
        return (_plain_book(messages.stream),), {}

    def run(ob):
        loads = orjson.loads
        bids, asks = ob.bids, ob.asks
        last = FIRST_ID
        for raw in messages.okx:
            d = loads(raw)["data"][0]
            if d["prevSeqId"] != last:
                raise AssertionError("sequence broken")
            _apply_side(bids, d["bids"])
            _apply_side(asks, d["asks"])
            last = d["seqId"]

    benchmark.pedantic(run, setup=setup, rounds=5, warmup_rounds=1)


def test_edge_bybit_depth_bytes_to_book_seqkern(benchmark, messages):
    _run_seqkern(benchmark, messages.bybit, FORMAT_BYBIT, RULE_FIRST_LAST, messages.bybit_snapshot)


def test_edge_bybit_depth_bytes_to_book_plain(benchmark, messages):
    benchmark.extra_info["ops"] = N_MSGS

    def setup():
        return (_plain_book(messages.stream),), {}

    def run(ob):
        loads = orjson.loads
        bids, asks = ob.bids, ob.asks
        last = FIRST_ID
        for raw in messages.bybit:
            msg = loads(raw)
            d = msg["data"]
            u = d["u"]
            if u <= last:
                continue
            if u != last + 1:
                raise AssertionError("sequence broken")
            _apply_side(bids, d["b"])
            _apply_side(asks, d["a"])
            last = u

    benchmark.pedantic(run, setup=setup, rounds=5, warmup_rounds=1)


def test_edge_okx_legacy_checksum_seqkern(benchmark, messages):
    """Legacy OKX mode: apply + CRC32 over the top 25 levels of the venue's strings, all in C."""
    benchmark.extra_info["ops"] = N_LEGACY
    dec = DepthDecoder(FORMAT_OKX, 20000)

    def setup():
        raw = RawLevels()
        return (_book(dec, messages.okx_legacy_snapshot, raw), raw), {}

    def run(book, raw):
        scan = dec.scan
        apply = dec.apply_checked
        for m in messages.okx_legacy:
            scan(m)
            if apply(book, RULE_PREV_SEQ, raw) != APPLIED:
                raise AssertionError("checksum or sequence broken")

    benchmark.pedantic(run, setup=setup, rounds=5, warmup_rounds=1)


def test_edge_okx_bybit_messages_are_valid(messages):
    """The workloads are what the venues send and every message applies under the venue's rule."""
    for msgs, fmt, rule, snap in ((messages.okx, FORMAT_OKX, RULE_PREV_SEQ, messages.okx_snapshot),
                                  (messages.bybit, FORMAT_BYBIT, RULE_FIRST_LAST, messages.bybit_snapshot)):
        dec = DepthDecoder(fmt, 20000)
        book = _book(dec, snap)
        for raw in msgs[:2000]:
            dec.scan(raw)
            assert dec.n_levels == LEVELS_PER_MSG
            assert dec.apply_checked(book, rule) == APPLIED
        assert not book.crossed
    dec = DepthDecoder(FORMAT_OKX, 20000)
    raw_levels = RawLevels()
    book = _book(dec, messages.okx_legacy_snapshot, raw_levels)
    assert raw_levels.active
    for m in messages.okx_legacy[:500]:
        dec.scan(m)
        assert dec.checksum != 0 and dec.apply_checked(book, RULE_PREV_SEQ, raw_levels) == APPLIED


# ---- the whole edge handler, and real loopback websocket frames with latency ------------------------

WS_MSGS = 20_000


def _live_runner(messages: Messages, venue_name: str, sink):
    from seqkern.edge.runner import EdgeRunner, _Shard
    from seqkern.venues.base import VenueEndpoints
    from seqkern.venues.book_sync import SyncState
    from seqkern.venues.bybit import BybitSpot
    from seqkern.venues.okx import OkxSpot
    from seqkern.venues.pairspec import pairspec_table

    ep = VenueEndpoints("ws://127.0.0.1:1", "ws://127.0.0.1:1", "http://127.0.0.1:1")
    venue = OkxSpot(ep) if venue_name == "okx" else BybitSpot(ep)
    runner = EdgeRunner(venue, ["BTC-USDT"], sink, depth_ticks=4096)
    # the catalog's pair spec with the workload's tick (0.01)
    spec = dataclasses.replace(pairspec_table()[("BTC-USDT", venue.venue_id, "spot")], tick_1e9=TICK_1E9)
    runner.add_symbol("BTC-USDT", spec)
    vs = venue.venue_symbol("BTC-USDT")
    slot = runner._slots[vs]
    shard = _Shard(0, [], DepthDecoder(venue.depth_format, 20000))
    shard.add_slot(slot)
    snap = messages.okx_snapshot if venue_name == "okx" else messages.bybit_snapshot
    runner._on_market(shard, snap, 0)          # the in-stream snapshot: book live
    assert slot.sync.state is SyncState.LIVE
    return runner, shard


@pytest.mark.parametrize("venue_name", ["okx", "bybit"])
def test_edge_okx_bybit_depth_handler_seqkern(benchmark, messages, venue_name):
    """The runner's websocket handler per message: decode, sequence rule, book, delta + BBO publish."""
    from .test_edge import _CountingSink

    msgs = messages.okx if venue_name == "okx" else messages.bybit
    benchmark.extra_info["ops"] = len(msgs)

    def setup():
        return _live_runner(messages, venue_name, _CountingSink()), {}

    def run(runner, shard):
        handle = runner._on_market
        for raw in msgs:
            handle(shard, raw, 0)
        assert runner.sink.n >= len(msgs) and runner.counters.resyncs == 0

    benchmark.pedantic(run, setup=setup, rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("venue_name", ["okx", "bybit"])
def test_edge_okx_bybit_ws_loopback_edge(benchmark, messages, venue_name):
    """Depth frames over a real loopback websocket through the whole edge handler: msgs/s, p50/p99."""
    import numpy as np
    import uvloop

    from .test_edge import _burst, _LatencySink

    frames = (messages.okx if venue_name == "okx" else messages.bybit)[:WS_MSGS]
    benchmark.extra_info["ops"] = WS_MSGS
    sinks: list = []

    def setup():
        sink = _LatencySink(WS_MSGS)
        sinks.append(sink)
        return _live_runner(messages, venue_name, sink), {}

    def run(runner, shard):
        uvloop.run(_burst(frames, lambda m, ts: runner._on_market(shard, m, ts)))
        assert runner.sink.n >= WS_MSGS

    benchmark.pedantic(run, setup=setup, rounds=5, warmup_rounds=1)
    lat = np.concatenate([s.lat[:s.k] for s in (sinks[1:] or sinks)])   # warmup excluded when timed
    benchmark.extra_info["p50_ns"] = float(np.percentile(lat, 50))
    benchmark.extra_info["p99_ns"] = float(np.percentile(lat, 99))
    if benchmark.stats is not None:       # None when the suite runs benchmarks untimed
        benchmark.extra_info["msgs_per_s"] = WS_MSGS / benchmark.stats.stats.median
