"""`seqkern up`: the embedded default. Starts the three regional CCs (ap, na, eu) in a loopback
peer-link mesh, every venue simulator of this build with an account and its edge under the CC of
the venue's spec region, loads each simulator's credentials through that CC's credentials endpoint,
creates API keys, prints what to do next, and stops every process on Ctrl-C."""

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
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import IO, Any

from seqkern.cc.up_mesh import (
    PRED_UNITS,
    await_ccs,
    mesh_summary,
    pred_available,
    pred_credentials,
    pred_edge_argv,
    region_keys,
    spawn_ccs,
)

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

    @property
    def region(self) -> str:
        return unit_region(self)

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
# Each runs under the CC of its region. Endpoint paths: "ws:" / "http:" + path on the simulator.
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


@dataclass(frozen=True)
class PredUnit:
    """A book-feed venue (Hyperliquid, Kalshi, Polymarket) played by its simulator."""

    launcher: str
    symbols: tuple[str, ...]

    @property
    def venue(self) -> str:
        return self.launcher

    @property
    def region(self) -> str:
        return unit_region(self)


def unit_region(unit: SimUnit | PredUnit) -> str:
    """The spec region of a unit's venue (the venue catalog): its CC, credentials and edge."""
    from seqkern.venues.catalog import venue_by_name

    return venue_by_name(unit.venue).region


