"""The per-symbol sync machine on scripted Binance message sequences (spot U/u, USD-M pu)."""

from __future__ import annotations

import numpy as np
import orjson
from seqkern._book import L2Book
from seqkern._fixed import format_px, format_qty
from seqkern._wire import DepthDecoder

from seqkern.venues.base import BookSnapshot
from seqkern.venues.binance import BinanceSpot, BinanceUsdm
from seqkern.venues.book_sync import BookSync, Step, SyncState

TICK = 10_000_000


def msg(U: int, u: int, bid_px: int = 0, qty: int = 1, pu: int | None = None) -> bytes:
    d = {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": U, "u": u}
    if pu is not None:
        d["pu"] = pu
    d["b"] = [[format_px(bid_px), format_qty(qty)]] if bid_px else []
    d["a"] = []
    return orjson.dumps(d)


def snap(update_id: int, bid_px: int = TICK * 100, qty: int = 5) -> BookSnapshot:
    e = np.array([], np.int64)
    return BookSnapshot(update_id, np.array([bid_px], np.int64), np.array([qty], np.int64), e, e)


def feed(sync: BookSync, raw: bytes) -> Step:
    sync.decoder.scan(raw)
    return sync.on_depth(raw)


def make(venue) -> BookSync:
    return BookSync(venue, "BTCUSDT", L2Book(TICK, depth_ticks=4096), DepthDecoder(venue.depth_format))


def test_spot_buffer_snapshot_replay_live() -> None:
    s = make(BinanceSpot())
    assert feed(s, msg(101, 105, TICK * 90, 1)) is Step.BUFFERED
    assert feed(s, msg(106, 108, TICK * 91, 2)) is Step.BUFFERED
    assert feed(s, msg(109, 110, TICK * 92, 3)) is Step.BUFFERED
    assert s.on_snapshot(snap(107))        # drops 101-105; 106-108 bridges 108
    assert s.state is SyncState.LIVE
    assert s.book.last_update_id == 110
    assert s.book.best_bid() == (TICK * 100, 5)
    assert s.book.levels(0)[0].tolist() == [TICK * 100, TICK * 92, TICK * 91]   # 90 was older than the snapshot
    assert feed(s, msg(111, 112, TICK * 93, 1)) is Step.PUBLISH
    assert feed(s, msg(100, 112)) is Step.IGNORED
    assert feed(s, msg(114, 115)) is Step.RESYNC            # 113 missing
    assert s.state is SyncState.INVALID and not s.book.valid
    assert s.counters.gaps == 1
    assert feed(s, msg(116, 117)) is Step.BUFFERED          # collecting again for the next snapshot


def test_spot_snapshot_older_than_the_buffer_is_refetched() -> None:
    s = make(BinanceSpot())
    feed(s, msg(201, 205))
    assert not s.on_snapshot(snap(150))      # 151..200 were never seen
    assert s.state is SyncState.BUFFERING
    assert s.on_snapshot(snap(203))
    assert s.book.last_update_id == 205


def test_spot_snapshot_newer_than_every_buffered_event() -> None:
    s = make(BinanceSpot())
    feed(s, msg(1, 5))
    assert s.on_snapshot(snap(9))
    assert s.book.last_update_id == 9
    assert feed(s, msg(8, 12, TICK * 99)) is Step.PUBLISH    # U <= 10 <= u


def test_usdm_pu_chain() -> None:
    s = make(BinanceUsdm())
    feed(s, msg(95, 100, pu=94))
    feed(s, msg(101, 110, TICK * 90, pu=100))
    feed(s, msg(111, 120, TICK * 91, pu=110))
    assert s.on_snapshot(snap(105))           # first kept: U=101 <= 105 <= 110
    assert s.book.last_update_id == 120
    assert feed(s, msg(121, 125, pu=120)) is Step.PUBLISH
    assert feed(s, msg(127, 130, pu=126)) is Step.RESYNC
    s2 = make(BinanceUsdm())
    feed(s2, msg(101, 110, pu=100))
    feed(s2, msg(112, 120, pu=111))            # a hole inside the buffer
    assert not s2.on_snapshot(snap(105))
    assert s2.state is SyncState.BUFFERING


def test_buffer_is_bounded() -> None:
    v = BinanceSpot()
    v.max_buffered_events = 3
    s = make(v)
    for i in range(5):
        feed(s, msg(10 * i + 1, 10 * i + 10))
    assert s.buffered <= 3 and s.counters.buffer_overflows == 1
