"""The shared price-time-priority matching engine."""

from __future__ import annotations

import pytest

from seqkern.sim.matching import BUY, SELL, MatchingEngine, MatchReject, SimOrder

T = 10


def order(e: MatchingEngine, side: str, px: int, qty: int, **kw) -> SimOrder:
    return SimOrder(e.next_order_id(), side, px, qty, **kw)


def test_price_then_time_priority_and_partial_fills() -> None:
    e = MatchingEngine("X", T)
    a = order(e, SELL, 100, 5, owner="a")
    b = order(e, SELL, 100, 5, owner="b")
    c = order(e, SELL, 90, 2, owner="c")
    for o in (a, b, c):
        assert e.submit(o) == []
    fills = e.submit(order(e, BUY, 100, 9, owner="t"))
    assert [(f.maker.owner, f.px, f.qty) for f in fills] == [("c", 90, 2), ("a", 100, 5), ("b", 100, 2)]
    assert a.status == "FILLED" and b.status == "PARTIALLY_FILLED" and b.remaining == 3
    assert e.depth(SELL, 5) == [(100, 3)]
    assert sorted(e.drain_changes()) == [(SELL, 90, 0), (SELL, 100, 3)]


def test_tif_rules() -> None:
    e = MatchingEngine("X", T)
    e.submit(order(e, SELL, 100, 5))
    ioc = order(e, BUY, 100, 8, tif="IOC")
    e.submit(ioc)
    assert ioc.filled == 5 and ioc.status == "EXPIRED" and e.best(BUY) == 0
    e.submit(order(e, SELL, 100, 5))
    fok = order(e, BUY, 100, 8, tif="FOK")
    assert e.submit(fok) == [] and fok.status == "EXPIRED" and e.level_qty(SELL, 100) == 5
    with pytest.raises(MatchReject):
        e.submit(order(e, BUY, 100, 1, tif="GTX"))
    rest = order(e, BUY, 90, 1, tif="GTX")
    e.submit(rest)
    assert rest.status == "NEW" and e.best(BUY) == 90
    mkt = order(e, BUY, 0, 3, order_type="MARKET", tif="IOC")
    e.submit(mkt)
    assert mkt.status == "FILLED"


def test_reduce_keeps_queue_position_requeue_loses_it() -> None:
    e = MatchingEngine("X", T)
    first = order(e, BUY, 100, 5)
    second = order(e, BUY, 100, 5)
    e.submit(first)
    e.submit(second)
    e.reduce(first.order_id, 3)
    assert e.queue_position(first.order_id) == 0 and e.level_qty(BUY, 100) == 8
    with pytest.raises(MatchReject):
        e.reduce(first.order_id, 4)   # not a decrease
    e.requeue(first.order_id, 3, 100)
    assert e.queue_position(first.order_id) == 1
    moved, fills = e.requeue(second.order_id, 5, 110)
    assert fills == [] and e.best(BUY) == 110
    e.cancel(moved.order_id)
    with pytest.raises(MatchReject):
        e.cancel(moved.order_id)
