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

    launcher: str          # VENUE=<launcher> of venue-edge-cex (and the simulator's name)
    venue: str             # catalog venue (credentials endpoint)
    env_prefix: str        # <PREFIX>_API_KEY / _API_SECRET / _API_PASSPHRASE / endpoints
    symbols: tuple[str, ...] = ("BTC-USDT",)

    def endpoints(self, base_ws: str, base_http: str) -> dict[str, str]:
        """The edge's endpoint overrides pointing at the simulator (the venues' real paths)."""
        if self.venue == "binance":
            trade = "/ws-fapi/v1" if self.launcher.endswith("-perp") else "/ws-api/v3"
            return {"MARKET_WS": base_ws, "REST": base_http, "TRADE_WS": base_ws + trade,
                    "PRIVATE_WS": base_ws}
        if self.venue == "okx":
            return {"MARKET_WS": base_ws, "REST": base_http, "PRIVATE_WS": base_ws + "/ws/v5/private",
                    "TRADE_WS": base_ws + "/ws/v5/private"}
        cex4 = CEX4_PATHS.get(self.venue)
        if cex4 is not None:
            return {k: (base_http if v.startswith("http:") else base_ws) + v.split(":", 1)[1] for k, v in cex4.items()}
        return {"MARKET_WS": base_ws, "REST": base_http, "PRIVATE_WS": base_ws + "/v5/private",
                "TRADE_WS": base_ws + "/v5/trade"}


TOKYO_UNITS = (
    SimUnit("binance", "binance", "BINANCE"), SimUnit("binance-perp", "binance", "BINANCE"),
    SimUnit("okx", "okx", "OKX"), SimUnit("okx-perp", "okx", "OKX"),
    SimUnit("bybit", "bybit", "BYBIT"), SimUnit("bybit-perp", "bybit", "BYBIT"),
)


# ---- cex4 block: Coinbase (na), Kraken (eu), Bitget (ap), Crypto.com (ap) ----
# Their edges connect to the same local CC until the multi-region issue exists; `--venues` selects
# them (the default stays the Tokyo units). Endpoint paths: "ws:" / "http:" + path on the simulator.
CEX4_UNITS = (
    SimUnit("coinbase", "coinbase", "COINBASE", ("BTC-USD",)),
    SimUnit("kraken", "kraken", "KRAKEN", ("BTC-USD",)),
    SimUnit("bitget", "bitget", "BITGET"),
    SimUnit("cryptocom", "cryptocom", "CRYPTOCOM"),
)
CEX4_PATHS = {
    "coinbase": {"MARKET_WS": "ws:/", "REST": "http:", "TRADE_WS": "ws:/user", "PRIVATE_WS": "ws:/user"},
    "kraken": {"MARKET_WS": "ws:/v2", "REST": "http:", "TRADE_WS": "ws:/auth/v2"},
    "bitget": {"MARKET_WS": "ws:/v2/ws/public", "REST": "http:", "TRADE_WS": "ws:/v2/ws/private",
               "PRIVATE_WS": "ws:/v2/ws/private"},
    "cryptocom": {"MARKET_WS": "ws:/exchange/v1/market", "REST": "http:/exchange/v1",
                  "TRADE_WS": "ws:/exchange/v1/user"},
}
PASSPHRASE_VENUES = ("okx", "coinbase", "bitget", "cryptocom")   # the catalog's cex_passphrase class


def _sim_secret(venue: str) -> str:
    """Simulator credentials in each venue's key format: a CDP EC key PEM (Coinbase), a base64
    secret (Kraken), else a hex token."""
    if venue == "coinbase":
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        key = ec.generate_private_key(ec.SECP256R1())
        return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    if venue == "kraken":
        import base64

        return base64.b64encode(secrets.token_bytes(48)).decode()
    return secrets.token_hex(32)
# ---- end cex4 block ----


