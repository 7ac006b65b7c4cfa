"""The compiled depth decoder: malformed input gives codes (never a crash), continuity rules, and
books equal to a plain reference model over random message streams."""

from __future__ import annotations

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from seqkern._book import L2Book
from seqkern._fixed import format_px, format_qty
from seqkern._wire import (
    APPLIED,
    BAD_JSON,
    BAD_LEVEL,
    BAD_SHAPE,
    DEPTH,
    FORMAT_BINANCE_USDM,
    GAP,
    NOT_DEPTH,
    OTHER,
    RULE_FIRST_LAST,
    RULE_PREV_FINAL,
    STALE,
    TOO_MANY_LEVELS,
    DepthDecoder,
)

TICK = 10_000_000   # 0.01


def _msg(U: int, u: int, bids=(), asks=(), pu: int | None = None, sym: str = "BTCUSDT") -> bytes:
    d = {"e": "depthUpdate", "E": 1, "s": sym, "U": U, "u": u}
    if pu is not None:
        d["pu"] = pu
    d["b"] = [[format_px(p), format_qty(q)] for p, q in bids]
    d["a"] = [[format_px(p), format_qty(q)] for p, q in asks]
    return orjson.dumps(d)


def _empty_book(update_id: int) -> L2Book:
    b = L2Book(TICK, depth_ticks=1 << 14)
    e = np.array([], np.int64)
    b.apply_snapshot(e, e, e, e, update_id)
    return b


def test_malformed_messages_are_codes_not_crashes() -> None:
    dec = DepthDecoder(max_levels=4)
    assert dec.scan(b"") == BAD_JSON
    assert dec.scan(b"{") == BAD_JSON
    assert dec.scan(b'{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1","2"]],"a":[["1"') == BAD_JSON
    assert dec.scan(b'{"e":"depthUpdate","E":1,"s":"X","U":"1","u":2,"b":[],"a":[]}') == BAD_SHAPE
    assert dec.scan(b'{"e":"depthUpdate","E":1,"s":"X","u":2,"b":[],"a":[]}') == BAD_SHAPE
    assert dec.scan(b'{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[[1,2]],"a":[]}') == BAD_SHAPE
    many = _msg(1, 2, bids=[(TICK * (i + 1), 1) for i in range(5)])
    assert dec.scan(many) == TOO_MANY_LEVELS
    assert dec.scan(b'{"result":null,"id":1}') == OTHER
    assert dec.scan(b'{"e":"trade","E":1,"s":"X"}') == OTHER
    book = _empty_book(0)
    assert dec.apply(book) == NOT_DEPTH
    # a price the book cannot hold (finer than the tick) marks the book invalid
    assert dec.scan(_msg(1, 1, bids=[(TICK + 1, 5)])) == DEPTH
    assert dec.apply_checked(book, RULE_FIRST_LAST) == BAD_LEVEL
    assert not book.valid
    assert dec.scan(b'{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":[["1.0000000001","1"]],"a":[]}') == DEPTH
    assert dec.apply(_empty_book(0)) == BAD_LEVEL


def test_random_bytes_never_crash() -> None:
    rng = np.random.default_rng(5)
    dec = DepthDecoder()
    base = _msg(10, 12, bids=[(TICK * 5, 3)], asks=[(TICK * 6, 4)])
    for _ in range(2000):
        b = bytearray(base)
        for _ in range(rng.integers(1, 6)):
            b[rng.integers(0, len(b))] = int(rng.integers(0, 256))
        rc = dec.scan(bytes(b))
        assert rc in (DEPTH, OTHER, BAD_JSON, BAD_SHAPE)
        if rc == DEPTH:
            dec.apply(_empty_book(0))


def test_spot_rule_first_last() -> None:
    dec = DepthDecoder()
    book = _empty_book(100)
    dec.scan(_msg(90, 100))
    assert dec.apply_checked(book, RULE_FIRST_LAST) == STALE
    dec.scan(_msg(95, 103, bids=[(TICK * 5, 1)]))       # bridges 101
    assert dec.apply_checked(book, RULE_FIRST_LAST) == APPLIED and book.last_update_id == 103
    dec.scan(_msg(105, 106))                            # 104 missing
    assert dec.apply_checked(book, RULE_FIRST_LAST) == GAP
    assert not book.valid and book.last_update_id == 103


