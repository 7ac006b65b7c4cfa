"""The CC's call into routing: turn one order node into venue legs over the books the CC holds.
The one entry point is ``plan_route``; the cost model lives in the SOR."""

from __future__ import annotations

from dataclasses import dataclass, field

from seqkern.cc.market import SIDE_ASK, SIDE_BID, MarketState
from seqkern.cc.venueinfo import VENUE_NAMES
from seqkern.errors import NoRoutableVenue


@dataclass(slots=True)
class Leg:
    venue: int
    qty_1e8: int
    limit_px_1e9: int | None      # the order's limit; None for a market leg
    expected_px_1e9: int          # average price the book shows for this leg (0 = not marketable)
    worst_px_1e9: int             # deepest level the leg walks (0 = not marketable)


@dataclass(slots=True)
class RoutePlan:
    symbol: str
    side: str
    qty_1e8: int
    legs: list[Leg] = field(default_factory=list)
    expected_cost_bps: float | None = None    # vs. the NBBO mid; positive = paid
    considered: list[dict] = field(default_factory=list)

    def wire(self) -> dict:
        return {
            "symbol": self.symbol, "side": self.side, "qty_1e8": self.qty_1e8,
            "qty": self.qty_1e8 / 1e8, "expected_cost_bps": self.expected_cost_bps,
            "legs": [{"venue": VENUE_NAMES.get(g.venue), "qty_1e8": g.qty_1e8, "qty": g.qty_1e8 / 1e8,
                      "limit_price_1e9": g.limit_px_1e9, "expected_price_1e9": g.expected_px_1e9,
                      "expected_price": g.expected_px_1e9 / 1e9 if g.expected_px_1e9 else None}
                     for g in self.legs],
            "venues": self.considered,
        }


def plan_route(market: MarketState, symbol: str, side: str, qty_1e8: int,
               limit_px_1e9: int | None, venues: list[int], fee_bps: dict[int, int]) -> RoutePlan:
    """Choose the venue with the best landed price (book average + taker fee) for the whole
    quantity; when no single venue fills it, take the venues in that order until it is filled.
    A limit order rests its remainder on the best-priced venue."""
    if not venues:
        raise NoRoutableVenue(f"no venue to route {symbol} to")
    slot = market.slot(symbol)
    book_side = SIDE_ASK if side == "buy" else SIDE_BID
    sign = 1 if side == "buy" else -1
    rows = []
    for v in venues:
        book = market.books.get((slot, v))
        if book is None or not book.valid:
            continue
        if limit_px_1e9:
            avail = book.depth_qty(book_side, limit_px_1e9)
        else:
            avail = book.depth_qty(book_side, (1 << 62) if side == "buy" else 1)
        take = min(avail, qty_1e8)
        filled, _notional, avg, worst = book.fill_cost(book_side, take) if take else (0, 0, 0, 0)
        fee = fee_bps.get(v, 0)
        landed = avg * (10000 + sign * fee) / 10000 if filled else None
        top = book.best_ask_px if side == "buy" else book.best_bid_px
        rows.append((v, filled, avg, worst, landed, top))
    plan = RoutePlan(symbol, side, qty_1e8)
    plan.considered = [{"venue": VENUE_NAMES.get(v), "fillable_1e8": f, "avg_price_1e9": a,
                        "landed_price_1e9": int(lp) if lp else None, "top_1e9": t}
                       for v, f, a, _w, lp, t in rows]
    full = [r for r in rows if r[1] == qty_1e8]
    if full:
        best = min(full, key=lambda r: sign * r[4])
        plan.legs.append(Leg(best[0], qty_1e8, limit_px_1e9, best[2], best[3]))
    else:
        left = qty_1e8
        for r in sorted((r for r in rows if r[1]), key=lambda r: sign * r[4]):
            take = min(left, r[1])
            # the average for a partial take is recomputed on that venue's book
            book = market.books[(slot, r[0])]
            _f, _n, avg, worst = book.fill_cost(book_side, take)
            plan.legs.append(Leg(r[0], take, limit_px_1e9, avg, worst))
            left -= take
            if not left:
                break
        if left:
            if limit_px_1e9 is None and not plan.legs:
                raise NoRoutableVenue(f"no liquidity for {side} {symbol} on "
                                      f"{', '.join(VENUE_NAMES.get(v, str(v)) for v in venues)}")
            if limit_px_1e9 is not None:
                # the remainder rests where the touch is best (or on the only venue we have)
                priced = [r for r in rows if r[5]]
                rest_v = (min(priced, key=lambda r: sign * r[5])[0] if priced else venues[0])
                for g in plan.legs:
                    if g.venue == rest_v:
                        g.qty_1e8 += left
                        break
                else:
                    plan.legs.append(Leg(rest_v, left, limit_px_1e9, 0, 0))
            else:
                # a market order takes what the books show; the rest expires on the last leg
                plan.legs[-1].qty_1e8 += left
    mid = market.nbbo(symbol)
    if mid["mid"] and any(g.expected_px_1e9 for g in plan.legs):
        tot_q = sum(g.qty_1e8 for g in plan.legs if g.expected_px_1e9)
        avg = sum(g.qty_1e8 * g.expected_px_1e9 for g in plan.legs if g.expected_px_1e9) / tot_q
        m = mid["mid"] * 1e9
        plan.expected_cost_bps = round(sign * (avg - m) / m * 10000, 4)
    return plan
