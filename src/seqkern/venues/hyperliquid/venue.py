"""Hyperliquid market data: l2Book (full book per block), bbo and trades subscriptions on one websocket."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from seqkern._fixed import parse_px, parse_qty
from seqkern._predwire import FORMAT_HYPERLIQUID
from seqkern.errors import FixedPointError, UnknownSymbol
from seqkern.venues.base import (
    BboEvent,
    ControlEvent,
    InstrumentInfo,
    InstrumentType,
    PingRule,
    RateLimitPool,
    RestRequest,
    Side,
    TradeEvent,
    VenueEndpoints,
    VenueMessageError,
)
from seqkern.venues.book_feed import BookFeedVenue, BookLeg, MarketEvent
from seqkern.venues.catalog import VENUE_HYPERLIQUID
from seqkern.venues.pred_ws import ConnectionBudget

PROD_WS = "wss://api.hyperliquid.xyz/ws"
PROD_REST = "https://api.hyperliquid.xyz"
MAX_WS_PER_IP = 10            # pred-hl.md section 0.9 (was 100 in older copies)
MAX_NEW_WS_PER_MIN = 30
PERP_MAX_DECIMALS = 6
MIN_ORDER_VALUE_1E9 = 10 * 10**9   # $10 (pred-hl.md section 3)
INFO_WEIGHT = 20                   # /info meta; l2Book, allMids... weigh 2 (REST 1200 weight/min/IP)


# one budget per process: the market-data and trading sockets of every edge in it share the cap
CONNECTIONS = ConnectionBudget(MAX_WS_PER_IP, MAX_NEW_WS_PER_MIN, 60.0)


def coin_of(symbol: str) -> str:
    """Canonical perp symbol (BTC-USDC) to the venue coin (BTC); a bare coin passes through."""
    base, sep, quote = symbol.partition("-")
    if sep and quote != "USDC":
        raise UnknownSymbol(f"Hyperliquid perps are quoted in USDC, not {quote} ({symbol})")
    if not base or not base.replace("@", "").replace(":", "").isalnum():
        raise UnknownSymbol(f"not a Hyperliquid symbol: {symbol!r}")
    return base


def px_tick_1e9(sz_decimals: int) -> int:
    """Finest price step a perp can carry: 10^-(6 - szDecimals) (5 significant figures on top)."""
    return 10 ** (9 - (PERP_MAX_DECIMALS - sz_decimals))


class HyperliquidVenue(BookFeedVenue):
    """Hyperliquid perps: one websocket for books, trades and BBO; orders on its post channel."""

    name = "hyperliquid"
    venue_id = VENUE_HYPERLIQUID
    instrument_type = InstrumentType.PERP
    # the server drops a socket idle for about a minute: {"method":"ping"} every 50 s (as the SDK)
    ping = PingRule(server_ping_s=None, pong_timeout_s=60.0, client_ping_s=50.0,
                    client_ping_text=b'{"method":"ping"}')
    rate_limits = (RateLimitPool("weight", 1200, 60.0),)
    fees_bps = (1.5, 4.5)            # base tier: maker 0.015 %, taker 0.045 %
    book_format = FORMAT_HYPERLIQUID
    book_tick_1e9 = 100_000_000      # $0.1: BTC's grid (szDecimals 5); per-coin ticks come from meta
    depth_ticks = 1 << 17
    has_sequence = False
    max_connections = MAX_WS_PER_IP
    connection_budget = CONNECTIONS

    def __init__(self, endpoints: VenueEndpoints | None = None, *,
                 sz_decimals: dict[str, int] | None = None) -> None:
        super().__init__(endpoints)
        self.sz_decimals = dict(sz_decimals or {})

    @classmethod
    def default_endpoints(cls) -> VenueEndpoints:
        return VenueEndpoints(market_ws=PROD_WS, trade_ws="", rest=PROD_REST)   # trading: the same socket host

    def venue_symbol(self, symbol: str) -> str:
        return coin_of(symbol)

    def instrument_requests(self, symbols: Sequence[str]) -> list[RestRequest]:
        """The perp universe (``meta``): szDecimals per coin gives its price and size steps."""
        return [RestRequest("POST", "/info", {}, (("weight", INFO_WEIGHT),), json_body=b'{"type":"meta"}',
                            read_only=True)]

    def read_instruments(self, bodies: Sequence[bytes]) -> dict[str, InstrumentInfo]:
        try:
            meta = orjson.loads(bodies[0])
            szd = {str(a["name"]): int(a["szDecimals"]) for a in meta["universe"] if not a.get("isDelisted")}
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise VenueMessageError(f"Hyperliquid meta unreadable: {exc}") from None
        self.sz_decimals.update(szd)
        return {coin: InstrumentInfo(coin, coin, "USDC", px_tick_1e9(d), 10 ** (8 - d), 10 ** (8 - d),
                                     MIN_ORDER_VALUE_1E9) for coin, d in szd.items()}

    def market_of(self, symbol: str) -> str:
        return coin_of(symbol)

    def book_tick(self, leg: BookLeg) -> int:
        szd = self.sz_decimals.get(leg.venue_key)
        return px_tick_1e9(szd) if szd is not None else self.book_tick_1e9

    def legs(self, symbol: str) -> tuple[BookLeg, ...]:
        coin = coin_of(symbol)
        return (BookLeg(symbol, coin, coin),)

    @staticmethod
    def _sub(kind: str, coin: str, method: str = "subscribe") -> bytes:
        return orjson.dumps({"method": method, "subscription": {"type": kind, "coin": coin}})

    def subscribe_frames(self, markets: Sequence[str], req_id: int, *, legs: Sequence[BookLeg] = ()) -> list[bytes]:
        return [self._sub(k, c) for c in markets for k in ("l2Book", "trades", "bbo")]

    def snapshot_frames(self, markets: Sequence[str], req_id: int, *, legs: Sequence[BookLeg] = ()) -> list[bytes]:
        out: list[bytes] = []
        for c in markets:
            out += [self._sub("l2Book", c, "unsubscribe"), self._sub("l2Book", c)]
        return out

    def parse_market_message(self, obj: Any, ts_recv_ns: int) -> list[MarketEvent]:
        if not isinstance(obj, dict):
            return []
        ch = obj.get("channel")
        data = obj.get("data")
        try:
            if ch == "trades" and isinstance(data, list):
                return [TradeEvent(t["coin"], parse_px(t["px"]), parse_qty(t["sz"]),
                                   Side.BUY if t["side"] == "B" else Side.SELL, int(t["tid"]),
                                   int(t["time"]) * 1_000_000, ts_recv_ns) for t in data]
            if ch == "bbo" and isinstance(data, dict):
                bid, ask = data["bbo"]
                return [BboEvent(data["coin"], parse_px(bid["px"]) if bid else 0, parse_qty(bid["sz"]) if bid else 0,
                                 parse_px(ask["px"]) if ask else 0, parse_qty(ask["sz"]) if ask else 0,
                                 int(data["time"]), int(data["time"]) * 1_000_000, ts_recv_ns)]
            if ch == "error":
                return [ControlEvent("error", str(data))]
            if ch == "pong":
                return []
        except (KeyError, TypeError, ValueError, FixedPointError) as exc:
            raise VenueMessageError(f"Hyperliquid {ch} message unreadable: {exc}") from None
        return []
