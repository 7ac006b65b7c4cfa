"""SOR benchmarks: one parent across 19 venue slots x 50 levels, compiled vs the Python reference."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
from seqkern._book import L2Book
from seqkern._sor import BUY, IOC, Router
from tests.sor.reference import reference_route

from seqkern.sor import Parent, Side, VenueCandidate, route

SLOTS = 20
VENUES = range(1, 20)          # 19 venue slots
LEVELS = 50
TICK = 10_000_000              # 0.01
I64_MAX = 2**63 - 1
BTC_1 = 100_000_000


@dataclass(frozen=True)
class SorWorkload:
    books: list
    status: np.ndarray
    fee: np.ndarray
    latency: np.ndarray
    cap_notional: np.ndarray
    cap_qty: np.ndarray
    lot: np.ndarray
    min_qty: np.ndarray
    min_notional: np.ndarray
    qty: int
    depth: int
    sigma: float = 1.0

    def args(self, qty: int | None = None):
        return (self.books, BUY, self.qty if qty is None else qty, 0, IOC, self.status, self.fee,
                self.latency, self.cap_notional, self.cap_qty, self.lot, self.min_qty,
                self.min_notional, self.sigma)


@cache
def workload(seed: int = 20261124) -> SorWorkload:
    """19 books of 50 ask levels from 60,000.00-60,040.00 (0.01-2.00 apart, 0.001-2 BTC each),
    taker fees 2-10 bps, latencies 0.2-150 ms, lot 0.00001, min notional 5.00, quote caps on a
    few venues; the parent buys 10% of all the depth, so the venues' ladders interleave."""
    rng = np.random.default_rng(seed)
    books = [None] * SLOTS
    status = np.ones(SLOTS, dtype=np.int8)
    fee = np.zeros(SLOTS)
    latency = np.zeros(SLOTS, dtype=np.int64)
    cap_notional = np.full(SLOTS, I64_MAX, dtype=np.int64)
    cap_qty = np.full(SLOTS, I64_MAX, dtype=np.int64)
    lot = np.ones(SLOTS, dtype=np.int64)
    min_qty = np.zeros(SLOTS, dtype=np.int64)
    min_notional = np.zeros(SLOTS, dtype=np.int64)
    depth = 0
    for v in VENUES:
        first = 6_000_000 + int(rng.integers(0, 4_000))            # ticks: 60,000.00-60,040.00
        ticks = first + np.cumsum(rng.integers(1, 201, LEVELS))
        sizes = rng.integers(1, 2_000, LEVELS).astype(np.int64) * 100_000   # 0.001 .. 2 BTC
        b = L2Book(TICK, 16384)
        b.apply_snapshot(np.array([(first - 5) * TICK], dtype=np.int64),
                         np.array([BTC_1], dtype=np.int64), ticks * TICK, sizes)
        books[v] = b
        status[v] = 0
        fee[v] = float(rng.choice([2.0, 2.5, 4.0, 5.0, 7.5, 10.0]))
        latency[v] = int(rng.integers(200_000, 150_000_000))
        lot[v] = 1_000                                              # 0.00001 BTC
        min_notional[v] = 5 * 10**9                                 # 5.00 quote
        if v % 5 == 0:
            cap_notional[v] = 50_000 * 10**9                        # 50,000.00 quote
        depth += int(sizes.sum())
    return SorWorkload(books, status, fee, latency, cap_notional, cap_qty, lot, min_qty,
                       min_notional, qty=depth // 10, depth=depth)



def _p99(benchmark) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.data:
        data = sorted(stats.stats.data)
        benchmark.extra_info["p99_ns"] = data[int(0.99 * (len(data) - 1))] * 1e9


@pytest.mark.parametrize("which", ["seqkern", "python_reference"])
def test_sor_route_19x50(benchmark, which):
    """Route one buy (10% of the 19 x 50 depth) with the compiled router or the reference."""
    w = workload()
    args = w.args()
    if which == "seqkern":
        router = Router(64)
        fn = router.route
        rounds = 5_000
    else:
        def fn(*a):
            return reference_route(*a, max_levels=64)
        rounds = 15
    result = benchmark.pedantic(fn, args=args, rounds=rounds, iterations=1,
                                warmup_rounds=min(rounds, 50))
    filled = result[0] if which == "seqkern" else result.filled
    assert filled == w.qty
    _p99(benchmark)


def test_sor_route_table_19x50_seqkern(benchmark):
    """The CC's hot path: the venue table already in the Router (no per-call array copies)."""
    w = workload()
    router = Router(64)
    router.route(*w.args())                     # loads the venue table
    filled, _ = benchmark.pedantic(router.route_table, args=(w.books, BUY, w.qty, 0, IOC, w.sigma),
                                   rounds=5_000, iterations=1, warmup_rounds=50)
    assert filled == w.qty
    _p99(benchmark)


def test_sor_route_19x50_sweep_all_seqkern(benchmark):
    """Worst case for information: a parent larger than every level of every book."""
    w = workload()
    router = Router(64)
    filled, _ = benchmark.pedantic(router.route, args=w.args(w.depth * 2), rounds=2_000,
                                   iterations=1, warmup_rounds=50)
    assert 0 < filled <= w.depth
    _p99(benchmark)


def test_sor_quote_wrapper_19x50(benchmark):
    """For information: the friendly wrapper (candidates in, frozen RoutePlan out)."""
    w = workload()
    cands = [VenueCandidate(venue_id=v, symbol="BTC-USDT", instrument_type="spot",
                            tick_1e9=TICK, lot_1e8=int(w.lot[v]), min_qty_1e8=0,
                            min_notional_1e9=int(w.min_notional[v]), maker_fee_bps=0.0,
                            taker_fee_bps=float(w.fee[v]), book=w.books[v],
                            edge_rtt_ns=int(w.latency[v]),
                            balance=None if w.cap_notional[v] == I64_MAX else int(w.cap_notional[v]))
             for v in VENUES]
    parent = Parent("BTC-USDT", Side.BUY, w.qty)
    router = Router(64)
    plan = benchmark.pedantic(route, args=(parent, cands),
                              kwargs={"volatility": w.sigma, "router": router},
                              rounds=1_000, iterations=1, warmup_rounds=20)
    assert plan.filled_qty_1e8 == w.qty
    _p99(benchmark)
