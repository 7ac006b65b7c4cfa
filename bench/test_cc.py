"""CC benchmarks: quote latency and the sandbox order path through the SDK against a real `seqkern
cc` process, and stream fan-out, each beside a bare aiohttp peer (same HTTP/WS stack, no auth,
state or journal) run in the same session."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time

import aiohttp
import numpy as np
import orjson
import pytest
from tests.cc.harness import BOOKS, CCProcess, ThreadedCC, http

from seqkern.sdk import Client

from .cc_peer import app as peer_app

N_CALLS = 300
FANOUT_CLIENTS = 20
FANOUT_MSGS = 500


def _pcts(lat_ns: list[int], extra: dict) -> None:
    a = np.array(lat_ns, dtype=np.int64)
    extra["p50_us"] = round(float(np.percentile(a, 50)) / 1e3, 1)
    extra["p99_us"] = round(float(np.percentile(a, 99)) / 1e3, 1)


@pytest.fixture(scope="module")
def cc_proc(tmp_path_factory):
    d = tmp_path_factory.mktemp("cc")
    snap = d / "books.json"
    snap.write_text(json.dumps(BOOKS))
    (d / "data").mkdir()
    cc = CCProcess(str(d / "data"), str(snap), str(d / "admin.key"), journal_sync="full")
    _st, k = http("POST", cc.url + "/v1/keys", {"scopes": ["read", "trade"], "sandbox": True}, cc.admin)
    cc.key = k["key"]
    yield cc
    cc.stop()


@pytest.fixture(scope="module")
def peer_proc(tmp_path_factory, cc_proc):
    d = tmp_path_factory.mktemp("peer")
    _, quote = http("GET", cc_proc.url + "/v1/quotes/ETH-USDT", None, cc_proc.key)
    _, order = http("POST", cc_proc.url + "/v1/orders",
                    {"symbol": "ETH-USDT", "side": "buy", "qty": "0.01"}, cc_proc.key)
    (d / "q.json").write_bytes(orjson.dumps(quote))
    (d / "o.json").write_bytes(orjson.dumps(order))
    port_file = str(d / "port")
    p = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "cc_peer.py"),
                          port_file, str(d / "q.json"), str(d / "o.json")])
    deadline = time.monotonic() + 20
    while not os.path.exists(port_file):
        assert time.monotonic() < deadline and p.poll() is None
        time.sleep(0.05)
    with open(port_file) as f:
        url = f"http://127.0.0.1:{f.read()}"
    yield url
    p.terminate()
    p.wait(10)


def _run_calls(call) -> list[int]:
    async def go():
        lat = []
        for _ in range(N_CALLS):
            t = time.perf_counter_ns()
            await call()
            lat.append(time.perf_counter_ns() - t)
        return lat
    return go


def _bench_loop(benchmark, make_call, extra_label: str) -> None:
    loop = asyncio.new_event_loop()
    holder = {}

    async def setup_async():
        holder["call"], holder["close"] = await make_call()
    loop.run_until_complete(setup_async())
    lats: list[int] = []

    def run():
        lats.extend(loop.run_until_complete(_run_calls(holder["call"])()))

    benchmark.extra_info["ops"] = N_CALLS
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    _pcts(lats[N_CALLS:] or lats, benchmark.extra_info)   # drop the warm-up round
    loop.run_until_complete(holder["close"]())
    loop.close()


def test_cc_quote_sdk(benchmark, cc_proc):
    """SDK Client.nbbo -> GET /v1/quotes/{symbol} on the CC (auth, NBBO from the BBO matrix)."""
    async def make():
        c = Client(cc_proc.url, cc_proc.key)
        return (lambda: c.nbbo("ETH-USDT")), c.close
    _bench_loop(benchmark, make, "quote")


def test_cc_quote_peer(benchmark, peer_proc):
    """The same GET answered by a bare aiohttp handler with the prebuilt body."""
    async def make():
        s = aiohttp.ClientSession()

        async def call():
            async with s.get(peer_proc + "/quote") as r:
                return orjson.loads(await r.read())
        return call, s.close
    _bench_loop(benchmark, make, "quote")


def test_cc_order_sandbox_sdk(benchmark, cc_proc):
    """SDK Client.buy in sandbox: auth, parse, route, reserve, journal (fsync on each commit:
    sync=full), simulated fill, response."""
    async def make():
        c = Client(cc_proc.url, cc_proc.key)
        return (lambda: c.buy("ETH-USDT", "0.01")), c.close
    _bench_loop(benchmark, make, "order")


def test_cc_order_sandbox_peer(benchmark, peer_proc):
    async def make():
        s = aiohttp.ClientSession()
        body = orjson.dumps({"symbol": "ETH-USDT", "side": "buy", "qty": "0.01"})

        async def call():
            async with s.post(peer_proc + "/order", data=body,
                              headers={"Content-Type": "application/json"}) as r:
                return orjson.loads(await r.read())
        return call, s.close
    _bench_loop(benchmark, make, "order")


# --- stream fan-out ------------------------------------------------------------------------------


class _ThreadedPeer:
    def __init__(self) -> None:
        from aiohttp import web
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.app = peer_app(b"{}", b"{}")

        async def start():
            self.runner = web.AppRunner(self.app, access_log=None)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            return site._server.sockets[0].getsockname()[1]
        self.port = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


def _fanout(benchmark, ws_url: str, headers: dict, subscribe: bool, trigger) -> None:
    loop = asyncio.new_event_loop()
    state = {}

    async def connect():
        s = aiohttp.ClientSession()
        wss = [await s.ws_connect(ws_url, headers=headers, max_msg_size=0) for _ in range(FANOUT_CLIENTS)]
        if subscribe:
            for ws in wss:
                await ws.send_str('{"subscribe": ["orders"]}')
                await ws.receive()   # ack
                await ws.receive()   # snapshot
        state["s"], state["wss"] = s, wss
    loop.run_until_complete(connect())

    async def drain(ws):
        n = 0
        while n < FANOUT_MSGS:
            m = await ws.receive()
            assert m.type == aiohttp.WSMsgType.TEXT
            n += 1

    def run():
        async def go():
            tasks = [asyncio.create_task(drain(ws)) for ws in state["wss"]]
            await asyncio.sleep(0)
            trigger()
            await asyncio.gather(*tasks)
        loop.run_until_complete(go())

    benchmark.extra_info["ops"] = FANOUT_CLIENTS * FANOUT_MSGS
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    if benchmark.stats is not None:   # None under --benchmark-disable (the test suite's smoke run)
        benchmark.extra_info["msgs_per_s"] = round(FANOUT_CLIENTS * FANOUT_MSGS / benchmark.stats.stats.median)

    async def close():
        for ws in state["wss"]:
            await ws.close()
        await state["s"].close()
    loop.run_until_complete(close())
    loop.close()


def test_cc_stream_fanout(benchmark, tmp_path):
    """StreamHub: FANOUT_MSGS order events published to FANOUT_CLIENTS subscribers (queue, writer
    task per client, JSON text frames)."""
    c = ThreadedCC(str(tmp_path / "cc"), books=BOOKS)
    try:
        def trigger():
            def burst():
                for i in range(FANOUT_MSGS):
                    c.cc.hub.publish("orders", {"i": i}, None)
            c.loop.call_soon_threadsafe(burst)
        _fanout(benchmark, c.url.replace("http", "ws") + "/v1/stream",
                {"Authorization": f"Bearer {c.admin}"}, True, trigger)
    finally:
        c.close()


def test_cc_stream_fanout_peer(benchmark):
    """A bare aiohttp broadcaster: await send_str to every client, message by message."""
    p = _ThreadedPeer()
    try:
        def trigger():
            async def burst():
                async with aiohttp.ClientSession() as s:
                    await s.post(f"http://127.0.0.1:{p.port}/burst?n={FANOUT_MSGS}")
            asyncio.run_coroutine_threadsafe(burst(), p.loop)
        _fanout(benchmark, f"ws://127.0.0.1:{p.port}/stream", {}, False, trigger)
    finally:
        p.close()


# --- live order path: SDK call -> CC -> CC-LINK -> edge -> signed order at the simulator ---------

ORDER_PATH_N = 200


class _SimThread:
    """A Binance spot simulator on its own loop thread; ``arrivals`` timestamps (perf_counter_ns,
    same clock as the benchmark) each order.place that reaches its matching logic, i.e. a signed
    order the simulator verified."""

    def __init__(self, api_key: str, secret: str) -> None:
        from seqkern.sim.binance import BinanceSim

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.arrived = threading.Event()
        self.last_arrival = 0

        async def start():
            sim = BinanceSim(futures=False)
            sim.add_account(api_key, secret, balances={"USDT": "100000000", "BTC": "100"})
            orig = sim._place

            async def timed(acct, p):
                self.last_arrival = time.perf_counter_ns()
                self.arrived.set()
                return await orig(acct, p)

            sim._place = timed
            await sim.start()
            return sim
        self.sim = asyncio.run_coroutine_threadsafe(start(), self.loop).result(20)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory):
    import secrets as _secrets

    d = tmp_path_factory.mktemp("live")
    api_key, secret = _secrets.token_hex(16), _secrets.token_hex(32)
    sim = _SimThread(api_key, secret)
    snap = d / "none.json"
    snap.write_text('{"pairs": []}')
    (d / "data").mkdir()
    cc = CCProcess(str(d / "data"), str(snap), str(d / "admin.key"), journal_sync="full")
    http("POST", cc.url + "/v1/credentials/binance", {"api_key": api_key, "api_secret": secret}, cc.admin)
    _, k = http("POST", cc.url + "/v1/keys", {"scopes": ["read", "trade"]}, cc.admin)
    env = dict(os.environ, BINANCE_API_KEY=api_key, BINANCE_API_SECRET=secret,
               BINANCE_MARKET_WS=sim.sim.base_ws, BINANCE_REST=sim.sim.base_http,
               BINANCE_TRADE_WS=sim.sim.base_ws + "/ws-api/v3")
    log = open(d / "edge.log", "wb")  # noqa: SIM115
    edge = subprocess.Popen(
        [sys.executable, "-c", "import sys; from seqkern.cli import venue_edge_cex; sys.exit(venue_edge_cex())",
         "--venue", "binance", "--symbols", "BTC-USDT", "--cc", f"127.0.0.1:{cc.info['cclink_port']}"],
        env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while True:
        _, edges = http("GET", cc.url + "/v1/edges", None, cc.admin)
        if edges and edges[0]["bbo"]:
            break
        assert time.monotonic() < deadline and edge.poll() is None, "the edge did not come up"
        time.sleep(0.1)
    _, q = http("GET", cc.url + "/v1/quotes/BTC-USDT", None, cc.admin)
    yield {"url": cc.url, "key": k["key"], "sim": sim, "api_key": api_key, "secret": secret,
           "bid": q["nbbo"]["bid"]}
    edge.terminate()
    edge.wait(10)
    log.close()
    cc.stop()
    sim.close()


def _order_path(benchmark, sim: _SimThread, place, loop) -> None:
    """Each op: t0, one resting limit buy far below the market, then a GIL-releasing wait until
    the simulator has verified it (the arrival time is taken on the simulator's thread)."""
    lats: list[int] = []

    def run():
        async def one():
            sim.arrived.clear()
            t0 = time.perf_counter_ns()
            await place()
            return t0

        for _ in range(ORDER_PATH_N):
            t0 = loop.run_until_complete(one())
            assert sim.arrived.wait(5), "the order did not reach the simulator"
            lats.append(sim.last_arrival - t0)

    benchmark.extra_info["ops"] = ORDER_PATH_N
    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    _pcts(lats[ORDER_PATH_N:] or lats, benchmark.extra_info)


def test_cc_order_path_sdk_to_sim(benchmark, live_stack):
    """SDK Client.buy -> CC (auth, SOR, reserve, journal) -> CC-LINK ORDER_NEW -> Binance edge ->
    signed WS API order.place verified by the simulator."""
    loop = asyncio.new_event_loop()
    c = Client(live_stack["url"], live_stack["key"])
    px = str(round(live_stack["bid"] * 0.5, 2))
    _order_path(benchmark, live_stack["sim"],
                lambda: c.buy("BTC-USDT", "0.001", price=px, venue="binance"), loop)
    loop.run_until_complete(c.close())
    loop.close()


def test_cc_order_path_direct_to_sim(benchmark, live_stack):
    """Peer: the same signed order sent straight from this process with the edge's Binance WS API
    transport (no SDK, CC or edge hop)."""
    from seqkern.edge.rest import RateLimiter, RestClient
    from seqkern.venues.base import CexCredentials, OrderRequest, OrderType, Side
    from seqkern.venues.binance import BinanceSpot
    from seqkern.venues.binance.execution import BinanceWsApiTransport

    sim = live_stack["sim"].sim
    venue = BinanceSpot(BinanceSpot.default_endpoints())
    loop = asyncio.new_event_loop()
    rest = RestClient(sim.base_http, RateLimiter(venue.rate_limits))
    t = BinanceWsApiTransport(futures=False, ws_api_url=sim.base_ws + "/ws-api/v3",
                              credentials=CexCredentials("binance", live_stack["api_key"],
                                                         live_stack["secret"]), rest=rest)
    loop.run_until_complete(t.connect())
    px = int(round(live_stack["bid"] * 0.5, 2) * 100) * 10**7

    async def place():
        res = await t.place(OrderRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, 100_000, px))
        assert res.accepted, res.error_msg

    _order_path(benchmark, live_stack["sim"], place, loop)
    loop.run_until_complete(t.close())
    loop.close()
