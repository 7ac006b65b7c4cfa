"""The hand-worked cases of docs/sor.md, reproduced exactly through the seqkern.sor wrapper."""

from __future__ import annotations

import json

import numpy as np
import pytest
from seqkern._book import L2Book

from seqkern.errors import RouteError, SeqkernError
from seqkern.sor import (
    Parent,
    RoutePlan,
    Side,
    TimeInForce,
    UnfilledReason,
    VenueCandidate,
    VenueStatus,
    route,
)

KRAKEN, COINBASE, BINANCE, BITGET, CRYPTOCOM, OKX, BYBIT, HYPERLIQUID = 1, 2, 3, 4, 5, 8, 9, 17
TICK = 10_000_000            # 0.01
BTC = 100_000_000            # 1 BTC in qty_1e8
MS = 1_000_000               # 1 ms in ns


def px(usd: str) -> int:
    """'60010.00' -> px_1e9, exactly (the wrapper's callers parse venue strings the same way)."""
    whole, _, frac = usd.partition(".")
    return int(whole) * 10**9 + int((frac + "0" * 9)[:9])


def book(asks=(), bids=()) -> L2Book:
    b = L2Book(TICK, 1 << 20)
    b.apply_snapshot(np.array([px(p) for p, _ in bids], dtype=np.int64),
                     np.array([q for _, q in bids], dtype=np.int64),
                     np.array([px(p) for p, _ in asks], dtype=np.int64),
                     np.array([q for _, q in asks], dtype=np.int64))
    return b


def cand(venue_id, symbol="BTC-USD", *, asks=(), bids=(), fee=10.0, lot=10_000, min_qty=0,
         min_notional=0, instrument_type="spot", **state) -> VenueCandidate:
    return VenueCandidate(venue_id=venue_id, symbol=symbol, instrument_type=instrument_type,
                          tick_1e9=TICK, lot_1e8=lot, min_qty_1e8=min_qty,
                          min_notional_1e9=min_notional, maker_fee_bps=0.0, taker_fee_bps=fee,
                          book=book(asks, bids), **state)


def buy(qty, symbol="BTC-USD", **kw) -> Parent:
    return Parent(symbol=symbol, side=Side.BUY, qty_1e8=qty, **kw)


def legs(plan: RoutePlan) -> dict[int, tuple[int, int]]:
    return {c.venue_id: (c.qty_1e8, c.limit_px_1e9) for c in plan.children}


def test_fees_flip_the_choice():
    kraken = cand(KRAKEN, asks=[("60000.00", 2 * BTC)], fee=25.0)
    coinbase = cand(COINBASE, asks=[("60010.00", 2 * BTC)], fee=5.0)
    plan = route(buy(BTC), [kraken, coinbase])
    assert legs(plan) == {COINBASE: (BTC, px("60010.00"))}
    assert plan.costs.fees_1e9 == 30_005_000_000            # 60,010.00 x 5 bps = 30.005
    assert plan.costs.latency_penalty_1e9 == 0
    assert plan.avg_px_1e9 == px("60010.00")
    assert plan.all_in_px_1e9 == px("60040.005")
    assert plan.costs.fees_bps == pytest.approx(5.0)
    # the counterfactual: equal fees, and the lower price wins
    same_fee = cand(COINBASE, asks=[("60010.00", 2 * BTC)], fee=25.0)
    assert legs(route(buy(BTC), [kraken, same_fee])) == {KRAKEN: (BTC, px("60000.00"))}


