"""The command center process: wires the journal, vault, keys, market state, ledger, order engine,
stream hub and HTTP API together, recovers after a crash, and runs `seqkern cc`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from typing import Any

import numpy as np
import orjson
from aiohttp import web

from seqkern import __version__
from seqkern._fixed import parse_px, parse_qty
from seqkern.cc.api import Api
from seqkern.cc.apikeys import ApiKeyStore
from seqkern.cc.balances import Ledger
from seqkern.cc.engine import OrderEngine
from seqkern.cc.journal import Journal
from seqkern.cc.market import MarketState, SymbolSpec
from seqkern.cc.stream import EVENT_TOPICS, StreamClient, StreamHub
from seqkern.cc.vault import CredentialVault, load_master_key
from seqkern.cc.venueinfo import venue_id
from seqkern.errors import BadRequest, SeqkernError
from seqkern.venues import pairspec_table

log = logging.getLogger("seqkern.cc")
REGIONS = ("ap", "na", "eu")


class CommandCenter:
    def __init__(self, *, region: str, data_dir: str, master_key: bytes,
                 journal_sync: str = "full", stream_max_queue: int = 10_000) -> None:
        if region not in REGIONS:
            raise BadRequest(f"region must be one of {REGIONS}")
        self.region = region
        self.version = __version__
        self.data_dir = data_dir
        os.makedirs(data_dir, mode=0o700, exist_ok=True)
        self.journal = Journal(os.path.join(data_dir, "journal.sqlite"), sync=journal_sync)
        self.vault = CredentialVault(self.journal, master_key)
        self.keys = ApiKeyStore(self.journal)
        self.market = MarketState()
        self.ledger = Ledger(self.journal)
        self.engine = OrderEngine(self.journal, self.market, self.ledger,
                                  has_credentials=self.vault.has)
        self.hub = StreamHub(max_queue=stream_max_queue)
        self.engine.publish = self.hub.publish
        self.hub.snapshot = self._snapshot
        self.hub.valid_topic = self._valid_topic
        self.market.listeners.append(self._publish_market)
        self.recovered = self.engine.recover()
        self.api = Api(self)
        self.started = time.monotonic()
        self._runner: web.AppRunner | None = None
        self.edge_link: Any = None
        self.peer_link: Any = None   # seqkern.cc.peerlink.PeerLink when the mesh runs
        self.port = 0
        self.host = "127.0.0.1"

    # --- hooks the edge link fills in ------------------------------------------------------
    def venue_connected(self, venue: int) -> bool:
        t = self.engine.transport
        return bool(t is not None and t.connected(venue))

    def on_credentials(self, venue: int) -> None:
        """New credentials: the edge link forwards them to the venue's edge when it is connected."""

    # --- stream glue -----------------------------------------------------------------------
    def _valid_topic(self, topic: str) -> bool:
        if topic in EVENT_TOPICS:
            return True
        kind, _, sym = topic.partition(":")
        return kind in ("prices", "book") and sym in self.market.slots

    def _snapshot(self, topic: str, client: StreamClient) -> Any:
        if topic.startswith("prices:"):
            return {"symbol": topic[7:], **self.market.nbbo(topic[7:])}
        if topic.startswith("book:"):
            return self.market.depth(topic[5:], 10)
        key = _ClientKey(client)
        if topic == "orders":
            return {"open": self.engine.list_open(key)}
        if topic == "fills":
            return {"recent": self.engine.fills(key, None, 50)}
        if topic == "routing":
            return {"kill_switch": self.engine.killed}
        return None

    def _publish_market(self, symbol: str, venue: int) -> None:
        t = "prices:" + symbol
        if self.hub.wants(t):
            self.hub.publish(t, {"symbol": symbol, **self.market.nbbo(symbol)})
        t = "book:" + symbol
        if self.hub.wants(t):
            self.hub.publish(t, self.market.depth(symbol, 10))

    # --- market data without edges ---------------------------------------------------------
    def load_snapshot(self, path: str) -> int:
        """Bind symbols and load L2 snapshots from a JSON file (offline and sandbox use):
        {"pairs": [{"symbol", "venue", "base", "quote", "tick", "lot", "bids": [[px, qty], ...],
        "asks": [...]}]} with decimal strings."""
        with open(path, "rb") as f:
            doc = orjson.loads(f.read())
        n = 0
        for p in doc.get("pairs", []):
            self.apply_static_book(p)
            n += 1
        return n

    def apply_static_book(self, p: dict) -> None:
        try:
            v = venue_id(p["venue"])
            itype = p.get("instrument_type", "spot")
            # fees and minimums: the file's, else the venue catalog's PairSpec, else none
            cat = pairspec_table().get((p["symbol"], v, itype))
            spec = SymbolSpec(p["symbol"], v, p["base"], p["quote"], parse_px(p["tick"]),
                              parse_qty(p["lot"]), itype,
                              p.get("venue_symbol", cat.venue_symbol if cat else p["symbol"]),
                              "snapshot",
                              parse_qty(p["min_qty"]) if "min_qty" in p else (cat.min_qty_1e8 if cat else 0),
                              parse_px(p["min_notional"]) if "min_notional" in p else (
                                  cat.min_notional_1e9 if cat else 0),
                              float(p.get("maker_fee_bps", cat.maker_fee_bps if cat else 0.0)),
                              float(p.get("taker_fee_bps", cat.taker_fee_bps if cat else 0.0)))
        except KeyError as exc:
            raise BadRequest(f"snapshot pair lacks field {exc}") from None
        self.market.bind(spec)

        def arr(levels: list, f: Any) -> np.ndarray:
            return np.array([f(x) for x in levels], dtype=np.int64)

        bids = p.get("bids", [])
        asks = p.get("asks", [])
        self.market.apply_book(spec.symbol, v, arr([b[0] for b in bids], parse_px),
                               arr([b[1] for b in bids], parse_qty),
                               arr([a[0] for a in asks], parse_px),
                               arr([a[1] for a in asks], parse_qty), snapshot=True)

    def ensure_admin_key(self, path: str) -> str:
        """An admin key in a 0600 file (reused while valid), for `seqkern up` and operators."""
        if os.path.exists(path):
            with open(path) as f:
                key = f.read().strip()
            try:
                k = self.keys.verify(key)
                if "admin" in k.scopes:
                    return key
            except SeqkernError:
                pass
        key, _ = self.keys.create(["admin"], label="bootstrap admin")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
        return key

    # --- serving ---------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._runner = web.AppRunner(self.api.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        sock = site._server.sockets[0]  # the bound port when port=0
        self.host, self.port = host, sock.getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self.peer_link is not None:
            await self.peer_link.close()
        if self.edge_link is not None:
            await self.edge_link.close()
        for c in list(self.hub.clients):
            with contextlib.suppress(Exception):
                await c.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self.journal.close()


