"""The edge runner's book-feed driver (Hyperliquid, Kalshi, Polymarket): websocket books, discovery.

``EdgeRunner`` runs every venue; for a ``BookFeedVenue`` its market data comes from this driver: one
websocket whose messages carry snapshots and deltas (applied in C by ``_predwire``), resync by
asking the venue for a fresh snapshot, and venue-initiated markets bound while running. Symbols,
the sink, order entry and the private stream stay the runner's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from seqkern._book import L2Book
from seqkern._predwire import (
    APPLIED,
    ARRAY,
    BAD_JSON,
    DELTA,
    FORMAT_KALSHI,
    FORMAT_POLYMARKET,
    NOT_BOOK,
    OTHER,
    SNAPSHOT,
    PredBookDecoder,
)
from seqkern.edge.backoff import Backoff
from seqkern.edge.sink import EdgeSymbol
from seqkern.edge.ws import WsConnectError
from seqkern.errors import SeqkernError, UnknownSymbol
from seqkern.venues.base import BboEvent, ControlEvent, TradeEvent, VenueMessageError
from seqkern.venues.book_feed import BookFeedVenue, BookLeg, MarketStatus, NewMarket
from seqkern.venues.pred_ws import HeaderWs

if TYPE_CHECKING:
    from seqkern.edge.runner import EdgeRunner

log = logging.getLogger("seqkern.edge.book_feed")


@dataclass
class _Leg:
    leg: BookLeg
    sym: EdgeSymbol
    book: L2Book
    live: asyncio.Event
    last_bbo: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass
class _Market:
    """One subscription unit: Kalshi's ticker (two derived legs), a Polymarket market, an HL coin."""

    name: str
    legs: list[_Leg] = field(default_factory=list)
    valid: bool = False
    spec: Any = None