def test_rtt_flips_the_choice():
    # an order at the US CC: Coinbase is local, Kraken belongs to the EU CC (peer link 80 ms)
    kraken = cand(KRAKEN, asks=[("60000.00", 2 * BTC)], edge_rtt_ns=1 * MS, peer_rtt_ns=80 * MS)
    coinbase = cand(COINBASE, asks=[("60001.00", 2 * BTC)], edge_rtt_ns=1 * MS)
    plan = route(buy(BTC), [kraken, coinbase], volatility=1.0)
    assert legs(plan) == {COINBASE: (BTC, px("60001.00"))}
    assert plan.costs.fees_1e9 == 60_001_000_000            # 10 bps of 60,001.00
    assert plan.costs.latency_penalty_1e9 == 190_203_170     # 0.0317 bps of 60,001.00
    assert plan.all_in_px_1e9 == px("60061.19120317")
    assert plan.children[0].latency_ns == 1 * MS
    # the quote endpoint's venue ranking by landed cost
    assert [(q.venue_id, q.touch_px_1e9, q.landed_px_1e9) for q in plan.ranking] == [
        (COINBASE, px("60001.00"), px("60061.19120317")),
        (KRAKEN, px("60000.00"), px("60061.7082"))]
    # without volatility the latency costs nothing and Kraken's lower price wins
    plan0 = route(buy(BTC), [kraken, coinbase], volatility=0.0)
    assert legs(plan0) == {KRAKEN: (BTC, px("60000.00"))}
    # Kraken's effective cost at sigma = 1 bps/sqrt(s): 60,000 x (1 + 10 bps + 0.2847 bps)
    only_kraken = route(buy(BTC), [kraken], volatility=1.0)
    assert only_kraken.all_in_px_1e9 == px("60061.7082")


def test_balance_caps_a_venue():
    kraken = cand(KRAKEN, asks=[("60000.00", 5 * BTC)], balance=90_000 * 10**9)
    coinbase = cand(COINBASE, asks=[("60010.00", 5 * BTC)])
    plan = route(buy(2 * BTC), [kraken, coinbase])
    # 90,000 / (60,000 x 1.001) = 1.49850149 BTC, rounded down to the 0.0001 lot
    assert legs(plan) == {KRAKEN: (149_850_000, px("60000.00")),
                          COINBASE: (50_150_000, px("60010.00"))}
    assert plan.filled_qty_1e8 == 2 * BTC
    assert plan.unfilled_reason is UnfilledReason.NONE
    # the same parent with Kraken alone stops at the cap
    alone = route(buy(2 * BTC), [kraken])
    assert alone.filled_qty_1e8 == 149_850_000
    assert alone.unfilled_reason is UnfilledReason.BALANCE


def test_lot_rounding():
    okx = cand(OKX, "BTC-USDT", asks=[("59990.00", BTC)], lot=100_000)      # 0.001 BTC
    binance = cand(BINANCE, "BTC-USDT", asks=[("60000.00", BTC)], lot=1_000)  # 0.00001 BTC
    plan = route(buy(12_345_678, symbol="BTC-USDT"), [okx, binance])
    assert legs(plan) == {OKX: (12_300_000, px("59990.00")), BINANCE: (45_000, px("60000.00"))}
    assert plan.unfilled_qty_1e8 == 678
    assert plan.unfilled_reason is UnfilledReason.LOT


def test_min_notional_drops_a_child_and_reallocates():
    coinbase = cand(COINBASE, asks=[("60000.00", 10_000_000), ("60100.00", BTC)], lot=1_000)
    kraken = cand(KRAKEN, asks=[("60050.00", BTC)], lot=1_000, min_notional=100 * 10**9)
    plan = route(buy(10_100_000), [coinbase, kraken])
    assert legs(plan) == {COINBASE: (10_100_000, px("60100.00"))}
    assert plan.excluded == (plan.excluded[0],) and plan.excluded[0].venue_id == KRAKEN
    assert plan.excluded[0].reason is VenueStatus.MIN_NOTIONAL
    assert plan.costs.notional_1e9 == 6_060_100_000_000      # 6,000.00 + 60.10
    assert plan.avg_px_1e9 == 60_000_990_099_010             # 6,060.10 / 0.101, rounded up
    # a min quantity works the same way
    kraken_q = cand(KRAKEN, asks=[("60050.00", BTC)], lot=1_000, min_qty=200_000)
    plan_q = route(buy(10_100_000), [coinbase, kraken_q])
    assert legs(plan_q) == {COINBASE: (10_100_000, px("60100.00"))}
    assert plan_q.excluded[0].reason is VenueStatus.MIN_QTY