class _ClientKey:
    """The ApiKey view a stream client needs for snapshots (its id, and admin or not)."""

    def __init__(self, c: StreamClient) -> None:
        self.key_id = c.key_id
        self.scopes = frozenset({"admin"}) if c.is_admin else frozenset({"read"})
        self.sandbox = False


async def _start_mesh(cc: CommandCenter, args: Any) -> int | None:
    """The peer-link mesh (docs/peerlink.md), when `--peer-port` is given."""
    from seqkern.cc.peerlink import DEFAULT_PEER_PORT, PeerConfig, parse_peers, start_peer_link

    port = getattr(args, "peer_port", None)
    if port is None:
        port = DEFAULT_PEER_PORT if getattr(args, "peer", None) else -1
    if port < 0:
        return None
    peers = parse_peers(args.peer, cc.region)
    pl = await start_peer_link(cc, args.host, port, peers,
                               PeerConfig(stale_after_s=args.peer_stale_ms / 1000))
    return pl.port


async def serve_cc(args: Any) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    data_dir = args.data_dir or os.path.expanduser("~/.seqkern/cc-" + args.region)
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    key_file = args.master_key_file or os.path.join(data_dir, "master.key")
    master = load_master_key(key_file, create=args.master_key_file is None)
    cc = CommandCenter(region=args.region, data_dir=data_dir, master_key=master,
                       journal_sync=args.journal_sync)
    for path in args.snapshot or []:
        cc.load_snapshot(path)
    if args.admin_key_file:
        cc.ensure_admin_key(args.admin_key_file)
    port = await cc.start(args.host, args.port)
    link_port = None
    if args.cclink_port >= 0:
        from seqkern.cc.edgelink import start_edge_link
        link_port = await start_edge_link(cc, args.host, args.cclink_port)
    peer_port = await _start_mesh(cc, args)
    ready = {"event": "ready", "region": cc.region, "http_port": port, "cclink_port": link_port,
             "peer_port": peer_port,
             "recovered": cc.recovered, "pid": os.getpid()}
    log.info("CC %s serving http://%s:%d (recovered %s)", cc.region, args.host, port, cc.recovered)
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "wb") as f:
            f.write(orjson.dumps(ready))
        os.replace(tmp, args.ready_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("CC %s stopping", cc.region)
    await cc.stop()
    return 0
