"""Test harness: a real CC (aiohttp on 127.0.0.1) in a background event-loop thread, or as a real
`seqkern cc` process; plain HTTP calls through urllib so status codes are checked as sent."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from seqkern.cc.server import CommandCenter

BOOKS = {"pairs": [
    {"symbol": "BTC-USDT", "venue": "binance", "base": "BTC", "quote": "USDT", "tick": "0.01",
     "lot": "0.00001", "bids": [["100000.00", "1.5"], ["99999.00", "2"]],
     "asks": [["100001.00", "1"], ["100002.50", "3"]]},
    {"symbol": "BTC-USDT", "venue": "okx", "base": "BTC", "quote": "USDT", "tick": "0.1",
     "lot": "0.00001", "bids": [["100000.5", "0.5"]], "asks": [["100000.9", "0.2"], ["100003", "5"]]},
    {"symbol": "BTC-USD", "venue": "kraken", "base": "BTC", "quote": "USD", "tick": "0.1",
     "lot": "0.00001", "bids": [["99990.0", "1"]], "asks": [["99995.0", "1"]]},
    {"symbol": "ETH-USDT", "venue": "binance", "base": "ETH", "quote": "USDT", "tick": "0.01",
     "lot": "0.0001", "bids": [["3000.00", "10"]], "asks": [["3000.50", "10"]]},
]}  # fmt: skip


def http(method: str, url: str, body: Any = None, key: str | None = None,
         raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class ThreadedCC:
    """A CommandCenter serving on 127.0.0.1:<free port> from its own event-loop thread."""

    def __init__(self, data_dir: str, *, books: dict | None = None, cclink: bool = False,
                 **kw: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.cc: CommandCenter = self.call(lambda: CommandCenter(
            region="ap", data_dir=data_dir, master_key=b"k" * 32, **kw))
        if books:
            self.call(lambda: [self.cc.apply_static_book(p) for p in books["pairs"]])
        self.port = asyncio.run_coroutine_threadsafe(self.cc.start("127.0.0.1", 0), self.loop).result(10)
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin = self.call(lambda: self.cc.keys.create(["admin"])[0])
        self.link_port = 0
        if cclink:
            from seqkern.cc.edgelink import start_edge_link

            self.link_port = asyncio.run_coroutine_threadsafe(
                start_edge_link(self.cc, "127.0.0.1", 0), self.loop).result(10)

    def call(self, fn: Callable[[], Any]) -> Any:
        async def run() -> Any:
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def key(self, scopes: list[str], sandbox: bool = False) -> str:
        return self.call(lambda: self.cc.keys.create(scopes, sandbox=sandbox)[0])

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.cc.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class CCProcess:
    """`seqkern cc` as a real child process (killable with SIGKILL)."""

    def __init__(self, data_dir: str, snapshot: str, admin_key_file: str, *,
                 journal_sync: str = "full", cclink_port: int = 0) -> None:
        self.ready = os.path.join(data_dir, "ready.json")
        if os.path.exists(self.ready):
            os.unlink(self.ready)
        env = dict(os.environ, SEQKERN_MASTER_KEY="ab" * 32)
        self.log = open(os.path.join(data_dir, "cc.log"), "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "seqkern.cli", "cc", "--port", "0", "--data-dir", data_dir,
             "--snapshot", snapshot, "--admin-key-file", admin_key_file, "--ready-file", self.ready,
             "--journal-sync", journal_sync, "--cclink-port", str(cclink_port)],
            stdout=self.log, stderr=self.log, env=env)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"CC did not start (rc={self.proc.poll()})")
            time.sleep(0.05)
        with open(self.ready) as f:
            self.info = json.load(f)
        self.url = f"http://127.0.0.1:{self.info['http_port']}"
        with open(admin_key_file) as f:
            self.admin = f.read().strip()

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            rc = self.proc.wait(15)
        else:
            rc = self.proc.returncode
        self.log.close()
        return rc


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SimThread:
    """A Binance spot simulator on its own event-loop thread, with one account."""

    def __init__(self, api_key: str, secret: str) -> None:
        from seqkern.sim.binance import BinanceSim

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def start() -> Any:
            sim = BinanceSim(futures=False)
            sim.add_account(api_key, secret, balances={"USDT": "1000000", "BTC": "100"})
            await sim.start()
            return sim
        self.sim = asyncio.run_coroutine_threadsafe(start(), self.loop).result(20)

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(20)

    def close(self) -> None:
        self.call(self.sim.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def start_edge(log_path: str, cclink_port: int, sim: Any, api_key: str, secret: str) -> subprocess.Popen:
    """A real Binance spot edge process pointed at the simulator and the CC."""
    env = dict(os.environ, BINANCE_API_KEY=api_key, BINANCE_API_SECRET=secret,
               BINANCE_MARKET_WS=sim.base_ws, BINANCE_REST=sim.base_http,
               BINANCE_TRADE_WS=sim.base_ws + "/ws-api/v3")
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from seqkern.cli import venue_edge_cex; "
         "sys.exit(venue_edge_cex())", "--venue", "binance", "--symbols", "BTC-USDT",
         "--cc", f"127.0.0.1:{cclink_port}"], env=env, stdout=log, stderr=log)
