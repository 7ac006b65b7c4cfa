"""Order-book benchmarks: seqkern's compiled book beside `order-book` and sortedcontainers."""

from __future__ import annotations

import numpy as np
import pytest
from order_book import OrderBook
from seqkern._book import ASK, BID, L2Book
from sortedcontainers import SortedDict

from .workload import l2_stream

N = 1_000_000
READS = 1_000
MSG_LEVELS = 16


@pytest.fixture(scope="module")
def stream():
    return l2_stream(N)


def _fresh_book(s) -> L2Book:
    book = L2Book(10_000_000, 4096, top_cap=64)
    book.apply_snapshot(s.snap_bid_px, s.snap_bid_qty, s.snap_ask_px, s.snap_ask_qty)
    return book


def test_book_apply_stream_seqkern(benchmark, stream):
    """One compiled call applies the whole stream (the kernel's per-level cost)."""
    benchmark.extra_info["ops"] = stream.n

    def setup():
        return (_fresh_book(stream), stream.side, stream.px, stream.qty), {}

    def run(book, side, px, qty):
        book.apply_deltas(side, px, qty)
        assert not book.crossed

    benchmark.pedantic(run, setup=setup, rounds=7, warmup_rounds=1)


def test_book_apply_messages_seqkern(benchmark, stream):
    """The stream cut into 16-level messages, one Python call each (the edge's real pattern)."""
    n = (stream.n // MSG_LEVELS) * MSG_LEVELS
    msgs = [(stream.side[i:i + MSG_LEVELS], stream.px[i:i + MSG_LEVELS], stream.qty[i:i + MSG_LEVELS])
            for i in range(0, n, MSG_LEVELS)]
    benchmark.extra_info["ops"] = n

    def setup():
        return (_fresh_book(stream),), {}

    def run(book):
        apply = book.apply_deltas
        for s, p, q in msgs:
            apply(s, p, q)

    benchmark.pedantic(run, setup=setup, rounds=3, warmup_rounds=0)


def _order_book(s, **kwargs) -> OrderBook:
    ob = OrderBook(**kwargs)
    for p, q in zip(s.snap_bid_px.tolist(), s.snap_bid_qty.tolist(), strict=True):
        ob.bids[p] = q
    for p, q in zip(s.snap_ask_px.tolist(), s.snap_ask_qty.tolist(), strict=True):
        ob.asks[p] = q
    return ob


def _drive_python(bids, asks, side, px, qty):
    for s, p, q in zip(side, px, qty, strict=True):
        book_side = asks if s else bids
        if q:
            book_side[p] = q
        else:
            try:  # noqa: SIM105 - the fastest idiom; the peer deserves its best code
                del book_side[p]
            except KeyError:
                pass


def test_book_apply_stream_orderbook(benchmark, stream):
    """Peer: the `order-book` C library, driven level by level from Python."""
    side, px, qty = stream.side.tolist(), stream.px.tolist(), stream.qty.tolist()
    benchmark.extra_info["ops"] = stream.n

    def setup():
        ob = _order_book(stream)
        return (ob.bids, ob.asks, side, px, qty), {}

    benchmark.pedantic(_drive_python, setup=setup, rounds=3, warmup_rounds=0)


def test_book_apply_stream_sortedcontainers(benchmark, stream):
    """Peer: two sortedcontainers.SortedDict, driven level by level from Python."""
    side, px, qty = stream.side.tolist(), stream.px.tolist(), stream.qty.tolist()
    benchmark.extra_info["ops"] = stream.n

    def setup():
        bids = SortedDict(zip(stream.snap_bid_px.tolist(), stream.snap_bid_qty.tolist(), strict=True))
        asks = SortedDict(zip(stream.snap_ask_px.tolist(), stream.snap_ask_qty.tolist(), strict=True))
        return (bids, asks, side, px, qty), {}

    benchmark.pedantic(_drive_python, setup=setup, rounds=3, warmup_rounds=0)


def test_book_best_read_seqkern(benchmark, stream):
    book = _fresh_book(stream)
    benchmark.extra_info["ops"] = READS

    def run():
        bb, ba = book.best_bid, book.best_ask
        for _ in range(READS):
            bb()
            ba()

    benchmark.pedantic(run, rounds=200, warmup_rounds=5)


def test_book_best_read_orderbook(benchmark, stream):
    ob = _order_book(stream)
    benchmark.extra_info["ops"] = READS

    def run():
        bi, ai = ob.bids.index, ob.asks.index
        for _ in range(READS):
            bi(0)
            ai(0)

    benchmark.pedantic(run, rounds=200, warmup_rounds=5)


def test_book_top20_export_seqkern(benchmark, stream):
    book = _fresh_book(stream)
    benchmark.extra_info["ops"] = READS
    view = book.top_levels

    def run():
        export = book.export_top
        for _ in range(READS):
            export(20)

    benchmark.pedantic(run, rounds=100, warmup_rounds=5)
    assert view[0, 0] == book.best_bid_px


def test_book_top20_export_orderbook(benchmark, stream):
    """Peer: `order-book` with max_depth=20, exporting its two sides as lists."""
    ob = _order_book(stream, max_depth=20)
    benchmark.extra_info["ops"] = READS

    def run():
        bl, al = ob.bids.to_list, ob.asks.to_list
        for _ in range(READS):
            bl()
            al()

    benchmark.pedantic(run, rounds=100, warmup_rounds=5)


def test_workload_shape(stream):
    """The workload is what the issue asks for (not a benchmark; a guard on the generator)."""
    assert stream.n == N
    assert 0.25 < float(np.mean(stream.qty == 0)) < 0.35
    book = _fresh_book(stream)
    book.apply_deltas(stream.side, stream.px, stream.qty)
    assert not book.crossed and book.dropped == 0
    assert book.best_bid() is not None and book.best_ask() is not None
    assert (BID, ASK) == (0, 1)
