"""`seqkern up`: the embedded default. Starts a CC, the Tokyo venues' simulators and their edges on
loopback, loads the simulators' credentials through the CC's credentials endpoint, creates an API
key, prints what to do next, and stops every process on Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import IO, Any

from seqkern.cc.up_mesh import mesh_args, mesh_summary, region_keys, start_regions

SEQKERN_HOME = os.environ.get("SEQKERN_HOME") or os.path.expanduser("~/.seqkern")
STATE_FILE = os.path.join(SEQKERN_HOME, "up", "up.json")


class UpError(Exception):
    pass


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log_path: str
    log: IO[bytes] = field(repr=False)


@dataclass(frozen=True)
class SimUnit:
    """One Tokyo deploy unit played by a local simulator."""

    launcher: str          # VENUE=<launcher> of venue-edge-cex
    venue: str             # catalog venue (credentials endpoint)
    sim_args: tuple[str, ...]
    env_prefix: str        # <PREFIX>_API_KEY / _API_SECRET for the edge
    symbols: tuple[str, ...]


def tokyo_units() -> list[SimUnit]:
    """The Tokyo (ap) deploy units that have a simulator in this build."""
    units = []
    try:
        from seqkern.edge.launcher import valid_venues
        from seqkern.sim import binance as _sim_binance  # noqa: F401
    except ImportError:
        return units
    names = set(valid_venues())
    if "binance" in names:
        units.append(SimUnit("binance", "binance", ("binance",), "BINANCE", ("BTC-USDT",)))
    if "binance-perp" in names:
        units.append(SimUnit("binance-perp", "binance", ("binance-perp",), "BINANCE", ("BTC-USDT",)))
    return units


def _http(method: str, url: str, key: str | None = None, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
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


class Up:
    def __init__(self, args: Any) -> None:
        self.args = args
        self.dir = os.path.abspath(args.data_dir or os.path.join(SEQKERN_HOME, "up"))
        self.children: list[Child] = []
        self.url = ""
        self.link_port = 0
        self.admin = ""
        self.user_key = ""

    # --- processes -------------------------------------------------------------------------
    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None,
              stdout_pipe: bool = False) -> Child:
        log_path = os.path.join(self.dir, "logs", f"{name}.log")
        log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE if stdout_pipe else log, stderr=log,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        c = Child(name, proc, log_path, log)
        self.children.append(c)
        return c

    def _wait_file(self, path: str, child: Child, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if child.proc.poll() is not None:
                raise UpError(f"{child.name} exited (rc {child.proc.returncode}); see {child.log_path}")
            if time.monotonic() > deadline:
                raise UpError(f"{child.name} did not start in {timeout:.0f} s; see {child.log_path}")
            time.sleep(0.05)
        with open(path) as f:
            return json.load(f)

    def stop(self) -> None:
        """SIGTERM every child, newest first; SIGKILL what is still alive after 10 s."""
        for c in reversed(self.children):
            if c.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    c.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for c in reversed(self.children):
            try:
                c.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                c.proc.kill()
                c.proc.wait(5)
            if c.proc.stdout is not None:
                c.proc.stdout.close()
            c.log.close()

    # --- steps -----------------------------------------------------------------------------
    def start_cc(self) -> None:
        ready = os.path.join(self.dir, "cc.ready")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(ready)
        cc = self.spawn("cc", [sys.executable, "-m", "seqkern.cli", "cc", "--region", "ap",
                               "--host", "127.0.0.1", "--port", str(self.args.port),
                               "--cclink-port", str(self.args.cclink_port),
                               "--data-dir", os.path.join(self.dir, "cc"),
                               "--admin-key-file", os.path.join(self.dir, "admin.key"),
                               "--ready-file", ready, *mesh_args(self, "ap")])
        info = self._wait_file(ready, cc, 60)
        self.url = f"http://127.0.0.1:{info['http_port']}"
        self.link_port = int(info["cclink_port"] or 0)
        with open(os.path.join(self.dir, "admin.key")) as f:
            self.admin = f.read().strip()

    def start_sim(self, unit: SimUnit) -> dict[str, str]:
        """A simulator with a fresh account; returns its endpoints and the account's keys."""
        api_key = secrets.token_hex(32)
        secret = secrets.token_hex(32)
        sim = self.spawn(f"sim-{unit.launcher}",
                         [sys.executable, "-m", "seqkern.sim", *unit.sim_args, "--port", "0",
                          "--api-key", api_key, "--secret", secret], stdout_pipe=True)
        assert sim.proc.stdout is not None
        line = sim.proc.stdout.readline().decode()
        m = re.search(r"market (\S+), REST (\S+)", line)
        if not m:
            raise UpError(f"simulator {unit.launcher} did not report its endpoints; see {sim.log_path}")
        market_ws, rest = m.group(1).rstrip(","), m.group(2)
        return {"market_ws": market_ws, "rest": rest, "api_key": api_key, "api_secret": secret}

    def load_credentials(self, unit: SimUnit, sim: dict[str, str]) -> None:
        st, doc = _http("POST", f"{self.url}/v1/credentials/{unit.venue}", self.admin,
                        {"api_key": sim["api_key"], "api_secret": sim["api_secret"]})
        if st != 201:
            raise UpError(f"the CC refused the {unit.venue} simulator credentials: {doc}")

    def start_edge(self, unit: SimUnit, sim: dict[str, str]) -> None:
        base = sim["market_ws"].split("/", 3)
        host_ws = "/".join(base[:3])
        self.spawn(f"edge-{unit.launcher}",
                   [sys.executable, "-c", "import sys; from seqkern.cli import venue_edge_cex; "
                    "sys.exit(venue_edge_cex())", "--venue", unit.launcher,
                    "--symbols", ",".join(unit.symbols), "--cc", f"127.0.0.1:{self.link_port}",
                    "--market-ws", sim["market_ws"], "--rest", sim["rest"],
                    "--trade-ws", host_ws + "/ws-api/v3", "--private-ws", host_ws],
                   env={f"{unit.env_prefix}_API_KEY": sim["api_key"],
                        f"{unit.env_prefix}_API_SECRET": sim["api_secret"]})

    def create_key(self) -> None:
        st, doc = _http("POST", f"{self.url}/v1/keys", self.admin,
                        {"scopes": ["read", "trade", "credentials"], "label": "seqkern up"})
        if st != 201:
            raise UpError(f"cannot create an API key: {doc}")
        self.user_key = doc["key"]
        os.makedirs(os.path.dirname(STATE_FILE), mode=0o700, exist_ok=True)
        fd = os.open(STATE_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"url": self.url, "api_key": self.user_key, "pid": os.getpid(),
                       "children": {c.name: c.proc.pid for c in self.children}}, f)

    def wait_edges(self, n: int, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        edges: list[dict] = []
        while time.monotonic() < deadline:
            st, edges = _http("GET", f"{self.url}/v1/edges", self.admin)
            if st == 200 and sum(1 for e in edges if e["connected"] and e["bbo"] > 0) >= n:
                return edges
            self.check_children()
            time.sleep(0.2)
        return edges

    def check_children(self) -> None:
        for c in self.children:
            if c.proc.poll() is not None:
                raise UpError(f"{c.name} exited (rc {c.proc.returncode}); see {c.log_path}")

    def next_steps(self, edges: list[dict], units: list[SimUnit]) -> str:
        sym = units[0].symbols[0] if units else "BTC-USDT"
        lines = [
            "",
            f"seqkern is up: CC (region ap) on {self.url}, CC-LINK on 127.0.0.1:{self.link_port}",
        ]
        for e in edges:
            lines.append(f"  edge {e['edge_id']:28} syms {e['syms']:>3}  bbo {e['bbo']:>3}  "
                         f"{'connected' if e['connected'] else 'DOWN'}")
        lines += [
            "",
            f"Your API key (also saved in {STATE_FILE}, mode 0600):",
            f"  export SEQ_API_KEY={self.user_key}",
            "",
            "Next:",
            f"  curl -s {self.url}/v1/edges -H \"Authorization: Bearer $SEQ_API_KEY\"",
            f"  ./run seqkern quote {sym} buy 0.01",
            f"  ./run seqkern buy {sym} 0.01",
            "  ./run seqkern orders",
            "",
            "  # Python",
            "  from seqkern.sdk import SyncClient",
            f"  c = SyncClient(\"{self.url}\", \"{self.user_key}\")",
            f"  print(c.nbbo(\"{sym}\"))",
            f"  o = c.buy(\"{sym}\", 0.01)",
            "  print(o.status, o.filled_qty, o.avg_price, o.venues)",
            "",
            f"Logs: {os.path.join(self.dir, 'logs')}.  Ctrl-C stops everything.",
        ]
        return "\n".join(lines)


def run_up(args: Any) -> int:
    up = Up(args)
    os.makedirs(os.path.join(up.dir, "logs"), mode=0o700, exist_ok=True)
    stop = {"sig": False}

    def on_signal(signum: int, frame: Any) -> None:
        stop["sig"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        units = tokyo_units()
        up.start_cc()
        start_regions(up)   # multi-region: the na and eu CCs (seqkern.cc.up_mesh)
        for unit in units:
            sim = up.start_sim(unit)
            up.load_credentials(unit, sim)
            up.start_edge(unit, sim)
        up.create_key()
        edges = up.wait_edges(len(units), args.wait) if units else []
        region_keys(up, _http)
        print(mesh_summary(up), flush=True)
        print(up.next_steps(edges, units), flush=True)
        if not units:
            print("(no venue simulator in this build: the CC runs without edges)", flush=True)
        while not stop["sig"]:
            up.check_children()
            time.sleep(0.2)
        print("\nstopping ...", flush=True)
        return 0
    except UpError as exc:
        print(f"seqkern up: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        up.stop()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(STATE_FILE)
        print("all processes stopped", flush=True)
