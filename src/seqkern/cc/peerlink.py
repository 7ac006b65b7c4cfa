"""The peer-link mesh between command centers: one CC-LINK connection from each CC to every other
CC, mirroring local books, BBOs, edge status and balances out, and forwarding child orders for
another region's venues to the CC that owns them (docs/peerlink.md)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from seqkern.cc.apikeys import ApiKey
from seqkern.cc.market import EdgeInfo, SymbolSpec
from seqkern.cc.orders import Order, OrderState
from seqkern.cclink import (
    CcLinkServer,
    EdgeLinkClient,
    EdgeProtocol,
    EdgeSession,
    Flag,
    InstrumentType,
    Kind,
    LinkConfig,
    Liquidity,
    OrderStatus,
    OrderType,
    Region,
    Role,
    Side,
    TimeInForce,
)
from seqkern.errors import LinkRefused, SeqkernError
from seqkern.venues import split_symbol

if TYPE_CHECKING:
    from seqkern.cc.server import CommandCenter

log = logging.getLogger("seqkern.cc.peerlink")

DEFAULT_PEER_PORT = 6001
PEER_PREFIX = "peer:"            # SymbolSpec.edge_id / ApiKey.key_id of state owned by a peer CC
EDGE_STATUS_TEXT = "edge"         # ORDER_UPDATE with request_id 0 and this text: an edge's status
_ITYPE = {"spot": InstrumentType.SPOT, "perp": InstrumentType.PERP, "binary": InstrumentType.BINARY}
_ITYPE_NAME = {int(v): k for k, v in _ITYPE.items()}
_TIF = {"gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK}
_TIF_NAME = {int(v): k for k, v in _TIF.items()}
_STATUS = {OrderState.NEW: OrderStatus.PENDING, OrderState.ACCEPTED: OrderStatus.ACCEPTED,
           OrderState.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
           OrderState.FILLED: OrderStatus.FILLED, OrderState.CANCELLED: OrderStatus.CANCELED,
           OrderState.EXPIRED: OrderStatus.EXPIRED, OrderState.REJECTED: OrderStatus.REJECTED}
_LIQ = {"maker": Liquidity.MAKER, "taker": Liquidity.TAKER}
_LIQ_NAME = {int(Liquidity.MAKER): "maker", int(Liquidity.TAKER): "taker"}
_AMEND_MODE = {"native_atomic": 1, "cancel_replace": 2}
_AMEND_NAME = {1: "native_atomic", 2: "cancel_replace"}


@dataclass(frozen=True)
class PeerConfig:
    """Timers of the mesh. The link timers are CC-LINK's (heartbeats, PING period, dead peer)."""

    stale_after_s: float = 3.0     # a peer's venues leave the SOR this long after its link dropped
    status_s: float = 0.25         # edge status, balances and reconciliation tick
    top_levels: int = 10           # depth mirrored per book
    link: LinkConfig = field(default_factory=lambda: LinkConfig(
        heartbeat_s=0.5, dead_after_s=2.5, ping_s=0.25))


def parse_peers(items: list[str] | None, own: str) -> dict[str, tuple[str, int]]:
    """`REGION=HOST:PORT` items (CLI `--peer`) into {region: (host, port)}; own region skipped."""
    out: dict[str, tuple[str, int]] = {}
    for it in items or []:
        region, _, addr = it.partition("=")
        host, _, port = addr.rpartition(":")
        region = region.strip().lower()
        Region.parse(region)
        if not host or not port.isdigit():
            raise ValueError(f"--peer {it!r}: expected REGION=HOST:PORT")
        if region != own:
            out[region] = (host, int(port))
    return out


class _PeerProtocol(EdgeProtocol):
    """A CC's outgoing peer connection: HELLO with role PEER_CC."""

    def _on_open(self) -> None:
        c = self.client
        self.encoder.hello(c.edge_id, int(c.region), 0, int(Role.PEER_CC),
                           int(self.config.heartbeat_s * 1000), c.session_id)
        self.flush()


class PeerClient(EdgeLinkClient):
    """The outgoing half of one peer link (this CC -> a peer CC): reconnects with backoff,
    re-sends its PAIR_SPECs after every reconnect, measures the RTT with PING/PONG."""

    async def connect_tcp(self, host: str, port: int, *, wait: bool = True,
                          timeout: float = 10.0) -> None:
        async def dial() -> Any:
            loop = asyncio.get_running_loop()
            return await loop.create_connection(lambda: _PeerProtocol(self), host, port)

        await self._start(dial, wait, timeout)


@dataclass(slots=True)
class RemoteVenue:
    region: str
    stale: bool = False
    creds: bool = False
    edge_rtt_ns: int = 0


