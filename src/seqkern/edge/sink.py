"""EdgeSink: the outbound side of an edge (what it publishes to its CC), and two local sinks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import numpy as np
import orjson

from seqkern._book import L2Book
from seqkern.venues.base import BalanceEvent, FillEvent, InstrumentType, OrderUpdate, TradeEvent


@dataclass(frozen=True)
class EdgeSymbol:
    """A symbol as this edge publishes it: the edge-local id bound by PAIR_SPEC."""

    symbol_id: int
    symbol: str              # canonical BASE-QUOTE
    venue_symbol: str
    venue_id: int
    instrument_type: InstrumentType
    spec: Any = None         # the catalog PairSpec when known


class EdgeSink(Protocol):
    """Everything an edge sends to its CC. CC-LINK implements it with one frame per call."""

    def pair_spec(self, sym: EdgeSymbol) -> None: ...

    def bbo(self, symbol_id: int, bid_px: int, bid_qty: int, ask_px: int, ask_qty: int,
            ts_event_ns: int, ts_recv_ns: int) -> None: ...

    def l2_snapshot(self, symbol_id: int, book: L2Book, ts_event_ns: int, ts_recv_ns: int) -> None: ...

    def l2_delta(self, symbol_id: int, update_id: int, bids: np.ndarray, n_bids: int, asks: np.ndarray,
                 n_asks: int, ts_event_ns: int, ts_recv_ns: int) -> None:
        """Levels changed by one venue message: ``bids[:n_bids]`` / ``asks[:n_asks]`` are int64
        (px_1e9, qty_1e8) rows, qty 0 = removed. The arrays are reused: copy what you keep."""

    def trade(self, symbol_id: int, trade: TradeEvent) -> None: ...

    def fill(self, symbol_id: int, fill: FillEvent) -> None: ...

    def order_update(self, symbol_id: int, update: OrderUpdate) -> None: ...

    def balance(self, balance: BalanceEvent) -> None: ...

    def resync(self, symbol_id: int, reason: str) -> None: ...


@dataclass
class MemorySink:
    """Keeps what it is sent in lists (tools, debugging and tests); deltas are copied."""

    specs: list[EdgeSymbol] = field(default_factory=list)
    bbos: list[tuple[int, int, int, int, int, int, int]] = field(default_factory=list)
    snapshots: list[tuple[int, int]] = field(default_factory=list)       # (symbol_id, update_id)
    deltas: list[tuple[int, int, int]] = field(default_factory=list)     # (symbol_id, update_id, n levels)
    trades: list[tuple[int, TradeEvent]] = field(default_factory=list)
    fills: list[tuple[int, FillEvent]] = field(default_factory=list)
    order_updates: list[tuple[int, OrderUpdate]] = field(default_factory=list)
    balances: list[BalanceEvent] = field(default_factory=list)
    resyncs: list[tuple[int, str]] = field(default_factory=list)
    on_event: Callable[[str], None] | None = None

    def _notify(self, kind: str) -> None:
        if self.on_event is not None:
            self.on_event(kind)

    def pair_spec(self, sym: EdgeSymbol) -> None:
        self.specs.append(sym)

    def bbo(self, symbol_id: int, bid_px: int, bid_qty: int, ask_px: int, ask_qty: int,
            ts_event_ns: int, ts_recv_ns: int) -> None:
        self.bbos.append((symbol_id, bid_px, bid_qty, ask_px, ask_qty, ts_event_ns, ts_recv_ns))

    def l2_snapshot(self, symbol_id: int, book: L2Book, ts_event_ns: int, ts_recv_ns: int) -> None:
        self.snapshots.append((symbol_id, book.last_update_id))
        self._notify("l2_snapshot")

    def l2_delta(self, symbol_id: int, update_id: int, bids: np.ndarray, n_bids: int, asks: np.ndarray,
                 n_asks: int, ts_event_ns: int, ts_recv_ns: int) -> None:
        self.deltas.append((symbol_id, update_id, n_bids + n_asks))

    def trade(self, symbol_id: int, trade: TradeEvent) -> None:
        self.trades.append((symbol_id, trade))

    def fill(self, symbol_id: int, fill: FillEvent) -> None:
        self.fills.append((symbol_id, fill))
        self._notify("fill")

    def order_update(self, symbol_id: int, update: OrderUpdate) -> None:
        self.order_updates.append((symbol_id, update))
        self._notify("order_update")

    def balance(self, balance: BalanceEvent) -> None:
        self.balances.append(balance)

    def resync(self, symbol_id: int, reason: str) -> None:
        self.resyncs.append((symbol_id, reason))
        self._notify("resync")


class JsonLinesSink:
    """Writes each published record as one JSON line (running an edge without a CC)."""

    def __init__(self, out: IO[str] | None = None, *, depth: int = 5) -> None:
        self.out = out or sys.stdout
        self.depth = depth

    def _w(self, obj: dict[str, Any]) -> None:
        self.out.write(orjson.dumps(obj, default=str).decode() + "\n")

    def pair_spec(self, sym: EdgeSymbol) -> None:
        self._w({"kind": "PAIR_SPEC", "id": sym.symbol_id, "symbol": sym.symbol, "venue_symbol": sym.venue_symbol,
                 "venue_id": sym.venue_id, "instrument_type": sym.instrument_type.value,
                 "tick_1e9": getattr(sym.spec, "tick_1e9", 0), "lot_1e8": getattr(sym.spec, "lot_1e8", 0)})

    def bbo(self, symbol_id: int, bid_px: int, bid_qty: int, ask_px: int, ask_qty: int,
            ts_event_ns: int, ts_recv_ns: int) -> None:
        self._w({"kind": "BBO", "id": symbol_id, "bid_px": bid_px, "bid_qty": bid_qty, "ask_px": ask_px,
                 "ask_qty": ask_qty, "ts_event": ts_event_ns, "ts_recv": ts_recv_ns})

    def l2_snapshot(self, symbol_id: int, book: L2Book, ts_event_ns: int, ts_recv_ns: int) -> None:
        bp, bq, ap, aq = book.top(self.depth)
        self._w({"kind": "L2_SNAPSHOT", "id": symbol_id, "update_id": book.last_update_id,
                 "bids": list(zip(bp.tolist(), bq.tolist(), strict=True)),
                 "asks": list(zip(ap.tolist(), aq.tolist(), strict=True))})

    def l2_delta(self, symbol_id: int, update_id: int, bids: np.ndarray, n_bids: int, asks: np.ndarray,
                 n_asks: int, ts_event_ns: int, ts_recv_ns: int) -> None:
        self._w({"kind": "L2_DELTA", "id": symbol_id, "update_id": update_id,
                 "bids": bids[:n_bids].tolist(), "asks": asks[:n_asks].tolist()})

    def trade(self, symbol_id: int, trade: TradeEvent) -> None:
        self._w({"kind": "TRADE", "id": symbol_id, **trade.__dict__})

    def fill(self, symbol_id: int, fill: FillEvent) -> None:
        self._w({"kind": "FILL", "id": symbol_id, **fill.__dict__})

    def order_update(self, symbol_id: int, update: OrderUpdate) -> None:
        self._w({"kind": "ORDER_UPDATE", "id": symbol_id, **update.__dict__})

    def balance(self, balance: BalanceEvent) -> None:
        self._w({"kind": "BALANCE", **balance.__dict__})

    def resync(self, symbol_id: int, reason: str) -> None:
        self._w({"kind": "RESYNC", "id": symbol_id, "reason": reason})
