"""Pure-Python reference of the SOR's greedy split: the oracle the compiled router must match.

Written for clarity, not speed: full ladders read up front, a linear scan for the cheapest venue
at every step, Python ints throughout. Same model and rules as docs/sor.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from seqkern._book import ASK, BID, L2Book

SLOTS = 20
E8 = 10**8
E16 = 10**16
BUY, SELL = 0, 1
IOC, FOK, GTC = 0, 1, 2

# venue status codes (docs/sor.md)
OK, NOT_LISTED, WRONG_INSTRUMENT, NO_CREDENTIALS, DISCONNECTED, STALE = 0, 1, 2, 3, 4, 5
EXCLUDED, NOT_PINNED, BOOK_INVALID, EMPTY_SIDE, TOO_COSTLY, BEYOND_LIMIT = 6, 7, 8, 9, 10, 11
BALANCE, BELOW_LOT, DEPTH, MIN_QTY, MIN_NOTIONAL = 12, 13, 14, 15, 16
# unfilled reasons
UF_NONE, UF_NO_VENUE, UF_LIMIT, UF_BALANCE, UF_MIN_SIZE, UF_LOT, UF_DEPTH, UF_FOK = range(8)


def fee_e8(fee_bps: float) -> int:
    return math.floor(fee_bps * 1e4 + 0.5)


def latency_e8(sigma: float, latency_ns: int, risk: float) -> int:
    return int(min(math.ceil(risk * sigma * math.sqrt(latency_ns / 1e9) * 1e4), 10**9))


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class RefResult:
    filled: int
    reason: int
    child_qty: list[int]
    child_px: list[int]
    child_notional: list[int]
    venue_status: list[int]
    fee_e8: list[int]
    lat_e8: list[int]
    totals: tuple[int, int, int, int, int, int]
    ranking: tuple[tuple[int, int, int], ...]


def reference_route(books, side, qty, limit, tif, status, fee_bps, latency_ns, cap_notional,
                    cap_qty, lot, min_qty, min_notional, sigma, risk=1.0, pin=-1, exclude_mask=0,
                    max_levels=64) -> RefResult:
    def beyond(px: int) -> bool:
        return limit > 0 and (px > limit if side == BUY else px < limit)

    vs = [int(s) for s in status]
    fe = [0] * SLOTS
    le = [0] * SLOTS
    mult = [0] * SLOTS
    ladders: dict[int, tuple[list[int], list[int]]] = {}
    for v in range(SLOTS):
        if vs[v] == OK and (exclude_mask >> v) & 1:
            vs[v] = EXCLUDED
        if vs[v] == OK and pin >= 0 and v != pin:
            vs[v] = NOT_PINNED
        book = books[v]
        if vs[v] == OK and (not isinstance(book, L2Book) or not book.valid):
            vs[v] = BOOK_INVALID
        if vs[v] != OK:
            continue
        fe[v] = fee_e8(float(fee_bps[v]))
        le[v] = latency_e8(sigma, int(latency_ns[v]), risk)
        mult[v] = E8 + fe[v] + le[v] if side == BUY else E8 - fe[v] - le[v]
        if mult[v] <= 0:
            vs[v] = TOO_COSTLY
            continue
        px, q = book.levels(ASK if side == BUY else BID, max_levels)
        if len(px) == 0:
            vs[v] = EMPTY_SIDE
            continue
        ladders[v] = ([int(p) for p in px], [int(x) for x in q])

    def key(v: int, px: int) -> int:
        return px * mult[v] if side == BUY else -px * mult[v]

    active = [v for v in range(SLOTS) if vs[v] == OK]
    ranking = []
    for v in sorted(active, key=lambda u: (key(u, ladders[u][0][0]), u)):
        touch = ladders[v][0][0]
        ranking.append((v, touch, cdiv(touch * mult[v], E8) if side == BUY
                        else touch * mult[v] // E8))
    n_active = len(active)
    while True:
        taken = {v: 0 for v in active}
        notional = {v: 0 for v in active}
        worst = {v: 0 for v in active}
        stop: dict[int, int] = {}
        lvl = {v: 0 for v in active}
        cum = {}
        qcap = {v: (int(cap_qty[v]) // int(lot[v])) * int(lot[v]) for v in active}
        # a quote cap of 2^63-1 means "no cap"; the reservation cap binds buys only
        ncap = {v: int(cap_notional[v]) * E16 if side == BUY and cap_notional[v] < 2**63 - 1
                else None for v in active}
        for v in active:
            px0 = ladders[v][0][0]
            cum[v] = ladders[v][1][0]
            if beyond(px0):
                stop[v] = BEYOND_LIMIT
            elif qcap[v] <= 0 or (ncap[v] is not None and ncap[v] // (px0 * (E8 + fe[v])) < lot[v]):
                stop[v] = BALANCE
        rem = qty
        while rem > 0:
            live = [v for v in active if v not in stop]
            if not live:
                break
            v = min(live, key=lambda u: (key(u, ladders[u][0][lvl[u]]), u))
            L = int(lot[v])
            pxs, qs = ladders[v]
            p = pxs[lvl[v]]
            usable = (cum[v] // L) * L - taken[v]
            if usable > 0:
                rl = (rem // L) * L
                if rl == 0:
                    stop[v] = BELOW_LOT
                    continue
                t, bind = usable, OK          # a cap binds only when it is strictly smaller
                if rl < t:
                    t, bind = rl, BELOW_LOT
                if qcap[v] - taken[v] < t:
                    t, bind = qcap[v] - taken[v], BALANCE
                if ncap[v] is not None:
                    # a limit buy reserves qty x limit px x (1 + fee) of quote at the venue
                    afford = (min(ncap[v] // (p * (E8 + fe[v])), 2**63 - 1) // L) * L - taken[v]
                    if afford < t:
                        t, bind = afford, BALANCE
                if t <= 0:
                    stop[v] = bind
                    continue
                taken[v] += t
                notional[v] += p * t
                worst[v] = p
                rem -= t
                if bind != OK:
                    if rem > 0:
                        stop[v] = bind
                    continue
            # the level is used up (or was a sub-lot level): move on
            nxt = lvl[v] + 1
            if nxt >= len(pxs):
                stop[v] = DEPTH
            elif beyond(pxs[nxt]):
                stop[v] = BEYOND_LIMIT
            else:
                lvl[v] = nxt
                cum[v] = min(cum[v] + qs[nxt], 2**63 - 1)
        # children below their venue's minimum: drop the least attractive, run again
        bad = [v for v in active if taken[v] > 0 and (
            taken[v] < min_qty[v] or taken[v] * worst[v] < int(min_notional[v]) * E8)]
        if not bad:
            break
        drop = max(bad, key=lambda u: (key(u, ladders[u][0][0]), u))
        vs[drop] = MIN_QTY if taken[drop] < min_qty[drop] else MIN_NOTIONAL
        active.remove(drop)
        n_active -= 1
        if not active:
            taken, notional, worst, stop = {}, {}, {}, {}
            break

    child_qty = [0] * SLOTS
    child_px = [0] * SLOTS
    child_n = [0] * SLOTS
    flags = set()
    filled = 0
    for v in range(SLOTS):
        if vs[v] in (MIN_QTY, MIN_NOTIONAL):
            flags.add(UF_MIN_SIZE)
            continue
        if vs[v] != OK:
            continue
        s = stop.get(v, OK)
        flags.add({BEYOND_LIMIT: UF_LIMIT, BALANCE: UF_BALANCE, BELOW_LOT: UF_LOT,
                   DEPTH: UF_DEPTH}.get(s, UF_NONE))
        if taken[v] > 0:
            filled += taken[v]
            child_qty[v], child_px[v], child_n[v] = taken[v], worst[v], notional[v]
        elif s != OK:
            vs[v] = s
    if filled == qty:
        reason = UF_NONE
    elif tif == FOK:
        reason = UF_FOK
    elif n_active == 0 and UF_MIN_SIZE not in flags:
        reason = UF_NO_VENUE
    else:
        reason = next(r for r in (UF_LIMIT, UF_BALANCE, UF_MIN_SIZE, UF_LOT, UF_DEPTH)
                      if r in flags or r == UF_DEPTH)
    if reason == UF_FOK:
        filled = 0
        child_qty, child_px, child_n = [0] * SLOTS, [0] * SLOTS, [0] * SLOTS
    tot_n = sum(child_n)
    fees = sum(cdiv(n * fe[v], E16) for v, n in enumerate(child_n) if n)
    lats = sum(cdiv(n * le[v], E16) for v, n in enumerate(child_n) if n)
    allin = sum(n * mult[v] for v, n in enumerate(child_n) if n)
    if filled == 0:
        avg = allin_px = 0
    elif side == BUY:
        avg, allin_px = cdiv(tot_n, filled), cdiv(allin, filled * E8)
    else:
        avg, allin_px = tot_n // filled, allin // (filled * E8)
    return RefResult(filled, reason, child_qty, child_px, child_n, vs, fe, le,
                     (filled, tot_n, avg, allin_px, fees, lats), tuple(ranking))
