"""The CC's market state: symbol slots bound from PairSpecs, one L2Book per (symbol, venue),
the BBO matrix, and the registry of connected edges."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from seqkern._book import BboMatrix, L2Book
from seqkern.cc.venueinfo import VENUE_NAMES, VENUE_SLOTS
from seqkern.errors import UnknownSymbol

SIDE_BID = 0
SIDE_ASK = 1
_E = np.empty(0, dtype=np.int64)


@dataclass(slots=True)
class SymbolSpec:
    """What the CC knows of a symbol on one venue (from a PAIR_SPEC)."""

    symbol: str
    venue: int
    base: str
    quote: str
    tick_1e9: int
    lot_1e8: int
    instrument_type: str = "spot"
    venue_symbol: str = ""
    edge_id: str = ""
    min_qty_1e8: int = 0
    min_notional_1e9: int = 0
    maker_fee_bps: float = 0.0
    taker_fee_bps: float = 0.0


@dataclass(slots=True)
class EdgeInfo:
    edge_id: str
    region: str
    venue: int
    instrument_type: str
    connected: bool = True
    remote: bool = False
    last_seen_ns: int = 0
    symbols: set[str] = field(default_factory=set)


class MarketState:
    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self.bbo = BboMatrix(capacity, VENUE_SLOTS)
        self.slots: dict[str, int] = {}
        self.names: list[str] = []
        self.specs: dict[tuple[str, int], SymbolSpec] = {}
        self.books: dict[tuple[int, int], L2Book] = {}
        self.venues_of: dict[str, set[int]] = {}
        self.edges: dict[str, EdgeInfo] = {}
        self.listeners: list[Callable[[str, int], None]] = []

    # --- symbols ---------------------------------------------------------------------------
    def bind(self, spec: SymbolSpec) -> int:
        """Bind a symbol on a venue (a PAIR_SPEC); returns the symbol's slot."""
        slot = self.slots.get(spec.symbol)
        if slot is None:
            slot = len(self.names)
            if slot >= self.capacity:
                self._grow()
            self.slots[spec.symbol] = slot
            self.names.append(spec.symbol)
        self.specs[(spec.symbol, spec.venue)] = spec
        self.venues_of.setdefault(spec.symbol, set()).add(spec.venue)
        key = (slot, spec.venue)
        old = self.books.get(key)
        if old is None or old.tick != spec.tick_1e9:
            self.books[key] = L2Book(spec.tick_1e9)
        return slot

    def _grow(self) -> None:
        new = BboMatrix(self.capacity * 2, VENUE_SLOTS)
        for name in ("bid_px", "bid_qty", "ask_px", "ask_qty", "ts_ns"):
            getattr(new, name)[: self.capacity] = getattr(self.bbo, name)
        self.bbo = new
        self.capacity *= 2

    def slot(self, symbol: str) -> int:
        s = self.slots.get(symbol)
        if s is None:
            raise UnknownSymbol(f"unknown symbol {symbol!r}: no connected venue lists it")
        return s

    def spec(self, symbol: str, venue: int) -> SymbolSpec:
        sp = self.specs.get((symbol, venue))
        if sp is None:
            raise UnknownSymbol(f"{symbol} is not listed on {VENUE_NAMES.get(venue, venue)}")
        return sp

    def book(self, symbol: str, venue: int) -> L2Book:
        return self.books[(self.slot(symbol), venue)]

    def venues_for(self, symbol: str) -> list[int]:
        return sorted(self.venues_of.get(symbol, ()))

    # --- books -----------------------------------------------------------------------------
    def apply_book(self, symbol: str, venue: int, bid_px: np.ndarray, bid_qty: np.ndarray,
                   ask_px: np.ndarray, ask_qty: np.ndarray, *, snapshot: bool,
                   ts_ns: int = 0, update_id: int = -1) -> None:
        slot = self.slot(symbol)
        book = self.books[(slot, venue)]
        ts = ts_ns or time.time_ns()
        if snapshot:
            book.apply_snapshot(bid_px, bid_qty, ask_px, ask_qty, update_id, ts)
        else:
            book.apply_update(bid_px, bid_qty, ask_px, ask_qty, update_id, ts)
        self.bbo.update_from_book(slot, venue, book, ts)
        for cb in self.listeners:
            cb(symbol, venue)

    def set_bbo(self, symbol: str, venue: int, bp: int, bq: int, ap: int, aq: int, ts_ns: int) -> None:
        """A BBO-only update (edges that publish BBO frames between depth frames)."""
        self.bbo.set(self.slot(symbol), venue, bp, bq, ap, aq, ts_ns)
        for cb in self.listeners:
            cb(symbol, venue)

    def invalidate(self, symbol: str, venue: int) -> None:
        slot = self.slot(symbol)
        book = self.books[(slot, venue)]
        book.invalidate()
        self.bbo.clear(slot, venue)
        for cb in self.listeners:
            cb(symbol, venue)

    # --- views (API shapes) ----------------------------------------------------------------
    def quote(self, symbol: str) -> dict:
        slot = self.slot(symbol)
        venues = {}
        for v in self.venues_for(symbol):
            vbp = int(self.bbo.bid_px[slot, v])
            vap = int(self.bbo.ask_px[slot, v])
            venues[VENUE_NAMES.get(v, str(v))] = {
                "bid": vbp / 1e9 if vbp else None, "ask": vap / 1e9 if vap else None,
                "bid_size": int(self.bbo.bid_qty[slot, v]) / 1e8,
                "ask_size": int(self.bbo.ask_qty[slot, v]) / 1e8,
                "bid_1e9": vbp, "ask_1e9": vap,
                "bid_size_1e8": int(self.bbo.bid_qty[slot, v]),
                "ask_size_1e8": int(self.bbo.ask_qty[slot, v]),
                "ts_ns": int(self.bbo.ts_ns[slot, v]),
            }
        return {"symbol": symbol, "nbbo": self.nbbo(symbol), "venues": venues}

    def nbbo(self, symbol: str) -> dict:
        slot = self.slot(symbol)
        bp, bq, bv, ap, aq, av = self.bbo.nbbo(slot)
        mid = (bp + ap) / 2e9 if bp and ap else None
        spread = ((ap - bp) * 10000 / ((bp + ap) / 2)) if bp and ap else None
        ts = int(self.bbo.ts_ns[slot].max())
        return {"bid": bp / 1e9 if bp else None, "ask": ap / 1e9 if ap else None, "mid": mid,
                "spread_bps": spread, "bid_1e9": bp, "ask_1e9": ap,
                "bid_size_1e8": bq, "ask_size_1e8": aq,
                "bid_venue": VENUE_NAMES.get(bv) if bv >= 0 else None,
                "ask_venue": VENUE_NAMES.get(av) if av >= 0 else None, "ts_ns": ts}

    def depth(self, symbol: str, levels: int = 10) -> dict:
        slot = self.slot(symbol)
        out = {}
        for v in self.venues_for(symbol):
            book = self.books[(slot, v)]
            bpx, bqty, apx, aqty = book.top(levels)
            out[VENUE_NAMES.get(v, str(v))] = {
                "valid": bool(book.valid),
                "bids": [[p / 1e9, q / 1e8] for p, q in zip(bpx.tolist(), bqty.tolist(), strict=True)],
                "asks": [[p / 1e9, q / 1e8] for p, q in zip(apx.tolist(), aqty.tolist(), strict=True)],
                "bids_1e9_1e8": [bpx.tolist(), bqty.tolist()],
                "asks_1e9_1e8": [apx.tolist(), aqty.tolist()],
                "ts_ns": int(book.ts_event_ns),
            }
        return {"symbol": symbol, "depth": levels, "venues": out}

    # --- edges -----------------------------------------------------------------------------
    def edge_seen(self, edge_id: str, *, region: str, venue: int, instrument_type: str,
                  remote: bool = False) -> EdgeInfo:
        e = self.edges.get(edge_id)
        if e is None:
            e = self.edges[edge_id] = EdgeInfo(edge_id, region, venue, instrument_type, remote=remote)
        e.connected = True
        e.last_seen_ns = time.time_ns()
        return e

    def edges_view(self, with_symbols: bool = False) -> list[dict]:
        now = time.time_ns()
        out = []
        for e in self.edges.values():
            n_bbo = 0
            for s in e.symbols:
                slot = self.slots.get(s)
                if slot is not None and self.bbo.bid_px[slot, e.venue] and self.bbo.ask_px[slot, e.venue]:
                    n_bbo += 1
            d = {"edge_id": e.edge_id, "region": e.region, "syms": len(e.symbols), "bbo": n_bbo,
                 "age_ms": (now - e.last_seen_ns) // 1_000_000 if e.last_seen_ns else None,
                 "venue": VENUE_NAMES.get(e.venue, str(e.venue)), "venue_id": e.venue,
                 "instrument_type": e.instrument_type, "connected": e.connected,
                 "last_seen_ms": e.last_seen_ns // 1_000_000}
            if e.remote:
                d["remote"] = True
            if with_symbols:
                d["symbols"] = sorted(e.symbols)
            out.append(d)
        return out
