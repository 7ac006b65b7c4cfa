"""OKX and Bybit edges against their simulators over real sockets: convergence, faults, resync."""

from __future__ import annotations

import asyncio

import pytest

from tests.edge.okxbybit_rig import VENUES, rig, run, until


@pytest.fixture(params=VENUES)
def venue(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_converges_at_checkpoints(venue: str) -> None:
    async def go() -> None:
        async with rig(venue) as r:
            for _ in range(3):
                await asyncio.sleep(0.3)
                await r.checkpoint()
            assert r.edge.counters.unparsable == 0
            assert r.edge.sync(r.symbol).counters.gaps == 0
            assert r.sink.snapshots and r.sink.deltas and r.sink.bbos
            assert r.sink.trades, "public trades reach the sink"
    run(go())
