"""Kraken edge against the Kraken v2 simulator over real sockets: convergence and every fault."""

from __future__ import annotations

import asyncio

import pytest

from seqkern.edge.backoff import Backoff
from seqkern.sim.kraken import KrakenSim
from seqkern.venues.base import VenueEndpoints
from seqkern.venues.kraken import KrakenSpot
from tests.edge_cex4.harness import converged, start_edge


def _venue(sim: KrakenSim) -> KrakenSpot:
    return KrakenSpot(VenueEndpoints(market_ws=f"{sim.base_ws}/v2", trade_ws=f"{sim.base_ws}/auth/v2",
                                     rest=sim.base_http))


async def _run(fault: str | None) -> None:
    sim = await KrakenSim(seed=11).start()
    runner = None
    try:
        runner, sink = await start_edge(_venue(sim), ["BTC-USD"], backoff=Backoff(0.05, 0.2))
        await runner.wait_live("BTC-USD", 10)
        await asyncio.sleep(0.3)
        assert await converged(runner, sim, "BTC-USD", "BTC/USD", 10)
        assert sink.snapshots and sink.deltas
        if fault is None:
            return
        before = runner.sync("BTC-USD").counters.resyncs + runner.counters.resyncs
        if fault == "rest":
            return
        setattr(sim.faults, fault, 1)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if runner.sync("BTC-USD").counters.resyncs + runner.counters.resyncs > before:
                break
        assert runner.sync("BTC-USD").counters.resyncs + runner.counters.resyncs > before, fault
        assert await converged(runner, sim, "BTC-USD", "BTC/USD", 10)
        assert sink.resyncs
    finally:
        if runner is not None:
            await runner.stop()
        await sim.stop()


@pytest.mark.parametrize("fault", [None, "drop_sockets", "skip_sequence", "corrupt_checksum", "malformed_json"])
def test_kraken_edge_converges_after_fault(fault: str | None) -> None:
    asyncio.run(_run(fault))