class PeerLink:
    """The mesh as one CC sees it: a listener for its peers' outgoing links (mirrored state and
    forwarded orders come in there) and one PeerClient per peer (its own state and its forwarded
    orders go out there; answers come back on the same connection)."""

    def __init__(self, cc: CommandCenter, peers: dict[str, tuple[str, int]],
                 config: PeerConfig | None = None) -> None:
        self.cc = cc
        self.region = cc.region
        self.config = config or PeerConfig()
        self.peers = dict(peers)
        self.server = CcLinkServer(f"cc-{cc.region}", region=Region.parse(cc.region),
                                   config=self.config.link, accept_hello=self._accept,
                                   on_connect=self._peer_up, on_disconnect=self._peer_down)
        s = self.server
        s.on(Kind.PAIR_SPEC, self._in_pair_spec)
        s.on(Kind.BBO, self._in_bbo)
        s.on(Kind.L2_SNAPSHOT, self._in_l2)
        s.on(Kind.BALANCE, self._in_balance)
        s.on(Kind.ORDER_UPDATE, self._in_update)      # edge status, or a reconciliation query
        s.on(Kind.ORDER_NEW, self._in_new)
        s.on(Kind.ORDER_CANCEL, self._in_cancel)
        s.on(Kind.ORDER_AMEND, self._in_amend)
        s.on(Kind.ORDER_DECREASE, self._in_decrease)
        # mirror out: (symbol, venue) -> peer symbol id (the same ids on every outgoing link)
        self.out_ids: dict[tuple[str, int], int] = {}
        self.out_rev: dict[int, tuple[str, int]] = {}
        self.clients: dict[str, PeerClient] = {r: self._make_client() for r in self.peers}
        self._dirty: set[tuple[str, int]] = set()
        self._depth_sent: dict[tuple[int, int], int] = {}   # (symbol id, link) -> book ts sent
        self._flush_scheduled = False
        self.mirrored_out = 0
        # mirror in: (region, peer symbol id) -> (symbol, venue); venue -> its owner
        self.in_syms: dict[tuple[str, int], tuple[str, int]] = {}
        self.owner_ids: dict[tuple[str, str, int], int] = {}
        self.remote: dict[int, RemoteVenue] = {}
        self.session_up: dict[str, bool] = {}
        self._gen: dict[str, int] = {}
        self._reconciled: dict[str, set[int]] = {}
        self._balance_sent: dict[str, dict] = {}
        self._task: asyncio.Task | None = None
        self.mirrored_in = 0
        self.forwarded = 0
        self.port = 0
        cc.market.listeners.append(self._on_book)
        self._db_init()

    # --- lifecycle -------------------------------------------------------------------------
    def _db_init(self) -> None:
        with self.cc.journal.tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS peer_tombstones(origin TEXT NOT NULL, "
                       "request_id INTEGER NOT NULL, ts_ns INTEGER, PRIMARY KEY(origin, request_id))")

    async def start(self, host: str, port: int) -> int:
        self.port = await self.server.listen_tcp(host, port)
        for region, (h, p) in self.peers.items():
            await self.clients[region].connect_tcp(h, p, wait=False)
        self._task = asyncio.get_running_loop().create_task(self._ticker())
        return self.port

    def _make_client(self) -> PeerClient:
        c = PeerClient(f"cc-{self.region}", region=Region.parse(self.region), config=self.config.link,
                       on_connect=self._client_up, on_disconnect=self._client_down,
                       backoff_base_s=0.05, backoff_max_s=1.0)
        c.on(Kind.ORDER_UPDATE, self._ans_update)
        c.on(Kind.ORDER_REJECT, self._ans_reject)
        c.on(Kind.FILL, self._ans_fill)
        for (symbol, venue), sid in self.out_ids.items():
            self._bind_client(c, sid, symbol, venue)
        return c

    async def add_peer(self, region: str, host: str, port: int) -> None:
        """Peer with another region's CC at run time (its link reconnects by itself)."""
        Region.parse(region)
        if region == self.region or region in self.clients:
            raise ValueError(f"already peered with {region}")
        self.peers[region] = (host, port)
        c = self.clients[region] = self._make_client()
        await c.connect_tcp(host, port, wait=False)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for c in self.clients.values():
            await c.close()
        await self.server.close()

    def _accept(self, hello: Any) -> None:
        if hello.role != Role.PEER_CC:
            raise LinkRefused("the peer-link port takes peer CCs only; edges use the CC-LINK port")
        if Region(hello.region).name.lower() == self.region:
            raise LinkRefused("a CC cannot peer with its own region")

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.config.status_s)
            try:
                self._tick()
            except Exception:  # a bug in one tick must not stop the mesh
                log.exception("peer-link tick failed")

    def _tick(self) -> None:
        for region, c in self.clients.items():
            link = c.link
            if link is None or not link.ready:
                continue
            self._send_status(link)
            self._send_balances(region, link)
            self._reconcile(region, c)
            link.flush()

    # --- who owns what ---------------------------------------------------------------------
    def _local(self, symbol: str, venue: int) -> bool:
        sp = self.cc.market.specs.get((symbol, venue))
        return sp is not None and not sp.edge_id.startswith(PEER_PREFIX)

    def owner(self, venue: int) -> str | None:
        """The region whose CC owns a venue this CC has no edge of, or None."""
        r = self.remote.get(venue)
        return r.region if r is not None else None

    def peer_rtt_ns(self, region: str) -> int:
        c = self.clients.get(region)
        return int(c.rtt_ns or 0) if c is not None and c.ready else 0

    def routable(self, venue: int) -> bool:
        r = self.remote.get(venue)
        if r is None or r.stale:
            return False
        c = self.clients.get(r.region)
        return c is not None and c.ready

    def rtt_ns(self, venue: int) -> int:
        """Latency term of a remote venue: the owner's edge RTT + this CC's peer-link RTT."""
        r = self.remote.get(venue)
        return r.edge_rtt_ns + self.peer_rtt_ns(r.region) if r is not None else 0

    def has_credentials(self, venue: int) -> bool:
        r = self.remote.get(venue)
        return bool(r is not None and r.creds)

    def status(self) -> list[dict]:
        out = []
        for region in sorted(self.peers):
            c = self.clients[region]
            link = c.link
            out.append({"region": region, "out_connected": c.ready,
                        "in_connected": self.session_up.get(region, False),
                        "rtt_ns": c.rtt_ns, "rtt_min_ns": link.rtt_min_ns if link else None,
                        "reconnects": c.reconnects,
                        "venues": sorted(v for v, r in self.remote.items() if r.region == region),
                        "stale": any(r.stale for r in self.remote.values() if r.region == region)})
        return out

    # --- mirror out ------------------------------------------------------------------------
    def _on_book(self, symbol: str, venue: int) -> None:
        if not self.clients or not self._local(symbol, venue):
            return
        self._dirty.add((symbol, venue))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_md)

    def _bind_out(self, symbol: str, venue: int) -> int:
        sid = self.out_ids.get((symbol, venue))
        if sid is not None:
            return sid
        sid = len(self.out_ids) + 1
        self.out_ids[(symbol, venue)] = sid
        self.out_rev[sid] = (symbol, venue)
        for c in self.clients.values():
            self._bind_client(c, sid, symbol, venue)
        return sid

    def _bind_client(self, c: PeerClient, sid: int, symbol: str, venue: int) -> None:
        sp = self.cc.market.specs[(symbol, venue)]
        c.bind_symbol(sid, symbol, sp.venue_symbol or symbol, venue,
                      int(_ITYPE.get(sp.instrument_type, InstrumentType.SPOT)),
                      max(1, sp.tick_1e9), max(1, sp.lot_1e8), sp.min_qty_1e8,
                      sp.min_notional_1e9, round(sp.maker_fee_bps * 10_000),
                      round(sp.taker_fee_bps * 10_000))

    def _flush_md(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, set()
        links = [c.link for c in self.clients.values() if c.link is not None and c.link.ready]
        for symbol, venue in dirty:
            sid = self._bind_out(symbol, venue)
            for link in links:
                self._send_book(link, sid, symbol, venue)
        for link in links:
            link.flush()

    def _send_book(self, link: Any, sid: int, symbol: str, venue: int, *, force: bool = False) -> None:
        """Depth (top levels, as an L2 snapshot) when the book changed since it was last sent,
        then the BBO; a withdrawn book as an empty snapshot flagged RESYNC."""
        m = self.cc.market
        slot = m.slots[symbol]
        book = m.books.get((slot, venue))
        bbo = m.bbo
        bp, ap = int(bbo.bid_px[slot, venue]), int(bbo.ask_px[slot, venue])
        ts = int(bbo.ts_ns[slot, venue])
        if book is not None and book.valid:
            bts = int(book.ts_event_ns)
            changed = force or self._depth_sent.get((sid, id(link))) != bts
            self._depth_sent[(sid, id(link))] = bts
            bpx, bq, apx, aq = book.top(self.config.top_levels) if changed else ((), (), (), ())
            if len(bpx) or len(apx):
                link.send_l2(int(Kind.L2_SNAPSHOT), sid, 0, np.column_stack((bpx, bq)),
                             np.column_stack((apx, aq)), ts_venue_ns=int(book.ts_event_ns))
        elif not bp and not ap:
            # withdrawn (the edge lost it): an empty snapshot flagged RESYNC, as edges do
            link.send_l2(int(Kind.L2_SNAPSHOT), sid, 0, None, None, flags=int(Flag.RESYNC))
            self.mirrored_out += 1
            return
        link.send_bbo(sid, bp, int(bbo.bid_qty[slot, venue]), ap, int(bbo.ask_qty[slot, venue]),
                      ts_venue_ns=ts)
        self.mirrored_out += 1

    def _full_state(self, link: Any) -> None:
        """After a (re)connect: every local book and BBO, edge status and balances."""
        m = self.cc.market
        for (symbol, venue) in list(m.specs):
            if self._local(symbol, venue):
                self._send_book(link, self._bind_out(symbol, venue), symbol, venue, force=True)

    def _send_status(self, link: Any) -> None:
        enc = link.encoder
        edge_link = self.cc.edge_link
        for e in list(self.cc.market.edges.values()):
            if e.remote or e.edge_id.startswith(PEER_PREFIX):
                continue
            rtt = edge_link.rtt_ns(e.venue) if edge_link is not None else 0
            enc.venue_slot = e.venue
            try:
                link.send_order(int(Kind.ORDER_UPDATE), symbol_id=0, request_id=0,
                                client_order_id=e.edge_id[:64],
                                status=int(OrderStatus.ACCEPTED if e.connected else OrderStatus.CANCELED),
                                qty_1e8=len(e.symbols), filled_qty_1e8=rtt,
                                tif=int(_ITYPE.get(e.instrument_type, InstrumentType.SPOT)),
                                ts_venue_ns=e.last_seen_ns,
                                text=f"{EDGE_STATUS_TEXT} creds={int(self.cc.vault.has(e.venue))}")
            except SeqkernError as exc:    # one bad status must not stop the others
                log.warning("edge status of %s not sent: %s", e.edge_id, exc)
            finally:
                enc.venue_slot = 0

    def _balances_for(self, region: str) -> dict[tuple[int, str], tuple[int, int]]:
        """(venue, asset) -> (total, locked by everyone but `region`) of this CC's live balances."""
        ledger, orders = self.cc.ledger, self.cc.engine.orders
        locked: dict[tuple[int, str], int] = {}
        mine = PEER_PREFIX + region
        for oid, r in ledger.reservations.items():
            if r.account != "live":
                continue
            o = orders.get(oid)
            if o is not None and o.key_id == mine:
                continue
            locked[(r.venue, r.asset)] = locked.get((r.venue, r.asset), 0) + r.amount
        out = {}
        for (acct, venue, asset), total in ledger.balances.items():
            if acct == "live" and venue not in self.remote:
                out[(venue, asset)] = (total, locked.get((venue, asset), 0))
        return out

    def _send_balances(self, region: str, link: Any, force: bool = False) -> None:
        now = self._balances_for(region)
        if not force and now == self._balance_sent.get(region):
            return
        self._balance_sent[region] = now
        enc = link.encoder
        for (venue, asset), (total, locked) in now.items():
            enc.venue_slot = venue
            try:
                link.send_balance(asset=asset, total_1e8=total, available_1e8=total - locked,
                                  locked_1e8=locked)
            finally:
                enc.venue_slot = 0

    def _client_up(self, client: EdgeLinkClient) -> None:
        region = next(r for r, c in self.clients.items() if c is client)
        link = client.link
        self._reconciled[region] = set()
        self._full_state(link)
        self._send_status(link)
        self._send_balances(region, link, force=True)
        self._reconcile(region, client)
        link.flush()
        log.info("peer link to %s up", region)

    def _client_down(self, client: EdgeLinkClient, reason: str) -> None:
        region = next(r for r, c in self.clients.items() if c is client)
        self._reconciled[region] = set()
        log.warning("peer link to %s down: %s", region, reason)

    # --- mirror in -------------------------------------------------------------------------
    @staticmethod
    def _region(session: EdgeSession) -> str:
        return Region(session.region).name.lower()

    def _peer_up(self, session: EdgeSession) -> None:
        region = self._region(session)
        self.session_up[region] = True
        self._gen[region] = self._gen.get(region, 0) + 1
        for r in self.remote.values():
            if r.region == region:
                r.stale = False
        log.info("peer %s connected", region)

    def _peer_down(self, session: EdgeSession, reason: str) -> None:
        region = self._region(session)
        self.session_up[region] = False
        gen = self._gen.get(region, 0)
        log.warning("peer %s disconnected: %s", region, reason)
        asyncio.get_running_loop().call_later(self.config.stale_after_s, self._go_stale, region, gen)

    def _go_stale(self, region: str, gen: int) -> None:
        if self.session_up.get(region) or self._gen.get(region, 0) != gen:
            return
        m = self.cc.market
        for venue, r in self.remote.items():
            if r.region != region:
                continue
            r.stale = True
            for symbol, vs in m.venues_of.items():
                if venue in vs:
                    m.invalidate(symbol, venue)
        for e in m.edges.values():
            if e.remote and e.region == region:
                e.connected = False
        log.warning("peer %s stale: its venues left the router", region)

    def _in_pair_spec(self, session: EdgeSession, f: Any) -> None:
        region = self._region(session)
        venue = f.venue_id
        if self._local(f.symbol, venue) or (venue in self.remote and self.remote[venue].region != region):
            return   # this CC (or another peer) already owns the venue
        itype = _ITYPE_NAME.get(int(f.instrument_type), "spot")
        try:
            base, quote = split_symbol(f.symbol)
        except SeqkernError:
            base, quote = f.symbol, "USD"
        spec = SymbolSpec(f.symbol, venue, base, quote, f.tick_1e9, f.lot_1e8, itype,
                          f.venue_symbol, PEER_PREFIX + region, f.min_qty_1e8, f.min_notional_1e9,
                          f.maker_fee_bps_e4 / 10_000, f.taker_fee_bps_e4 / 10_000)
        self.cc.market.bind(spec)
        self.in_syms[(region, f.symbol_id)] = (f.symbol, venue)
        self.owner_ids[(region, f.symbol, venue)] = f.symbol_id
        self.remote.setdefault(venue, RemoteVenue(region))

    def _in_bbo(self, session: EdgeSession, f: Any) -> None:
        key = self.in_syms.get((self._region(session), f.symbol_id))
        if key is None:
            return
        self.mirrored_in += 1
        self.cc.market.set_bbo(key[0], key[1], f.bid_px_1e9, f.bid_qty_1e8, f.ask_px_1e9,
                               f.ask_qty_1e8, f.ts_venue_ns or time.time_ns())

    def _in_l2(self, session: EdgeSession, f: Any) -> None:
        key = self.in_syms.get((self._region(session), f.symbol_id))
        if key is None:
            return
        b, a = f.bids, f.asks
        if f.flags & Flag.RESYNC and not len(b) and not len(a):
            self.cc.market.invalidate(*key)
            return
        try:
            self.cc.market.apply_book(key[0], key[1], np.ascontiguousarray(b[:, 0]),
                                      np.ascontiguousarray(b[:, 1]), np.ascontiguousarray(a[:, 0]),
                                      np.ascontiguousarray(a[:, 1]), snapshot=True,
                                      ts_ns=f.ts_venue_ns or time.time_ns())
        except SeqkernError as exc:
            log.warning("bad mirrored book for %s on %d: %s", key[0], key[1], exc)
            self.cc.market.invalidate(*key)

    def _in_balance(self, session: EdgeSession, f: Any) -> None:
        venue = f.venue_slot
        r = self.remote.get(venue)
        if r is None or r.region != self._region(session):
            return
        # what the owner leaves open to this CC; this CC's own forwarded orders reserve locally
        if self.cc.ledger.balance("live", venue, f.asset) != f.available_1e8:
            self.cc.ledger.set_balance("live", venue, f.asset, f.available_1e8)

    def _in_update(self, session: EdgeSession, f: Any) -> None:
        if f.request_id == 0 and f.text.startswith(EDGE_STATUS_TEXT):
            self._in_edge_status(session, f)
        else:
            self._answer_query(session, f)

    def _in_edge_status(self, session: EdgeSession, f: Any) -> None:
        region = self._region(session)
        venue = f.venue_slot
        r = self.remote.get(venue)
        if r is None or r.region != region:
            if any(sp.venue == venue and not sp.edge_id.startswith(PEER_PREFIX)
                   for sp in self.cc.market.specs.values()):
                return
            r = self.remote.setdefault(venue, RemoteVenue(region))
        r.creds = "creds=1" in f.text
        r.edge_rtt_ns = max(0, int(f.filled_qty_1e8))
        key = f"{PEER_PREFIX}{region}:{f.client_order_id}"
        e = self.cc.market.edges.get(key)
        if e is None:
            e = self.cc.market.edges[key] = EdgeInfo(
                f.client_order_id, region, venue, _ITYPE_NAME.get(int(f.tif), "spot"),
                remote=True)
        e.connected = f.status == OrderStatus.ACCEPTED
        e.last_seen_ns = f.ts_venue_ns
        if len(e.symbols) != f.qty_1e8:
            specs = self.cc.market.specs
            e.symbols = {s for (rg, _sid), (s, v) in self.in_syms.items()
                         if rg == region and v == venue
                         and specs[(s, v)].instrument_type == e.instrument_type}

    # --- owner side: forwarded orders ------------------------------------------------------
    def _peer_key(self, region: str) -> ApiKey:
        return ApiKey(PEER_PREFIX + region, frozenset({"trade", "read"}), False, f"peer CC {region}")

    def _tombstoned(self, region: str, rid: int) -> bool:
        return self.cc.journal.db.execute(
            "SELECT 1 FROM peer_tombstones WHERE origin=? AND request_id=?", (region, rid)
        ).fetchone() is not None

    def _forwarded_child(self, region: str, rid: int) -> Order | None:
        """The owner's child order that serves request `rid` of peer `region`."""
        row = self.cc.journal.db.execute(
            "SELECT order_id FROM idempotency WHERE key_id=? AND client_request_id=?",
            (PEER_PREFIX + region, f"{region}:{rid}")).fetchone()
        if row is None:
            return None
        eng = self.cc.engine
        parent = eng.orders.get(row[0]) or eng._lookup(row[0], None)
        kids = parent.children
        if not kids:
            return None
        # the open leg (an amend by cancel/replace opens a new one), else the last
        legs = [eng.orders.get(k) or eng._lookup(k, None) for k in kids]
        return next((k for k in reversed(legs) if not k.terminal), legs[-1])

    def _reply_reject(self, session: EdgeSession, f: Any, text: str) -> None:
        session.send_order(int(Kind.ORDER_REJECT), symbol_id=f.symbol_id, request_id=f.request_id,
                           client_order_id=f.client_order_id, text=text[:255])
        session.flush()

    def _in_new(self, session: EdgeSession, f: Any) -> None:
        region = self._region(session)
        if self._tombstoned(region, f.request_id):
            self._reply_reject(session, f, "PEER_ORDER_VOID: reported unknown at reconciliation")
            return
        key = self.out_rev.get(f.symbol_id)
        if key is None:
            self._reply_reject(session, f, "UNKNOWN_SYMBOL: not a symbol this CC mirrors")
            return
        symbol, venue = key
        body = {"symbol": symbol, "side": "buy" if f.side == Side.BUY else "sell",
                "order_type": "limit" if f.order_type == OrderType.LIMIT else "market",
                "time_in_force": _TIF_NAME.get(int(f.tif), "gtc" if f.order_type == OrderType.LIMIT else "ioc"),
                "qty_1e8": f.qty_1e8, "venue": venue,
                "client_request_id": f"{region}:{f.request_id}"}
        if f.order_type == OrderType.LIMIT:
            body["price_1e9"] = f.px_1e9
        try:
            res = self.cc.engine.submit(self._peer_key(region), body)
        except SeqkernError as exc:
            self._reply_reject(session, f, f"{exc.code}: {exc.message}")
            return
        self.forwarded += 1
        if res.get("duplicate"):
            self._report(region, f.request_id, session)

    def _op(self, session: EdgeSession, f: Any, op: str) -> None:
        region = self._region(session)
        c = self._forwarded_child(region, f.request_id)
        if c is None:
            self._reply_reject(session, f, "ORDER_NOT_FOUND: no such forwarded order")
            return
        eng, key = self.cc.engine, self._peer_key(region)
        try:
            if op == "cancel":
                eng.cancel(c.order_id, key, "cancelled by the entering CC")
            elif op == "amend":
                body: dict[str, int] = {"qty_1e8": f.qty_1e8}
                if f.px_1e9:
                    body["price_1e9"] = f.px_1e9
                eng.amend(c.order_id, key, body)
            else:
                eng.decrease(c.order_id, key, {"qty_1e8": f.qty_1e8})
        except SeqkernError as exc:
            self._reply_reject(session, f, f"{exc.code}: {exc.message}")
            self._report(region, f.request_id, session)

    def _in_cancel(self, session: EdgeSession, f: Any) -> None:
        self._op(session, f, "cancel")

    def _in_amend(self, session: EdgeSession, f: Any) -> None:
        self._op(session, f, "amend")

    def _in_decrease(self, session: EdgeSession, f: Any) -> None:
        self._op(session, f, "decrease")

    def _answer_query(self, session: EdgeSession, f: Any) -> None:
        """Reconciliation: the entering CC asks for request `f.request_id`. Known: its fills and
        state. Unknown: it never arrived; tombstoned so a late copy cannot place it."""
        region = self._region(session)
        if self._report(region, f.request_id, session):
            return
        with self.cc.journal.tx() as db:
            db.execute("INSERT OR IGNORE INTO peer_tombstones(origin, request_id, ts_ns) VALUES(?,?,?)",
                       (region, f.request_id, time.time_ns()))
        self._reply_reject(session, f, "PEER_ORDER_VOID: the owning CC never received this order")

    def _report(self, region: str, rid: int, session: EdgeSession | None = None) -> bool:
        c = self._forwarded_child(region, rid)
        if c is None:
            return False
        s = session or self.server.sessions.get(f"cc-{region}")
        if s is None or not s.connected:
            return True
        for r in self.cc.journal.db.execute(
                "SELECT fill_id, px_1e9, qty_1e8, fee_bps, liquidity, ts_ns FROM fills "
                "WHERE order_id IN (SELECT order_id FROM orders WHERE parent_id=?) ORDER BY rowid",
                (c.parent_id,)):
            self._send_fill(s, c, rid, *r)
        self._send_state(s, c, rid)
        s.flush()
        return True

    def _send_fill(self, s: EdgeSession, c: Order, rid: int, fill_id: str, px: int, qty: int,
                   fee_bps: float, liquidity: str, ts_ns: int) -> None:
        notional_1e9 = px * qty // 10**8
        s.send_fill(symbol_id=self.out_ids.get((c.symbol, c.venue), 0),
                    side=int(Side.BUY if c.side == "buy" else Side.SELL),
                    liquidity=int(_LIQ.get(liquidity, Liquidity.UNKNOWN)), px_1e9=px, qty_1e8=qty,
                    fee_1e9=round(notional_1e9 * float(fee_bps) / 10_000), fill_id=0,
                    request_id=rid, client_order_id="", venue_order_id=str(fill_id)[:128],
                    ts_venue_ns=ts_ns)

    def _send_state(self, s: EdgeSession, c: Order, rid: int) -> None:
        sym = self.out_ids.get((c.symbol, c.venue), 0)
        if c.state == OrderState.REJECTED:
            s.send_order(int(Kind.ORDER_REJECT), symbol_id=sym, request_id=rid,
                         text=(c.reason or "rejected by the venue")[:255])
            return
        s.send_order(int(Kind.ORDER_UPDATE), symbol_id=sym, request_id=rid,
                     status=int(_STATUS[c.state]), qty_1e8=c.qty_1e8, px_1e9=c.price_1e9 or 0,
                     filled_qty_1e8=c.filled_1e8, avg_px_1e9=c.avg_px_1e9,
                     amend_mode=_AMEND_MODE.get(c.amend_mode or "", 0),
                     venue_order_id=(c.venue_order_id or "")[:128],
                     text=(c.reason or "")[:255] if c.terminal else "")

    def relay(self, topic: str, data: dict, key_id: str | None) -> None:
        """Engine events of forwarded orders go back to the entering CC (after the journal)."""
        if not key_id or not key_id.startswith(PEER_PREFIX) or topic not in ("orders", "fills"):
            return
        region = key_id[len(PEER_PREFIX):]
        eng = self.cc.engine
        c = eng.orders.get(data.get("order_id", ""))
        if c is None or c.seq == 0:
            return
        parent = eng.orders.get(c.parent_id or "")
        crid = parent.client_request_id if parent is not None else None
        if not crid or not crid.startswith(region + ":"):
            return
        rid = int(crid.partition(":")[2])
        s = self.server.sessions.get(f"cc-{region}")
        if s is None or not s.connected:
            return    # the entering CC reconciles when the link is back
        if topic == "fills":
            self._send_fill(s, c, rid, data["fill_id"], data["price_1e9"], data["qty_1e8"],
                            data["fee_bps"], data["liquidity"], data["ts_ns"])
        else:
            self._send_state(s, c, rid)
        s.flush()

    # --- entering side: forwarding and answers ---------------------------------------------
    def _client_for(self, venue: int) -> tuple[str, PeerClient]:
        r = self.remote[venue]
        return r.region, self.clients[r.region]

    def forward(self, kind: Kind, child: Order, **fields: Any) -> None:
        region, c = self._client_for(child.venue)
        sid = self.owner_ids.get((region, child.symbol, child.venue))
        if sid is None or (kind == Kind.ORDER_NEW and not c.ready):
            self.cc.engine.on_venue_reject(child.order_id, f"the peer link to {region} is down")
            return
        c.send_order(int(kind), symbol_id=sid,
                     side=int(Side.BUY if child.side == "buy" else Side.SELL),
                     order_type=int(OrderType.LIMIT if child.order_type == "limit" else OrderType.MARKET),
                     tif=int(_TIF[child.tif]), request_id=child.request_id,
                     client_order_id=child.order_id[:64], **fields)
        if c.link is not None:
            c.link.flush()

    def _reconcile(self, region: str, client: EdgeLinkClient) -> int:
        """Ask the owner about every open forwarded child of a venue not yet asked about on this
        connection (its PAIR_SPECs may arrive after the link came up)."""
        done = self._reconciled.setdefault(region, set())
        venues = {v for v, r in self.remote.items() if r.region == region} - done
        if not venues or client.link is None:
            return 0
        n = 0
        for o in list(self.cc.engine.orders.values()):
            if o.seq == 0 or o.sandbox or o.terminal or o.venue not in venues:
                continue
            client.link.send_order(int(Kind.ORDER_UPDATE), symbol_id=0, request_id=o.request_id,
                                   client_order_id=o.order_id[:64], status=int(OrderStatus.UNSET))
            n += 1
        done |= venues
        if n:
            log.info("reconciling %d forwarded orders with %s", n, region)
        return n

    def _answer_child(self, f: Any) -> Order | None:
        return self.cc.engine.child_for(f.request_id, None) if f.request_id else None

    def _ans_update(self, link: Any, f: Any) -> None:
        c = self._answer_child(f)
        if c is None or c.terminal:
            return
        eng = self.cc.engine
        eng.set_venue_order_id(c, f.venue_order_id or None)
        st = OrderStatus(f.status)
        if "new" in c.pending and st != OrderStatus.PENDING:
            eng.answered(c, "new")
        if st in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
            if f.qty_1e8 and (f.qty_1e8 != c.qty_1e8 or (f.px_1e9 and f.px_1e9 != (c.price_1e9 or 0))):
                for op in ("amend", "decrease"):
                    eng.answered(c, op)
                eng.on_venue_amended(c.order_id, f.qty_1e8, f.px_1e9 or None,
                                     _AMEND_NAME.get(f.amend_mode))
            eng.on_venue_ack(c.order_id)
        elif st in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
            eng.answered(c, "cancel")
            eng.on_venue_done(c.order_id, OrderState.CANCELLED if st == OrderStatus.CANCELED
                              else OrderState.EXPIRED, f.text or None)

    def _ans_reject(self, link: Any, f: Any) -> None:
        c = self._answer_child(f)
        if c is not None:
            self.cc.engine.on_venue_reject(c.order_id, f.text or "rejected by the owning CC")

    def _ans_fill(self, link: Any, f: Any) -> None:
        c = self._answer_child(f)
        if c is None:
            return
        notional_1e9 = f.px_1e9 * f.qty_1e8 // 10**8
        fee_bps = round(f.fee_1e9 * 10_000 / notional_1e9) if notional_1e9 else 0
        region = self.owner(c.venue) or "?"
        self.cc.engine.on_venue_fill(c.order_id, f"{PEER_PREFIX}{region}:{f.venue_order_id}",
                                     f.px_1e9, f.qty_1e8, fee_bps,
                                     _LIQ_NAME.get(int(f.liquidity), "unknown"),
                                     f.ts_venue_ns or time.time_ns())


class RegionTransport:
    """The engine's VenueTransport with the mesh: a venue with a local edge goes to the edge link,
    a venue another region owns goes over the peer link to its CC."""

    def __init__(self, edges: Any, peers: PeerLink) -> None:
        self.edges = edges
        self.peers = peers

    def _remote(self, venue: int) -> bool:
        return not (self.edges is not None and self.edges.connected(venue)) and \
            self.peers.owner(venue) is not None

    def connected(self, venue: int) -> bool:
        if self.edges is not None and self.edges.connected(venue):
            return True
        return self.peers.routable(venue)

    def rtt_ns(self, venue: int) -> int:
        if self._remote(venue):
            return self.peers.rtt_ns(venue)
        return self.edges.rtt_ns(venue) if self.edges is not None else 0

    def send_new(self, child: Order, spec: SymbolSpec) -> None:
        if self._remote(child.venue):
            self.peers.forward(Kind.ORDER_NEW, child, px_1e9=child.price_1e9 or 0,
                               qty_1e8=child.qty_1e8)
        else:
            self.edges.send_new(child, spec)

    def send_cancel(self, child: Order, spec: SymbolSpec) -> None:
        if self._remote(child.venue):
            self.peers.forward(Kind.ORDER_CANCEL, child)
        else:
            self.edges.send_cancel(child, spec)

    def send_amend(self, child: Order, spec: SymbolSpec, qty_1e8: int, px_1e9: int | None) -> None:
        if self._remote(child.venue):
            self.peers.forward(Kind.ORDER_AMEND, child, px_1e9=px_1e9 or child.price_1e9 or 0,
                               qty_1e8=qty_1e8)
        else:
            self.edges.send_amend(child, spec, qty_1e8, px_1e9)

    def send_decrease(self, child: Order, spec: SymbolSpec, qty_1e8: int) -> None:
        if self._remote(child.venue):
            self.peers.forward(Kind.ORDER_DECREASE, child, qty_1e8=qty_1e8)
        else:
            self.edges.send_decrease(child, spec, qty_1e8)


async def start_peer_link(cc: CommandCenter, host: str, port: int,
                          peers: dict[str, tuple[str, int]],
                          config: PeerConfig | None = None) -> PeerLink:
    """Start the mesh for a CC (after its edge link): listener, outgoing links, the engine's
    transport, credentials and event relay hooks."""
    pl = PeerLink(cc, peers, config)
    await pl.start(host, port)
    cc.peer_link = pl
    cc.engine.transport = RegionTransport(cc.engine.transport, pl)
    vault_has = cc.engine.has_credentials
    cc.engine.has_credentials = lambda v: vault_has(v) or pl.has_credentials(v)
    publish = cc.engine.publish

    def publish_and_relay(topic: str, data: dict, key_id: str | None) -> None:
        publish(topic, data, key_id)
        pl.relay(topic, data, key_id)

    cc.engine.publish = publish_and_relay
    return pl
