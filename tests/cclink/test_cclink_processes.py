"""Two real processes on loopback (TCP and a Unix socket): handshake, heartbeats, RTT, kills,
dead-peer detection, reconnection with backoff, resync, version refusal."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

PEER = str(Path(__file__).with_name("cclink_peer.py"))


class Peer:
    """A cclink_peer.py process and the JSON events it prints."""

    def __init__(self, role: str, addr: list[str], *extra: str) -> None:
        self.err = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            [sys.executable, PEER, role, *addr, *extra],
            stdout=subprocess.PIPE, stderr=self.err, text=True, bufsize=1,
        )
        self.events: list[dict] = []
        self._claimed: set[int] = set()
        self._q: queue.Queue[dict | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self._q.put(json.loads(line))
        self._q.put(None)

    def expect(self, ev: str, timeout: float = 10.0, **match: Any) -> dict:
        """The first unclaimed event named `ev` whose fields match; waits up to `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if i not in self._claimed and e.get("ev") == ev and all(
                        e.get(k) == v for k, v in match.items()):
                    self._claimed.add(i)
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {ev} {match} within {timeout}s; got {self.events}; "
                                     f"stderr: {self.stderr()[-2000:]}")
            try:
                e = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if e is None:
                self._q.put(None)
                time.sleep(0.01)
                continue
            self.events.append(e)

    def drain(self, seconds: float) -> list[dict]:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                e = self._q.get(timeout=left)
            except queue.Empty:
                break
            if e is None:
                self._q.put(None)
                break
            self.events.append(e)
        return self.events

    def stderr(self) -> str:
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def peers() -> Iterator[list[Peer]]:
    started: list[Peer] = []
    yield started
    for p in started:
        p.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["tcp", "unix"])
def addr(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    if request.param == "tcp":
        yield ["--tcp", f"127.0.0.1:{free_port()}"]
    else:
        with tempfile.TemporaryDirectory() as d:
            yield ["--unix", os.path.join(d, "cc.sock")]


def start(peers: list[Peer], role: str, addr: list[str], *extra: str) -> Peer:
    p = Peer(role, addr, *extra)
    peers.append(p)
    if role == "server":
        p.expect("listening")
    return p


def test_handshake_heartbeats_rtt_and_one_edge_orders(peers: list[Peer],
                                                      addr: list[str]) -> None:
    srv = start(peers, "server", addr)
    cl = start(peers, "client", addr, "--bbo-hz", "0", "--edge-id", "venue-edge-okx",
               "--slot", "8")
    c = srv.expect("connect", edge_id="venue-edge-okx")
    assert (c["slot"], c["itype"], c["region"]) == (8, 1, 1)
    cl.expect("connected", n=1)
    ps = srv.expect("pair_spec", edge_id="venue-edge-okx")
    assert ps["symbol"] == "BTC-USDT" and ps["bound"] == [1]
    order = cl.expect("frame", kind="ORDER_NEW")["fields"]
    assert order["client_order_id"] == "cc-venue-edge-okx" and order["px_1e9"] == 60_000 * 10**9
    srv.expect("order_ack", client_order_id="cc-venue-edge-okx")
    assert srv.expect("rtt", edge_id="venue-edge-okx")["ns"] > 0
    assert cl.expect("rtt")["ns"] > 0
    # idle link: heartbeats keep it alive well past dead_after (0.6 s)
    srv.expect("heartbeat", edge_id="venue-edge-okx", n=5)
    events = srv.drain(1.5) + cl.drain(0.1)
    assert not [e for e in events if e["ev"] == "disconnect"]


def test_killed_cc_edge_reconnects_and_resyncs(peers: list[Peer], addr: list[str]) -> None:
    srv1 = start(peers, "server", addr)
    cl = start(peers, "client", addr)
    srv1.expect("connect")
    cl.expect("connected", n=1)
    srv1.expect("bbo")
    srv1.kill()                                    # SIGKILL: no goodbye on the socket
    cl.expect("disconnect")
    time.sleep(0.3)                                # the edge retries against nothing meanwhile
    srv2 = start(peers, "server", addr)
    srv2.expect("connect")
    conn = cl.expect("connected", n=2)
    assert conn["reconnects"] >= 2                 # at least one failed attempt in between
    rs = srv2.expect("resync")
    assert rs["last_rx_seq"] > 0                   # what the edge had from the dead CC
    srv2.expect("pair_spec")                       # symbols are re-bound on the new connection
    bal = cl.expect("frame", kind="BALANCE")
    assert bal["flags"] & 1 and bal["fields"]["available_1e8"] == 400 * 10**8
    assert cl.expect("frame", kind="ORDER_UPDATE")["fields"]["client_order_id"] == "open-1"
    srv2.expect("bbo")                             # market data flows again


def test_killed_edge_is_dropped_and_its_restart_takes_over(peers: list[Peer],
                                                           addr: list[str]) -> None:
    srv = start(peers, "server", addr)
    cl1 = start(peers, "client", addr)
    first = srv.expect("connect")
    cl1.expect("connected", n=1)
    cl1.kill()
    gone = srv.expect("disconnect", edge_id="venue-edge-test")
    assert gone["reason"]
    start(peers, "client", addr).expect("connected", n=1)
    second = srv.expect("connect")
    assert second["session_id"] != first["session_id"]
    srv.expect("bbo")


def test_stopped_edge_is_declared_dead_then_comes_back(peers: list[Peer],
                                                       addr: list[str]) -> None:
    srv = start(peers, "server", addr)
    cl = start(peers, "client", addr)
    srv.expect("connect")
    cl.expect("connected", n=1)
    cl.signal(signal.SIGSTOP)                      # socket open, process silent
    t0 = time.monotonic()
    dead = srv.expect("disconnect")
    assert "dead peer" in dead["reason"]
    assert time.monotonic() - t0 < 5
    cl.signal(signal.SIGCONT)
    cl.expect("disconnect")
    cl.expect("connected", n=2)
    srv.expect("connect")
    srv.expect("resync")


def test_version_mismatch_is_refused_on_both_sides(peers: list[Peer], addr: list[str]) -> None:
    srv = start(peers, "server", addr)
    cl = start(peers, "client", addr, "--version", "2", "--edge-id", "old-edge")
    r = cl.expect("refused")
    assert r["code"] == "CCLINK_VERSION_MISMATCH" and "v1" in r["text"] and "v2" in r["text"]
    s = srv.expect("refused", edge_id="old-edge")
    assert s["code"] == "VERSION_MISMATCH"
    assert cl.proc.wait(timeout=10) == 3           # the edge does not retry a refusal
