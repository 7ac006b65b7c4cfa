"""REST rate limiting: weights charged against sliding windows, Retry-After blocks every pool."""

from __future__ import annotations

import asyncio

import pytest

from seqkern.edge.backoff import Backoff
from seqkern.edge.rest import RateLimiter
from seqkern.venues.base import RateLimitPool, VenueRejected


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def test_weights_fill_the_window_then_wait() -> None:
    clk = FakeClock()
    lim = RateLimiter([RateLimitPool("REQUEST_WEIGHT", 100, 60.0), RateLimitPool("ORDERS", 3, 10.0)],
                      clock=clk, sleep=clk.sleep)

    async def go() -> None:
        await lim.acquire((("REQUEST_WEIGHT", 50),))
        await lim.acquire((("REQUEST_WEIGHT", 50),))
        assert clk.slept == [] and lim.used("REQUEST_WEIGHT") == 100
        clk.t += 10
        await lim.acquire((("REQUEST_WEIGHT", 20),))      # must wait for the first 50 to expire
        assert clk.slept == [pytest.approx(50.0)]
        for _ in range(3):
            await lim.acquire((("REQUEST_WEIGHT", 1), ("ORDERS", 1)))
        await lim.acquire((("ORDERS", 1),))
        assert clk.slept[-1] == pytest.approx(10.0)
        with pytest.raises(VenueRejected):
            await lim.acquire((("REQUEST_WEIGHT", 101),))
    asyncio.run(go())


def test_retry_after_blocks_all_requests() -> None:
    clk = FakeClock()
    lim = RateLimiter([RateLimitPool("REQUEST_WEIGHT", 100, 60.0)], clock=clk, sleep=clk.sleep)

    async def go() -> None:
        lim.block_for(7.0)
        await lim.acquire((("REQUEST_WEIGHT", 1),))
        assert clk.slept == [pytest.approx(7.0)]
    asyncio.run(go())


def test_backoff_is_capped_and_jittered() -> None:
    import random

    b = Backoff(0.5, 4.0, rng=random.Random(3))
    delays = [b.next_delay() for _ in range(8)]
    assert all(0.25 <= d <= 4.0 for d in delays)
    assert max(delays[5:]) <= 4.0 and min(delays[5:]) >= 2.0     # capped at 4, jitter in [cap/2, cap]
    assert len(set(delays)) == len(delays)
    b.reset()
    assert b.next_delay() <= 0.5