def tokyo_units(names: list[str] | None = None) -> list[SimUnit]:
    """The Tokyo (ap) deploy units that have an edge adapter and a simulator in this build (by
    name, also the Coinbase, Kraken, Bitget and Crypto.com units)."""
    try:
        from seqkern.edge.launcher import valid_venues
        from seqkern.sim import __main__ as _sims  # noqa: F401
    except ImportError:
        return []
    have = set(valid_venues())
    units = [u for u in (TOKYO_UNITS + CEX4_UNITS if names else TOKYO_UNITS) if u.launcher in have]
    if names:
        unknown = set(names) - {u.launcher for u in units}
        if unknown:
            raise UpError(f"no simulator for {', '.join(sorted(unknown))}; "
                          f"choose from {', '.join(u.launcher for u in units)}")
        units = [u for u in units if u.launcher in names]
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
        self.creds: dict[str, dict[str, str]] = {}

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

    def start_sim(self, unit: SimUnit, creds: dict[str, str]) -> dict[str, str]:
        """A simulator with an account for these credentials; returns the edge's endpoints."""
        args = [sys.executable, "-m", "seqkern.sim", unit.launcher, "--port", "0",
                "--api-key", creds["api_key"], "--secret", creds["api_secret"]]
        if creds.get("passphrase"):
            args += ["--passphrase", creds["passphrase"]]
        sim = self.spawn(f"sim-{unit.launcher}", args, stdout_pipe=True)
        assert sim.proc.stdout is not None
        line = sim.proc.stdout.readline().decode()
        m = re.search(r"market (\S+), REST (\S+)", line)
        if not m:
            raise UpError(f"simulator {unit.launcher} did not report its endpoints; see {sim.log_path}")
        return unit.endpoints(m.group(1).rstrip(","), m.group(2))

    def credentials_for(self, venue: str) -> dict[str, str]:
        """Fresh simulator credentials, one set per venue (spot and perp share them), loaded into
        the CC through the real credentials endpoint (validated, encrypted)."""
        if venue not in self.creds:
            c = {"api_key": secrets.token_hex(16), "api_secret": _sim_secret(venue)}
            if venue in PASSPHRASE_VENUES:
                c["passphrase"] = "Sim-" + secrets.token_hex(8)
            st, doc = _http("POST", f"{self.url}/v1/credentials/{venue}", self.admin, c)
            if st != 201:
                raise UpError(f"the CC refused the {venue} simulator credentials: {doc}")
            self.creds[venue] = c
        return self.creds[venue]

    def start_edge(self, unit: SimUnit, endpoints: dict[str, str], creds: dict[str, str]) -> None:
        env = {f"{unit.env_prefix}_{k}": v for k, v in endpoints.items()}
        env[f"{unit.env_prefix}_API_KEY"] = creds["api_key"]
        env[f"{unit.env_prefix}_API_SECRET"] = creds["api_secret"]
        if creds.get("passphrase"):
            env[f"{unit.env_prefix}_API_PASSPHRASE"] = creds["passphrase"]
        env["SEQKERN_EDGE_REGION"] = "ap"   # cex4: Coinbase (na) and Kraken (eu) join the one local CC
        self.spawn(f"edge-{unit.launcher}",
                   [sys.executable, "-c", "import sys; from seqkern.cli import venue_edge_cex; "
                    "sys.exit(venue_edge_cex())", "--venue", unit.launcher,
                    "--symbols", ",".join(unit.symbols), "--cc", f"127.0.0.1:{self.link_port}"],
                   env=env)

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
            own = [e for e in edges if not e.get("remote")]   # remote: another region's (mesh)
            if st == 200 and sum(1 for e in own if e["connected"] and e["bbo"] > 0) >= n:
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
                         f"{'connected' if e['connected'] else 'DOWN'}"
                         + (f"  (region {e['region']}, via the peer link)" if e.get("remote") else ""))
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
            f"  o = c.wait(c.buy(\"{sym}\", 0.01).order_id)   # the venues' answers arrive after the ack",
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
        units = tokyo_units(args.venues.split(",") if args.venues else None)
        up.start_cc()
        start_regions(up)   # multi-region: the na and eu CCs (seqkern.cc.up_mesh)
        for unit in units:
            creds = up.credentials_for(unit.venue)
            endpoints = up.start_sim(unit, creds)
            up.start_edge(unit, endpoints, creds)
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
