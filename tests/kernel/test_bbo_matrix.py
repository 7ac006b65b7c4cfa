"""BboMatrix: O(1) updates from books, consolidated NBBO with staleness, zero-copy views."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from seqkern._book import ASK, BID, BboMatrix, L2Book

TICK = 10_000_000


def test_update_from_book_and_views() -> None:
    m = BboMatrix(4, 20)
    book = L2Book(TICK, 256)
    book.apply_snapshot(np.array([100 * TICK], np.int64), np.array([5], np.int64),
                        np.array([101 * TICK], np.int64), np.array([7], np.int64))
    view = m.bid_px
    m.update_from_book(2, 3, book, 1_000)
    assert view[2, 3] == 100 * TICK  # the attribute is a live view
    assert (m.bid_qty[2, 3], m.ask_px[2, 3], m.ask_qty[2, 3], m.ts_ns[2, 3]) == (5, 101 * TICK, 7, 1_000)
    book.invalidate()
    m.update_from_book(2, 3, book, 2_000)
    assert m.bid_px[2, 3] == 0 and m.ts_ns[2, 3] == 2_000


def test_nbbo_staleness_and_ties() -> None:
    m = BboMatrix(2, 20)
    m.set(0, 3, 100, 1, 105, 1, 1_000)   # binance
    m.set(0, 8, 101, 2, 104, 3, 500)     # okx, older
    m.set(0, 9, 101, 5, 104, 3, 2_000)   # bybit: same prices, bigger bid size
    assert m.nbbo(0) == (101, 5, 9, 104, 3, 8)
    # with a staleness cutoff of 1,000 ns at now=2,000, okx (ts 500) is ignored
    assert m.nbbo(0, 2_000, 1_000) == (101, 5, 9, 104, 3, 9)
    assert m.nbbo(1) == (0, 0, -1, 0, 0, -1)
    with pytest.raises(IndexError):
        m.nbbo(2)
    with pytest.raises(IndexError):
        m.set(0, 20, 1, 1, 1, 1, 1)


@given(st.lists(st.tuples(st.integers(0, 19), st.integers(0, 1000), st.integers(0, 50),
                          st.integers(0, 1000), st.integers(0, 50), st.integers(0, 100)),
                max_size=40),
       st.integers(0, 100), st.integers(0, 60))
def test_nbbo_matches_reference(cells: list, now: int, max_age: int) -> None:
    m = BboMatrix(1, 20)
    state: dict[int, tuple[int, int, int, int, int]] = {}
    for v, bp, bq, ap, aq, ts in cells:
        m.set(0, v, bp, bq, ap, aq, ts)
        state[v] = (bp, bq, ap, aq, ts)
    cutoff = now - max_age if now > 0 and max_age > 0 else None
    live = {v: s for v, s in state.items() if cutoff is None or s[4] >= cutoff}
    bids = [(s[0], s[1], -v) for v, s in live.items() if s[0] > 0 and s[1] > 0]
    asks = [(-s[2], s[3], -v) for v, s in live.items() if s[2] > 0 and s[3] > 0]
    bb, ba = max(bids, default=None), max(asks, default=None)
    want = ((bb[0], bb[1], -bb[2]) if bb else (0, 0, -1)) + (
        (-ba[0], ba[1], -ba[2]) if ba else (0, 0, -1))
    assert m.nbbo(0, now, max_age) == want


def test_book_sides_constants() -> None:
    assert (BID, ASK) == (0, 1)