def test_limit_price_stops_the_walk():
    coinbase = cand(COINBASE, asks=[("60000.00", 30_000_000), ("60005.00", 30_000_000),
                                    ("60010.00", BTC)])
    kraken = cand(KRAKEN, asks=[("60020.00", BTC)])
    plan = route(buy(BTC, limit_px_1e9=px("60005.00")), [coinbase, kraken])
    assert legs(plan) == {COINBASE: (60_000_000, px("60005.00"))}
    assert plan.unfilled_qty_1e8 == 40_000_000
    assert plan.unfilled_reason is UnfilledReason.LIMIT
    assert [(e.venue_id, e.reason) for e in plan.excluded] == [(KRAKEN, VenueStatus.BEYOND_LIMIT)]


def test_stale_venue_excluded():
    kraken = cand(KRAKEN, asks=[("59900.00", BTC)], stale=True)
    coinbase = cand(COINBASE, asks=[("60000.00", BTC)])
    plan = route(buy(BTC), [kraken, coinbase])
    assert legs(plan) == {COINBASE: (BTC, px("60000.00"))}
    assert [(e.venue_id, e.reason) for e in plan.excluded] == [(KRAKEN, VenueStatus.STALE)]
    down = cand(KRAKEN, asks=[("59900.00", BTC)], connected=False)
    assert route(buy(BTC), [down, coinbase]).excluded[0].reason is VenueStatus.DISCONNECTED


# The spec's symbol routing table (supported-exchanges.txt, "Symbol routing").
LISTINGS = {
    KRAKEN: ("BTC-USD",), COINBASE: ("BTC-USD",),
    BINANCE: ("BTC-USDT",),
    BITGET: ("BTC-USDT", "BTC-USDC"), CRYPTOCOM: ("BTC-USDT", "BTC-USDC"),
    OKX: ("BTC-USDT", "BTC-USDC"), BYBIT: ("BTC-USDT", "BTC-USDC"),
    HYPERLIQUID: ("BTC-USDC",),
}


def _candidates_for(symbol: str, **state):
    """One candidate per venue: its listing of `symbol` if it has one, else its BTC listing."""
    out = []
    for v, syms in LISTINGS.items():
        listed = symbol if symbol in syms else syms[0]
        cheap = "59000.00" if v == BINANCE else f"{60000 + v}.00"   # Binance is the cheapest
        out.append(cand(v, listed, asks=[(cheap, 10 * BTC)],
                        instrument_type="perp" if v == HYPERLIQUID else "spot", **state))
    return out


@pytest.mark.parametrize("symbol,venues", [
    ("BTC-USD", {KRAKEN, COINBASE}),
    ("BTC-USDT", {BINANCE, BITGET, CRYPTOCOM, OKX, BYBIT}),
    ("BTC-USDC", {BITGET, CRYPTOCOM, OKX, BYBIT, HYPERLIQUID}),   # the spec's table
])
def test_only_exact_symbol_venues(symbol, venues):
    plan = route(buy(10 * BTC * len(venues), symbol=symbol), _candidates_for(symbol))
    assert plan.filled_qty_1e8 == plan.qty_1e8
    assert set(legs(plan)) == venues
    excluded = {e.venue_id: e.reason for e in plan.excluded}
    for v in set(LISTINGS) - venues:
        assert excluded[v] is VenueStatus.NOT_LISTED


