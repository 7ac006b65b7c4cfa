"""Hypothesis strategies for random routing instances (books, venue arrays, parents)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from seqkern._book import L2Book

SLOTS = 20
I64_MAX = 2**63 - 1


@dataclass
class Instance:
    books: list
    side: int
    qty: int
    limit: int
    tif: int
    status: np.ndarray
    fee_bps: np.ndarray
    latency_ns: np.ndarray
    cap_notional: np.ndarray
    cap_qty: np.ndarray
    lot: np.ndarray
    min_qty: np.ndarray
    min_notional: np.ndarray
    sigma: float
    risk: float
    pin: int
    exclude_mask: int

    def args(self):
        return (self.books, self.side, self.qty, self.limit, self.tif, self.status, self.fee_bps,
                self.latency_ns, self.cap_notional, self.cap_qty, self.lot, self.min_qty,
                self.min_notional, self.sigma, self.risk, self.pin, self.exclude_mask)


def make_book(tick: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]],
              valid: bool = True) -> L2Book:
    b = L2Book(tick, 1024)
    b.apply_snapshot(np.array([p for p, _ in bids], dtype=np.int64),
                     np.array([q for _, q in bids], dtype=np.int64),
                     np.array([p for p, _ in asks], dtype=np.int64),
                     np.array([q for _, q in asks], dtype=np.int64))
    if not valid:
        b.invalidate()
    return b


@st.composite
def ladders(draw, tick: int, mid_tick: int, max_levels: int, size_unit: int):
    """Distinct tick offsets from the mid for each side; sizes in multiples of size_unit."""
    n_b = draw(st.integers(1, max_levels)) if draw(st.integers(0, 9)) else 0
    n_a = draw(st.integers(1, max_levels)) if draw(st.integers(0, 9)) else 0
    b_off = draw(st.lists(st.integers(0, 40), min_size=n_b, max_size=n_b, unique=True))
    a_off = draw(st.lists(st.integers(1, 41), min_size=n_a, max_size=n_a, unique=True))
    sizes = st.integers(1, 60).map(lambda k: k * size_unit)
    bids = [((mid_tick - o) * tick, draw(sizes)) for o in b_off]
    asks = [((mid_tick + o) * tick, draw(sizes)) for o in a_off]
    return bids, asks


@st.composite
def instances(draw, max_venues: int = 19, max_levels: int = 12) -> Instance:
    tick = 1_000_000_000                       # 1.00
    mid_tick = draw(st.integers(50, 200))
    unit = draw(st.sampled_from([1, 7, 1000, 100_000]))
    n_v = draw(st.integers(1, max_venues)) if draw(st.integers(0, 9)) else 1
    slots = draw(st.lists(st.integers(0, SLOTS - 1), min_size=n_v, max_size=n_v, unique=True))
    books = [None] * SLOTS
    status = np.full(SLOTS, 1, dtype=np.int8)   # NOT_LISTED unless a candidate
    fee = np.zeros(SLOTS)
    lat = np.zeros(SLOTS, dtype=np.int64)
    capn = np.full(SLOTS, I64_MAX, dtype=np.int64)
    capq = np.full(SLOTS, I64_MAX, dtype=np.int64)
    lot = np.ones(SLOTS, dtype=np.int64)
    minq = np.zeros(SLOTS, dtype=np.int64)
    minn = np.zeros(SLOTS, dtype=np.int64)
    for v in slots:
        bids, asks = draw(ladders(tick, mid_tick, max_levels, unit))
        books[v] = make_book(tick, bids, asks, valid=draw(st.integers(0, 9)) > 0)
        status[v] = draw(st.sampled_from([0] * 12 + [3, 4, 5]))
        fee[v] = draw(st.sampled_from([0.0, 1.0, 2.5, 5.0, 5.5, 10.0, 25.0, -1.0, 0.1]))
        lat[v] = draw(st.sampled_from([0, 1_000, 250_000, 1_000_000, 80_000_000, 200_000_000]))
        lot[v] = unit * draw(st.sampled_from([1, 1, 2, 3, 10]))
        if draw(st.booleans()):
            capq[v] = draw(st.integers(0, 200)) * unit
        if draw(st.booleans()):
            capn[v] = draw(st.integers(0, 20_000)) * unit * tick // 100
        if draw(st.integers(0, 3)) == 0:
            minq[v] = draw(st.integers(0, 30)) * unit
        if draw(st.integers(0, 3)) == 0:
            minn[v] = draw(st.integers(0, 3000)) * unit * tick // 10**8 + 1
    side = draw(st.integers(0, 1))
    qty = draw(st.integers(1, 400) | st.integers(400, 4000)) * unit + draw(st.sampled_from([0, 0, 0, 1, unit // 2]))
    limit = 0
    if draw(st.booleans()):
        limit = (mid_tick + draw(st.integers(-10, 30)) * (1 if side == 0 else -1)) * tick
        limit = max(limit, tick)
    pin = -1
    if draw(st.integers(0, 5)) == 0:
        pin = draw(st.sampled_from(slots))
    exclude_mask = 0
    if draw(st.integers(0, 4)) == 0:
        exclude_mask = 1 << draw(st.sampled_from(slots))
    return Instance(books, side, qty, limit, draw(st.sampled_from([0, 0, 1, 2])), status, fee,
                    lat, capn, capq, lot, minq, minn,
                    draw(st.sampled_from([0.0, 0.5, 1.0, 3.0, 50.0])),
                    draw(st.sampled_from([1.0, 0.0, 2.0])), pin, exclude_mask)
