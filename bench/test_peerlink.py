"""Peer-link benchmarks: the BBO mirror rate across one peer link (owner CC -> peer CC, decoded
and applied to the peer's BBO matrix) beside the same updates arriving from an edge over CC-LINK
(edge -> CC); and a forwarded order (entered at na, placed by ap through its edge, answered back)
beside the same order entered at ap. Two real CommandCenters in one event loop, loopback TCP,
no injected delay."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import numpy as np
import pytest
from tests.mesh.harness import BTC, ScriptedEdge

from seqkern.cc.apikeys import ApiKey
from seqkern.cc.edgelink import start_edge_link
from seqkern.cc.peerlink import start_peer_link
from seqkern.cc.server import CommandCenter
from seqkern.cclink import EdgeLinkClient, InstrumentType, Region

N_SYMBOLS = 100
N_ROUNDS_MD = 50          # x N_SYMBOLS updates per measured pass
N_ORDERS = 150


class Pair:
    """ap (owner: a scripted Binance edge and 100 static OKX books) and na, peer-linked; plus an
    edge feeding na directly over CC-LINK (the mirror's peer)."""

    def __init__(self, tmp: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self._start(tmp))

    def run(self, coro: Any, timeout: float = 120.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self, tmp: str) -> None:
        self.ap = CommandCenter(region="ap", data_dir=f"{tmp}/ap", master_key=b"k" * 32,
                                journal_sync="normal")
        self.na = CommandCenter(region="na", data_dir=f"{tmp}/na", master_key=b"k" * 32,
                                journal_sync="normal")
        for i in range(N_SYMBOLS):
            self.ap.apply_static_book({"symbol": f"S{i}-USDT", "venue": "okx", "base": f"S{i}",
                                       "quote": "USDT", "tick": "0.01", "lot": "0.001",
                                       "bids": [["100", "1"]], "asks": [["101", "1"]]})
        ap_port = await start_edge_link(self.ap, "127.0.0.1", 0)
        na_port = await start_edge_link(self.na, "127.0.0.1", 0)
        self.ap.vault.put("binance", {"api_key": "k", "api_secret": "s"})
        self.ap_peer = await start_peer_link(self.ap, "127.0.0.1", 0, {})
        self.na_peer = await start_peer_link(self.na, "127.0.0.1", 0, {})
        await self.ap_peer.add_peer("na", "127.0.0.1", self.na_peer.port)
        await self.na_peer.add_peer("ap", "127.0.0.1", self.ap_peer.port)
        self.edge = ScriptedEdge("ap", 3, "venue-edge-binance", 100_000, 99_999)
        await self.edge.start(ap_port)
        self.raw = EdgeLinkClient("venue-edge-kraken", region=Region.NA, venue_slot=1,
                                  instrument_type=InstrumentType.SPOT)
        for i in range(N_SYMBOLS):
            self.raw.bind_symbol(i + 1, f"R{i}-USDT", f"R{i}USDT", 1, int(InstrumentType.SPOT),
                                 10_000_000, 100_000)
        await self.raw.connect_tcp("127.0.0.1", na_port)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if (BTC in self.na.market.slots and self.na_peer.routable(3)
                    and f"S{N_SYMBOLS - 1}-USDT" in self.na.market.slots
                    and f"R{N_SYMBOLS - 1}-USDT" in self.na.market.slots
                    and self.na.ledger.balance("live", 3, "USDT") > 0):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("the peer link did not come up")

    def close(self) -> None:
        async def stop() -> None:
            await self.edge.close()
            await self.raw.close()
            await self.na.stop()
            await self.ap.stop()
        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    p = Pair(str(tmp_path_factory.mktemp("peerlink")))
    try:
        yield p
    finally:
        p.close()


def _counter(cc: CommandCenter, venue: int) -> list[int]:
    n = [0]

    def on(symbol: str, v: int) -> None:
        if v == venue:
            n[0] += 1
    cc.market.listeners.append(on)
    return n


_SEQ = [0]


def _bbo_pass(pair: Pair, how: str) -> None:
    """N_ROUNDS_MD rounds; each round moves every one of the 100 symbols' BBO once (a new price)
    at the source and waits for the round to land in na's BBO matrix."""
    async def go() -> None:
        seen = pair.counters[how]
        mirrored = pair.na_peer
        for _ in range(N_ROUNDS_MD):
            _SEQ[0] += 1
            px = (100 + _SEQ[0] % 50) * 10**9
            want = (mirrored.mirrored_in if how == "mirror" else seen[0]) + N_SYMBOLS
            if how == "mirror":
                m = pair.ap.market
                for i in range(N_SYMBOLS):
                    m.set_bbo(f"S{i}-USDT", 8, px, 10**8, px + 10**7, 10**8, time.time_ns())
            else:
                link = pair.raw.link
                for i in range(N_SYMBOLS):
                    link.send_bbo(i + 1, px, 10**8, px + 10**7, 10**8)
                link.flush()
            while (mirrored.mirrored_in if how == "mirror" else seen[0]) < want:
                await asyncio.sleep(0)
    pair.run(go())


@pytest.mark.parametrize("how", ["mirror", "edge"])
def test_peerlink_bbo_mirror_rate(benchmark, pair, how):
    """5 000 BBO updates (100 symbols x 50 rounds) into na's BBO matrix: mirrored from ap over the
    peer link (ap's market -> frame -> decode -> na's market) vs straight from an edge."""
    if not hasattr(pair, "counters"):
        pair.counters = {"mirror": _counter(pair.na, 8), "edge": _counter(pair.na, 1)}
    benchmark.pedantic(_bbo_pass, args=(pair, how), rounds=15, warmup_rounds=2, iterations=1)
    n = N_SYMBOLS * N_ROUNDS_MD
    benchmark.extra_info["updates"] = n
    if benchmark.stats is not None:      # None when benchmarks run untimed in the suite
        benchmark.extra_info["updates_per_s"] = round(n / benchmark.stats.stats.median)


def _order_once(pair: Pair, where: str, lat: list[int]) -> None:
    cc = pair.ap if where == "local" else pair.na
    key = ApiKey("bench", frozenset({"trade", "read"}), False, "bench")

    async def go() -> None:
        done = asyncio.get_running_loop().create_future()
        publish = cc.engine.publish

        def spy(topic: str, data: dict, key_id: str | None) -> None:
            publish(topic, data, key_id)
            if (topic == "orders" and key_id == "bench" and data["order_id"].endswith(":0")
                    and data["terminal"] and not done.done()):
                done.set_result(data)
        cc.engine.publish = spy
        t0 = time.perf_counter_ns()
        res = cc.engine.submit(key, {"symbol": BTC, "side": "buy", "qty_1e8": 1000,
                                     "price_1e9": 100_000 * 10**9, "time_in_force": "ioc",
                                     "venue": "binance"})
        try:
            d = res if res["terminal"] else await asyncio.wait_for(done, 10)
        finally:
            cc.engine.publish = publish
        lat.append(time.perf_counter_ns() - t0)
        assert d["status"] == "filled", d
    pair.run(go())


@pytest.mark.parametrize("where", ["local", "forwarded"])
def test_peerlink_order_added_latency(benchmark, pair, where):
    """Submit -> filled at the entering CC: entered at ap (its own edge) vs entered at na
    (forwarded over the peer link to ap, which places it, and answered back). No injected delay."""
    pair.edge.mode = "fill"
    lat: list[int] = []
    benchmark.pedantic(_order_once, args=(pair, where, lat), rounds=N_ORDERS, warmup_rounds=10,
                       iterations=1)
    a = np.array(lat[10:] or lat, dtype=np.int64)
    benchmark.extra_info["p50_us"] = round(float(np.percentile(a, 50)) / 1e3, 1)
    benchmark.extra_info["p99_us"] = round(float(np.percentile(a, 99)) / 1e3, 1)
