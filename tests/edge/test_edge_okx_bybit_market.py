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


async def _fault_then_converge(r, arm, *, expect_resync: bool = True) -> None:  # type: ignore[no-untyped-def]
    await r.checkpoint()
    resyncs = r.edge.counters.resyncs
    reconnects = r.edge.counters.reconnects
    arm(r.sim)
    if expect_resync:
        await until(lambda: r.edge.counters.resyncs > resyncs or r.edge.counters.reconnects > reconnects,
                    5.0, "the edge to notice the fault")
    await asyncio.sleep(0.2)
    await r.checkpoint()


def test_dropped_socket_reconnects_and_converges(venue: str) -> None:
    async def go() -> None:
        async with rig(venue) as r:
            await _fault_then_converge(r, lambda s: setattr(s.faults, "drop_sockets", 1))
            assert r.edge.counters.reconnects >= 1
    run(go())


def test_skipped_sequence_is_a_gap_then_resubscribe(venue: str) -> None:
    async def go() -> None:
        async with rig(venue) as r:
            snaps = len(r.sink.snapshots)
            await _fault_then_converge(r, lambda s: setattr(s.faults, "skip_sequence", 1))
            assert r.edge.sync(r.symbol).counters.gaps >= 1
            assert len(r.sink.snapshots) > snaps, "a fresh in-stream snapshot after resubscribing"
            assert r.sink.resyncs
            assert r.edge.counters.reconnects == 0, "resync by resubscribe, not by reconnect"
    run(go())


def test_malformed_json_resyncs_without_crash(venue: str) -> None:
    async def go() -> None:
        async with rig(venue) as r:
            await _fault_then_converge(r, lambda s: setattr(s.faults, "malformed_json", 2))
            assert r.edge.counters.unparsable >= 1
    run(go())


def test_rest_429_and_5xx_on_instrument_load_are_retried(venue: str) -> None:
    async def go() -> None:
        from seqkern.edge.backoff import Backoff
        from seqkern.edge.rest import RateLimiter, RestClient
        from seqkern.edge.runner import EdgeRunner
        from seqkern.edge.sink import MemorySink
        from tests.edge.okxbybit_rig import endpoints, make_sim, venue_for

        sim = make_sim(venue)
        sim.faults.rest_errors = [(429, 0), (503, 0), (500, 0)]
        sim.faults.rest_delay_s = 0.05
        await sim.start()
        try:
            v = venue_for(venue, endpoints(venue, sim))
            rest = RestClient(v.endpoints.rest, RateLimiter(v.rate_limits), default_retry_after_s=0.05,
                              backoff=Backoff(0.01, 0.05))
            edge = EdgeRunner(v, ["BTC-USDT"], MemorySink(), rest=rest, backoff=Backoff(0.05, 0.5))
            await edge.start()
            try:
                await edge.wait_live("BTC-USDT", 10.0)
                assert rest.status_counts.get(429) == 1 and rest.status_counts.get(503) == 1
                assert rest.status_counts.get(200, 0) >= 1
            finally:
                await edge.stop()
        finally:
            await sim.stop()
    run(go())


def test_lost_resubscribe_falls_back_to_reconnect(venue: str) -> None:
    async def go() -> None:
        async with rig(venue) as r:
            r.edge.resubscribe_timeout_s = 0.5
            await r.checkpoint()
            r.sim.ignore_subscribes = 1          # the resubscribe after the gap goes unanswered
            r.sim.faults.skip_sequence = 1
            await until(lambda: r.edge.counters.reconnects >= 1, 5.0, "the watchdog's reconnect")
            await asyncio.sleep(0.2)
            await r.checkpoint()
    run(go())
