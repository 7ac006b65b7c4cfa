"""OKX specifics over real sockets: legacy checksums verified, corrupted checksum, seqId reset, idle heartbeats."""

from __future__ import annotations

import asyncio

from tests.edge.okxbybit_rig import rig, run, until


def test_legacy_checksum_mode_is_verified_and_converges() -> None:
    async def go() -> None:
        async with rig("okx", legacy_checksum=True) as r:
            sync = r.edge.sync(r.symbol)
            assert sync.raw is not None and sync.raw.active, "raw strings tracked once a checksum is non-zero"
            for _ in range(3):
                await asyncio.sleep(0.3)
                await r.checkpoint()
            assert sync.counters.checksum_failures == 0
            assert sync.raw.checksum() == r.sim._checksum(r.sim.symbol_state(r.symbol))
    run(go())


def test_corrupted_checksum_resyncs_then_converges() -> None:
    for legacy in (True, False):
        async def go(legacy: bool = legacy) -> None:
            async with rig("okx-perp", legacy_checksum=legacy) as r:
                await r.checkpoint()
                snaps = len(r.sink.snapshots)
                r.sim.faults.corrupt_checksum = 1
                await until(lambda: r.edge.sync(r.symbol).counters.checksum_failures >= 1, 5.0, "checksum failure")
                await until(lambda: len(r.sink.snapshots) > snaps, 5.0, "a new snapshot")
                await r.checkpoint()
        run(go())


def test_sequence_reset_after_maintenance_is_not_a_gap() -> None:
    async def go() -> None:
        async with rig("okx") as r:
            await r.checkpoint()
            before = r.sim.last_seq_id(r.symbol)
            r.sim.seq_resets = 1
            await until(lambda: r.sim.last_seq_id(r.symbol) < before, 5.0, "the reset")
            bbos = len(r.sink.bbos)
            await asyncio.sleep(0.3)
            await r.checkpoint()
            assert r.edge.sync(r.symbol).counters.gaps == 0
            assert r.sink.resyncs == []
            assert len(r.sink.bbos) > bbos, "BBO publishing continues after the seqId reset"
            b = r.edge.book(r.symbol)
            assert r.sink.bbos[-1][1:5] == (*b.best_bid(), *b.best_ask())
    run(go())


def test_idle_heartbeat_updates_keep_the_chain() -> None:
    async def go() -> None:
        async with rig("okx", heartbeat_s=0.05) as r:
            await r.checkpoint()
            r.sim.actions_per_tick = 0      # idle venue: only empty updates with seqId == prevSeqId
            n = len(r.sink.deltas)
            await until(lambda: len(r.sink.deltas) >= n + 3, 5.0, "heartbeats")
            assert all(k == 0 for _, _, k in r.sink.deltas[n + 1:]), "empty updates, seqId == prevSeqId"
            await r.checkpoint()
            assert r.edge.sync(r.symbol).counters.gaps == 0
    run(go())
