"""The router against the venue catalog: children only where venues_for() says the symbol lists."""

from __future__ import annotations

import numpy as np
import pytest
from seqkern._book import L2Book

from seqkern.sor import Parent, Side, VenueCandidate, VenueStatus, route
from seqkern.venues import DEFAULT_PAIRSPECS, VENUE_BINANCE, venues_for

BTC = 100_000_000


def _book(spec, touch_px_1e9: int) -> L2Book:
    b = L2Book(spec.tick_1e9, 4096)
    px = touch_px_1e9 - touch_px_1e9 % spec.tick_1e9
    b.apply_snapshot(np.zeros(0, np.int64), np.zeros(0, np.int64),
                     np.array([px], dtype=np.int64), np.array([100 * BTC], dtype=np.int64))
    return b


def _candidates(symbol: str) -> list[VenueCandidate]:
    """One candidate per venue with any BTC listing: its listing of `symbol` if it has one,
    else another of its BTC listings (a book the router must not use). Binance is cheapest."""
    out = {}
    for spec in DEFAULT_PAIRSPECS:
        if not spec.symbol.startswith("BTC-"):
            continue
        if spec.venue_id in out and out[spec.venue_id].symbol == symbol:
            continue
        touch = (59_000 if spec.venue_id == VENUE_BINANCE else 60_000 + spec.venue_id) * 10**9
        out[spec.venue_id] = VenueCandidate.from_pair_spec(spec, book=_book(spec, touch))
    return list(out.values())


@pytest.mark.parametrize("symbol", ["BTC-USD", "BTC-USDT", "BTC-USDC"])
def test_children_only_on_venues_listing_the_symbol(symbol):
    expected = set(venues_for(symbol, DEFAULT_PAIRSPECS))
    cands = _candidates(symbol)
    plan = route(Parent(symbol, Side.BUY, 100 * BTC * len(expected)), cands)
    assert {c.venue_id for c in plan.children} == expected
    assert plan.filled_qty_1e8 == plan.qty_1e8
    others = {c.venue_id for c in cands} - expected
    assert {e.venue_id for e in plan.excluded} == others
    assert all(e.reason is VenueStatus.NOT_LISTED for e in plan.excluded)


def test_btc_usd_never_reaches_binance_in_the_catalog():
    plan = route(Parent("BTC-USD", Side.BUY, BTC), _candidates("BTC-USD"))
    assert VENUE_BINANCE not in {c.venue_id for c in plan.children}
    assert VENUE_BINANCE in {e.venue_id for e in plan.excluded}