def test_usdm_rule_prev_final() -> None:
    dec = DepthDecoder(FORMAT_BINANCE_USDM)
    book = _empty_book(100)
    dec.scan(_msg(101, 110, pu=100))
    assert dec.apply_checked(book, RULE_PREV_FINAL) == APPLIED
    dec.scan(_msg(111, 115, pu=110))
    assert dec.apply_checked(book, RULE_PREV_FINAL) == APPLIED
    dec.scan(_msg(120, 125, pu=118))
    assert dec.apply_checked(book, RULE_PREV_FINAL) == GAP


def test_delta_arrays_report_applied_levels() -> None:
    dec = DepthDecoder()
    book = _empty_book(0)
    dec.scan(_msg(1, 2, bids=[(TICK * 5, 7)], asks=[(TICK * 6, 0), (TICK * 7, 9)]))
    assert dec.apply(book) == APPLIED
    assert (dec.n_bids, dec.n_asks) == (1, 2)
    assert dec.delta_bids[:dec.n_bids].tolist() == [[TICK * 5, 7]]
    assert dec.delta_asks[:dec.n_asks].tolist() == [[TICK * 6, 0], [TICK * 7, 9]]


levels = st.lists(st.tuples(st.integers(1, 300), st.integers(0, 50)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(levels, levels), min_size=1, max_size=30))
def test_book_matches_reference_model(events: list) -> None:
    """Random diffs applied through the decoder equal a dict model (absolute qty, 0 deletes)."""
    dec = DepthDecoder()
    book = _empty_book(0)
    ref = {0: {}, 1: {}}
    for u, (bids, asks) in enumerate(events):
        msg = _msg(u + 1, u + 1, bids=[(TICK * (1000 + p), q) for p, q in bids],
                   asks=[(TICK * (1400 + p), q) for p, q in asks])
        assert dec.scan(msg) == DEPTH
        assert dec.apply_checked(book, RULE_FIRST_LAST) == APPLIED
        for side, lv, off in ((0, bids, 1000), (1, asks, 1400)):
            for p, q in lv:
                if q:
                    ref[side][TICK * (off + p)] = q
                else:
                    ref[side].pop(TICK * (off + p), None)
    bp, bq, ap, aq = book.top(1000)
    assert list(zip(bp.tolist(), bq.tolist(), strict=True)) == sorted(ref[0].items(), reverse=True)
    assert list(zip(ap.tolist(), aq.tolist(), strict=True)) == sorted(ref[1].items())


decimals = st.one_of(
    st.from_regex(r"\A[0-9]{1,12}(\.[0-9]{0,12})?\Z", fullmatch=True),
    st.from_regex(r"\A[+-]?[0-9]{1,3}(\.[0-9]{1,4})?([eE][+-]?[0-9]{1,2})?\Z", fullmatch=True),
    st.sampled_from(["0.00000001", "60000.01000000", "0.0000000001", "99999999999.5", "1.", ".5", "1e-9"]),
)


@settings(max_examples=300, deadline=None)
@given(decimals, decimals)
def test_level_numbers_match_the_exact_parser(px_text: str, qty_text: str) -> None:
    """The decoder's fast path and the exact parse_px/parse_qty agree on every string."""
    from seqkern._fixed import parse_px, parse_qty

    from seqkern.errors import FixedPointError

    try:
        px = parse_px(px_text)
        qty = parse_qty(qty_text)
        ok = px > 0 and qty >= 0
    except FixedPointError:
        ok = False
    msg = orjson.dumps({"e": "depthUpdate", "E": 1, "s": "X", "U": 1, "u": 1,
                        "b": [[px_text, qty_text]], "a": []})
    dec = DepthDecoder()
    assert dec.scan(msg) == DEPTH
    book = L2Book(1, depth_ticks=64)
    rc = dec.apply(book)
    if ok:
        assert rc == APPLIED
        assert dec.delta_bids[:dec.n_bids].tolist() == [[px, qty]]
    else:
        assert rc == BAD_LEVEL
