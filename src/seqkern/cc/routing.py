"""The CC's one call into the SOR: build the parent and the venue candidates from the CC's state
(books, PairSpecs, balances minus reservations, edge round trips), route, and turn the SOR's
RoutePlan into the legs the order engine sends (and the preview shows)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from seqkern.cc.market import MarketState
from seqkern.cc.venueinfo import VENUE_NAMES
from seqkern.errors import BadRequest, InsufficientBalance, NoRoutableVenue, RouteError
from seqkern.sor import (
    MidVolatility,
    Parent,
    Router,
    TimeInForce,
    UnfilledReason,
    VenueCandidate,
    route,
)
from seqkern.sor import RoutePlan as SorPlan


@dataclass(slots=True)
class Leg:
    venue: int
    qty_1e8: int
    limit_px_1e9: int | None      # the order's limit; None for a market leg
    expected_px_1e9: int          # average price the SOR expects for this leg (0 = resting)
    worst_px_1e9: int             # deepest level the leg walks (0 = resting)


@dataclass(slots=True)
class RoutePlan:
    symbol: str
    side: str
    qty_1e8: int
    legs: list[Leg] = field(default_factory=list)
    expected_cost_bps: float | None = None    # average vs. the NBBO mid; positive = paid
    sor: SorPlan | None = None

    def wire(self) -> dict:
        d: dict = {
            "symbol": self.symbol, "side": self.side, "qty_1e8": self.qty_1e8,
            "qty": self.qty_1e8 / 1e8, "expected_cost_bps": self.expected_cost_bps,
            "legs": [{"venue": VENUE_NAMES.get(g.venue), "qty_1e8": g.qty_1e8, "qty": g.qty_1e8 / 1e8,
                      "limit_price_1e9": g.limit_px_1e9, "expected_price_1e9": g.expected_px_1e9,
                      "expected_price": g.expected_px_1e9 / 1e9 if g.expected_px_1e9 else None,
                      "resting": g.expected_px_1e9 == 0}
                     for g in self.legs],
        }
        p = self.sor
        if p is not None:
            d["fillable_qty_1e8"] = p.filled_qty_1e8
            d["unfilled_qty_1e8"] = p.unfilled_qty_1e8
            d["unfilled_reason"] = p.unfilled_reason.value
            d["avg_price_1e9"] = p.avg_px_1e9
            d["all_in_price_1e9"] = p.all_in_px_1e9
            d["costs"] = {"notional_1e9": p.costs.notional_1e9, "fees_1e9": p.costs.fees_1e9,
                          "latency_penalty_1e9": p.costs.latency_penalty_1e9,
                          "fees_bps": p.costs.fees_bps, "latency_bps": p.costs.latency_bps,
                          "total_bps": p.costs.total_bps}
            d["ranking"] = [{"venue": VENUE_NAMES.get(q.venue_id), "touch_price_1e9": q.touch_px_1e9,
                             "landed_price_1e9": q.landed_px_1e9,
                             "landed_price": q.landed_px_1e9 / 1e9} for q in p.ranking]
            d["excluded"] = [{"venue": VENUE_NAMES.get(x.venue_id), "reason": x.reason.value}
                             for x in p.excluded]
        return d


class RoutingContext:
    """What the CC keeps for the SOR: a reusable Router and the mid volatility per symbol slot."""

    def __init__(self, market: MarketState) -> None:
        self.market = market
        self.router = Router()
        self.vol = MidVolatility(market.capacity)
        market.listeners.append(self._on_book)

    def _on_book(self, symbol: str, venue: int) -> None:
        slot = self.market.slots[symbol]
        if slot >= self.vol.n_symbols:
            return
        bbo = self.market.bbo
        bp = int(bbo.bid_px[slot, venue])
        ap = int(bbo.ask_px[slot, venue])
        if bp and ap:
            self.vol.update(slot, (bp + ap) // 2, int(bbo.ts_ns[slot, venue]))


def plan_route(ctx: RoutingContext, symbol: str, side: str, qty_1e8: int,
               limit_px_1e9: int | None, tif: str, venues: list[int], *,
               pinned: int | None = None,
               available: Callable[[int, str], int | None] = lambda v, asset: None,
               rtt_ns: Callable[[int], int] = lambda v: 0) -> RoutePlan:
    """Route one order node. ``available(venue, asset)`` is balance minus reservations (x 1e8),
    None = no cap (sandbox before seeding). A GTC limit's unfilled remainder rests on the venue
    with the best landed touch (or the pinned / only venue)."""
    market = ctx.market
    if not venues:
        raise NoRoutableVenue(f"no venue to route {symbol} to")
    slot = market.slot(symbol)
    cands = []
    for v in venues:
        sp = market.spec(symbol, v)
        asset = sp.quote if side == "buy" else sp.base
        avail = available(v, asset)
        bal = None if avail is None else max(0, avail * 10 if side == "buy" else avail)
        cands.append(VenueCandidate(
            venue_id=v, symbol=symbol, instrument_type=sp.instrument_type, tick_1e9=sp.tick_1e9,
            lot_1e8=max(1, sp.lot_1e8), min_qty_1e8=sp.min_qty_1e8, min_notional_1e9=sp.min_notional_1e9,
            maker_fee_bps=sp.maker_fee_bps, taker_fee_bps=sp.taker_fee_bps,
            book=market.books.get((slot, v)), edge_rtt_ns=rtt_ns(v), balance=bal))
    parent = Parent(symbol, side, qty_1e8, limit_px_1e9,  # type: ignore[arg-type]
                    TimeInForce(tif), venue=pinned, symbol_slot=slot if slot < ctx.vol.n_symbols else 0)
    try:
        sp_plan = route(parent, cands, volatility=ctx.vol if slot < ctx.vol.n_symbols else None,
                        router=ctx.router)
    except RouteError as exc:
        raise NoRoutableVenue(f"cannot route {side} {symbol}: {exc.message}") from None
    plan = RoutePlan(symbol, side, qty_1e8, sor=sp_plan)
    for c in sp_plan.children:
        exp = -(-c.notional_1e9 * 10**8 // c.qty_1e8) if side == "buy" else c.notional_1e9 * 10**8 // c.qty_1e8
        plan.legs.append(Leg(c.venue_id, c.qty_1e8, limit_px_1e9, exp, c.limit_px_1e9))
    left = sp_plan.unfilled_qty_1e8
    if left and limit_px_1e9 is not None and tif == "gtc":
        rest_v = pinned if pinned is not None else (
            sp_plan.ranking[0].venue_id if sp_plan.ranking else _best_touch(market, slot, side, venues))
        for g in plan.legs:
            if g.venue == rest_v:
                g.qty_1e8 += left
                break
        else:
            plan.legs.append(Leg(rest_v, left, limit_px_1e9, 0, 0))
    elif not plan.legs:
        why = sp_plan.unfilled_reason
        excl = ", ".join(f"{VENUE_NAMES.get(x.venue_id)}: {x.reason.value}" for x in sp_plan.excluded)
        detail = f"({why.value}" + (f"; {excl}" if excl else "") + ")"
        if why is UnfilledReason.BALANCE:
            raise InsufficientBalance(f"no venue has the balance for {side} {symbol} {detail}")
        if why in (UnfilledReason.LOT, UnfilledReason.MIN_SIZE):
            raise BadRequest(f"the quantity is below a lot or a venue minimum {detail}",
                             code="BAD_QUANTITY")
        if why in (UnfilledReason.LIMIT, UnfilledReason.FOK) or (
                why is UnfilledReason.DEPTH and limit_px_1e9 is not None):
            # nothing marketable now: the venue (or the sandbox) expires the IOC / FOK order
            rest_v = pinned if pinned is not None else _best_touch(market, slot, side, venues)
            plan.legs.append(Leg(rest_v, qty_1e8, limit_px_1e9, 0, 0))
        else:
            raise NoRoutableVenue(f"nothing to route for {side} {symbol} {detail}")
    elif left:
        # IOC / market remainder: sent with the last leg whose lot it keeps whole (the venue expires
        # what it cannot fill); a remainder no leg's lot takes is not sent, the order expires it
        for g in reversed(plan.legs):
            lot = market.spec(symbol, g.venue).lot_1e8
            if lot <= 1 or (g.qty_1e8 + left) % lot == 0:
                g.qty_1e8 += left
                break
    nb = market.nbbo(symbol)
    if nb["mid"] and sp_plan.avg_px_1e9:
        m = (nb["bid_1e9"] + nb["ask_1e9"]) / 2
        sign = 1 if side == "buy" else -1
        plan.expected_cost_bps = round(sign * (sp_plan.avg_px_1e9 - m) / m * 10000, 4)
    return plan


def _best_touch(market: MarketState, slot: int, side: str, venues: list[int]) -> int:
    arr = market.bbo.ask_px if side == "buy" else market.bbo.bid_px
    priced = [(int(arr[slot, v]), v) for v in venues if int(arr[slot, v])]
    if not priced:
        return venues[0]
    return min(priced)[1] if side == "buy" else max(priced)[1]