def up_units(names: list[str] | None = None) -> list[SimUnit | PredUnit]:
    """Every deploy unit that has an edge adapter and a simulator in this build (all regions), or
    the ones named."""
    units: list[SimUnit | PredUnit] = []
    try:
        from seqkern.edge.launcher import valid_venues
        from seqkern.sim import __main__ as _sims  # noqa: F401
    except ImportError:
        pass
    else:
        have = set(valid_venues())
        units += [u for u in TOKYO_UNITS + CEX4_UNITS if u.launcher in have]
    if pred_available():
        units += [PredUnit(v, (sym,)) for v, sym in PRED_UNITS]
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
        self.region_urls: dict[str, str] = {}
        self.region_admin: dict[str, str] = {}
        self.region_link: dict[str, int] = {}
        self.region_keys: dict[str, str] = {}
        self.creds: dict[str, dict[str, Any]] = {}        # venue -> credentials-endpoint payload
        self.stopping = False                              # Ctrl-C / SIGTERM seen

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
            if self.stopping:
                raise UpError("interrupted while starting")
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
    def sim_account(self, unit: SimUnit | PredUnit) -> tuple[list[str], dict[str, str]]:
        """Fresh simulator credentials, one set per venue (spot and perp share them): the
        simulator's account flags and the edge's environment. The payload for the credentials
        endpoint is kept in `self.creds`."""
        if isinstance(unit, PredUnit):
            payload, sim_flags, env = pred_credentials(self, unit.venue)
            self.creds[unit.venue] = payload
            return sim_flags, env
        c = self.creds.get(unit.venue)
        if c is None:
            c = {"api_key": secrets.token_hex(16), "api_secret": _sim_secret(unit.venue)}
            if unit.venue in PASSPHRASE_VENUES:
                c["passphrase"] = "Sim-" + secrets.token_hex(8)
            self.creds[unit.venue] = c
        flags = ["--api-key", c["api_key"], "--secret", c["api_secret"]]
        env = {f"{unit.env_prefix}_API_KEY": c["api_key"], f"{unit.env_prefix}_API_SECRET": c["api_secret"]}
        if c.get("passphrase"):
            flags += ["--passphrase", c["passphrase"]]
            env[f"{unit.env_prefix}_API_PASSPHRASE"] = c["passphrase"]
        return flags, env

    def spawn_sim(self, unit: SimUnit | PredUnit, flags: list[str]) -> Child:
        return self.spawn(f"sim-{unit.launcher}", [sys.executable, "-m", "seqkern.sim", unit.launcher,
                                                   "--port", "0", *flags], stdout_pipe=True)

    def load_credentials(self, venues: dict[str, str]) -> None:
        """POST each venue's simulator credentials to the CC of its region (the real endpoint:
        validated against the catalog, encrypted at rest)."""
        for venue, region in venues.items():
            st, doc = _http("POST", f"{self.region_urls[region]}/v1/credentials/{venue}",
                            self.region_admin[region], self.creds[venue])
            if st != 201:
                raise UpError(f"the {region} CC refused the {venue} simulator credentials: {doc}")

    def start_edge(self, unit: SimUnit | PredUnit, sim: Child, env: dict[str, str]) -> None:
        """Read the simulator's endpoints from its first line and start the unit's edge, connected
        to the CC-LINK port of its region's CC."""
        assert sim.proc.stdout is not None
        line = sim.proc.stdout.readline().decode()
        region = unit.region
        cc = f"127.0.0.1:{self.region_link[region]}"
        if isinstance(unit, PredUnit):
            argv = pred_edge_argv(unit.venue, unit.symbols[0], line, self.region_link[region])
            if argv is None:
                raise UpError(f"simulator {unit.launcher} did not report its endpoints; see {sim.log_path}")
            self.spawn(f"edge-{unit.launcher}", argv, env=env)
            return
        m = re.search(r"market (\S+), REST (\S+)", line)
        if not m:
            raise UpError(f"simulator {unit.launcher} did not report its endpoints; see {sim.log_path}")
        endpoints = unit.endpoints(m.group(1).rstrip(","), m.group(2))
        env = {**env, **{f"{unit.env_prefix}_{k}": v for k, v in endpoints.items()}}
        self.spawn(f"edge-{unit.launcher}",
                   [sys.executable, "-c", "import sys; from seqkern.cli import venue_edge_cex; "
                    "sys.exit(venue_edge_cex())", "--venue", unit.launcher,
                    "--symbols", ",".join(unit.symbols), "--cc", cc, "--region", region],
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
                       "regions": {r: {"url": u, "api_key": self.region_keys.get(r, self.user_key)}
                                   for r, u in self.region_urls.items()},
                       "children": {c.name: c.proc.pid for c in self.children}}, f)

    def wait_edges(self, units: list[SimUnit | PredUnit], timeout: float) -> list[dict]:
        """One wait for everything: the ap CC lists every unit's edge (its own, and the other
        regions' mirrored over the peer links) connected with a book, and sees credentials for
        every venue (a remote venue's through its owner's edge status)."""
        want = {f"venue-edge-{u.launcher}" for u in units}
        venues = {u.venue for u in units}
        deadline = time.monotonic() + timeout
        edges: list[dict] = []
        while time.monotonic() < deadline and not self.stopping:
            st, edges = _http("GET", f"{self.url}/v1/edges", self.admin)
            if st == 200:
                ok = {e["edge_id"] for e in edges if e["connected"] and e["bbo"] > 0}
                if want <= ok and self._credentials_seen(venues):
                    return edges
            self.check_children()
            time.sleep(0.25)
        return edges

    def _credentials_seen(self, venues: set[str]) -> bool:
        st, pairs = _http("GET", f"{self.url}/v1/pairs", self.admin)
        if st != 200:
            return False
        seen: set[str] = set()
        for p in pairs:
            if not set(p["venues"]) & (venues - seen):
                continue
            st, pv = _http("GET", f"{self.url}/v1/pairs/{urllib.parse.quote(p['symbol'], safe='')}/venues",
                           self.admin)
            if st == 200:
                seen |= {v["venue"] for v in pv["venues"] if v["credentials"]}
        return venues <= seen

    def check_children(self) -> None:
        for c in self.children:
            if c.proc.poll() is not None:
                raise UpError(f"{c.name} exited (rc {c.proc.returncode}); see {c.log_path}")

    def next_steps(self, edges: list[dict], units: list[SimUnit | PredUnit]) -> str:
        launchers = {u.launcher for u in units}
        sym = "BTC-USDT" if launchers & {"binance", "okx", "bybit", "bitget", "cryptocom"} else (
            units[0].symbols[0] if units else "BTC-USDT")
        # an order that crosses regions: a symbol only venues outside ap list
        cross, cross_regions = None, ""
        for s, vs in (("BTC-USD", ("coinbase", "kraken")), ("BTC-USDC-PERP", ("hyperliquid",))):
            owners = sorted({u.region for u in units if u.launcher in vs})
            if owners and "ap" not in owners:
                cross, cross_regions = s, " / ".join(owners)
                break
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
            f"Your API key for the ap CC, the entry point (also saved in {STATE_FILE}, mode 0600):",
            f"  export SEQ_API_KEY={self.user_key}",
            "",
            "Next:",
            f"  curl -s {self.url}/v1/edges -H \"Authorization: Bearer $SEQ_API_KEY\"",
            f"  ./run seqkern quote {sym} buy 0.01",
            f"  ./run seqkern buy {sym} 0.01",
        ]
        if cross:
            px = " --price <ask>" if cross == "BTC-USDC-PERP" else ""   # Hyperliquid: limit orders only
            lines += [
                f"  # crosses regions: entered at ap, placed by the {cross_regions} CC over the peer link",
                f"  ./run seqkern buy {cross} 0.01{px}",
            ]
        if cross == "BTC-USD":
            lines += [
                f"  curl -s -X POST {self.url}/v1/orders -H \"Authorization: Bearer $SEQ_API_KEY\" "
                f"-d '{{\"symbol\": \"{cross}\", \"side\": \"buy\", \"qty\": \"0.001\"}}'",
            ]
        lines += [
            "  ./run seqkern orders",
            "",
            "  # Python",
            "  from seqkern.sdk import SyncClient",
            f"  c = SyncClient(\"{self.url}\", \"{self.user_key}\")",
            f"  print(c.nbbo(\"{sym}\"))",
            f"  o = c.wait(c.buy(\"{cross if cross == 'BTC-USD' else sym}\", 0.01).order_id)"
            "   # the venues' answers arrive after the ack",
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
        stop["sig"] = up.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        units = up_units(args.venues.split(",") if args.venues else None)
        # everything starts at once; the only waits are the CCs' ready files and the final one
        pending = spawn_ccs(up)
        sims = []
        for unit in units:
            flags, env = up.sim_account(unit)
            sims.append((unit, up.spawn_sim(unit, flags), env))
        await_ccs(up, pending)
        up.load_credentials({u.venue: u.region for u in units})
        for unit, sim, env in sims:
            up.start_edge(unit, sim, env)
        region_keys(up, _http)
        up.create_key()
        edges = up.wait_edges(units, args.wait) if units else []
        if up.stopping:
            raise UpError("interrupted while starting")
        print(mesh_summary(up, units), flush=True)
        print(up.next_steps(edges, units), flush=True)
        if not units:
            print("(no venue simulator in this build: the CCs run without edges)", flush=True)
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
