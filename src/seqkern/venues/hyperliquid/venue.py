"""Hyperliquid market data: l2Book (full book per block), bbo and trades subscriptions on one websocket."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from seqkern._fixed import parse_px, parse_qty
from seqkern._predwire import FORMAT_HYPERLIQUID
from seqkern.errors import FixedPointError, UnknownSymbol
from seqkern.venues.base import BboEvent, ControlEvent, Side, TradeEvent, VenueMessageError
from seqkern.venues.catalog import VENUE_HYPERLIQUID
from seqkern.venues.pred_base import BookFeedVenue, BookLeg, MarketEvent
from seqkern.venues.pred_ws import ConnectionBudget

PROD_WS = "wss://api.hyperliquid.xyz/ws"
PROD_REST = "https://api.hyperliquid.xyz"
MAX_WS_PER_IP = 10            # pred-hl.md section 0.9 (was 100 in older copies)
MAX_NEW_WS_PER_MIN = 30
PERP_MAX_DECIMALS = 6


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
    name = "hyperliquid"
    venue_id = VENUE_HYPERLIQUID
    book_format = FORMAT_HYPERLIQUID
    book_tick_1e9 = 100_000_000      # $0.1: BTC's grid (szDecimals 5); per-coin ticks come from meta
    depth_ticks = 1 << 17
    has_sequence = False
    max_connections = MAX_WS_PER_IP
    connection_budget = CONNECTIONS

    def __init__(self, ws_url: str = PROD_WS, rest_url: str = PROD_REST, *,
                 sz_decimals: dict[str, int] | None = None) -> None:
        super().__init__(ws_url, rest_url)
        self.sz_decimals = dict(sz_decimals or {})

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

    def parse_other(self, obj: Any, ts_recv_ns: int) -> list[MarketEvent]:
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
        except (KeyError, TypeError, ValueError, FixedPointError) as exc:
            raise VenueMessageError(f"Hyperliquid {ch} message unreadable: {exc}") from None
        return []
