"""Bybit specifics over real sockets: the u = 1 service-restart snapshot overwrites the book."""

from __future__ import annotations

import asyncio

import pytest

from tests.edge.okxbybit_rig import rig, run, until


@pytest.mark.parametrize("venue", ["bybit", "bybit-perp"])
def test_u_equals_one_restart_overwrites_the_book(venue: str) -> None:
    async def go() -> None:
        async with rig(venue) as r:
            await r.checkpoint()
            snaps = len(r.sink.snapshots)
            r.sim.paused = True
            await r.sim.restart_service()
            r.sim.paused = False
            await until(lambda: len(r.sink.snapshots) > snaps, 5.0, "the restart snapshot")
            assert r.sink.snapshots[-1][1] == 1
            await asyncio.sleep(0.2)
            await r.checkpoint()
            assert r.edge.sync(r.symbol).counters.gaps == 0
    run(go())