def test_btc_usd_never_reaches_binance():
    plan = route(buy(BTC), _candidates_for("BTC-USD"))
    assert BINANCE not in legs(plan)
    assert {e.venue_id: e.reason for e in plan.excluded}[BINANCE] is VenueStatus.NOT_LISTED
    # Binance credentials only: BTC-USD has nowhere to go (the spec's warning)
    only_binance = [c if c.venue_id == BINANCE else
                    VenueCandidate(**{**{f: getattr(c, f) for f in c.__slots__},
                                      "has_credentials": False})
                    for c in _candidates_for("BTC-USD")]
    plan = route(buy(BTC), only_binance)
    assert plan.children == ()
    assert plan.unfilled_reason is UnfilledReason.NO_VENUE
    reasons = {e.venue_id: e.reason for e in plan.excluded}
    assert reasons[KRAKEN] is reasons[COINBASE] is VenueStatus.NO_CREDENTIALS


def test_instrument_type_when_the_parent_names_one():
    """A parent that names spot never reaches a perp-only listing, and the other way round."""
    hl = cand(HYPERLIQUID, "BTC-USDC", asks=[("60000.00", BTC)], instrument_type="perp")
    okx = cand(OKX, "BTC-USDC", asks=[("59000.00", BTC)])
    plan = route(Parent("BTC-USDC", Side.BUY, 2 * BTC, instrument_type="spot"), [hl, okx])
    assert legs(plan) == {OKX: (BTC, px("59000.00"))}
    assert plan.excluded[0].venue_id == HYPERLIQUID
    assert plan.excluded[0].reason is VenueStatus.WRONG_INSTRUMENT


def test_perp_parent_routes_to_perp_listing():
    hl = cand(HYPERLIQUID, "BTC-USDC", asks=[("60000.00", BTC)], instrument_type="perp")
    okx = cand(OKX, "BTC-USDC", asks=[("59000.00", BTC)])
    plan = route(Parent("BTC-USDC", Side.BUY, BTC, instrument_type="perp"), [hl, okx])
    assert legs(plan) == {HYPERLIQUID: (BTC, px("60000.00"))}
    assert plan.excluded[0].reason is VenueStatus.WRONG_INSTRUMENT


def test_sell_walks_bids_and_caps_by_base_balance():
    kraken = cand(KRAKEN, bids=[("60000.00", BTC), ("59990.00", BTC)], balance=50_000_000)
    coinbase = cand(COINBASE, bids=[("59995.00", BTC)])
    plan = route(Parent("BTC-USD", Side.SELL, 2 * BTC), [kraken, coinbase])
    assert legs(plan) == {KRAKEN: (50_000_000, px("60000.00")), COINBASE: (BTC, px("59995.00"))}
    assert plan.unfilled_qty_1e8 == 50_000_000
    assert plan.unfilled_reason is UnfilledReason.BALANCE
    # proceeds: 30,000.00 + 59,995.00; average rounded down for a seller
    assert plan.costs.notional_1e9 == 89_995 * 10**9
    assert plan.avg_px_1e9 == (89_995 * 10**9 * 10**8) // (150_000_000)


def test_fill_or_kill_is_all_or_nothing():
    coinbase = cand(COINBASE, asks=[("60000.00", BTC)])
    plan = route(buy(2 * BTC, tif=TimeInForce.FOK), [coinbase])
    assert plan.children == () and plan.filled_qty_1e8 == 0
    assert plan.unfilled_reason is UnfilledReason.FOK
    assert legs(route(buy(BTC, tif=TimeInForce.FOK), [coinbase])) == {COINBASE: (BTC, px("60000.00"))}


def test_pin_and_exclusion_list():
    kraken = cand(KRAKEN, asks=[("60000.00", BTC)])
    coinbase = cand(COINBASE, asks=[("60010.00", BTC)])
    pinned = route(buy(BTC, venue=COINBASE), [kraken, coinbase])
    assert legs(pinned) == {COINBASE: (BTC, px("60010.00"))}
    assert pinned.excluded[0].reason is VenueStatus.NOT_PINNED
    excl = route(buy(BTC, exclude=frozenset({KRAKEN})), [kraken, coinbase])
    assert legs(excl) == {COINBASE: (BTC, px("60010.00"))}
    assert excl.excluded[0].reason is VenueStatus.EXCLUDED


