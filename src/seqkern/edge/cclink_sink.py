"""The edge's CC-LINK side: EdgeSink as frames to its CC, and the CC's order frames executed."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np

from seqkern._book import L2Book
from seqkern._fixed import parse_fixed
from seqkern.cclink import AmendMode as WireAmend
from seqkern.cclink import BatchMode as WireBatch
from seqkern.cclink import EdgeLinkClient, Flag, Kind, Region, fee_bps_e4
from seqkern.cclink import InstrumentType as WireInstrument
from seqkern.cclink import Liquidity as WireLiquidity
from seqkern.cclink import OrderStatus as WireStatus
from seqkern.cclink import OrderType as WireOrderType
from seqkern.cclink import Side as WireSide
from seqkern.cclink import TimeInForce as WireTif
from seqkern.edge.sink import EdgeSymbol
from seqkern.errors import FixedPointError, SeqkernError
from seqkern.venues.base import (
    AmendMode,
    AmendResult,
    BalanceEvent,
    BatchMode,
    FillEvent,
    InstrumentType,
    OrderQuery,
    OrderRequest,
    OrderResult,
    OrderStatus,
    OrderType,
    OrderUpdate,
    QueryUnsupported,
    Side,
    TimeInForce,
    TradeEvent,
)

log = logging.getLogger("seqkern.edge.cclink")

SNAPSHOT_LEVELS = 1000
RECONCILE_CONCURRENCY = 4     # venue queries in flight at once (each one is weighted by the limiter)

_SIDE = {Side.BUY: WireSide.BUY, Side.SELL: WireSide.SELL}
_FROM_SIDE = {WireSide.BUY: Side.BUY, WireSide.SELL: Side.SELL}
_STATUS = {
    OrderStatus.NEW: WireStatus.ACCEPTED,
    OrderStatus.PARTIALLY_FILLED: WireStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED: WireStatus.FILLED,
    OrderStatus.CANCELED: WireStatus.CANCELED,
    OrderStatus.REJECTED: WireStatus.REJECTED,
    OrderStatus.EXPIRED: WireStatus.EXPIRED,
}
_AMEND = {AmendMode.NATIVE_ATOMIC: WireAmend.NATIVE_ATOMIC, AmendMode.CANCEL_REPLACE: WireAmend.CANCEL_REPLACE}
_BATCH = {BatchMode.SERIAL: WireBatch.SERIAL, BatchMode.NATIVE_ATOMIC: WireBatch.NATIVE_ATOMIC,
          BatchMode.NATIVE_BEST_EFFORT: WireBatch.NATIVE_BEST_EFFORT}
_ITYPE = {InstrumentType.SPOT: WireInstrument.SPOT, InstrumentType.PERP: WireInstrument.PERP,
          InstrumentType.BINARY: WireInstrument.BINARY}
_REGION = {"ap": Region.AP, "na": Region.NA, "eu": Region.EU}
_EMPTY = np.zeros((0, 2), dtype=np.int64)


def _fee_1e9(text: str) -> int:
    try:
        return parse_fixed(text or "0", 9)
    except FixedPointError:
        return 0


def _reason(code: int | str | None) -> int:
    """A venue error code as CC-LINK's u16 reason (Binance's are negative: their magnitude)."""
    try:
        v = abs(int(code or 0))
    except (TypeError, ValueError):
        return 0
    return v if v <= 0xFFFF else 0


class CcLinkSink:
    """EdgeSink over an EdgeLinkClient: one CC-LINK frame per published record.

    A book known to be wrong is withdrawn with an empty L2_SNAPSHOT flagged RESYNC; the next
    snapshot restores it. ``attach(runner)`` wires the runner's books in: snapshots after every
    (re)connection and on the CC's RESYNC, and fresh snapshots when backpressure dropped deltas.
    """

    def __init__(self, client: EdgeLinkClient) -> None:
        self.client = client
        self.request_ids: dict[str, int] = {}   # client order id -> the CC's request id
        # venue order id -> (request id, client order id): venues whose user stream names orders
        # only by their own id (Hyperliquid fills without a cloid, Polymarket trades)
        self.by_venue_id: dict[str, tuple[int, str]] = {}
        # fills / updates that named neither id before the venue's answer mapped it (bounded)
        self._early: dict[str, list[tuple[str, int, Any]]] = {}
        self.runner: Any = None
        self._flush_scheduled = False

    def attach(self, runner: Any) -> CcLinkOrderBridge:
        """Bind the runner's books and order entry to this link; returns the order bridge."""
        self.runner = runner
        self.client.snapshot_source = self._snapshot_of
        prev = self.client.on_connect

        def on_connect(client: EdgeLinkClient) -> None:
            self.resend_snapshots()
            if prev is not None:
                prev(client)

        self.client.on_connect = on_connect
        return CcLinkOrderBridge(runner, self)

    def _snapshot_of(self, symbol_id: int) -> tuple[int, np.ndarray, np.ndarray] | None:
        for slot in self.runner._slots.values():
            if slot.sym.symbol_id == symbol_id and slot.book.valid:
                bp, bq, ap, aq = slot.book.top(SNAPSHOT_LEVELS)
                return (max(slot.book.last_update_id, 0), np.ascontiguousarray(np.stack([bp, bq], axis=1)),
                        np.ascontiguousarray(np.stack([ap, aq], axis=1)))
        return None

    def resend_snapshots(self, symbol_id: int = 0xFFFFFFFF) -> None:
        if self.runner is None:
            return
        for slot in self.runner._slots.values():
            if symbol_id in (0xFFFFFFFF, slot.sym.symbol_id) and slot.book.valid:
                self.l2_snapshot(slot.sym.symbol_id, slot.book, slot.book.ts_event_ns, 0)

    def pair_spec(self, sym: EdgeSymbol) -> None:
        spec = sym.spec
        self.client.bind_symbol(
            sym.symbol_id, sym.symbol, sym.venue_symbol, sym.venue_id, _ITYPE[sym.instrument_type],
            tick_1e9=spec.tick_1e9, lot_1e8=spec.lot_1e8, min_qty_1e8=spec.min_qty_1e8,
            min_notional_1e9=spec.min_notional_1e9, maker_fee_bps_e4=fee_bps_e4(str(spec.maker_fee_bps)),
            taker_fee_bps_e4=fee_bps_e4(str(spec.taker_fee_bps)))

    def bbo(self, symbol_id: int, bid_px: int, bid_qty: int, ask_px: int, ask_qty: int,
            ts_event_ns: int, ts_recv_ns: int) -> None:
        self.client.send_bbo(symbol_id, bid_px, bid_qty, ask_px, ask_qty, ts_venue_ns=ts_event_ns)

    def l2_snapshot(self, symbol_id: int, book: L2Book, ts_event_ns: int, ts_recv_ns: int) -> None:
        bp, bq, ap, aq = book.top(SNAPSHOT_LEVELS)
        bids = np.ascontiguousarray(np.stack([bp, bq], axis=1))
        asks = np.ascontiguousarray(np.stack([ap, aq], axis=1))
        self.client.send_l2(Kind.L2_SNAPSHOT, symbol_id, max(book.last_update_id, 0), bids, asks,
                            ts_venue_ns=ts_event_ns)

    def l2_from_decoder(self, symbol_id: int, dec: Any, ts_recv_ns: int, with_bbo: bool) -> bool:
        """Hot path: the decoder writes the L2_DELTA (and BBO) frames straight into the link's
        encoder. False when the link cannot take them now (offline, or held back by backpressure,
        where conflation applies): the runner then uses l2_delta / bbo."""
        link = self.client.link
        if link is None or not link.ready or link.paused:
            return False
        dec.encode_delta(link.encoder, symbol_id, ts_recv_ns, with_bbo)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        return True

    def _flush(self) -> None:
        self._flush_scheduled = False
        link = self.client.link
        if link is not None:
            link.flush()

    def l2_delta(self, symbol_id: int, update_id: int, bids: np.ndarray, n_bids: int, asks: np.ndarray,
                 n_asks: int, ts_event_ns: int, ts_recv_ns: int) -> None:
        self.client.send_l2(Kind.L2_DELTA, symbol_id, update_id, bids[:n_bids], asks[:n_asks],
                            ts_venue_ns=ts_event_ns)

    def trade(self, symbol_id: int, trade: TradeEvent) -> None:
        self.client.send_trade(symbol_id, _SIDE[trade.taker_side], trade.px_1e9, trade.qty_1e8,
                               trade.trade_id if trade.trade_id >= 0 else 0, ts_venue_ns=trade.ts_event_ns)

    def _ids(self, kind: str, symbol_id: int, ev: Any) -> tuple[int, str] | None:
        """The CC's request id and the client order id of a user-stream event: by the client id,
        else by the venue order id the venue's answer mapped; None = held until that answer."""
        rid = self.request_ids.get(ev.client_order_id, 0)
        if rid or ev.client_order_id:
            return rid, ev.client_order_id
        vid = str(ev.venue_order_id) if ev.venue_order_id not in (None, "") else ""
        if vid in self.by_venue_id:
            return self.by_venue_id[vid]
        if vid and len(self._early) < 1024:
            self._early.setdefault(vid, []).append((kind, symbol_id, ev))
            return None
        return 0, ""

    def map_venue_order(self, venue_order_id: str, request_id: int, client_order_id: str) -> None:
        """The venue's answer named its order id: map it, and publish what waited for it."""
        if len(self.by_venue_id) >= 65536:
            self.by_venue_id.pop(next(iter(self.by_venue_id)))
        self.by_venue_id[venue_order_id] = (request_id, client_order_id)
        for kind, symbol_id, ev in self._early.pop(venue_order_id, ()):
            (self.fill if kind == "fill" else self.order_update)(symbol_id, ev)

    def fill(self, symbol_id: int, fill: FillEvent) -> None:
        ids = self._ids("fill", symbol_id, fill)
        if ids is None:
            return
        self.client.send_fill(
            symbol_id=max(symbol_id, 0), side=_SIDE[fill.side], px_1e9=fill.px_1e9, qty_1e8=fill.qty_1e8,
            fee_1e9=_fee_1e9(fill.fee), fill_id=max(fill.trade_id, 0), request_id=ids[0],
            liquidity=WireLiquidity.MAKER if fill.maker else WireLiquidity.TAKER,
            client_order_id=ids[1][:64], venue_order_id=str(fill.venue_order_id),
            ts_venue_ns=fill.ts_event_ns)

    def order_update(self, symbol_id: int, update: OrderUpdate) -> None:
        ids = self._ids("update", symbol_id, update)
        if ids is None:
            return
        status = WireStatus.REPLACED if update.exec_type == "REPLACED" else _STATUS[update.status]
        self.client.send_order(
            Kind.ORDER_UPDATE, symbol_id=max(symbol_id, 0), side=_SIDE[update.side], px_1e9=update.px_1e9,
            qty_1e8=update.qty_1e8, filled_qty_1e8=update.cum_qty_1e8, status=status, request_id=ids[0],
            client_order_id=ids[1][:64], venue_order_id=str(update.venue_order_id),
            text=update.exec_type, ts_venue_ns=update.ts_event_ns)

    def balance(self, balance: BalanceEvent) -> None:
        try:
            free = parse_fixed(balance.free, 8)
            locked = parse_fixed(balance.locked, 8)
        except FixedPointError:
            log.warning("balance of %s not representable in qty_1e8; not published", balance.asset)
            return
        self.client.send_balance(asset=balance.asset, total_1e8=free + locked, available_1e8=free,
                                 locked_1e8=locked, ts_venue_ns=balance.ts_event_ns)

    def resync(self, symbol_id: int, reason: str) -> None:
        self.client.send_l2(Kind.L2_SNAPSHOT, symbol_id, 0, _EMPTY, _EMPTY, flags=Flag.RESYNC)


