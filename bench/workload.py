"""Seeded, realistic L2 workloads shared by the benchmarks (generated vectorised, cached per run)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

TICK_1E9 = 10_000_000          # 0.01
MID_TICK = 6_000_000           # 60,000.00
LEVELS_PER_SIDE = 1_000
BID, ASK = 0, 1


@dataclass(frozen=True)
class L2Stream:
    """A snapshot of LEVELS_PER_SIDE a side, then `n` single-level updates (absolute sizes)."""

    snap_bid_px: np.ndarray
    snap_bid_qty: np.ndarray
    snap_ask_px: np.ndarray
    snap_ask_qty: np.ndarray
    side: np.ndarray   # int8, 0 bid / 1 ask
    px: np.ndarray     # int64 px_1e9
    qty: np.ndarray    # int64 qty_1e8, 0 = delete

    @property
    def n(self) -> int:
        return int(self.px.shape[0])


@cache
def l2_stream(n: int = 1_000_000, seed: int = 20261124) -> L2Stream:
    """Updates concentrated near the touch, ~30% deletes, a drifting mid, never crossed.

    Bids live at ticks <= m and asks at ticks >= m + 1, where m is the mid tick. When m moves up
    the ask at the new m is deleted first (and the bid at the old m when it moves down), so the
    book never crosses.
    """
    rng = np.random.default_rng(seed)
    k = np.arange(LEVELS_PER_SIDE, dtype=np.int64)
    snap_bid_px = (MID_TICK - k) * TICK_1E9
    snap_ask_px = (MID_TICK + 1 + k) * TICK_1E9
    snap_bid_qty = rng.integers(1, 1_000_000, LEVELS_PER_SIDE, dtype=np.int64) * 1_000
    snap_ask_qty = rng.integers(1, 1_000_000, LEVELS_PER_SIDE, dtype=np.int64) * 1_000

    drift = rng.random(n) < 0.002
    step = np.where(drift, rng.choice(np.array([-1, 1], dtype=np.int64), n), 0)
    m = MID_TICK + np.cumsum(step)               # mid after this event
    side = rng.integers(0, 2, n).astype(np.int8)
    depth = np.minimum(rng.exponential(8.0, n).astype(np.int64), LEVELS_PER_SIDE - 1)
    tick = np.where(side == BID, m - depth, m + 1 + depth)
    qty = rng.integers(1, 1_000_000, n, dtype=np.int64) * 1_000
    qty[rng.random(n) < 0.3] = 0
    # drift events: up -> delete the ask now at or below the mid; down -> delete the old best bid
    up = drift & (step > 0)
    down = drift & (step < 0)
    side[up] = ASK
    tick[up] = m[up]
    side[down] = BID
    tick[down] = m[down] + 1
    qty[drift] = 0
    return L2Stream(snap_bid_px, snap_bid_qty, snap_ask_px, snap_ask_qty,
                    side, tick * TICK_1E9, qty)
