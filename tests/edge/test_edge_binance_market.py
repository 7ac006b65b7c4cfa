"""Edge against the Binance simulators over real sockets: book equality and recovery from faults."""

from __future__ import annotations

import asyncio

from tests.edge.edge_rig import rig, run, until


def test_book_equals_simulator_at_checkpoints(futures: bool) -> None:
    async def go() -> None:
        async with rig(futures) as r:
            for _ in range(3):
                await asyncio.sleep(0.3)
                await r.checkpoint()
            assert len(r.sink.deltas) > 10
            assert r.edge.counters.unparsable == 0 and r.edge.counters.resyncs == 0
            assert r.sink.trades and r.sink.bbos and r.sink.snapshots
            assert r.sink.specs[0].venue_symbol == "BTCUSDT"
            # BBO published equals the book's top
            _, bp, bq, ap, aq, _, _ = r.sink.bbos[-1]
            book = r.edge.book("BTCUSDT")
            assert (bp, bq) == book.best_bid() and (ap, aq) == book.best_ask()
    run(go())


def test_dropped_socket_reconnects_and_resyncs(futures: bool) -> None:
    async def go() -> None:
        async with rig(futures) as r:
            await r.checkpoint()
            r.sim.faults.drop_sockets = 1
            await until(lambda: r.edge.counters.reconnects >= 1, 5.0, "a reconnect")
            await until(lambda: r.edge.sync("BTCUSDT").state.value == "LIVE", 5.0, "live again")
            assert r.sink.resyncs, "the CC must be told the book went stale"
            await asyncio.sleep(0.2)
            await r.checkpoint()
    run(go())


def test_sequence_gap_resyncs_that_symbol(futures: bool) -> None:
    async def go() -> None:
        async with rig(futures) as r:
            await r.checkpoint()
            snaps = r.edge.sync("BTCUSDT").counters.snapshots
            r.sim.faults.skip_sequence = 1
            await until(lambda: r.edge.sync("BTCUSDT").counters.gaps >= 1, 5.0, "the gap to be seen")
            assert any("gap" in why for _, why in r.sink.resyncs)
            await until(lambda: r.edge.sync("BTCUSDT").counters.snapshots > snaps
                        and r.edge.sync("BTCUSDT").state.value == "LIVE", 5.0, "a new snapshot")
            await r.checkpoint()
            assert r.edge.counters.reconnects == 0   # a gap resyncs the book, not the socket
    run(go())


def test_malformed_json_is_counted_and_resynced(futures: bool) -> None:
    async def go() -> None:
        async with rig(futures) as r:
            await r.checkpoint()
            r.sim.faults.malformed_json = 2
            await until(lambda: r.edge.counters.unparsable >= 1, 5.0, "the malformed frame")
            await until(lambda: r.sim.faults.malformed_json == 0, 5.0, "both malformed frames")
            await asyncio.sleep(0.1)
            await r.checkpoint()
    run(go())


def test_snapshot_429_and_5xx_are_retried_with_retry_after(futures: bool) -> None:
    def arm(sim) -> None:
        sim.faults.rest_errors = [(429, 1.0), (503, 0.0), (418, 0.0)]
    async def go() -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        async with rig(futures, before_start=arm) as r:
            waited = loop.time() - t0
            codes = r.edge.rest.status_counts
            assert codes.get(429) == 1 and codes.get(503) == 1 and codes.get(418) == 1
            assert waited >= 1.0, "Retry-After: 1 must be honoured"
            await r.checkpoint()
    run(go())


def test_slow_rest_snapshot_still_converges(futures: bool) -> None:
    def arm(sim) -> None:
        sim.faults.rest_delay_s = 0.3
    async def go() -> None:
        async with rig(futures, before_start=arm) as r:
            await asyncio.sleep(0.2)
            await r.checkpoint()
            assert r.edge.sync("BTCUSDT").counters.snapshots >= 1
    run(go())


def test_symbols_sharded_across_connections_resync_alone() -> None:
    from seqkern.sim.binance import default_symbol

    listings = [default_symbol("BTC-USDT"), default_symbol("ETH-USDT", mid="3000"),
                default_symbol("SOL-USDT", mid="150")]

    async def go() -> None:
        async with rig(False, symbols=("BTC-USDT", "ETH-USDT", "SOL-USDT"), streams_per_connection=3,
                       symbols_sim=listings) as r:
            assert len(r.edge._shards) == 3          # 3 streams per symbol, 3 per connection
            for vs in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
                await r.checkpoint(vs)
            r.sim.faults.skip_sequence = 1
            await until(lambda: sum(r.edge.sync(s).counters.gaps for s in ("BTC-USDT", "ETH-USDT", "SOL-USDT")) == 1,
                        5.0, "one gap")
            gapped = [s for s in ("BTC-USDT", "ETH-USDT", "SOL-USDT") if r.edge.sync(s).counters.gaps]
            assert len(gapped) == 1
            others = [s for s in ("BTC-USDT", "ETH-USDT", "SOL-USDT") if s not in gapped]
            assert all(r.edge.sync(s).counters.resyncs == 0 for s in others)   # only that symbol resyncs
            assert r.edge.counters.reconnects == 0
            await until(lambda: r.edge.sync(gapped[0]).state.value == "LIVE", 5.0, "the resync")
            for vs in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
                await r.checkpoint(vs)
    run(go())


def test_server_pings_are_answered_and_the_connection_lives() -> None:
    async def go() -> None:
        # the simulator pings every 0.1 s and drops a connection whose pong is late
        async with rig(False, ping_interval_s=0.1) as r:
            await asyncio.sleep(1.0)
            assert r.edge.counters.reconnects == 0
            await r.checkpoint()
    run(go())


def test_random_fault_schedule_always_converges(futures: bool) -> None:
    """A seeded mix of every market-data fault, one after another; the book converges after each."""
    import random

    rng = random.Random(11 if futures else 12)
    faults = ["drop_sockets", "skip_sequence", "malformed_json", "rest_429", "rest_503", "slow_rest"]

    async def go() -> None:
        async with rig(futures) as r:
            for _ in range(6):
                f = rng.choice(faults)
                if f == "rest_429":
                    r.sim.faults.rest_errors = [(429, 0.0)]
                    r.sim.faults.skip_sequence = 1        # forces a snapshot that gets the 429
                elif f == "rest_503":
                    r.sim.faults.rest_errors = [(503, 0.0), (503, 0.0)]
                    r.sim.faults.skip_sequence = 1
                elif f == "slow_rest":
                    r.sim.faults.rest_delay_s = 0.2
                    r.sim.faults.skip_sequence = 1
                else:
                    setattr(r.sim.faults, f, 1)
                await asyncio.sleep(0.15)
                await until(lambda: r.edge.sync("BTC-USDT").state.value == "LIVE", 5.0, f"recovery from {f}")
                r.sim.faults.rest_delay_s = 0.0
                await r.checkpoint()
            assert r.edge.sync("BTC-USDT").counters.snapshots >= 2
    run(go(), timeout=60)
