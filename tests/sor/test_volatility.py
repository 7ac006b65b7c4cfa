"""MidVolatility: the EWMA variance rate of log mid returns, in bps per sqrt(second)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from seqkern._book import BboMatrix
from seqkern._sor import MidVolatility

from seqkern.errors import RouteError

S = 1_000_000_000   # 1 s in ns


def _alternating_mids(n: int, r: float, mid0: int = 60_000 * 10**9):
    hi = round(mid0 * math.exp(r))
    return [mid0 if i % 2 == 0 else hi for i in range(n)], math.log(hi / mid0)


def test_cold_symbol_reports_the_prior():
    vol = MidVolatility(4, half_life_ns=30 * S, default_sigma_bps_sqrt_s=2.5)
    assert vol.sigma_bps_sqrt_s(3) == pytest.approx(2.5)
    vol.update(3, 60_000 * 10**9, 1 * S)          # first mid: no return yet
    assert vol.sigma_bps_sqrt_s(3) == pytest.approx(2.5)
    assert int(vol.n_updates[3]) == 0


@pytest.mark.parametrize("step_s,expect_scale", [(1, 1.0), (4, 0.5), (0.25, 2.0)])
def test_units_are_bps_per_sqrt_second(step_s, expect_scale):
    """Returns of |r| every dt seconds: sigma -> |r| / sqrt(dt) (in bps per sqrt(second))."""
    vol = MidVolatility(1, half_life_ns=10 * S, default_sigma_bps_sqrt_s=0.0)
    mids, r = _alternating_mids(4001, 1e-4)
    step = int(step_s * S)
    for i, m in enumerate(mids):
        vol.update(0, m, (i + 1) * step)
    assert vol.sigma_bps_sqrt_s(0) == pytest.approx(abs(r) * 1e4 * expect_scale, rel=1e-6)


def test_batch_update_equals_one_by_one():
    rng = np.random.default_rng(7)
    n = 2000
    sym = rng.integers(0, 3, n).astype(np.int64)
    mid = (60_000 * 10**9 + rng.integers(-10**11, 10**11, n)).astype(np.int64)
    ts = np.cumsum(rng.integers(1, 10**8, n)).astype(np.int64)
    a = MidVolatility(3)
    b = MidVolatility(3)
    a.update_many(sym, mid, ts)
    for s, m, t in zip(sym.tolist(), mid.tolist(), ts.tolist(), strict=True):
        b.update(s, m, t)
    assert np.array_equal(a.rate, b.rate)
    assert [a.sigma_bps_sqrt_s(s) for s in range(3)] == [b.sigma_bps_sqrt_s(s) for s in range(3)]


def test_out_of_order_and_bad_mids_are_ignored():
    vol = MidVolatility(1, default_sigma_bps_sqrt_s=1.0)
    vol.update(0, 100 * 10**9, 10 * S)
    vol.update(0, 101 * 10**9, 11 * S)
    before = vol.sigma_bps_sqrt_s(0)
    vol.update(0, 150 * 10**9, 11 * S)    # same timestamp
    vol.update(0, 150 * 10**9, 5 * S)     # older
    vol.update(0, 0, 12 * S)              # no mid
    assert vol.sigma_bps_sqrt_s(0) == before
    assert int(vol.n_updates[0]) == 1


def test_fed_from_the_bbo_matrix():
    """The consolidated mid (best bid and best ask across venue slots) feeds the estimator."""
    bbo = BboMatrix(2, 20)
    vol = MidVolatility(2, half_life_ns=10 * S, default_sigma_bps_sqrt_s=0.0)
    ref = MidVolatility(2, half_life_ns=10 * S, default_sigma_bps_sqrt_s=0.0)
    for i, (bid, ask) in enumerate([(100, 102), (101, 104), (99, 101), (100, 103)]):
        bbo.set(0, 1, bid * 10**9, 5, ask * 10**9, 5, i * S)
        bbo.set(0, 2, (bid - 1) * 10**9, 5, (ask - 1) * 10**9, 5, i * S)   # better ask here
        vol.update_from_matrix(bbo, (i + 1) * S)
        ref.update(0, (bid + ask - 1) * 10**9 // 2, (i + 1) * S)
    assert vol.sigma_bps_sqrt_s(0) == ref.sigma_bps_sqrt_s(0) > 0
    assert int(vol.n_updates[1]) == 0          # symbol 1 has no quotes


def test_bad_arguments_raise_typed_errors():
    with pytest.raises(RouteError):
        MidVolatility(0)
    with pytest.raises(RouteError):
        MidVolatility(1, half_life_ns=0)
    vol = MidVolatility(2)
    with pytest.raises(RouteError):
        vol.update(2, 1, 1)
    with pytest.raises(RouteError):
        vol.sigma_bps_sqrt_s(-1)
    with pytest.raises(RouteError):
        vol.update_many(np.array([5], dtype=np.int64), np.array([1], dtype=np.int64),
                        np.array([1], dtype=np.int64))
