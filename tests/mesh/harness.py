"""Three real `seqkern cc` processes (ap, na, eu) meshed on loopback. Every peer connection
runs through a test-only TCP shim that can delay its bytes (latency injection) and cut or
black-hole it (partitions); venues are scripted edges speaking real CC-LINK to their CC."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from seqkern.cclink import EdgeLinkClient, InstrumentType, Kind, Liquidity, OrderStatus, Region
from tests.cc.harness import http

REGIONS = ("ap", "na", "eu")
BTC = "BTC-USDT"


class Shim:
    """A TCP forwarder for one directed peer link (a's client -> b's listener). `delay_s` holds
    every chunk that long in both directions; `cut()` closes its connections and refuses new ones;
    `blackhole` swallows bytes (the connection stays open: a silent partition), `blackhole_back`
    only the listener's answers."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.target: tuple[str, int] | None = None
        self.delay_s = 0.0
        self.down = False
        self.blackhole = False
        self.blackhole_back = False      # swallow only what the listener sends back
        self.conns: list[asyncio.StreamWriter] = []
        self.port = 0
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _accept(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        if self.down or self.target is None:
            w.close()
            return
        try:
            ur, uw = await asyncio.open_connection(*self.target)
        except OSError:
            w.close()
            return
        self.conns += [w, uw]
        await asyncio.gather(self._pump(r, uw, False), self._pump(ur, w, True),
                             return_exceptions=True)

    async def _pump(self, r: asyncio.StreamReader, w: asyncio.StreamWriter, back: bool) -> None:
        try:
            while True:
                data = await r.read(65536)
                if not data:
                    break
                if self.blackhole or (self.blackhole_back and back):
                    continue
                if self.delay_s:
                    self.loop.call_later(self.delay_s, self._write, w, data)
                else:
                    w.write(data)
        finally:
            if self.delay_s:
                self.loop.call_later(self.delay_s, w.close)
            else:
                w.close()

    @staticmethod
    def _write(w: asyncio.StreamWriter, data: bytes) -> None:
        if not w.is_closing():
            w.write(data)

    def cut(self) -> None:
        self.down = True
        for w in self.conns:
            w.transport.abort()
        self.conns.clear()

    def restore(self) -> None:
        self.down = False
        self.blackhole = False
        self.blackhole_back = False


class ScriptedEdge:
    """A venue edge played by the test (real CC-LINK client): a one-symbol book and balances;
    orders are acked and filled at once (`mode = "fill"`) or rest (`"rest"`) until `fill()`."""

    def __init__(self, region: str, venue: int, edge_id: str, ask: int, bid: int, *,
                 usdt: int = 1_000_000, taker_bps_e4: int = 100_000) -> None:
        self.venue, self.ask, self.bid = venue, ask, bid
        self.mode = "fill"
        self.got: list = []
        self.resting: dict[int, Any] = {}
        self.fills = 0
        self.usdt = usdt
        self.client = EdgeLinkClient(edge_id, region=Region.parse(region), venue_slot=venue,
                                     instrument_type=InstrumentType.SPOT)
        for k in (Kind.ORDER_NEW, Kind.ORDER_CANCEL, Kind.ORDER_UPDATE):
            self.client.on(k, self._order)
        self.client.bind_symbol(5, BTC, "BTCUSDT", venue, int(InstrumentType.SPOT), 10_000_000,
                                1000, taker_fee_bps_e4=taker_bps_e4, maker_fee_bps_e4=taker_bps_e4)

    async def start(self, port: int) -> None:
        await self.client.connect_tcp("127.0.0.1", port)
        self.send_book()
        link = self.client.link
        link.send_balance(asset="USDT", total_1e8=self.usdt * 10**8, available_1e8=self.usdt * 10**8)
        link.send_balance(asset="BTC", total_1e8=10 * 10**8, available_1e8=10 * 10**8)
        link.flush()

    def send_book(self) -> None:
        self.client.link.send_l2(int(Kind.L2_SNAPSHOT), 5, 1,
                                 np.array([[self.bid * 10**9, 5 * 10**8]], dtype=np.int64),
                                 np.array([[self.ask * 10**9, 5 * 10**8]], dtype=np.int64))
        self.client.link.flush()

    def _common(self, f: Any) -> dict:
        return dict(symbol_id=f.symbol_id, request_id=f.request_id,
                    client_order_id=f.client_order_id, venue_order_id=f"v{f.request_id}")

    def _order(self, session: Any, f: Any) -> None:
        self.got.append(f)
        link = self.client.link
        if f.kind == Kind.ORDER_NEW:
            link.send_order(int(Kind.ORDER_ACK), status=int(OrderStatus.ACCEPTED), **self._common(f))
            if self.mode == "fill":
                self._fill(f, f.qty_1e8)
            else:
                self.resting[f.request_id] = f
        elif f.kind == Kind.ORDER_CANCEL:
            self.resting.pop(f.request_id, None)
            link.send_order(int(Kind.ORDER_ACK), status=int(OrderStatus.CANCELED), **self._common(f))
        elif f.kind == Kind.ORDER_UPDATE:   # reconciliation query
            o = self.resting.get(f.request_id)
            st = OrderStatus.ACCEPTED if o is not None else OrderStatus.FILLED
            link.send_order(int(Kind.ORDER_UPDATE), status=int(st), **self._common(f))
        link.flush()

    def _fill(self, f: Any, qty: int) -> None:
        self.fills += 1
        px = (self.ask if f.side == 1 else self.bid) * 10**9
        if f.order_type == 1:
            px = f.px_1e9
        self.client.link.send_fill(symbol_id=f.symbol_id, side=f.side, px_1e9=px, qty_1e8=qty,
                                   fee_1e9=0, fill_id=self.fills, request_id=f.request_id,
                                   liquidity=int(Liquidity.TAKER), client_order_id=f.client_order_id,
                                   venue_order_id=f"v{f.request_id}")

    def fill_resting(self) -> int:
        """Fill every resting order fully (the venue traded them)."""
        n = 0
        for rid, f in list(self.resting.items()):
            self._fill(f, f.qty_1e8)
            self.client.link.send_order(int(Kind.ORDER_UPDATE), status=int(OrderStatus.FILLED),
                                        **self._common(f))
            del self.resting[rid]
            n += 1
        self.client.link.flush()
        return n

    async def close(self) -> None:
        await self.client.close()


class CC:
    def __init__(self, region: str, data_dir: str, peers: dict[str, int], stale_ms: int) -> None:
        os.makedirs(data_dir, exist_ok=True)
        self.region = region
        self.ready = os.path.join(data_dir, "ready.json")
        self.admin_file = os.path.join(data_dir, "admin.key")
        env = dict(os.environ, SEQKERN_MASTER_KEY="ab" * 32)
        self.log = open(os.path.join(data_dir, "cc.log"), "ab")  # noqa: SIM115
        argv = [sys.executable, "-m", "seqkern.cli", "cc", "--region", region, "--port", "0",
                "--cclink-port", "0", "--peer-port", "0", "--data-dir", data_dir,
                "--admin-key-file", self.admin_file, "--ready-file", self.ready,
                "--journal-sync", "normal", "--peer-stale-ms", str(stale_ms)]
        for r, port in peers.items():
            argv += ["--peer", f"{r}=127.0.0.1:{port}"]
        self.argv, self.env = argv, env
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log, env=env)
        self.info: dict = {}

    def kill9_and_restart(self) -> None:
        """SIGKILL, then the same CC again on the same ports (journal recovery)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        os.unlink(self.ready)
        argv = list(self.argv)
        for flag, k in (("--port", "http_port"), ("--cclink-port", "cclink_port"),
                        ("--peer-port", "peer_port")):
            argv[argv.index(flag) + 1] = str(self.info[k])
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log, env=self.env)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"CC {self.region} did not start (rc={self.proc.poll()})")
            time.sleep(0.05)
        with open(self.ready) as f:
            self.info = json.load(f)
        self.url = f"http://127.0.0.1:{self.info['http_port']}"
        with open(self.admin_file) as f:
            self.admin = f.read().strip()

    def get(self, path: str) -> Any:
        st, body = http("GET", self.url + path, key=self.admin)
        assert st == 200, (st, body)
        return body

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        return http("POST", self.url + path, body, key=self.admin)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


class Mesh:
    """ap (Binance edge, ask 100 000), eu (Kraken edge, ask 100 015), na (no venue)."""

    def __init__(self, tmp: str, stale_ms: int = 1500) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.shims: dict[tuple[str, str], Shim] = {}
        for a in REGIONS:
            for b in REGIONS:
                if a != b:
                    s = Shim(self.loop)
                    self.run(s.start())
                    self.shims[(a, b)] = s
        self.cc = {r: CC(r, os.path.join(tmp, r), {b: self.shims[(r, b)].port
                                                   for b in REGIONS if b != r}, stale_ms)
                   for r in REGIONS}
        for c in self.cc.values():
            c.wait_ready()
        for (_a, b), s in self.shims.items():
            s.target = ("127.0.0.1", self.cc[b].info["peer_port"])
        self.edges = {"ap": ScriptedEdge("ap", 3, "venue-edge-binance", 100_000, 99_999),
                      "eu": ScriptedEdge("eu", 1, "venue-edge-kraken", 100_015, 99_998)}
        for r, e in self.edges.items():
            self.run(e.start(self.cc[r].info["cclink_port"]))
        st, _ = self.cc["ap"].post("/v1/credentials/binance", {"api_key": "k", "api_secret": "s"})
        assert st in (200, 201)
        st, _ = self.cc["eu"].post("/v1/credentials/kraken", {"api_key": "k", "api_secret": "c2VjcmV0"})
        assert st in (200, 201)

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], Any]) -> Any:
        async def go() -> Any:
            return fn()
        return self.run(go())

    def link(self, a: str, b: str, *, delay_s: float | None = None) -> None:
        for s in (self.shims[(a, b)], self.shims[(b, a)]):
            if delay_s is not None:
                s.delay_s = delay_s

    def cut(self, a: str, b: str) -> None:
        self.call(lambda: [self.shims[(a, b)].cut(), self.shims[(b, a)].cut()])

    def restore(self, a: str, b: str) -> None:
        self.call(lambda: [self.shims[(a, b)].restore(), self.shims[(b, a)].restore()])

    def close(self) -> None:
        for e in self.edges.values():
            with contextlib.suppress(Exception):   # best-effort teardown
                self.run(e.close(), 10)
        for c in self.cc.values():
            c.stop()
        for s in self.shims.values():
            if s.server is not None:
                self.call(s.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def until(pred: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, f"{what} not reached in {timeout}s"
        time.sleep(0.05)
