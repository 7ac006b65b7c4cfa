"""The CC's side of CC-LINK: accepts edges, binds their PAIR_SPECs to symbol slots, feeds books,
the BBO matrix and balances, sends ORDER_* frames to edges and applies their ACK / REJECT /
UPDATE / FILL frames to the order engine; reconciles open orders when an edge (re)connects."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from seqkern.cc.engine import PERP_SUFFIX, account_of, client_order_id
from seqkern.cc.market import SymbolSpec
from seqkern.cc.orders import Order, OrderState
from seqkern.cclink import CcLinkServer, EdgeSession, Flag, Kind, LinkConfig, Region
from seqkern.cclink.wire import InstrumentType as WireItype
from seqkern.cclink.wire import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from seqkern.errors import SeqkernError
from seqkern.venues import split_symbol

if TYPE_CHECKING:
    from seqkern.cc.server import CommandCenter

log = logging.getLogger("seqkern.cc.edgelink")

_ITYPE = {WireItype.SPOT: "spot", WireItype.PERP: "perp", WireItype.BINARY: "binary"}
_ITYPE_WIRE = {v: k for k, v in _ITYPE.items()}
_TIF = {"gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK}
_DONE = {OrderStatus.CANCELED: OrderState.CANCELLED, OrderStatus.EXPIRED: OrderState.EXPIRED}
_AMEND_WIRE = {1: "native_atomic", 2: "cancel_replace"}
_DONE_REASON = {OrderStatus.CANCELED: "cancelled by the venue",
                OrderStatus.EXPIRED: "expired by the venue (nothing more to fill at the limit)"}


class EdgeLink:
    """CC-LINK server of one CC, and the engine's VenueTransport."""

    def __init__(self, cc: CommandCenter, config: LinkConfig | None = None) -> None:
        self.cc = cc
        self.server = CcLinkServer(
            f"cc-{cc.region}", region=Region.parse(cc.region), config=config,
            on_connect=self._on_connect, on_disconnect=self._on_disconnect)
        # (edge_id, edge-local symbol id) -> canonical symbol, and the reverse per venue/itype
        self.sym_of: dict[tuple[str, int], str] = {}
        self.id_of: dict[tuple[str, str], int] = {}
        # child orders already asked about on each live edge connection (reconciliation)
        self._asked: dict[int, set[str]] = {}
        s = self.server
        s.on(Kind.PAIR_SPEC, self._pair_spec)
        s.on(Kind.BBO, self._bbo)
        s.on(Kind.L2_SNAPSHOT, self._l2)
        s.on(Kind.L2_DELTA, self._l2)
        s.on(Kind.BALANCE, self._balance)
        s.on(Kind.ORDER_ACK, self._ack)
        s.on(Kind.ORDER_REJECT, self._reject)
        s.on(Kind.ORDER_UPDATE, self._update)
        s.on(Kind.FILL, self._fill)
        s.on(Kind.HEARTBEAT, self._seen)
        s.on(Kind.TRADE, self._seen)

    async def listen(self, host: str, port: int) -> int:
        return await self.server.listen_tcp(host, port)

    async def close(self) -> None:
        await self.server.close()

    # --- sessions --------------------------------------------------------------------------
    def _touch(self, session: EdgeSession) -> None:
        e = self.cc.market.edges.get(session.edge_id or "")
        if e is not None:
            e.last_seen_ns = time.time_ns()

    def _seen(self, session: EdgeSession, frame: Any) -> None:
        self._touch(session)

    def _on_connect(self, session: EdgeSession) -> None:
        itype = _ITYPE.get(WireItype(session.instrument_type), "spot")
        region = Region(session.region).name.lower()
        self.cc.market.edge_seen(session.edge_id or "?", region=region, venue=session.venue_slot,
                                 instrument_type=itype, remote=region != self.cc.region)
        log.info("edge %s connected (venue %d, %s)", session.edge_id, session.venue_slot, itype)
        # reconciliation starts as the edge's PAIR_SPECs arrive: the edge sends them once its
        # symbols and order entry are up, on every connection

    def _on_disconnect(self, session: EdgeSession, reason: str) -> None:
        self._asked.pop(id(session), None)
        e = self.cc.market.edges.get(session.edge_id or "")
        if e is not None:
            e.connected = False
        for (edge_id, _sid), sym in list(self.sym_of.items()):
            if edge_id == session.edge_id and session.venue_slot in self.cc.market.venues_of.get(sym, ()):
                self.cc.market.invalidate(sym, session.venue_slot)
        log.warning("edge %s disconnected: %s", session.edge_id, reason)

    def _session_for(self, venue: int, itype: str, symbol: str | None = None) -> EdgeSession | None:
        for s in self.server.sessions.values():
            if s.venue_slot != venue or not s.connected:
                continue
            if _ITYPE.get(WireItype(s.instrument_type), "spot") != itype:
                continue
            if symbol is None or (s.edge_id, symbol) in self.id_of:
                return s
        return None

    # --- market data -----------------------------------------------------------------------
    def _pair_spec(self, session: EdgeSession, f: Any) -> None:
        venue = f.venue_id or session.venue_slot
        itype = _ITYPE.get(WireItype(f.instrument_type), "spot")
        try:
            base, quote = split_symbol(f.symbol)
        except SeqkernError:
            base, quote = f.symbol, "USD"   # prediction markets: contracts priced in USD
        # spot and perp of one venue share its id: the perp is its own market, SYMBOL-PERP
        name = f.symbol + PERP_SUFFIX if itype == "perp" else f.symbol
        spec = SymbolSpec(name, venue, base, quote, f.tick_1e9, f.lot_1e8, itype,
                          f.venue_symbol, session.edge_id or "", f.min_qty_1e8, f.min_notional_1e9,
                          f.maker_fee_bps_e4 / 10_000, f.taker_fee_bps_e4 / 10_000)
        self.cc.market.bind(spec)
        self.sym_of[(session.edge_id or "", f.symbol_id)] = name
        self.id_of[(session.edge_id or "", name)] = f.symbol_id
        e = self.cc.market.edges.get(session.edge_id or "")
        if e is not None:
            e.symbols.add(name)
            e.last_seen_ns = time.time_ns()
        # the edge is ready for this symbol: ask it about the symbol's open orders
        self.reconcile(session, name)

    def _symbol(self, session: EdgeSession, symbol_id: int) -> str | None:
        return self.sym_of.get((session.edge_id or "", symbol_id))

    def _bbo(self, session: EdgeSession, f: Any) -> None:
        sym = self._symbol(session, f.symbol_id)
        if sym is None:
            return
        self._touch(session)
        self.cc.market.set_bbo(sym, session.venue_slot, f.bid_px_1e9, f.bid_qty_1e8,
                               f.ask_px_1e9, f.ask_qty_1e8, f.ts_venue_ns or time.time_ns())

    def _l2(self, session: EdgeSession, f: Any) -> None:
        sym = self._symbol(session, f.symbol_id)
        if sym is None:
            return
        self._touch(session)
        b, a = f.bids, f.asks
        if f.flags & Flag.RESYNC and not len(b) and not len(a):
            # the edge withdrew the book (gap, checksum): invalid until its next snapshot
            self.cc.market.invalidate(sym, session.venue_slot)
            return
        try:
            self.cc.market.apply_book(
                sym, session.venue_slot, np.ascontiguousarray(b[:, 0]), np.ascontiguousarray(b[:, 1]),
                np.ascontiguousarray(a[:, 0]), np.ascontiguousarray(a[:, 1]),
                snapshot=f.is_snapshot, ts_ns=f.ts_venue_ns or time.time_ns(),
                update_id=f.update_id)
        except SeqkernError as exc:
            # the book is marked invalid (the SOR skips it) until the edge's next snapshot
            log.warning("bad L2 from %s for %s: %s", session.edge_id, sym, exc)
            self.cc.market.invalidate(sym, session.venue_slot)
            session.send_resync(symbol_id=f.symbol_id)

    def _balance(self, session: EdgeSession, f: Any) -> None:
        self._touch(session)
        itype = _ITYPE.get(WireItype(session.instrument_type), "spot")
        self.cc.ledger.set_balance(account_of(False, itype), session.venue_slot, f.asset, f.total_1e8)

    # --- orders: CC -> edge (VenueTransport) -----------------------------------------------
    def rtt_ns(self, venue: int) -> int:
        """The CC <-> edge round trip (CC-LINK PING/PONG) of the venue's best-connected edge."""
        rtts = [s.rtt_ns for s in self.server.sessions.values()
                if s.venue_slot == venue and s.connected and s.rtt_ns]
        return int(min(rtts)) if rtts else 0

    def connected(self, venue: int) -> bool:
        return any(s.venue_slot == venue and s.connected for s in self.server.sessions.values())

    def _send(self, kind: Kind, child: Order, spec: SymbolSpec, **fields: Any) -> None:
        s = self._session_for(child.venue, spec.instrument_type, child.symbol)
        if s is None:
            self.cc.engine.on_venue_reject(child.order_id, "the venue's edge is not connected")
            return
        s.send_order(int(kind), symbol_id=self.id_of[(s.edge_id or "", child.symbol)],
                     side=int(Side.BUY if child.side == "buy" else Side.SELL),
                     order_type=int(OrderType.LIMIT if child.order_type == "limit" else OrderType.MARKET),
                     tif=int(_TIF[child.tif]), request_id=child.request_id,
                     client_order_id=client_order_id(child),
                     venue_order_id=child.venue_order_id, **fields)
        s.flush()

    def send_new(self, child: Order, spec: SymbolSpec) -> None:
        self._send(Kind.ORDER_NEW, child, spec, px_1e9=child.price_1e9 or 0, qty_1e8=child.qty_1e8)

    def send_cancel(self, child: Order, spec: SymbolSpec) -> None:
        self._send(Kind.ORDER_CANCEL, child, spec)

    def send_amend(self, child: Order, spec: SymbolSpec, qty_1e8: int, px_1e9: int | None) -> None:
        self._send(Kind.ORDER_AMEND, child, spec, px_1e9=px_1e9 or child.price_1e9 or 0,
                   qty_1e8=qty_1e8)

    def send_decrease(self, child: Order, spec: SymbolSpec, qty_1e8: int) -> None:
        """ORDER_DECREASE carries the quantity to take off (docs/cclink.md)."""
        self._send(Kind.ORDER_DECREASE, child, spec, qty_1e8=qty_1e8)

    def reconcile(self, session: EdgeSession, symbol: str | None = None) -> int:
        """After a (re)connect: ask the edge for the venue's view of every open child on it
        (ORDER_UPDATE with status UNSET = "report this order"); the edge answers with
        ORDER_UPDATE and the FILLs the CC may have missed (fill ids make them idempotent).
        Runs as each PAIR_SPEC binds a symbol on a connection (the edge sends them once its
        symbols and order entry are up); each child is asked about once per connection."""
        n = 0
        asked = self._asked.setdefault(id(session), set())
        for o in list(self.cc.engine.orders.values()):
            if o.seq == 0 or o.sandbox or o.terminal or o.venue != session.venue_slot:
                continue
            if (symbol is not None and o.symbol != symbol) or o.order_id in asked:
                continue
            sid = self.id_of.get((session.edge_id or "", o.symbol))
            if sid is None:
                continue
            asked.add(o.order_id)
            session.send_order(int(Kind.ORDER_UPDATE), symbol_id=sid, request_id=o.request_id,
                               client_order_id=client_order_id(o), venue_order_id=o.venue_order_id,
                               status=int(OrderStatus.UNSET))
            n += 1
        if n:
            session.flush()
            log.info("reconciling %d open orders with %s", n, session.edge_id)
        return n

    # --- orders: edge -> CC ----------------------------------------------------------------
    def _child(self, f: Any) -> Order | None:
        c = self.cc.engine.child_for(f.request_id, f.client_order_id)
        if c is None:
            log.info("venue message for an order this CC does not know (request %d, %s)",
                     f.request_id, f.client_order_id)
        return c

    def _ack(self, session: EdgeSession, f: Any) -> None:
        """ORDER_ACK answers one operation: its status and mode fields say which."""
        c = self._child(f)
        if c is None:
            return
        eng = self.cc.engine
        eng.set_venue_order_id(c, f.venue_order_id)
        st = OrderStatus(f.status)
        if st in _DONE:                  # a cancel acknowledged, or an IOC placement that ended
            eng.answered(c, "cancel" if "cancel" in c.pending else "new")
            eng.on_venue_done(c.order_id, _DONE[st], _DONE_REASON[st], f.filled_qty_1e8)
        elif f.amend_mode:                               # an amend or a decrease
            op = "amend" if "amend" in c.pending else "decrease"
            eng.answered(c, op)
            mode = _AMEND_WIRE.get(f.amend_mode)
            if mode == "cancel_replace":   # the venue order was replaced by a new one
                eng.set_venue_order_id(c, f.venue_order_id, replace=True)
            # the ACK echoes the request: an amend's new quantity, a decrease's amount taken off
            # (absolute targets: an ORDER_UPDATE may already have applied the change)
            qty = (f.qty_1e8 or c.qty_1e8) if op == "amend" else (c.decrease_to or c.qty_1e8)
            eng.on_venue_amended(c.order_id, qty, f.px_1e9 if op == "amend" else None, mode)
        else:                                            # the placement
            eng.answered(c, "new")
            eng.on_venue_ack(c.order_id)

    def _reject(self, session: EdgeSession, f: Any) -> None:
        c = self._child(f)
        if c is not None:
            self.cc.engine.on_venue_reject(c.order_id, f.text or f"venue reject code {f.reason_code}")

    def _update(self, session: EdgeSession, f: Any) -> None:
        c = self._child(f)
        if c is None:
            return
        eng = self.cc.engine
        eng.set_venue_order_id(c, f.venue_order_id)
        st = OrderStatus(f.status)
        if st in (OrderStatus.ACCEPTED, OrderStatus.PENDING, OrderStatus.PARTIALLY_FILLED):
            eng.on_venue_ack(c.order_id)
        elif st == OrderStatus.REJECTED:
            eng.on_venue_reject(c.order_id, f.text or f"venue reject code {f.reason_code}")
        elif st in _DONE:
            if "amend" in c.pending or (f.venue_order_id and f.venue_order_id in c.old_venue_ids):
                return   # the cancel half of a cancel-replace amend: the order lives on
            # fills travel as FILL frames; the end waits for those the venue already counted.
            # A reason code marks a reconciliation answer for an order the venue does not know
            # (EXPIRED, the venue's error in the text): the order ends, its reservation released
            reason = f.text if f.reason_code and f.text else _DONE_REASON[st]
            eng.on_venue_done(c.order_id, _DONE[st], reason, f.filled_qty_1e8)
        elif st == OrderStatus.REPLACED:
            eng.on_venue_amended(c.order_id, f.qty_1e8 or c.qty_1e8, f.px_1e9 or None, None)
        # FILLED: the FILL frames carry the quantities; the state follows from them

    def _fill(self, session: EdgeSession, f: Any) -> None:
        c = self._child(f)
        if c is None:
            return
        notional_1e9 = f.px_1e9 * f.qty_1e8 // 10**8
        fee_bps = round(f.fee_1e9 * 10_000 / notional_1e9) if notional_1e9 else 0
        liq = {Liquidity.MAKER: "maker", Liquidity.TAKER: "taker"}.get(Liquidity(f.liquidity), "unknown")
        fill_id = f"{session.venue_slot}:{f.venue_order_id or c.venue_order_id or c.request_id}:{f.fill_id}"
        self.cc.engine.on_venue_fill(c.order_id, fill_id, f.px_1e9, f.qty_1e8, fee_bps, liq,
                                     f.ts_venue_ns or time.time_ns())


async def start_edge_link(cc: CommandCenter, host: str, port: int) -> int:
    link = EdgeLink(cc)
    bound = await link.listen(host, port)
    cc.engine.transport = link
    cc.edge_link = link
    return bound
