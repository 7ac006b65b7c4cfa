"""The compiled L2 book against a plain-Python reference model, plus its edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from seqkern._book import ASK, BID, L2Book

from seqkern.errors import BookError

from .book_model import BookModel

TICK = 10_000_000  # 0.01 in px_1e9


def arr(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def assert_same(book: L2Book, model: BookModel) -> None:
    for side in (BID, ASK):
        px, qty = book.levels(side)
        assert list(zip(px.tolist(), qty.tolist(), strict=True)) == model.levels(side)
    assert book.bid_count == len(model.sides[BID].levels)
    assert book.ask_count == len(model.sides[ASK].levels)
    assert book.evicted == model.evicted
    assert book.dropped == model.dropped
    bids, asks = model.levels(BID), model.levels(ASK)
    assert book.best_bid() == (bids[0] if bids else None)
    assert book.best_ask() == (asks[0] if asks else None)
    assert book.crossed == bool(bids and asks and bids[0][0] >= asks[0][0])


# A level change: (side, tick offset from a moving centre, qty). qty 0 deletes.
level = st.tuples(
    st.sampled_from([BID, ASK]),
    st.integers(min_value=-300, max_value=300),
    st.one_of(st.just(0), st.integers(min_value=1, max_value=10**12)),
)
batch = st.tuples(st.integers(min_value=-200, max_value=200), st.lists(level, max_size=40))


@given(
    cap=st.sampled_from([64, 128, 256]),
    snapshot=st.lists(level, max_size=60),
    batches=st.lists(batch, max_size=25),
)
def test_book_matches_reference(cap: int, snapshot: list, batches: list) -> None:
    centre = 6_000_000  # ticks: 60,000.00 at tick 0.01
    book = L2Book(TICK, cap)
    model = BookModel(TICK, cap)
    snap = [(s, (centre + off) * TICK, q) for s, off, q in snapshot]
    bids = [(p, q) for s, p, q in snap if s == BID]
    asks = [(p, q) for s, p, q in snap if s == ASK]
    book.apply_snapshot(
        arr([p for p, _ in bids]), arr([q for _, q in bids]),
        arr([p for p, _ in asks]), arr([q for _, q in asks]), update_id=1,
    )
    for p, q in bids:
        model.set(BID, p, q)
    for p, q in asks:
        model.set(ASK, p, q)
    assert book.valid and book.last_update_id == 1
    assert_same(book, model)
    for uid, (drift, changes) in enumerate(batches, start=2):
        centre += drift
        sides = np.asarray([s for s, _, _ in changes], dtype=np.int8)
        pxs = arr([(centre + off) * TICK for _, off, _ in changes])
        qtys = arr([q for _, _, q in changes])
        book.apply_deltas(sides, pxs, qtys, update_id=uid)
        for s, p, q in zip(sides.tolist(), pxs.tolist(), qtys.tolist(), strict=True):
            model.set(s, p, q)
        assert book.last_update_id == uid
        assert_same(book, model)
        for side in (BID, ASK):
            want = 10**12 + 5
            filled, notional, worst = model.fill(side, want)
            got = book.fill_cost(side, want)
            assert got[0] == filled and got[1] == notional and got[3] == worst
            if filled:
                expect_avg = -((-notional) // filled) if side == ASK else notional // filled
                assert got[2] == expect_avg
            limit = (centre + drift) * TICK
            assert book.depth_qty(side, limit) == model.depth(side, limit)


@given(st.lists(st.tuples(st.sampled_from([BID, ASK]), st.integers(-5000, 5000),
                          st.integers(0, 1000)), max_size=300))
def test_apply_update_equals_per_level_sets(changes: list) -> None:
    """apply_update (bids array, asks array) is the same as applying each level in that order."""
    a, b = L2Book(TICK, 1024), L2Book(TICK, 1024)
    centre = 6_000_000
    bids = [((centre + o) * TICK, q) for s, o, q in changes if s == BID]
    asks = [((centre + o) * TICK, q) for s, o, q in changes if s == ASK]
    a.apply_update(arr([p for p, _ in bids]), arr([q for _, q in bids]),
                   arr([p for p, _ in asks]), arr([q for _, q in asks]))
    for p, q in bids:
        b.set(BID, p, q)
    for p, q in asks:
        b.set(ASK, p, q)
    for side in (BID, ASK):
        assert [x.tolist() for x in a.levels(side)] == [x.tolist() for x in b.levels(side)]


def test_delete_absent_level_is_harmless() -> None:
    book = L2Book(TICK, 64)
    book.set(BID, 100 * TICK, 0)
    book.set(ASK, 5 * TICK, 0)
    assert book.best_bid() is None and book.best_ask() is None
    book.set(BID, 100 * TICK, 7)
    book.set(BID, 99 * TICK, 0)
    book.set(BID, 10_000 * TICK, 0)  # far outside the ring
    assert book.best_bid() == (100 * TICK, 7)
    assert book.bid_count == 1


def test_best_recovers_after_deleting_the_top_across_ring_wrap() -> None:
    book = L2Book(TICK, 64)
    ticks = [1000, 1063, 1040, 1001]  # spans exactly 64 slots: wraps the ring
    for t in ticks:
        book.set(BID, t * TICK, t)
    assert book.best_bid() == (1063 * TICK, 1063)
    book.set(BID, 1063 * TICK, 0)
    assert book.best_bid() == (1040 * TICK, 1040)
    book.set(BID, 1040 * TICK, 0)
    assert book.best_bid() == (1001 * TICK, 1001)
    book.set(BID, 1001 * TICK, 0)
    assert book.best_bid() == (1000 * TICK, 1000)


def test_capacity_rule_drop_and_evict() -> None:
    """Levels more than depth_ticks - 1 behind the best are refused, or evicted as the best moves."""
    book = L2Book(TICK, 64)
    assert book.depth_ticks == 64
    book.set(ASK, 1000 * TICK, 1)
    book.set(ASK, 1063 * TICK, 2)      # 63 ticks behind the best ask: kept
    assert book.ask_count == 2
    book.set(ASK, 1064 * TICK, 3)      # 64 behind: refused
    assert book.dropped == 1 and book.ask_count == 2
    book.set(ASK, 990 * TICK, 4)       # new best 10 ticks better: 1063 is now 73 behind -> evicted
    assert book.evicted == 1
    assert book.levels(ASK)[0].tolist() == [990 * TICK, 1000 * TICK]


def test_depth_ticks_rounds_up_to_power_of_two() -> None:
    assert L2Book(TICK, 1000).depth_ticks == 1024
    assert L2Book(TICK, 1).depth_ticks == 64


def test_bad_levels_raise_and_invalidate() -> None:
    book = L2Book(TICK, 256)
    book.apply_snapshot(arr([100 * TICK]), arr([1]), arr([101 * TICK]), arr([1]), update_id=5)
    assert book.valid
    with pytest.raises(BookError, match="tick"):
        book.apply_update(arr([100 * TICK + 1]), arr([1]), arr([]), arr([]))
    assert not book.valid
    book.apply_snapshot(arr([100 * TICK]), arr([1]), arr([101 * TICK]), arr([1]))
    with pytest.raises(BookError, match="negative"):
        book.apply_deltas(np.asarray([0], np.int8), arr([100 * TICK]), arr([-1]))
    assert not book.valid
    with pytest.raises(BookError, match="positive"):
        book.set(BID, 0, 1)
    with pytest.raises(BookError, match="length"):
        book.apply_update(arr([1]), arr([]), arr([]), arr([]))
    with pytest.raises(BookError):
        L2Book(0)
    with pytest.raises(ValueError):
        book.apply_update(np.zeros(3, dtype=np.float64), arr([1, 2, 3]), arr([]), arr([]))


def test_export_top_is_zero_copy_and_bounded() -> None:
    book = L2Book(TICK, 4096, top_cap=20)
    bids = arr([(60_000_00 - i) * TICK for i in range(50)])
    asks = arr([(60_000_01 + i) * TICK for i in range(3)])
    book.apply_snapshot(bids, arr(list(range(1, 51))), asks, arr([9, 8, 7]))
    view = book.top_levels
    assert book.export_top(100) == (20, 3)
    assert view[0, :20].tolist() == bids[:20].tolist()
    assert view[1, :20].tolist() == list(range(1, 21))
    assert view[2, :3].tolist() == asks.tolist()
    assert view[3, :3].tolist() == [9, 8, 7]
    assert book.top_levels is view


def test_crossed_detection_and_clear() -> None:
    book = L2Book(TICK, 256)
    book.set(BID, 101 * TICK, 1)
    book.set(ASK, 100 * TICK, 1)
    assert book.crossed
    book.clear()
    assert not book.valid and book.best_bid() is None and not book.crossed


def test_fill_cost_large_notional_is_exact() -> None:
    book = L2Book(1, 64)
    big_px, big_qty = 9_000_000_000_000_000_000, 9_000_000_000_000_000_000
    book.set(ASK, big_px, big_qty)
    filled, notional, avg, worst = book.fill_cost(ASK, big_qty)
    assert filled == big_qty and notional == big_px * big_qty and avg == big_px == worst
