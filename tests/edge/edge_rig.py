"""Test rig for edge tests: a Binance simulator plus an edge wired to it over real loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from seqkern.edge.backoff import Backoff
from seqkern.edge.rest import RateLimiter, RestClient
from seqkern.edge.runner import EdgeRunner
from seqkern.edge.sink import MemorySink
from seqkern.sim.binance import BinanceSim
from seqkern.venues.base import CexCredentials, VenueEndpoints
from seqkern.venues.binance import BinanceSpot, BinanceUsdm
from seqkern.venues.binance.execution import BinanceWsApiTransport

API_KEY = "test-key-7Hq2"
SECRET = "test-secret-Zp9x"


def run(coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


async def until(pred: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@dataclass
class Rig:
    sim: BinanceSim
    edge: EdgeRunner
    sink: MemorySink
    futures: bool

    async def checkpoint(self, symbol: str = "BTCUSDT", levels: int = 200) -> None:
        """Pause the venue, let the edge drain, and compare its book with the venue's true book."""
        self.sim.paused = True
        try:
            await until(lambda: self.edge.sync(symbol).state.value == "LIVE"
                        and self.edge.book(symbol).last_update_id == self.sim.last_update_id(symbol),
                        5.0, "the edge to catch up with the simulator")
            book = self.edge.book(symbol)
            assert book.valid
            bids, asks = self.sim.true_depth(symbol, levels)
            bp, bq, ap, aq = book.top(levels)
            assert list(zip(bp.tolist(), bq.tolist(), strict=True)) == bids
            assert list(zip(ap.tolist(), aq.tolist(), strict=True)) == asks
        finally:
            self.sim.paused = False


def endpoints(sim: BinanceSim) -> VenueEndpoints:
    api = "/ws-fapi/v1" if sim.futures else "/ws-api/v3"
    return VenueEndpoints(market_ws=sim.base_ws, trade_ws=sim.base_ws + api, rest=sim.base_http,
                          private_ws=sim.base_ws)


@contextlib.asynccontextmanager
async def rig(futures: bool, *, credentials: CexCredentials | None = None,
              before_start: Callable[[BinanceSim], Awaitable[None] | None] | None = None,
              symbols: tuple[str, ...] = ("BTC-USDT",), streams_per_connection: int = 0,
              **sim_kw: Any) -> AsyncIterator[Rig]:
    sim = BinanceSim(futures=futures, symbols=sim_kw.pop("symbols_sim", None), **sim_kw)
    sim.add_account(API_KEY, SECRET, balances={"USDT": "1000000", "BTC": "100"})
    await sim.start()
    try:
        if before_start is not None:
            r = before_start(sim)
            if r is not None:
                await r
        venue = (BinanceUsdm if futures else BinanceSpot)(endpoints(sim))
        if streams_per_connection:
            venue.limits = replace(venue.limits, streams_per_connection=streams_per_connection)
        rest = RestClient(venue.endpoints.rest, RateLimiter(venue.rate_limits), default_retry_after_s=0.2)
        transport = None
        if credentials is not None:
            transport = BinanceWsApiTransport(futures=futures, ws_api_url=venue.endpoints.trade_ws,
                                              credentials=credentials, rest=rest,
                                              private_ws_base=venue.endpoints.private_ws)
        sink = MemorySink()
        edge = EdgeRunner(venue, list(symbols), sink, transport=transport, rest=rest,
                          backoff=Backoff(0.05, 0.5), snapshot_retry=Backoff(0.02, 0.2))
        await edge.start()
        try:
            for sym in symbols:
                await edge.wait_live(sym, 10.0)
            yield Rig(sim, edge, sink, futures)
        finally:
            await edge.stop()
    finally:
        await sim.stop()
