"""Edge-against-simulator harness for the in-stream-snapshot venues: real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from seqkern.edge.runner import EdgeRunner
from seqkern.edge.sink import MemorySink
from seqkern.sim.instream import InStreamBookSim
from seqkern.venues.base import CexVenue
from seqkern.venues.book_sync import SyncState


def book_levels(runner: EdgeRunner, symbol: str, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    bp, bq, ap, aq = runner.book(symbol).top(n)
    return list(zip(bp.tolist(), bq.tolist(), strict=True)), list(zip(ap.tolist(), aq.tolist(), strict=True))


async def converged(runner: EdgeRunner, sim: InStreamBookSim, symbol: str, venue_symbol: str, n: int,
                    timeout_s: float = 10.0) -> bool:
    """Pause the simulator, let the stream drain, and compare the edge's book to the true book."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sim.paused = True
        await asyncio.sleep(0.15)
        sync = runner.sync(symbol)
        ok = sync.state is SyncState.LIVE and runner.book(symbol).valid and \
            book_levels(runner, symbol, n) == sim.true_depth(venue_symbol, n)
        sim.paused = False
        if ok:
            return True
        await asyncio.sleep(0.1)
    return False


async def start_edge(venue: CexVenue, symbols: list[str], specs: dict[str, Any] | None = None,
                     **kw: Any) -> tuple[EdgeRunner, MemorySink]:
    sink = MemorySink()
    runner = EdgeRunner(venue, symbols, sink, **kw)
    await runner.start(specs)
    return runner, sink
