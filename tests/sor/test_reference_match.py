"""The compiled router against the pure-Python reference: identical outputs on random instances."""

from __future__ import annotations

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st
from seqkern._sor import Router

from .instances import instances
from .reference import reference_route


def _check(router: Router, inst) -> None:
    filled, reason = router.route(*inst.args())
    ref = reference_route(*inst.args(), max_levels=router.max_levels)
    event(f"unfilled reason {reason}")
    event(f"children {router.n_children}, passes {router.passes}")
    assert (filled, reason) == (ref.filled, ref.reason)
    assert router.child_qty_1e8.tolist() == ref.child_qty
    assert router.child_limit_px_1e9.tolist() == ref.child_px
    assert [router.child_notional_1e17(v) for v in range(20)] == ref.child_notional
    assert router.venue_status.tolist() == ref.venue_status
    assert router.fee_e8.tolist() == ref.fee_e8
    assert router.latency_e8.tolist() == ref.lat_e8
    assert router.result() == ref.totals
    assert router.ranking() == ref.ranking


@given(instances())
def test_compiled_matches_reference(inst):
    _check(Router(), inst)


@given(instances(max_venues=6, max_levels=40), st.integers(1, 12))
@settings(max_examples=100)
def test_matches_reference_with_shallow_fetch_depth(inst, max_levels):
    """A small max_levels exercises the lazy re-fetch and the DEPTH stop."""
    _check(Router(max_levels), inst)


@given(instances(max_venues=5, max_levels=40))
@settings(max_examples=100)
def test_matches_reference_on_deep_books(inst):
    """Walks past several 8-level reads, continuing each read where the last one stopped."""
    _check(Router(64), inst)


@given(st.lists(instances(max_venues=8), min_size=2, max_size=5))
@settings(max_examples=50)
def test_one_router_serves_many_parents(batch):
    """Reusing a Router leaves no state behind: each result equals a fresh Router's."""
    shared = Router()
    for inst in batch:
        shared.route(*inst.args())
        fresh = Router()
        fresh.route(*inst.args())
        assert np.array_equal(shared.child_qty_1e8, fresh.child_qty_1e8)
        assert np.array_equal(shared.venue_status, fresh.venue_status)
        assert shared.result() == fresh.result()
