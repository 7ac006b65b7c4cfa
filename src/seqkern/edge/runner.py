"""The edge runner of every venue: symbols, market data, publishing, order entry, the private stream.

Market data takes the venue's shape: a ``DepthStreamVenue`` runs here as sharded depth connections
with per-symbol book sync (REST or in-stream snapshots); a ``BookFeedVenue`` runs through the
``BookFeedDriver`` (``seqkern.edge.book_feed``), whose websocket carries the books and announces new
markets. Everything else (instrument rules, PairSpecs, the sink, orders, fills) is the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from seqkern._book import L2Book
from seqkern._wire import APPLIED, BAD_JSON, DEPTH, OTHER, STREAM_GAP, DepthDecoder
from seqkern.edge.backoff import Backoff
from seqkern.edge.rest import RateLimiter, RestClient
from seqkern.edge.sink import EdgeSink, EdgeSymbol
from seqkern.edge.ws import WsConnectError, WsConnection
from seqkern.errors import SeqkernError, UnknownSymbol
from seqkern.venues.base import (
    AmendResult,
    BalanceEvent,
    BatchResult,
    BboEvent,
    CexVenue,
    ControlEvent,
    DepthStreamVenue,
    FillEvent,
    InstrumentInfo,
    OrderRequest,
    OrderResult,
    OrderTransport,
    OrderUpdate,
    ResyncMethod,
    TradeEvent,
    UserEvent,
    VenueMessageError,
    VenueRejected,
    VenueUnavailable,
)
from seqkern.venues.book_feed import BookFeedVenue, NewMarket
from seqkern.venues.book_sync import BookSync, Step, SyncState
from seqkern.venues.catalog import InstrumentType
from seqkern.venues.pairspec import PairSpec, pairspec_table

if TYPE_CHECKING:
    from seqkern.edge.book_feed import BookFeedDriver

DEFAULT_SPECS = pairspec_table()
_PUBLISH = Step.PUBLISH
_LIVE = SyncState.LIVE

log = logging.getLogger("seqkern.edge")


@dataclass
class EdgeCounters:
    other: int = 0
    unparsable: int = 0
    unknown_symbol: int = 0
    snapshots_published: int = 0
    resyncs: int = 0
    reconnects: int = 0
    snapshot_failures: int = 0
    user_events: int = 0
    # book feeds
    frames: int = 0
    book_messages: int = 0
    gaps: int = 0
    bad_levels: int = 0
    snapshot_requests: int = 0
    deltas_published: int = 0
    new_markets: int = 0


@dataclass
class _SymbolSlot:
    sym: EdgeSymbol
    book: L2Book
    sync: BookSync
    shard: _Shard | None = None
    snapshot_task: asyncio.Task | None = None
    last_bbo: tuple[int, int, int, int] = (0, 0, 0, 0)
    last_bbo_id: int = -1
    symbol_id: int = 0
    contract_1e8: int = 0     # base units per contract where the venue sizes in contracts


@dataclass
class _Shard:
    """One market-data connection and the streams it carries."""

    index: int
    streams: list[str]
    decoder: DepthDecoder
    slots: dict[bytes, _SymbolSlot] = field(default_factory=dict)
    slot_list: list[_SymbolSlot] = field(default_factory=list)   # by decoder.symbol_index
    conn: WsConnection | None = None
    task: asyncio.Task | None = None
    reconnect_now: bool = False

    def add_slot(self, slot: _SymbolSlot) -> None:
        """Carry this symbol's depth on this connection: its sync machine scans with this
        connection's decoder, which reports the symbol's index in ``slot_list``."""
        slot.shard = self
        slot.sync.decoder = self.decoder
        self.slots[slot.sym.venue_symbol.encode()] = slot
        # venues sizing in contracts (OKX SWAP): the decoder writes base units into the book
        self.decoder.register_symbol(slot.sym.venue_symbol, slot.contract_1e8)
        self.slot_list.append(slot)


class EdgeRunner:
    """Runs one venue edge until ``stop()``: every venue detail comes from the ``CexVenue``."""

    venue: Any      # a DepthStreamVenue, or a BookFeedVenue driven by ``self.feed``

    def __init__(self, venue: CexVenue, symbols: Sequence[str], sink: EdgeSink, *,
                 transport: OrderTransport | None = None, rest: RestClient | None = None,
                 depth_ticks: int = 1 << 16, backoff: Backoff | None = None,
                 snapshot_retry: Backoff | None = None, max_depth_levels: int = 20000,
                 resubscribe_timeout_s: float = 5.0, discovery_poll_s: float = 0.02) -> None:
        self.venue = venue
        self.resubscribe_timeout_s = resubscribe_timeout_s
        self.sink = sink
        self.transport = transport
        self.rest = rest or RestClient(venue.endpoints.rest, RateLimiter(venue.rate_limits))
        self._metadata_rest: RestClient | None = None
        self.counters = EdgeCounters()
        self._backoff = backoff or Backoff(0.5, 30.0)
        self._snapshot_retry = snapshot_retry or Backoff(0.05, 5.0)
        self._stopping = False
        self._depth_ticks = depth_ticks
        self._max_levels = max_depth_levels
        self._slots: dict[str, _SymbolSlot] = {}
        self._symbol_ids: dict[str, int] = {}
        self._shards: list[_Shard] = []
        self._canonical = list(symbols)
        self._bbo_from_ticker = True
        self._live_events: dict[str, asyncio.Event] = {}
        # a sink that can take frames straight from the decoder (CC-LINK) skips the array path
        self._direct = getattr(sink, "l2_from_decoder", None)
        self._resub_id = 1 << 20
        self._next_sid = 0
        self.feed: BookFeedDriver | None = None
        if isinstance(venue, BookFeedVenue):
            from seqkern.edge.book_feed import BookFeedDriver
            self.feed = BookFeedDriver(self, venue, backoff=backoff, discovery_poll_s=discovery_poll_s)
            self._slots = self.feed.legs_by_symbol   # type: ignore[assignment]  # what the CC-LINK sink reads
        elif not isinstance(venue, DepthStreamVenue):
            raise TypeError(f"{type(venue).__name__} is neither a DepthStreamVenue nor a BookFeedVenue")

    # ---- setup -----------------------------------------------------------------------------

    def next_symbol_id(self) -> int:
        sid = self._next_sid
        self._next_sid += 1
        return sid

    def bind_symbol_id(self, sid: int, *venue_symbols: str) -> None:
        """Names the venue's private messages may give this symbol (fills, order updates)."""
        for vs in venue_symbols:
            self._symbol_ids[vs] = sid

    def add_symbol(self, symbol: str, spec: Any) -> EdgeSymbol:
        """Bind a depth-stream symbol; ``spec`` is its PairSpec (or any object with ``tick_1e9``)."""
        if self.feed is not None:
            raise TypeError("book-feed venues bind markets, not single symbols: pass them to the runner")
        vs = self.venue.venue_symbol(symbol)
        tick = int(getattr(spec, "tick_1e9", 0) or 0)
        if tick <= 0:
            raise UnknownSymbol(f"no tick size known for {symbol} on {self.venue.name}")
        sid = self.next_symbol_id()
        sym = EdgeSymbol(sid, symbol, vs, self.venue.venue_id, self.venue.instrument_type, spec)
        book = L2Book(tick, depth_ticks=self._depth_ticks)
        # the sync machine scans with its shard's decoder once the symbol joins a connection
        slot = _SymbolSlot(sym, book, symbol_id=sid, sync=BookSync(self.venue, vs, book, DepthDecoder(self.venue.depth_format, 1)),
                           contract_1e8=self.venue.contract_size_1e8(vs))
        self._slots[vs] = slot
        self._symbol_ids[vs] = sid
        self._live_events[vs] = asyncio.Event()
        return sym

    def book(self, symbol: str) -> L2Book:
        if self.feed is not None:
            return self.feed.leg(symbol).book
        return self._slots[self.venue.venue_symbol(symbol)].book

    def sync(self, symbol: str) -> BookSync:
        return self._slots[self.venue.venue_symbol(symbol)].sync

    def symbol_id(self, symbol: str) -> int:
        if self.feed is not None:
            return self.feed.leg(symbol).sym.symbol_id
        return self._slots[self.venue.venue_symbol(symbol)].symbol_id

    async def wait_live(self, symbol: str, timeout_s: float = 10.0) -> None:
        if self.feed is not None:
            await asyncio.wait_for(self.feed.leg(symbol).live.wait(), timeout_s)
            return
        vs = self.venue.venue_symbol(symbol)
        await asyncio.wait_for(self._live_events[vs].wait(), timeout_s)

    def _rest_for(self, host: str) -> RestClient:
        if host != "metadata" or not self.venue.endpoints.metadata:
            return self.rest
        if self._metadata_rest is None:
            self._metadata_rest = RestClient(self.venue.endpoints.metadata, RateLimiter(self.venue.rate_limits))
        return self._metadata_rest

    async def load_instruments(self, symbols: Sequence[str] = ()) -> dict[str, InstrumentInfo]:
        """The venue's instrument rules (tick, lot, minimums) from its REST metadata: by venue
        symbol, or for a book feed by market (the unit that owns a YES and a NO leg)."""
        reqs = self.venue.instrument_requests(list(symbols or self._canonical))
        bodies = [await self._rest_for(r.host).request(r) for r in reqs]
        return self.venue.read_instruments(bodies)

    def pair_spec(self, symbol: str, info: InstrumentInfo) -> PairSpec:
        """PairSpec from the venue's live rules; fees from the catalog listing, else the venue's base tier."""
        itype = self.venue.instrument_type.value
        default = DEFAULT_SPECS.get((symbol, self.venue.venue_id, itype))
        maker, taker = (default.maker_fee_bps, default.taker_fee_bps) if default else self.venue.fees_bps
        return PairSpec(symbol, self.venue.venue_id, itype, info.venue_symbol, info.tick_1e9, info.lot_1e8,
                        info.min_qty_1e8, info.min_notional_1e9, maker, taker)

    def pair_spec_announced(self, nm: NewMarket) -> PairSpec:
        """PairSpec of a market the venue announced (Kalshi lifecycle, Polymarket new_market)."""
        return self.pair_spec(nm.market, InstrumentInfo(nm.market, nm.market, "", nm.tick_1e9, 1_000_000,
                                                        nm.min_qty_1e8, 0))

    def _spec_key(self, symbol: str) -> str:
        """What instrument rules are keyed by: the venue symbol, or a book feed's market."""
        return self.venue.market_of(symbol) if self.feed is not None else self.venue.venue_symbol(symbol)

    def _bound(self, symbol: str) -> bool:
        if self.feed is not None:
            return symbol in self.feed.legs_by_symbol
        return self.venue.venue_symbol(symbol) in self._slots

    def _spec_symbol(self, symbol: str) -> str:
        """The PairSpec's symbol: itself, or for a binary market the market (both legs share it)."""
        return symbol.split(":", 1)[0] if self.venue.instrument_type is InstrumentType.BINARY else symbol

    async def start(self, specs: dict[str, Any] | None = None) -> None:
        """Connect and sync every symbol. ``specs`` maps canonical symbol -> PairSpec; symbols
        without one get their rules from the venue's instrument metadata. A failed start leaves
        nothing running."""
        try:
            await self._start(specs)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, specs: dict[str, Any] | None) -> None:
        specs = dict(specs or {})
        for s in list(specs):   # a book feed's spec may be given for its market ("T" for "T:NO")
            specs.setdefault(self._spec_symbol(s), specs[s])
        unbound = [s for s in self._canonical if not self._bound(s)]
        # a venue sizing in contracts gives its contract sizes with its rules: always load them
        missing = unbound if self.venue.sizes_in_contracts else \
            [s for s in unbound if self._spec_symbol(s) not in specs]
        if missing:
            info = await self.load_instruments(missing)
            for s in missing:
                key = self._spec_key(s)
                if key not in info:
                    raise UnknownSymbol(f"{s} ({key}) is not listed on {self.venue.name}")
                specs[self._spec_symbol(s)] = self.pair_spec(self._spec_symbol(s), info[key])
        for s in unbound:
            if self.feed is not None:
                self.feed.add_market(self.venue.legs(s), specs[self._spec_symbol(s)])
            elif not self._bound(s):      # a symbol listed twice binds once
                self.add_symbol(s, specs[s])
        if self.transport is not None:
            # the private stream first: an edge that cannot see its fills must not start
            await self.transport.connect()
            await self.transport.subscribe_user_stream(self._on_user_event)
        if self.feed is not None:
            self.feed.start()
        else:
            self._start_market()

    def _start_market(self) -> None:
        for slot in self._slots.values():
            self.sink.pair_spec(slot.sym)
        streams: list[str] = []
        owner: dict[str, _SymbolSlot] = {}
        for slot in self._slots.values():
            ss = self.venue.market_streams(slot.sym.venue_symbol)
            streams.extend(ss)
            owner[ss[0]] = slot   # the depth stream
        for i, group in enumerate(self.venue.shard_streams(streams)):
            shard = _Shard(i, group, DepthDecoder(self.venue.depth_format, self._max_levels))
            for s in group:
                slot = owner.get(s)
                if slot is not None:
                    shard.add_slot(slot)
            self._shards.append(shard)
        for shard in self._shards:
            shard.task = asyncio.get_running_loop().create_task(self._run_shard(shard))

    async def stop(self) -> None:
        self._stopping = True
        if self.feed is not None:
            await self.feed.stop()
        for shard in self._shards:
            if shard.task:
                shard.task.cancel()
        for shard in self._shards:
            if shard.task:
                with contextlib.suppress(asyncio.CancelledError):
                    await shard.task
            if shard.conn:
                await shard.conn.close()
        for slot in self._slots.values() if self.feed is None else ():
            if slot.snapshot_task:
                slot.snapshot_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await slot.snapshot_task
        if self.transport is not None:
            await self.transport.close()
        await self.rest.close()
        if self._metadata_rest is not None:
            await self._metadata_rest.close()

    # ---- market-data connections -----------------------------------------------------------

    async def _run_shard(self, shard: _Shard) -> None:
        """Connect, subscribe (paced), read until closed; reconnect with capped backoff and jitter."""
        req_id = 1
        ping = self.venue.ping
        idle = min(30.0, ping.pong_timeout_s / 2)
        while not self._stopping:
            conn = WsConnection(self.venue.market_ws_url(shard.streams),
                                lambda m, ts, sh=shard: self._on_market(sh, m, ts),
                                idle_ping_s=idle, pong_timeout_s=min(10.0, idle))
            shard.conn = conn
            shard.reconnect_now = False
            for slot in shard.slots.values():
                self._restart(slot, "connecting")
            pinger: asyncio.Task | None = None
            try:
                await conn.connect()
                shard.decoder.reset_stream()          # connection sequence numbers start again
                if self.venue.subscribe_delay_s:
                    await asyncio.sleep(self.venue.subscribe_delay_s)
                if ping.client_ping_s and ping.client_ping_text:
                    pinger = asyncio.get_running_loop().create_task(self.keep_alive(conn))
                frames = self.venue.subscribe_frames(shard.streams, req_id)
                req_id += len(frames)
                pace = 1.0 / self.venue.limits.messages_per_second
                for k, frame in enumerate(frames):
                    if k:
                        await asyncio.sleep(pace)
                    conn.send_text(frame)
                healthy_since = time.monotonic()
                await conn.wait_closed()
                if time.monotonic() - healthy_since > 5.0:
                    self._backoff.reset()
            except WsConnectError as exc:
                log.warning("%s shard %d: %s", self.venue.name, shard.index, exc)
            finally:
                if pinger is not None:
                    pinger.cancel()
            if self._stopping:
                return
            self.counters.reconnects += 1
            for slot in shard.slots.values():
                self._restart(slot, "disconnected")
            await asyncio.sleep(0 if shard.reconnect_now else self._backoff.next_delay())

    async def keep_alive(self, conn: WsConnection) -> None:
        """Application-level keepalive (Bitget's text ``ping``, Polymarket's ``PING``, Hyperliquid's
        ``{"method":"ping"}``) every ``ping.client_ping_s`` while the connection is up."""
        ping = self.venue.ping
        while conn.connected:
            await asyncio.sleep(ping.client_ping_s or 30.0)
            with contextlib.suppress(WsConnectError):
                conn.send_text(ping.client_ping_text or b"ping")

    def _restart(self, slot: _SymbolSlot, reason: str) -> None:
        if slot.snapshot_task is not None:
            slot.snapshot_task.cancel()
            slot.snapshot_task = None
        was_live = slot.sync.state is SyncState.LIVE
        slot.sync.restart(reason)
        self._live_events[slot.sym.venue_symbol].clear()
        slot.last_bbo = (0, 0, 0, 0)
        slot.last_bbo_id = -1
        if was_live:
            self.counters.resyncs += 1
            self.sink.resync(slot.sym.symbol_id, reason)

    def _on_market(self, shard: _Shard, payload: memoryview, ts_recv: int) -> None:
        """Hot path: one websocket message. Depth goes bytes -> book in C; the rest via orjson."""
        dec = shard.decoder
        rc = dec.scan(payload)
        if rc == DEPTH:
            idx = dec.symbol_index
            if idx < 0:
                self.counters.unknown_symbol += 1
                return
            slot = shard.slot_list[idx]
            sync = slot.sync
            if sync.state is _LIVE and not (sync.in_stream and dec.is_snapshot):
                # the live path inline: rule + book in C, frames written by the decoder when it can
                rc = dec.apply_checked(slot.book, sync.rule, sync.raw)
                if rc == APPLIED:
                    sid = slot.symbol_id
                    if dec.final_id < dec.prev_final_id:   # OKX seqId reset after maintenance: ids restart lower
                        slot.last_bbo_id = dec.final_id
                    with_bbo = dec.bbo_changed and dec.final_id >= slot.last_bbo_id
                    if self._direct is not None and self._direct(sid, dec, ts_recv, with_bbo):
                        if with_bbo:
                            slot.last_bbo_id = dec.final_id
                        return
                    self.sink.l2_delta(sid, dec.final_id, dec.delta_bids, dec.n_bids, dec.delta_asks,
                                       dec.n_asks, dec.event_time_ns, ts_recv)
                    if with_bbo:
                        slot.last_bbo_id = dec.final_id
                        slot.last_bbo = (dec.bid_px, dec.bid_qty, dec.ask_px, dec.ask_qty)
                        self.sink.bbo(sid, dec.bid_px, dec.bid_qty, dec.ask_px, dec.ask_qty,
                                      dec.event_time_ns, ts_recv)
                    return
                step = sync.on_live_result(rc)
            else:
                step = sync.on_depth(payload)
            if step is Step.IGNORED:
                return
            elif step is Step.BUFFERED:
                if slot.snapshot_task is None:
                    slot.snapshot_task = asyncio.get_running_loop().create_task(self._snapshot(slot))
            elif step is Step.SNAPSHOT:
                self._publish_stream_snapshot(slot, ts_recv)
            elif step is Step.RESYNC:
                self.counters.resyncs += 1
                self._live_events[slot.sym.venue_symbol].clear()
                self.sink.resync(slot.sym.symbol_id, slot.sync.last_reason)
                if self.venue.resync is ResyncMethod.RESUBSCRIBE:
                    self._resubscribe(shard, slot)
            return
        pong = self.venue.ping.pong_text
        if pong is not None and payload == pong:
            return
        if rc == OTHER:
            self.counters.other += 1
            try:
                ev = self.venue.parse_market_message(orjson.loads(payload), ts_recv)
            except (orjson.JSONDecodeError, VenueMessageError) as exc:
                self._unparsable(shard, f"{exc}")
                return
            if isinstance(ev, list):          # venues batching several trades in one message (cex4)
                for e in ev:
                    self._on_market_event(shard, e)
            elif ev is not None:
                self._on_market_event(shard, ev)
            return
        self._unparsable(shard, "malformed JSON" if rc == BAD_JSON else
                         "stream sequence gap" if rc == STREAM_GAP else f"bad depth message (code {rc})")

    def _unparsable(self, shard: _Shard, why: str) -> None:
        """A message we could not read may have been a depth event: every book on the shard resyncs."""
        self.counters.unparsable += 1
        log.warning("%s shard %d: unparsable message (%s); resyncing its books", self.venue.name, shard.index, why)
        for slot in shard.slots.values():
            if slot.sync.state is SyncState.LIVE:
                self.counters.resyncs += 1
                self.sink.resync(slot.sym.symbol_id, f"unparsable message: {why}")
            slot.sync.invalidate(f"unparsable message: {why}")
            self._live_events[slot.sym.venue_symbol].clear()
            if slot.snapshot_task is not None:
                slot.snapshot_task.cancel()
                slot.snapshot_task = None
            if self.venue.resync is ResyncMethod.RESUBSCRIBE:
                self._resubscribe(shard, slot)

    def _publish_stream_snapshot(self, slot: _SymbolSlot, ts_recv: int) -> None:
        """An in-stream snapshot (OKX, Bybit) made the book whole again: publish it and go live."""
        self.counters.snapshots_published += 1
        slot.last_bbo = (0, 0, 0, 0)
        slot.last_bbo_id = -1
        self.sink.l2_snapshot(slot.sym.symbol_id, slot.book, slot.book.ts_event_ns, ts_recv)
        self._publish_book_bbo(slot, slot.book.last_update_id, slot.book.ts_event_ns, ts_recv)
        self._live_events[slot.sym.venue_symbol].set()

    def _resubscribe(self, shard: _Shard, slot: _SymbolSlot) -> None:
        """RESUBSCRIBE venues: unsubscribe + subscribe the depth stream; the venue answers with a
        fresh snapshot (a lost connection instead resubscribes everything on reconnect)."""
        conn = shard.conn
        if conn is None or not conn.connected:
            return
        depth_stream = self.venue.market_streams(slot.sym.venue_symbol)[0]
        self._resub_id += 1
        try:
            for frame in self.venue.resubscribe_frames([depth_stream], self._resub_id):
                conn.send_text(frame)
        except WsConnectError as exc:
            log.warning("%s shard %d: resubscribe failed: %s", self.venue.name, shard.index, exc)
        # RESUBSCRIBE venues have no REST snapshot task: the slot's task slot holds this watchdog
        if slot.snapshot_task is not None:
            slot.snapshot_task.cancel()
        slot.snapshot_task = asyncio.get_running_loop().create_task(self._resubscribe_watchdog(shard, slot))

    async def _resubscribe_watchdog(self, shard: _Shard, slot: _SymbolSlot) -> None:
        """No snapshot after a resubscribe (refused or lost): reconnect the shard, which subscribes
        everything again."""
        try:
            await asyncio.sleep(self.resubscribe_timeout_s)
            if slot.sync.state is not SyncState.LIVE and shard.conn is not None and not self._stopping:
                log.warning("%s %s: no snapshot %.1fs after resubscribing; reconnecting shard %d", self.venue.name,
                            slot.sym.venue_symbol, self.resubscribe_timeout_s, shard.index)
                shard.reconnect_now = True
                await shard.conn.close()
        finally:
            if slot.snapshot_task is asyncio.current_task():
                slot.snapshot_task = None

    def _on_market_event(self, shard: _Shard, ev: TradeEvent | BboEvent | ControlEvent) -> None:
        if isinstance(ev, TradeEvent):
            slot = self._slots.get(ev.venue_symbol)
            if slot is not None:
                self.sink.trade(slot.sym.symbol_id, ev)
        elif isinstance(ev, BboEvent):
            slot = self._slots.get(ev.venue_symbol)
            # the ticker is published only over a valid book and never older than the book's BBO
            if slot is not None and slot.book.valid and ev.update_id > slot.last_bbo_id:
                bbo = (ev.bid_px_1e9, ev.bid_qty_1e8, ev.ask_px_1e9, ev.ask_qty_1e8)
                slot.last_bbo_id = ev.update_id
                if bbo != slot.last_bbo:
                    slot.last_bbo = bbo
                    self.sink.bbo(slot.sym.symbol_id, *bbo, ev.ts_event_ns, ev.ts_recv_ns)
        elif ev.action == "reconnect":
            log.info("%s shard %d: venue asks for a reconnect (%s)", self.venue.name, shard.index, ev.detail)
            shard.reconnect_now = True
            if shard.conn is not None:
                asyncio.get_running_loop().create_task(shard.conn.close())
        elif ev.action == "error":
            log.warning("%s shard %d: venue error %s", self.venue.name, shard.index, ev.detail)
        elif ev.action == "reply" and ev.reply and shard.conn is not None and shard.conn.connected:
            shard.conn.send_text(ev.reply)

    def _publish_book_bbo(self, slot: _SymbolSlot, update_id: int, ts_event: int, ts_recv: int) -> None:
        b = slot.book
        bb, ba = b.best_bid(), b.best_ask()
        bbo = (bb[0] if bb else 0, bb[1] if bb else 0, ba[0] if ba else 0, ba[1] if ba else 0)
        if update_id >= slot.last_bbo_id and bbo != slot.last_bbo:
            slot.last_bbo = bbo
            slot.last_bbo_id = update_id
            self.sink.bbo(slot.sym.symbol_id, *bbo, ts_event, ts_recv)

    async def _snapshot(self, slot: _SymbolSlot) -> None:
        """REST snapshot + replay; retried with backoff (charged its real weight each time)."""
        backoff = Backoff(self._snapshot_retry.base_s, self._snapshot_retry.cap_s)
        req = self.venue.snapshot_request(slot.sym.venue_symbol)
        try:
            while not self._stopping:
                try:
                    body = await self.rest.request(req)
                    snap = self.venue.parse_snapshot(body)
                except (VenueUnavailable, VenueRejected, VenueMessageError) as exc:
                    self.counters.snapshot_failures += 1
                    log.warning("%s %s snapshot failed: %s", self.venue.name, slot.sym.venue_symbol, exc)
                    await asyncio.sleep(backoff.next_delay())
                    continue
                if slot.sync.on_snapshot(snap):
                    ts = time.time_ns()
                    self.counters.snapshots_published += 1
                    self.sink.l2_snapshot(slot.sym.symbol_id, slot.book, slot.book.ts_event_ns, ts)
                    self._publish_book_bbo(slot, slot.book.last_update_id, slot.book.ts_event_ns, ts)
                    self._live_events[slot.sym.venue_symbol].set()
                    return
                self.counters.snapshot_failures += 1
                await asyncio.sleep(backoff.next_delay())
        finally:
            if slot.snapshot_task is asyncio.current_task():
                slot.snapshot_task = None

    # ---- venue-initiated markets (book feeds) ----------------------------------------------

    def drain_pending_new_symbols(self) -> list[NewMarket]:
        """Markets the venue announced since the last call, each once (none on depth streams)."""
        return self.feed.drain_pending_new_symbols() if self.feed is not None else []

    @property
    def market_status(self) -> dict[str, Any]:
        return self.feed.market_status if self.feed is not None else {}

    # ---- private stream and orders ---------------------------------------------------------

    def _on_user_event(self, ev: UserEvent) -> None:
        self.counters.user_events += 1
        if isinstance(ev, BalanceEvent):
            self.sink.balance(ev)
            return
        sid = self._symbol_ids.get(ev.venue_symbol, -1)
        if isinstance(ev, FillEvent):
            self.sink.fill(sid, ev)
        elif isinstance(ev, OrderUpdate):
            self.sink.order_update(sid, ev)

    def _need_transport(self) -> OrderTransport:
        if self.transport is None:
            raise SeqkernError("this edge runs without credentials: order entry is disabled", code="NO_CREDENTIALS")
        return self.transport

    async def place(self, req: OrderRequest) -> OrderResult:
        return await self._need_transport().place(req)

    async def cancel(self, venue_symbol: str, **ident: Any) -> OrderResult:
        return await self._need_transport().cancel(venue_symbol, **ident)

    async def amend(self, venue_symbol: str, **kw: Any) -> AmendResult:
        return await self._need_transport().amend(venue_symbol, **kw)

    async def decrease(self, venue_symbol: str, **kw: Any) -> AmendResult:
        return await self._need_transport().decrease(venue_symbol, **kw)

    async def batch(self, reqs: Sequence[OrderRequest]) -> BatchResult:
        return await self._need_transport().batch(reqs)

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"venue": self.venue.name, "counters": self.counters.__dict__.copy()}
        if self.feed is not None:
            out["markets"] = self.feed.status()
            return out
        out["symbols"] = {vs: {"state": s.sync.state.value, "update_id": s.book.last_update_id,
                               "gaps": s.sync.counters.gaps, "resyncs": s.sync.counters.resyncs}
                          for vs, s in self._slots.items()}
        return out
