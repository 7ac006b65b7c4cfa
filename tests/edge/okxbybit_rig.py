"""Test rig for the OKX and Bybit edges: a simulator plus an edge wired to it over real loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from seqkern.edge.backoff import Backoff
from seqkern.edge.rest import RateLimiter, RestClient
from seqkern.edge.runner import EdgeRunner
from seqkern.edge.sink import MemorySink
from seqkern.sim.bybit import BybitSim
from seqkern.sim.okx import OkxSim
from seqkern.venues.base import OrderTransport, VenueEndpoints, contracts_to_base
from seqkern.venues.bybit import BybitLinear, BybitSpot
from seqkern.venues.bybit.execution import BybitWsTransport
from seqkern.venues.credentials import CexCredentials, CexPassphraseCredentials
from seqkern.venues.okx import OkxSpot, OkxSwap
from seqkern.venues.okx.execution import OkxWsTransport

OKX_KEY = "985d5b66-57ce-40fb-b714-afc0b9787083"
OKX_SECRET = "22582BD0CFF14C41EDBF1AB98506286D"
OKX_PASSPHRASE = "Sk-pass-42"
BYBIT_KEY = "XXXXXXXXXXXXXXXXXX"
BYBIT_SECRET = "yYyYyYyYyYyYyYyYyYyYyYyYyYyYyYyYyYyY"

VENUES = ("okx", "okx-perp", "bybit", "bybit-perp")


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


def okx_credentials(passphrase: str = OKX_PASSPHRASE, secret: str = OKX_SECRET) -> CexPassphraseCredentials:
    return CexPassphraseCredentials(venue="okx", api_key=OKX_KEY, api_secret=secret, passphrase=passphrase)


def bybit_credentials(secret: str = BYBIT_SECRET) -> CexCredentials:
    return CexCredentials(venue="bybit", api_key=BYBIT_KEY, api_secret=secret)


@dataclass
class Rig:
    name: str
    sim: OkxSim | BybitSim
    edge: EdgeRunner
    sink: MemorySink
    symbol: str             # venue symbol
    transport: OrderTransport | None
    contract_1e8: int = 0   # OKX SWAP: base units per contract (the simulator sizes in contracts)

    def base(self, venue_qty_1e8: int) -> int:
        """A simulator (venue) size as the kernel's base quantity."""
        return contracts_to_base(venue_qty_1e8, self.contract_1e8)

    @property
    def okx(self) -> bool:
        return self.name.startswith("okx")

    def sim_update_id(self) -> int:
        if isinstance(self.sim, OkxSim):
            return self.sim.last_seq_id(self.symbol)
        return self.sim.last_u(self.symbol)

    async def checkpoint(self, levels: int = 50, timeout: float = 5.0) -> None:
        """Pause the venue, let the edge drain, and compare its book with the venue's true book."""
        self.sim.paused = True
        try:
            await until(lambda: self.edge.sync(self.symbol).state.value == "LIVE"
                        and self.edge.book(self.symbol).last_update_id == self.sim_update_id(),
                        timeout, "the edge to catch up with the simulator")
            book = self.edge.book(self.symbol)
            assert book.valid
            bids, asks = self.sim.true_depth(self.symbol, levels)
            bids = [(p, self.base(q)) for p, q in bids]   # the edge publishes base units
            asks = [(p, self.base(q)) for p, q in asks]
            bp, bq, ap, aq = book.top(levels)
            assert list(zip(bp.tolist(), bq.tolist(), strict=True)) == bids
            assert list(zip(ap.tolist(), aq.tolist(), strict=True)) == asks
        finally:
            self.sim.paused = False


def make_sim(name: str, **kw: Any) -> OkxSim | BybitSim:
    if name.startswith("okx"):
        sim: OkxSim | BybitSim = OkxSim(swap=name == "okx-perp", **kw)
        sim.add_account(OKX_KEY, OKX_SECRET, OKX_PASSPHRASE)
    else:
        sim = BybitSim(linear=name == "bybit-perp", **kw)
        sim.add_account(BYBIT_KEY, BYBIT_SECRET)
    return sim


def endpoints(name: str, sim: OkxSim | BybitSim) -> VenueEndpoints:
    if name.startswith("okx"):
        return VenueEndpoints(market_ws=sim.base_ws, trade_ws=sim.base_ws + "/ws/v5/private", rest=sim.base_http,
                              private_ws=sim.base_ws + "/ws/v5/private")
    return VenueEndpoints(market_ws=sim.base_ws, trade_ws=sim.base_ws + "/v5/trade", rest=sim.base_http,
                          private_ws=sim.base_ws + "/v5/private")


def venue_for(name: str, ep: VenueEndpoints) -> Any:
    return {"okx": OkxSpot, "okx-perp": OkxSwap, "bybit": BybitSpot, "bybit-perp": BybitLinear}[name](ep)


def transport_for(name: str, venue: Any, rest: RestClient, credentials: Any) -> OrderTransport:
    ep = venue.endpoints
    if name.startswith("okx"):
        return OkxWsTransport(inst_type="SWAP" if name == "okx-perp" else "SPOT", private_ws_url=ep.private_ws,
                              credentials=credentials, rest=rest, request_timeout_s=5.0)
    return BybitWsTransport(category="linear" if name == "bybit-perp" else "spot", trade_ws_url=ep.trade_ws,
                            private_ws_url=ep.private_ws, credentials=credentials, request_timeout_s=5.0,
                            rest=rest)


@contextlib.asynccontextmanager
async def rig(name: str, *, orders: bool = False, **sim_kw: Any) -> AsyncIterator[Rig]:
    sim = make_sim(name, **sim_kw)
    await sim.start()
    try:
        venue = venue_for(name, endpoints(name, sim))
        rest = RestClient(venue.endpoints.rest, RateLimiter(venue.rate_limits), default_retry_after_s=0.2)
        transport = None
        if orders:
            creds = okx_credentials() if name.startswith("okx") else bybit_credentials()
            transport = transport_for(name, venue, rest, creds)
        sink = MemorySink()
        edge = EdgeRunner(venue, ["BTC-USDT"], sink, transport=transport, rest=rest,
                          backoff=Backoff(0.05, 0.5), snapshot_retry=Backoff(0.02, 0.2))
        await edge.start()
        try:
            await edge.wait_live("BTC-USDT", 10.0)
            vs = venue.venue_symbol("BTC-USDT")
            yield Rig(name, sim, edge, sink, vs, transport, venue.contract_size_1e8(vs))
        finally:
            await edge.stop()
    finally:
        await sim.stop()
