"""Edge against each venue simulator over real sockets: convergence, and resync after every fault."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from seqkern.edge.backoff import Backoff
from seqkern.sim.bitget import BitgetSim
from seqkern.sim.coinbase import CoinbaseSim
from seqkern.sim.cryptocom import CryptocomSim
from seqkern.sim.instream import InStreamBookSim
from seqkern.sim.kraken import KrakenSim
from seqkern.venues.base import CexVenue, VenueEndpoints
from seqkern.venues.bitget import BitgetSpot
from seqkern.venues.coinbase import CoinbaseSpot
from seqkern.venues.cryptocom import CryptocomSpot
from seqkern.venues.kraken import KrakenSpot
from tests.edge_cex4.harness import converged, start_edge


@dataclass(frozen=True)
class Case:
    sim: Callable[[], InStreamBookSim]
    venue: Callable[[InStreamBookSim], CexVenue]
    symbol: str
    venue_symbol: str
    depth: int             # levels compared at checkpoints


def _cryptocom(sim: InStreamBookSim) -> CexVenue:
    v = CryptocomSpot(VenueEndpoints(market_ws=f"{sim.base_ws}/exchange/v1/market",
                                     trade_ws=f"{sim.base_ws}/exchange/v1/user", rest=f"{sim.base_http}/exchange/v1"))
    v.subscribe_delay_s = 0.05      # the real venue wants 1 s; the loopback simulator has no such budget
    return v


CASES = {
    "kraken": Case(lambda: KrakenSim(seed=11), lambda s: KrakenSpot(VenueEndpoints(
        market_ws=f"{s.base_ws}/v2", trade_ws=f"{s.base_ws}/auth/v2", rest=s.base_http)), "BTC-USD", "BTC/USD", 10),
    "coinbase": Case(lambda: CoinbaseSim(seed=12), lambda s: CoinbaseSpot(VenueEndpoints(
        market_ws=f"{s.base_ws}/", trade_ws=f"{s.base_ws}/user", rest=s.base_http)), "BTC-USD", "BTC-USD", 30),
    "bitget": Case(lambda: BitgetSim(seed=13), lambda s: BitgetSpot(VenueEndpoints(
        market_ws=f"{s.base_ws}/v2/ws/public", trade_ws=f"{s.base_ws}/v2/ws/private", rest=s.base_http)),
        "BTC-USDT", "BTCUSDT", 30),
    "cryptocom": Case(lambda: CryptocomSim(seed=14, heartbeat_s=1.0), _cryptocom, "BTC-USDT", "BTC_USDT", 50),
}
FAULTS = [None, "drop_sockets", "skip_sequence", "corrupt_checksum", "malformed_json", "rest"]


def _resyncs(runner) -> int:
    return runner.counters.resyncs + runner.counters.reconnects


async def _run(case: Case, fault: str | None) -> None:
    sim = await case.sim().start()
    runner = None
    try:
        if fault == "rest":   # the instrument metadata request meets a 429 (Retry-After) and a 503 first
            sim.faults.rest_errors = [(429, 0.2), (503, 0.0)]
        runner, sink = await start_edge(case.venue(sim), [case.symbol], backoff=Backoff(0.05, 0.2))
        await runner.wait_live(case.symbol, 10)
        await asyncio.sleep(0.3)
        assert await converged(runner, sim, case.symbol, case.venue_symbol, case.depth)
        assert sink.snapshots and sink.deltas and sink.bbos
        if fault == "rest":
            assert runner.rest.status_counts.get(429) == 1 and runner.rest.status_counts.get(503) == 1
            return
        if fault is None:   # a clean run reads every message and never resyncs
            assert runner.counters.unparsable == 0 and runner.counters.resyncs == 0, runner.status()
            return
        before = _resyncs(runner)
        snaps = len(sink.snapshots)
        setattr(sim.faults, fault, 1)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if _resyncs(runner) > before and len(sink.snapshots) > snaps:
                break
        assert _resyncs(runner) > before, f"{fault}: no resync"
        assert len(sink.snapshots) > snaps, f"{fault}: no fresh snapshot"
        assert await converged(runner, sim, case.symbol, case.venue_symbol, case.depth)
    finally:
        if runner is not None:
            await runner.stop()
        await sim.stop()


# Coinbase and Crypto.com send no checksum: their corrupt_checksum case does not exist
MATRIX = [(v, f) for v in CASES for f in FAULTS if not (f == "corrupt_checksum" and v in ("coinbase", "cryptocom"))]


@pytest.mark.parametrize(("venue", "fault"), MATRIX, ids=[f"{v}-{f or 'clean'}" for v, f in MATRIX])
def test_edge_converges_and_resyncs(venue: str, fault: str | None) -> None:
    asyncio.run(_run(CASES[venue], fault))


def test_cryptocom_heartbeat_answered() -> None:
    """The edge answers public/heartbeat: the simulator (1 s heartbeats, 5 s deadline) never drops it."""
    async def run() -> None:
        sim = await CryptocomSim(seed=3, heartbeat_s=1.0).start()
        runner, _ = await start_edge(_cryptocom(sim), ["BTC-USDT"])
        try:
            await runner.wait_live("BTC-USDT", 10)
            await asyncio.sleep(7.5)
            assert sim.heartbeat_timeouts == 0
            assert runner.counters.reconnects == 0
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(run())


@pytest.mark.parametrize("pings", [True, False])
def test_bitget_text_ping_keeps_the_connection(pings: bool) -> None:
    """Bitget closes a connection that sends nothing for 2 minutes (1 s here); the edge's text ping
    every 30 s (0.3 s here) keeps it open, and without it the edge reconnects and resyncs."""
    from seqkern.venues.base import PingRule

    async def run() -> None:
        sim = await BitgetSim(seed=19, idle_timeout_s=1.0).start()
        venue = CASES["bitget"].venue(sim)
        venue.ping = PingRule(server_ping_s=None, pong_timeout_s=120.0, client_ping_s=0.3 if pings else None,
                              client_ping_text=b"ping" if pings else None, pong_text=b"pong")
        runner, _ = await start_edge(venue, ["BTC-USDT"], backoff=Backoff(0.05, 0.2))
        try:
            await runner.wait_live("BTC-USDT", 10)
            await asyncio.sleep(3.0)
            if pings:
                assert sim.idle_closes == 0 and runner.counters.reconnects == 0
                assert runner.counters.unparsable == 0            # "pong" is not read as JSON
            else:
                assert sim.idle_closes >= 1 and runner.counters.reconnects >= 1
            assert await converged(runner, sim, "BTC-USDT", "BTCUSDT", 30)
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(run())