def test_invalid_book_is_excluded():
    kraken = cand(KRAKEN, asks=[("59000.00", BTC)])
    kraken.book.invalidate()
    coinbase = cand(COINBASE, asks=[("60000.00", BTC)])
    plan = route(buy(BTC), [kraken, coinbase])
    assert legs(plan) == {COINBASE: (BTC, px("60000.00"))}
    assert plan.excluded[0].reason is VenueStatus.BOOK_INVALID


def test_plan_is_json_ready():
    plan = route(buy(BTC), [cand(COINBASE, asks=[("60000.00", BTC)])], volatility=1.5)
    doc = json.loads(json.dumps(plan.to_dict()))
    assert doc["children"][0]["qty_1e8"] == BTC
    assert doc["unfilled_reason"] == "NONE" and doc["side"] == "buy"


@pytest.mark.parametrize("parent,match", [
    (Parent("BTC-USD", Side.BUY, 0), "quantity"),
    (Parent("BTC-USD", Side.BUY, BTC, limit_px_1e9=-5), "limit"),
    (Parent("BTC-USD", "hold", BTC), "bad parent"),  # type: ignore[arg-type]
    (Parent("BTC-USD", Side.BUY, BTC, venue=20), "pinned"),
    (Parent("BTC-USD", Side.BUY, BTC, exclude=frozenset({-1})), "excluded"),
    (Parent("", Side.BUY, BTC), "symbol"),
])
def test_bad_parents_raise_typed_errors(parent, match):
    with pytest.raises(RouteError, match=match) as ei:
        route(parent, [cand(COINBASE, asks=[("60000.00", BTC)])])
    assert isinstance(ei.value, SeqkernError) and ei.value.code == "BAD_ROUTE_REQUEST"


def test_bad_candidates_raise_typed_errors():
    c = cand(COINBASE, asks=[("60000.00", BTC)])
    with pytest.raises(RouteError, match="two candidates"):
        route(buy(BTC), [c, c])
    with pytest.raises(RouteError, match="outside"):
        route(buy(BTC), [cand(25, asks=[("60000.00", BTC)])])
    with pytest.raises(RouteError, match="lot"):
        route(buy(BTC), [cand(COINBASE, asks=[("60000.00", BTC)], lot=0)])
    with pytest.raises(RouteError, match="taker fee"):
        route(buy(BTC), [cand(COINBASE, asks=[("60000.00", BTC)], fee=float("nan"))])
    with pytest.raises(RouteError, match="volatility"):
        route(buy(BTC), [c], volatility=-1.0)


def test_notional_beyond_exact_range_is_a_typed_error():
    """qty x price past 2^96 (scale 1e17) is refused rather than wrapped."""
    whale = cand(COINBASE, asks=[("9000000000.00", 2**62)], lot=1)
    with pytest.raises(RouteError, match="exact range"):
        route(buy(2**62), [whale])
    # the same book with a sane quantity routes
    assert route(buy(BTC), [whale]).filled_qty_1e8 == BTC


def test_candidate_from_a_pair_spec():
    """Any object with PairSpec's field names (the catalog's) builds a candidate."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Spec:
        venue_id: int
        symbol: str
        instrument_type: str
        tick_1e9: int
        lot_1e8: int
        min_qty_1e8: int
        min_notional_1e9: int
        maker_fee_bps: float
        taker_fee_bps: float

    spec = Spec(COINBASE, "BTC-USD", "spot", TICK, 10_000, 10_000, 1 * 10**9, 2.5, 5.0)
    c = VenueCandidate.from_pair_spec(spec, book=book(asks=[("60000.00", BTC)]),
                                      edge_rtt_ns=2 * MS, balance=10**15)
    assert (c.venue_id, c.symbol, c.taker_fee_bps, c.latency_ns) == (COINBASE, "BTC-USD", 5.0, 2 * MS)
    plan = route(buy(BTC), [c])
    assert legs(plan) == {COINBASE: (BTC, px("60000.00"))}
    assert plan.costs.fees_1e9 == 30 * 10**9