class BookFeedDriver:
    """Market data of one book-feed venue for its ``EdgeRunner``, until ``stop()``."""

    def __init__(self, runner: EdgeRunner, venue: BookFeedVenue, *, discovery_poll_s: float = 0.02,
                 backoff: Backoff | None = None, max_levels: int = 4096) -> None:
        self.runner = runner
        self.venue = venue
        self.sink = runner.sink
        self.counters = runner.counters
        self.decoder = PredBookDecoder(venue.book_format, max_levels)
        self._markets: dict[str, _Market] = {}
        self._by_key: dict[bytes, _Market] = {}       # Kalshi ticker / HL coin -> market
        self._books: dict[bytes, L2Book] = {}         # Polymarket token id -> book (apply_changes)
        self._kbooks: dict[bytes, tuple[L2Book, L2Book, _Market]] = {}   # Kalshi ticker -> (YES, NO, market)
        self._leg_by_key: dict[bytes, _Leg] = {}      # Polymarket token id / HL coin -> leg
        self.legs_by_symbol: dict[str, _Leg] = {}
        self._sid_seq: dict[int, int] = {}
        self._pending_new: list[NewMarket] = []
        self._discovered: dict[str, float] = {}      # market -> monotonic time registered
        self.market_status: dict[str, MarketStatus] = {}
        self._conn: HeaderWs | None = None
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        self._req_id = 1
        self._backoff = backoff or Backoff(0.2, 10.0)
        self._discovery_poll_s = discovery_poll_s
        self.connected = asyncio.Event()

    # ---- setup -----------------------------------------------------------------------------

    def _next_id(self, n: int = 1) -> int:
        rid = self._req_id
        self._req_id += n
        return rid

    def add_market(self, legs: Sequence[BookLeg], spec: Any) -> _Market:
        name = legs[0].market
        m = self._markets.get(name)
        if m is not None:
            return m
        m = _Market(name, spec=spec)
        venue = self.venue
        for leg in sorted(legs, key=lambda lg: lg.no_leg):
            sid = self.runner.next_symbol_id()
            vs = leg.symbol if venue.book_format == FORMAT_KALSHI else leg.venue_key
            sym = EdgeSymbol(sid, leg.symbol, vs, venue.venue_id, venue.instrument_type, spec)
            book = L2Book(venue.book_tick(leg), depth_ticks=venue.depth_ticks)
            lg = _Leg(leg, sym, book, asyncio.Event())
            m.legs.append(lg)
            self.legs_by_symbol[leg.symbol] = lg
            self.runner.bind_symbol_id(sid, leg.symbol, leg.venue_key)
            key = leg.venue_key.encode()
            self._by_key[key] = m
            if venue.book_format != FORMAT_KALSHI:
                self._leg_by_key[key] = lg
                self._books[key] = book
        self._markets[name] = m
        if venue.book_format == FORMAT_KALSHI:
            self._kbooks[name.encode()] = (m.legs[0].book, m.legs[1].book, m)
        for lg in m.legs:
            self.sink.pair_spec(lg.sym)
        return m

    def leg(self, symbol: str) -> _Leg:
        lg = self.legs_by_symbol.get(symbol)
        if lg is None:
            raise UnknownSymbol(f"{symbol} is not subscribed on {self.venue.name}")
        return lg

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._run_conn()))
        self._tasks.append(loop.create_task(self._discovery_loop()))

    async def stop(self) -> None:
        self._stopping = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self._conn is not None:
            await self._conn.close()

    # ---- connection ------------------------------------------------------------------------

    def _all_legs(self, m: _Market) -> list[BookLeg]:
        return [lg.leg for lg in m.legs]

    async def _run_conn(self) -> None:
        while not self._stopping:
            conn = HeaderWs(self.venue.ws_url, self._on_message, self.venue.ws_headers,
                            idle_ping_s=20.0, pong_timeout_s=10.0, budget=self.venue.connection_budget)
            self._conn = conn
            self._sid_seq.clear()
            self.venue.on_connect()
            for m in self._markets.values():
                self._invalidate(m, "connecting", publish=False)
            pinger: asyncio.Task | None = None
            try:
                await conn.connect()
                self.connected.set()
                if self.venue.ping.client_ping_text:   # Polymarket "PING", Hyperliquid {"method":"ping"}
                    pinger = asyncio.get_running_loop().create_task(self.runner.keep_alive(conn))
                markets = list(self._markets)
                if markets:
                    legs = [lg for m in self._markets.values() for lg in self._all_legs(m)]
                    for f in self.venue.subscribe_frames(markets, self._next_id(), legs=legs):
                        conn.send_text(f)
                for f in self.venue.discovery_frames(self._next_id()):
                    conn.send_text(f)
                since = time.monotonic()
                await conn.wait_closed()
                if time.monotonic() - since > 5.0:
                    self._backoff.reset()
            except WsConnectError as exc:
                log.warning("%s: %s", self.venue.name, exc)
            finally:
                if pinger is not None:
                    pinger.cancel()
            self.connected.clear()
            if self._stopping:
                return
            self.counters.reconnects += 1
            await asyncio.sleep(self._backoff.next_delay())

    def _send(self, frames: list[bytes]) -> None:
        c = self._conn
        if c is None or not c.connected:
            return
        for f in frames:
            with contextlib.suppress(WsConnectError):
                c.send_text(f)

    # ---- book state ------------------------------------------------------------------------

    def _invalidate(self, m: _Market, reason: str, *, publish: bool = True) -> None:
        was = m.valid
        m.valid = False
        for lg in m.legs:
            lg.book.invalidate()
            lg.live.clear()
            lg.last_bbo = (0, 0, 0, 0)
            if was and publish:
                self.sink.resync(lg.sym.symbol_id, reason)
        if was and publish:
            self.counters.resyncs += 1

    def _request_snapshots(self, markets: list[_Market]) -> None:
        if not markets:
            return
        self.counters.snapshot_requests += 1
        names = [m.name for m in markets]
        legs = [lg for m in markets for lg in self._all_legs(m)]
        self._send(self.venue.snapshot_frames(names, self._next_id(4), legs=legs))

    def _resync_all(self, reason: str) -> None:
        for m in self._markets.values():
            self._invalidate(m, reason)
        # Kalshi: get_snapshot; Polymarket / Hyperliquid: resubscribe (the venue sends the book again;
        # on Hyperliquid the next per-block l2Book would revalidate too)
        self._request_snapshots(list(self._markets.values()))

    def _publish_bbo(self, lg: _Leg, ts_event: int, ts_recv: int) -> None:
        b = lg.book
        bb, ba = b.best_bid(), b.best_ask()
        bbo = (bb[0] if bb else 0, bb[1] if bb else 0, ba[0] if ba else 0, ba[1] if ba else 0)
        if bbo != lg.last_bbo:
            lg.last_bbo = bbo
            self.sink.bbo(lg.sym.symbol_id, *bbo, ts_event, ts_recv)

    def _publish_snapshot(self, m: _Market, ts_recv: int, legs: list[_Leg] | None = None) -> None:
        for lg in legs or m.legs:
            self.counters.snapshots_published += 1
            self.sink.l2_snapshot(lg.sym.symbol_id, lg.book, lg.book.ts_event_ns, ts_recv)
            self._publish_bbo(lg, lg.book.ts_event_ns, ts_recv)
            lg.live.set()

    # ---- hot path --------------------------------------------------------------------------

    def _on_message(self, payload: memoryview, ts_recv: int) -> None:
        self.counters.frames += 1
        dec = self.decoder
        fmt = self.venue.book_format
        # Kalshi: scan, market lookup and apply to both legs in one compiled call
        rc = dec.feed_kalshi(payload, self._kbooks) if fmt == FORMAT_KALSHI else dec.scan(payload)
        if rc in (SNAPSHOT, DELTA):
            self.counters.book_messages += 1
            if fmt == FORMAT_KALSHI:
                self._on_kalshi(dec, rc, ts_recv)
            elif fmt == FORMAT_POLYMARKET:
                self._on_poly(dec, rc, ts_recv)
            else:
                self._on_full_book(dec, ts_recv)
            return
        if rc == OTHER:
            self.counters.other += 1
            text = bytes(payload)
            if text in (b"PONG", b"PING"):
                return
            try:
                obj = orjson.loads(text)
                events = self.venue.parse_market_message(obj, ts_recv)
            except (orjson.JSONDecodeError, VenueMessageError) as exc:
                self._unparsable(f"{exc}")
                return
            for ev in events:
                self._on_event(ev)
            return
        if rc == ARRAY:
            for el in orjson.loads(bytes(payload)):
                self._on_message(memoryview(orjson.dumps(el)), ts_recv)
            return
        self._unparsable("malformed JSON" if rc == BAD_JSON else f"bad book message (code {rc})")

    def _unparsable(self, why: str) -> None:
        self.counters.unparsable += 1
        log.warning("%s: unparsable message (%s); resyncing books", self.venue.name, why)
        self._resync_all(f"unparsable message: {why}")

    def _on_kalshi(self, dec: PredBookDecoder, rc: int, ts_recv: int) -> None:
        """A Kalshi book message ``feed_kalshi`` has already applied (or skipped) to both legs."""
        sid, seq = dec.sid, dec.seq
        last = self._sid_seq.get(sid)
        self._sid_seq[sid] = seq
        if last is not None and seq != last + 1:
            # one counter per subscription: any hole may have been any market's delta
            self.counters.gaps += 1
            log.warning("%s: sequence gap on sid %d (%d -> %d); requesting snapshots", self.venue.name, sid, last, seq)
            for mk in self._markets.values():
                self._invalidate(mk, f"sequence gap {last} -> {seq}")
            self._request_snapshots(list(self._markets.values()))
        found = dec.market
        if found is None:
            self.counters.unknown_symbol += 1
            return
        m = found[2]
        applied = dec.applied
        if applied == NOT_BOOK:
            return          # a delta for a market awaiting its snapshot: the snapshot covers it
        if applied != APPLIED:
            self.counters.bad_levels += 1
            self._invalidate(m, "book level does not fit")
            self._request_snapshots([m])
            return
        yes, no = m.legs[0], m.legs[1]
        ts_ev = yes.book.ts_event_ns
        if rc == SNAPSHOT:
            yes.book.valid = no.book.valid = True    # a snapshot stands even when it arrived after a gap
            m.valid = True
            self._publish_snapshot(m, ts_recv)
            return
        if not m.valid:
            return
        self.counters.deltas_published += 2
        self.sink.l2_delta(yes.sym.symbol_id, seq, dec.delta_bids0, dec.n_bids0, dec.delta_asks0, dec.n_asks0,
                           ts_ev, ts_recv)
        self.sink.l2_delta(no.sym.symbol_id, seq, dec.delta_bids1, dec.n_bids1, dec.delta_asks1, dec.n_asks1,
                           ts_ev, ts_recv)
        self._publish_bbo(yes, ts_ev, ts_recv)
        self._publish_bbo(no, ts_ev, ts_recv)

    def _apply_whole_book(self, dec: PredBookDecoder, *, resubscribe: bool) -> tuple[_Market, _Leg] | None:
        """A message carrying one token's / coin's whole book: applied in C to its leg's book; a
        level that does not fit invalidates the market (and asks for the book again)."""
        key = dec.symbol_bytes()
        lg = self._leg_by_key.get(key)
        if lg is None:
            self.counters.unknown_symbol += 1
            return None
        m = self._by_key[key]
        if dec.apply_book(lg.book) != APPLIED:
            self.counters.bad_levels += 1
            self._invalidate(m, "book level does not fit")
            if resubscribe:
                self._request_snapshots([m])
            return None
        return m, lg

    def _on_poly(self, dec: PredBookDecoder, rc: int, ts_recv: int) -> None:
        if rc == SNAPSHOT:
            hit = self._apply_whole_book(dec, resubscribe=True)
            if hit is not None:
                m, lg = hit
                self._publish_snapshot(m, ts_recv, [lg])
                m.valid = all(x.live.is_set() for x in m.legs)
            return
        n_scanned = dec.n_levels
        if dec.apply_changes(self._books) != APPLIED:
            self.counters.bad_levels += 1
            for i in range(min(n_scanned, 2)):
                m = self._by_key.get(dec.change_key(i if i == 0 else n_scanned - 1))
                if m is not None:
                    self._invalidate(m, "book level does not fit")
                    self._request_snapshots([m])
            return
        if dec.n_applied == 0:
            return
        # a price_change names the tokens of one market (its two legs): one delta per token
        for slot in range(dec.n_slots):
            lg = self._leg_by_key.get(dec.slot_key(slot))
            if lg is None or not lg.live.is_set():
                continue
            ts_ev = lg.book.ts_event_ns
            if slot == 0:
                self.sink.l2_delta(lg.sym.symbol_id, lg.book.last_update_id, dec.delta_bids0, dec.n_bids0,
                                   dec.delta_asks0, dec.n_asks0, ts_ev, ts_recv)
            else:
                self.sink.l2_delta(lg.sym.symbol_id, lg.book.last_update_id, dec.delta_bids1, dec.n_bids1,
                                   dec.delta_asks1, dec.n_asks1, ts_ev, ts_recv)
            self.counters.deltas_published += 1
            self._publish_bbo(lg, ts_ev, ts_recv)
        if not dec.delta_complete:
            # more than two tokens in one message: publish the books whole rather than lose levels
            for i in range(n_scanned):
                lg = self._leg_by_key.get(dec.change_key(i))
                if lg is not None and lg.live.is_set():
                    self.sink.l2_snapshot(lg.sym.symbol_id, lg.book, lg.book.ts_event_ns, ts_recv)
                    self._publish_bbo(lg, lg.book.ts_event_ns, ts_recv)

    def _on_full_book(self, dec: PredBookDecoder, ts_recv: int) -> None:
        # Hyperliquid: the next block's l2Book makes an invalid book whole again
        hit = self._apply_whole_book(dec, resubscribe=False)
        if hit is not None:
            m, lg = hit
            m.valid = True
            self._publish_snapshot(m, ts_recv, [lg])

    def _on_event(self, ev: Any) -> None:
        if isinstance(ev, TradeEvent):
            lg = self.legs_by_symbol.get(ev.venue_symbol) or self._leg_by_key.get(ev.venue_symbol.encode())
            if lg is not None:
                self.sink.trade(lg.sym.symbol_id, ev)
        elif isinstance(ev, BboEvent):
            return      # the edge publishes the BBO of its own books; the venue's ticker is not needed
        elif isinstance(ev, NewMarket):
            if ev.market not in self._markets and all(p.market != ev.market for p in self._pending_new):
                self._pending_new.append(ev)
        elif isinstance(ev, MarketStatus):
            self.market_status[ev.market] = ev
            tick = ev.detail.get("tick_1e9")
            if tick:
                self._retick(ev.market, int(tick))
        elif isinstance(ev, ControlEvent):
            if ev.action == "reconnect" and self._conn is not None:
                asyncio.get_running_loop().create_task(self._conn.close())
            elif ev.action == "error":
                log.warning("%s: venue error %s", self.venue.name, ev.detail)

    def _retick(self, market: str, tick_1e9: int) -> None:
        """The venue changed a market's tick: re-send its PAIR_SPEC (same symbol ids) with the new
        tick. The books need nothing: their grid is the venue's finest tick."""
        m = self._markets.get(market)
        if m is None or m.spec is None or getattr(m.spec, "tick_1e9", None) in (None, tick_1e9):
            return
        try:
            m.spec = dataclasses.replace(m.spec, tick_1e9=tick_1e9)
        except (TypeError, ValueError, SeqkernError) as exc:
            log.warning("%s %s: tick change to %d refused: %s", self.venue.name, market, tick_1e9, exc)
            return
        for lg in m.legs:
            lg.sym = dataclasses.replace(lg.sym, spec=m.spec)
            self.sink.pair_spec(lg.sym)

    # ---- venue-initiated discovery ---------------------------------------------------------

    def drain_pending_new_symbols(self) -> list[NewMarket]:
        """Markets the venue announced since the last call (each once)."""
        out, self._pending_new = self._pending_new, []
        return out

    async def _discovery_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self._discovery_poll_s)
            for nm in self.drain_pending_new_symbols():
                try:
                    self.register_market(nm)
                except SeqkernError as exc:
                    log.warning("%s: cannot register announced market %s: %s", self.venue.name, nm.market, exc)

    def register_market(self, nm: NewMarket) -> _Market:
        """Bind an announced market: PairSpec to the sink (CC), then subscribe its books."""
        spec = self.runner.pair_spec_announced(nm)
        m = self.add_market(nm.legs, spec)
        self._discovered[nm.market] = time.monotonic()
        self.counters.new_markets += 1
        self._send(self.venue.subscribe_frames([nm.market], self._next_id(4), legs=list(nm.legs)))
        return m

    def status(self) -> dict[str, Any]:
        return {name: {"valid": m.valid, "legs": [lg.leg.symbol for lg in m.legs]} for name, m in self._markets.items()}
