"""Book-feed venues (Hyperliquid, Kalshi, Polymarket): the websocket carries the books themselves.

These venues send their own snapshots over the websocket (Kalshi ``orderbook_snapshot``, Polymarket
``book``, Hyperliquid's full ``l2Book`` every block), so the edge runner (``seqkern.edge.runner``,
its ``BookFeedDriver``) subscribes, applies snapshots and deltas with the compiled ``_predwire``
decoder and resyncs by asking the venue for a fresh snapshot. A ``BookFeedVenue`` is a ``CexVenue``
like every other venue (identity, endpoints, symbols, instrument rules, public messages, orders on
an ``OrderTransport``); only its market-data shape differs from a ``DepthStreamVenue``. Each venue
declares its facts here as data plus pure functions; sockets and timers stay in the runner.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from seqkern.errors import UnknownSymbol
from seqkern.venues.base import BboEvent, CexVenue, ControlEvent, TradeEvent
from seqkern.venues.symbols import parse_prediction


@dataclass(frozen=True)
class BookLeg:
    """One published book: a canonical symbol, the venue key its messages carry, and its side role.

    Kalshi publishes one stream per market and the edge derives two books from it (``mirror``
    False: the YES leg, True: the NO leg); Polymarket and Hyperliquid have one book per key.
    """

    symbol: str          # canonical: "KXBTCZ-26DEC31-T99000", "...:NO", "slug", "slug:no", "BTC"
    venue_key: str       # what book messages name: Kalshi ticker, Polymarket token id, HL coin
    market: str          # the market the leg belongs to (subscription unit)
    no_leg: bool = False


@dataclass(frozen=True)
class NewMarket:
    """A market the venue announced on its own (Kalshi lifecycle ``created``, Polymarket ``new_market``)."""

    market: str                      # Kalshi ticker / Polymarket slug
    legs: tuple[BookLeg, ...]        # YES first
    tick_1e9: int                    # finest price step of the market
    min_qty_1e8: int = 1_000_000     # 0.01 contracts / shares unless the venue says otherwise
    detail: dict[str, Any] = field(default_factory=dict, compare=False)
    ts_event_ns: int = 0


@dataclass(frozen=True)
class MarketStatus:
    """A lifecycle change of a known market (closed, determined, settled, tick change)."""

    market: str
    event: str
    detail: dict[str, Any] = field(default_factory=dict, compare=False)


MarketEvent = TradeEvent | BboEvent | ControlEvent | NewMarket | MarketStatus


class BookFeedVenue(CexVenue):
    """Market-data facts of a venue whose websocket carries the books (pure: no I/O)."""

    book_format: int           # seqkern._predwire FORMAT_*
    book_tick_1e9: int         # grid of the edge's L2Books (finest tick the venue can use)
    depth_ticks: int           # ring size of each book
    has_sequence: bool         # Kalshi: per-subscription seq; gaps trigger a snapshot request
    max_connections: int = 0          # per IP, when the venue caps it (Hyperliquid: 10)
    connection_budget: Any = None     # a pred_ws.ConnectionBudget shared by the venue's sockets
    discovers_markets = False

    @property
    def ws_url(self) -> str:
        return self.endpoints.market_ws

    @property
    def rest_url(self) -> str:
        return self.endpoints.rest

    @abstractmethod
    def legs(self, symbol: str) -> tuple[BookLeg, ...]:
        """The books a canonical symbol needs (Kalshi: the symbol's market gives YES and NO).
        Venues whose legs come from metadata (Polymarket) know them once ``read_instruments`` ran."""

    def market_of(self, symbol: str) -> str:
        """The market (subscription unit) a canonical symbol belongs to: what ``instrument_requests``
        and ``read_instruments`` key by."""
        return symbol.split(":", 1)[0]

    def markets_of(self, symbols: Sequence[str]) -> list[str]:
        """The distinct markets of ``symbols``, in order."""
        return list(dict.fromkeys(self.market_of(s) for s in symbols))

    def prediction_leg(self, symbol: str, expected: str) -> str:
        """A prediction symbol of this venue in its canonical leg form (Kalshi ``T`` / ``T:NO``,
        Polymarket ``slug`` / ``slug:no``); another venue's symbol is refused naming ``expected``."""
        p = parse_prediction(symbol)
        if p.venue_id != self.venue_id:
            raise UnknownSymbol(f"{symbol!r} is not {expected}")
        return p.symbol

    def book_tick(self, leg: BookLeg) -> int:
        """Price grid of one leg's L2Book (default: the venue-wide finest tick)."""
        return self.book_tick_1e9

    def on_connect(self) -> None:
        """A new connection is being set up (per-connection subscription state resets here)."""

    def ws_headers(self) -> list[tuple[str, str]]:
        """Handshake headers (Kalshi signs its websocket handshake)."""
        return []

    @abstractmethod
    def subscribe_frames(self, markets: Sequence[str], req_id: int, *, legs: Sequence[BookLeg] = ()) -> list[bytes]:
        """Frames subscribing the books (and trades, BBO) of ``markets``."""

    def discovery_frames(self, req_id: int) -> list[bytes]:
        """Frames subscribing venue-initiated market announcements (none by default)."""
        return []

    @abstractmethod
    def snapshot_frames(self, markets: Sequence[str], req_id: int, *, legs: Sequence[BookLeg] = ()) -> list[bytes]:
        """Frames asking the venue to resend the books of ``markets`` (resync without reconnecting)."""

    @abstractmethod
    def parse_market_message(self, obj: Any, ts_recv_ns: int) -> list[MarketEvent]:
        """A decoded non-book message to kernel records (may be empty)."""