class CcLinkOrderBridge:
    """Executes ORDER_NEW / CANCEL / AMEND / DECREASE / BATCH frames from the CC through the edge's
    OrderTransport and answers with ORDER_ACK or ORDER_REJECT carrying the modes that really ran."""

    def __init__(self, runner: Any, sink: CcLinkSink) -> None:
        self.runner = runner
        self.sink = sink
        self.client = sink.client
        self._symbols: dict[int, str] = {}
        self._tasks: set[asyncio.Task] = set()
        for kind in (Kind.ORDER_NEW, Kind.ORDER_CANCEL, Kind.ORDER_AMEND, Kind.ORDER_DECREASE):
            self.client.on(kind, self._on_order)
        self.client.on(Kind.ORDER_BATCH, self._on_batch)
        self.client.on(Kind.RESYNC, self._on_resync)
        self.client.on(Kind.ORDER_UPDATE, self._on_query)
        self._query_slots = asyncio.Semaphore(RECONCILE_CONCURRENCY)
        self.reconciled = 0          # queries answered from the venue
        self.reconcile_failed = 0    # queries the venue could not answer (the CC asks again on reconnect)

    def _venue_symbol(self, symbol_id: int) -> str | None:
        if symbol_id not in self._symbols:   # (re)built on a miss: edges can bind symbols later (discovery)
            self._symbols = {s.sym.symbol_id: vs for vs, s in self.runner._slots.items()}
        return self._symbols.get(symbol_id)

    def _spawn(self, coro: Any) -> None:
        t = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    def _on_order(self, link: Any, f: Any) -> None:
        self._spawn(self._execute(f))

    def _on_batch(self, link: Any, f: Any) -> None:
        self._spawn(self._execute_batch(f))

    def _on_query(self, link: Any, f: Any) -> None:
        """ORDER_UPDATE from the CC with status UNSET: "report this order" (reconciliation)."""
        if f.status == WireStatus.UNSET:
            self._spawn(self._reconcile(f))

    async def _reconcile(self, f: Any) -> None:
        """Query the venue for one order; send the FILLs it lists (the venue's trade ids: the CC
        drops those it has) and then an ORDER_UPDATE with the venue's status and cumulative
        filled quantity. An order the venue does not know is reported EXPIRED with the venue's
        error code as reason. Failures are logged, never raised: the CC asks again on reconnect."""
        vs = self._venue_symbol(f.symbol_id)
        for _ in range(50):   # a symbol being bound right now: wait for it, up to 5 s
            if vs is not None:
                break
            await asyncio.sleep(0.1)
            vs = self._venue_symbol(f.symbol_id)
        async with self._query_slots:
            transport = self.runner.transport
            if vs is None or transport is None:
                self.reconcile_failed += 1
                log.warning("reconcile: no venue symbol / transport for symbol id %d", f.symbol_id)
                return
            cid = self._cid(f)
            if f.request_id and cid:
                self.sink.request_ids[cid] = f.request_id
            vid: int | str | None = None
            if f.venue_order_id:
                vid = int(f.venue_order_id) if f.venue_order_id.isdigit() else f.venue_order_id
            try:
                q = await transport.query_order(vs, venue_order_id=vid, client_order_id=None if vid else cid)
            except QueryUnsupported as exc:
                self.reconcile_failed += 1
                log.warning("reconcile %s: %s", cid, exc)
                return
            except SeqkernError as exc:
                self.reconcile_failed += 1
                log.warning("reconcile %s on %s failed: %s (%s)", cid, vs, exc.message, exc.code)
                return
            except Exception:   # a venue answer the adapter did not expect: never kill the edge
                self.reconcile_failed += 1
                log.exception("reconcile %s on %s: unexpected error", cid, vs)
                return
            self._report(f, q, cid)
            self.reconciled += 1
            log.info("reconciled %s on %s: %s, filled %d, %d fills", cid, vs,
                     q.status.value if q.status else "not found", q.filled_qty_1e8, len(q.fills))

    def _report(self, f: Any, q: OrderQuery, cid: str) -> None:
        if not q.found:
            self.client.send_order(
                Kind.ORDER_UPDATE, symbol_id=f.symbol_id, request_id=f.request_id, status=WireStatus.EXPIRED,
                reason_code=_reason(q.error_code) or 0xFFFF, client_order_id=cid[:64],
                venue_order_id=f.venue_order_id or None,
                text=f"not found at the venue: {q.error_code} {q.error_msg}"[:255])
            return
        qcid = q.client_order_id or cid
        if f.request_id and qcid:
            self.sink.request_ids[qcid] = f.request_id
        for fill in q.fills:
            self.sink.fill(f.symbol_id, fill)
        assert q.status is not None and q.side is not None
        self.client.send_order(
            Kind.ORDER_UPDATE, symbol_id=f.symbol_id, side=_SIDE[q.side], px_1e9=q.px_1e9, qty_1e8=q.qty_1e8,
            filled_qty_1e8=q.filled_qty_1e8, status=_STATUS[q.status], request_id=f.request_id,
            client_order_id=qcid[:64], venue_order_id=str(q.venue_order_id), text="RECONCILE")

    def _on_resync(self, link: Any, f: Any) -> None:
        """The CC asks for fresh state: re-send the snapshot of every live book (or one symbol)."""
        self.sink.resend_snapshots(f.symbol_id)

    @staticmethod
    def _cid(f: Any) -> str:
        """The order's client id; the CC's request id names it when the CC sent none."""
        return f.client_order_id or (f"sk{f.request_id}" if f.request_id else "")

    def _request(self, f: Any, vs: str) -> OrderRequest:
        tif = TimeInForce.POST_ONLY if f.post_only else {
            WireTif.IOC: TimeInForce.IOC, WireTif.FOK: TimeInForce.FOK}.get(f.tif, TimeInForce.GTC)
        return OrderRequest(vs, _FROM_SIDE[WireSide(f.side)],
                            OrderType.MARKET if f.order_type == WireOrderType.MARKET else OrderType.LIMIT,
                            f.qty_1e8, f.px_1e9, tif, self._cid(f), f.reduce_only)

    def _answer(self, f: Any, res: OrderResult, *, amend: AmendResult | None = None,
                batch_mode: BatchMode | None = None) -> None:
        kind = Kind.ORDER_ACK if res.accepted else Kind.ORDER_REJECT
        if res.client_order_id and f.request_id:
            self.sink.request_ids[res.client_order_id] = f.request_id
        self.client.send_order(
            kind, symbol_id=f.symbol_id, side=f.side, order_type=f.order_type, tif=f.tif,
            px_1e9=f.px_1e9, qty_1e8=f.qty_1e8, request_id=f.request_id,
            filled_qty_1e8=res.filled_qty_1e8,
            status=_STATUS.get(res.status, WireStatus.ACCEPTED) if res.accepted else WireStatus.REJECTED,
            amend_mode=_AMEND[amend.mode] if amend is not None else 0,
            batch_mode=_BATCH[batch_mode] if batch_mode is not None else 0,
            reason_code=_reason(res.error_code),
            client_order_id=(res.client_order_id or f.client_order_id)[:64],
            venue_order_id=str(res.venue_order_id) if res.venue_order_id is not None else None,
            text=res.error_msg[:255] if not res.accepted else None)
        if res.accepted and res.venue_order_id not in (None, "") and f.request_id:
            self.sink.map_venue_order(str(res.venue_order_id), f.request_id,
                                      res.client_order_id or self._cid(f))

    async def _one(self, f: Any, op: int) -> tuple[OrderResult, AmendResult | None]:
        vs = self._venue_symbol(f.symbol_id)
        if vs is None:
            return OrderResult(False, "", f.client_order_id, error_code="UNKNOWN_SYMBOL",
                               error_msg=f"unknown symbol id {f.symbol_id}"), None
        ident: dict[str, Any] = {}
        if f.venue_order_id:
            ident["venue_order_id"] = int(f.venue_order_id) if f.venue_order_id.isdigit() else f.venue_order_id
        else:
            ident["client_order_id"] = f.client_order_id
        try:
            if op == Kind.ORDER_NEW:
                return await self.runner.place(self._request(f, vs)), None
            if op == Kind.ORDER_CANCEL:
                return await self.runner.cancel(vs, **ident), None
            if op == Kind.ORDER_AMEND:
                a = await self.runner.amend(vs, **ident, new_qty_1e8=f.qty_1e8 or None,
                                            new_px_1e9=f.px_1e9 or None,
                                            side=_FROM_SIDE.get(WireSide(f.side)) if f.side else None)
                return a.result, a
            # DECREASE carries the amount to take off; the transport takes the new quantity
            known = self.runner.transport.open_order(**ident) if self.runner.transport else None
            if known is None:
                return OrderResult(False, vs, f.client_order_id, error_code="UNKNOWN_ORDER",
                                   error_msg="decrease of an order this edge does not know"), None
            a = await self.runner.decrease(vs, **ident, new_qty_1e8=known.qty_1e8 - f.qty_1e8)
            return a.result, a
        except SeqkernError as exc:
            return OrderResult(False, vs, f.client_order_id, error_code=exc.code, error_msg=exc.message), None

    def _note_request(self, f: Any) -> None:
        # fills can arrive on the user stream before the venue's answer: map the id up front
        if f.request_id:
            self.sink.request_ids[self._cid(f)] = f.request_id

    async def _execute(self, f: Any) -> None:
        if f.kind == Kind.ORDER_NEW:
            self._note_request(f)
        res, amend = await self._one(f, f.kind)
        self._answer(f, res, amend=amend)

    async def _execute_batch(self, f: Any) -> None:
        for o in f.orders:
            if o.op == Kind.ORDER_NEW:
                self._note_request(o)
        news = [o for o in f.orders if o.op == Kind.ORDER_NEW]
        if news and len(news) == len(f.orders):
            vs = self._venue_symbol(news[0].symbol_id)
            if vs is not None:
                br = await self.runner.batch([self._request(o, self._venue_symbol(o.symbol_id) or vs) for o in news])
                for o, res in zip(news, br.results, strict=True):
                    self._answer(o, res, batch_mode=br.mode)
                return
        for o in f.orders:   # mixed operations: one by one, in order
            res, amend = await self._one(o, o.op)
            self._answer(o, res, amend=amend, batch_mode=BatchMode.SERIAL)
