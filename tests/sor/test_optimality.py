"""Greedy is optimal for the linear model: checked against exhaustive search on small instances.

The oracle knows nothing of merging or heaps: it enumerates every per-venue quantity (multiples
of the common lot, within the venue's depth, limit price, quantity cap and buy reservation cap),
keeps the allocations with the largest fill, and among them the lowest effective cost
(sum of level price x quantity x (1 + fee + latency penalty); for a sell, the highest
effective proceeds). The compiled router must reach exactly that fill and that cost.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st
from seqkern._sor import Router

from .instances import I64_MAX, SLOTS, make_book
from .reference import BUY, E8, E16, fee_e8, latency_e8

TICK = 1_000_000_000


def _prefix_cost(levels, x):
    """Sum of px * qty over the first x units of a ladder (best first)."""
    cost, left = 0, x
    for px, q in levels:
        take = min(q, left)
        cost += px * take
        left -= take
        if left == 0:
            break
    return cost


def _worst_px(levels, x):
    left = x
    for px, q in levels:
        left -= q
        if left <= 0:
            return px
    raise AssertionError("beyond depth")


@st.composite
def small_instances(draw):
    side = draw(st.integers(0, 1))
    lot = draw(st.sampled_from([1, 3, 100_000]))
    n_v = draw(st.integers(1, 3))
    slots = draw(st.lists(st.integers(0, SLOTS - 1), min_size=n_v, max_size=n_v, unique=True))
    venues = []
    for v in slots:
        n = draw(st.integers(1, 3))
        offs = sorted(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n, unique=True)))
        sizes = [draw(st.integers(1, 4)) * lot for _ in offs]
        base = 100 + draw(st.integers(0, 3))
        pxs = [((base + o) if side == BUY else (base - o)) * TICK for o in offs]
        venues.append(dict(
            slot=v, levels=list(zip(pxs, sizes, strict=True)),
            fee=draw(st.sampled_from([0.0, 2.5, 10.0, 30.0])),
            lat=draw(st.sampled_from([0, 1_000_000, 90_000_000])),
            capq=draw(st.sampled_from([None, 0, lot, 3 * lot, 5 * lot])),
            capn=draw(st.sampled_from([None, 150, 400, 700])),
        ))
    qty = draw(st.integers(1, 10)) * lot
    limit = 0
    if draw(st.booleans()):
        limit = (100 + draw(st.integers(0, 8)) * (1 if side == BUY else -1)) * TICK
    return side, lot, venues, qty, limit, draw(st.sampled_from([0.0, 1.0, 20.0]))


def _arrays(side, lot, venues, sigma):
    books = [None] * SLOTS
    status = np.full(SLOTS, 1, dtype=np.int8)
    fee = np.zeros(SLOTS)
    lat = np.zeros(SLOTS, dtype=np.int64)
    capn = np.full(SLOTS, I64_MAX, dtype=np.int64)
    capq = np.full(SLOTS, I64_MAX, dtype=np.int64)
    lots = np.full(SLOTS, lot, dtype=np.int64)
    z = np.zeros(SLOTS, dtype=np.int64)
    for d in venues:
        v = d["slot"]
        lv = d["levels"]
        books[v] = make_book(TICK, [] if side == BUY else lv, lv if side == BUY else [])
        status[v] = 0
        fee[v] = d["fee"]
        lat[v] = d["lat"]
        if d["capq"] is not None:
            capq[v] = d["capq"]
        if d["capn"] is not None:
            # quote for capn / 100 lots at a price of 100 (1.5, 4 or 7 lots): binds mid-ladder
            capn[v] = d["capn"] * lot * 10
    return books, status, fee, lat, capn, capq, lots, z


def _feasible(side, lot, d, capn, capq, limit):
    """Every quantity this venue can take on its own (multiples of lot)."""
    levels = [(p, q) for p, q in d["levels"]
              if not limit or (p <= limit if side == BUY else p >= limit)]
    depth = sum(q for _, q in levels)
    out = [0]
    m_fee = E8 + fee_e8(d["fee"])
    x = lot
    while x <= depth and x <= capq:
        if side == BUY and x * _worst_px(levels, x) * m_fee > capn * E16:
            break
        out.append(x)
        x += lot
    return levels, out


@given(small_instances())
@settings(max_examples=300)
def test_greedy_is_optimal_against_exhaustive_search(inst):
    side, lot, venues, qty, limit, sigma = inst
    books, status, fee, lat, capn, capq, lots, z = _arrays(side, lot, venues, sigma)
    r = Router()
    filled, _ = r.route(books, side, qty, limit, 0, status, fee, lat, capn, capq, lots, z, z,
                        sigma)

    per_venue = []
    for d in venues:
        v = d["slot"]
        levels, xs = _feasible(side, lot, d, int(capn[v]), int(capq[v]), limit)
        m = E8 + fee_e8(d["fee"]) + latency_e8(sigma, d["lat"], 1.0) if side == BUY else \
            E8 - fee_e8(d["fee"]) - latency_e8(sigma, d["lat"], 1.0)
        per_venue.append([(x, _prefix_cost(levels, x) * m) for x in xs])
    best_fill, best_cost = 0, 0
    for combo in itertools.product(*per_venue):
        f = sum(x for x, _ in combo)
        if f > qty:
            continue
        c = sum(c for _, c in combo) * (1 if side == BUY else -1)
        if f > best_fill or (f == best_fill and c < best_cost):
            best_fill, best_cost = f, c

    event(f"venue stops {sorted(set(r.venue_status.tolist()) - {1})}")
    assert filled == best_fill
    got = 0
    for d in venues:
        v = d["slot"]
        m = E8 + int(r.fee_e8[v]) + int(r.latency_e8[v]) if side == BUY else \
            E8 - int(r.fee_e8[v]) - int(r.latency_e8[v])
        got += r.child_notional_1e17(v) * m
    assert got * (1 if side == BUY else -1) == best_cost
