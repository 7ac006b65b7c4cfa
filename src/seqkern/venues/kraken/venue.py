"""Kraken spot (WebSocket v2) as a DepthStreamVenue: book channel with its CRC32 checksum, trades, XBT/BTC names.

Sources: docs.kraken.com spot-websocket-v2 (book, trade, ping/heartbeat), the v2 book-checksum
guide (top 10 levels, always), REST AssetPairs; see docs/venues-kraken.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from seqkern._fixed import parse_px, parse_qty
from seqkern._wire import FORMAT_KRAKEN, RULE_NONE
from seqkern.errors import FixedPointError, UnknownSymbol
from seqkern.venues.base import (
    BboEvent,
    BookSnapshot,
    ControlEvent,
    DepthStreamVenue,
    InStreamSnapshot,
    InstrumentInfo,
    InstrumentType,
    PingRule,
    RateLimitPool,
    RestRequest,
    ResyncMethod,
    Side,
    SubscriptionLimits,
    TradeEvent,
    VenueEndpoints,
    VenueMessageError,
    streams_by_channel,
    trade_records,
)
from seqkern.venues.catalog import VENUE_KRAKEN
from seqkern.venues.rest_levels import book_levels

ENDPOINTS = VenueEndpoints(
    market_ws="wss://ws.kraken.com/v2",
    trade_ws="wss://ws-auth.kraken.com/v2",
    rest="https://api.kraken.com",
)
BOOK_DEPTHS = (10, 25, 100, 500, 1000)
CHECKSUM_LEVELS = 10            # the checksum covers the top 10 levels whatever the depth
BATCH_MIN = 2                   # batch_add: 2 to 15 orders, one pair
BATCH_MAX = 15

# legacy asset codes of REST (AssetPairs keys / altnames) -> the v2 codes
_LEGACY_ASSETS = {"XBT": "BTC", "XXBT": "BTC", "XDG": "DOGE", "XXDG": "DOGE", "ZUSD": "USD", "ZEUR": "EUR",
                  "ZGBP": "GBP", "ZJPY": "JPY", "ZCAD": "CAD", "ZAUD": "AUD", "XETH": "ETH", "XLTC": "LTC",
                  "XXRP": "XRP", "XXLM": "XLM", "XETC": "ETC", "XZEC": "ZEC", "XXMR": "XMR"}


def v2_asset(code: str) -> str:
    """A Kraken asset code (legacy XXBT/XBT/ZUSD or v2 BTC/USD) to the v2 / canonical code."""
    c = code.strip().upper()
    return _LEGACY_ASSETS.get(c, c)


def kraken_symbol(symbol: str) -> str:
    """Canonical "BTC-USD" (or "XBT/USD", "BTC/USD", "XBT-USD") to the WS v2 name "BTC/USD"."""
    s = symbol.strip().upper()
    for sep in ("/", "-", "_"):
        if sep in s:
            base, quote = s.split(sep, 1)
            break
    else:
        raise UnknownSymbol(f"not a Kraken pair (expected BASE/QUOTE or BASE-QUOTE): {symbol!r}")
    if not base.isalnum() or not quote.isalnum():
        raise UnknownSymbol(f"not a Kraken pair: {symbol!r}")
    return f"{v2_asset(base)}/{v2_asset(quote)}"


def canonical_from_kraken(venue_symbol: str) -> str:
    base, quote = kraken_symbol(venue_symbol).split("/")
    return f"{base}-{quote}"


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


class KrakenSpot(InStreamSnapshot, DepthStreamVenue):
    name = "kraken"
    venue_id = VENUE_KRAKEN
    instrument_type = InstrumentType.SPOT
    depth_format = FORMAT_KRAKEN
    sequence_rule = RULE_NONE          # v2 book has no sequence numbers: the checksum is the check
    resync = ResyncMethod.RESUBSCRIBE
    has_checksum = True
    book_depth = 10
    # server heartbeat ~1/s when subscribed; application ping {"method":"ping"} when idle
    ping = PingRule(server_ping_s=None, pong_timeout_s=60.0, client_ping_s=30.0,
                    client_ping_text=b'{"method":"ping"}')
    limits = SubscriptionLimits(streams_per_connection=200, messages_per_second=10, args_per_request=50)
    # REST counter: Starter max 15 decaying 0.33/s (approximated as 15 per 45 s); trading is per pair
    rate_limits = (RateLimitPool("REST_COUNTER", 15, 45.0), RateLimitPool("PUBLIC", 1, 1.0))

    def __init__(self, endpoints: VenueEndpoints | None = None, *, depth: int = 10) -> None:
        super().__init__(endpoints)
        if depth not in BOOK_DEPTHS:
            raise UnknownSymbol(f"Kraken book depth must be one of {BOOK_DEPTHS}, not {depth}")
        self.book_depth = depth

    @classmethod
    def default_endpoints(cls) -> VenueEndpoints:
        return ENDPOINTS

    venue_symbol = staticmethod(kraken_symbol)

    def instruments_request(self) -> RestRequest:
        return RestRequest("GET", "/0/public/AssetPairs", {}, (("PUBLIC", 1),))

    def parse_instruments(self, body: bytes) -> dict[str, InstrumentInfo]:
        """REST AssetPairs (legacy keys XXBTZUSD, wsname XBT/USD) keyed by the v2 name BTC/USD."""
        try:
            obj = orjson.loads(body)
            if obj.get("error"):
                raise VenueMessageError(f"Kraken AssetPairs error: {obj['error']}")
            out: dict[str, InstrumentInfo] = {}
            for key, p in obj["result"].items():
                ws = p.get("wsname") or key
                try:
                    vs = kraken_symbol(ws)
                except UnknownSymbol:
                    continue
                base, quote = vs.split("/")
                tick = parse_px(p.get("tick_size") or f"1e-{int(p['pair_decimals'])}")
                lot = parse_qty(f"1e-{int(p['lot_decimals'])}") if int(p["lot_decimals"]) <= 8 else 1
                ordermin = parse_qty(p.get("ordermin", "0"))
                out[vs] = InstrumentInfo(vs, base, quote, tick, lot, ordermin, parse_px(p.get("costmin", "0")))
            return out
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, FixedPointError) as exc:
            raise VenueMessageError(f"unreadable Kraken AssetPairs: {exc}") from None

    # ---- subscriptions ---------------------------------------------------------------------

    def market_streams(self, venue_symbol: str) -> list[str]:
        return [f"book:{venue_symbol}", f"trade:{venue_symbol}"]

    def _params(self, channel: str, symbols: list[str]) -> dict[str, Any]:
        if channel == "book":
            return {"channel": "book", "symbol": symbols, "depth": self.book_depth, "snapshot": True}
        return {"channel": channel, "symbol": symbols, "snapshot": False}

    def subscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        by_channel = streams_by_channel(streams)
        frames: list[bytes] = []
        n = self.limits.args_per_request
        for ch, syms in by_channel.items():
            for i in range(0, len(syms), n):
                frames.append(orjson.dumps({"method": "subscribe", "params": self._params(ch, syms[i:i + n]),
                                            "req_id": req_id + len(frames)}))
        return frames

    def unsubscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        """A checksum failure resyncs by unsubscribe + subscribe (a fresh snapshot follows)."""
        by_channel = streams_by_channel(streams)
        frames: list[bytes] = []
        for ch, syms in by_channel.items():
            params: dict[str, Any] = {"channel": ch, "symbol": syms}
            if ch == "book":
                params["depth"] = self.book_depth
            frames.append(orjson.dumps({"method": "unsubscribe", "params": params, "req_id": req_id + len(frames)}))
        return frames

    # ---- REST book (not used for sync: the snapshot comes in the stream) ------------------------

    def snapshot_request(self, venue_symbol: str) -> RestRequest:
        from seqkern.venues.symbols import kraken_rest_pair
        return RestRequest("GET", "/0/public/Depth",
                           {"pair": kraken_rest_pair(canonical_from_kraken(venue_symbol)), "count": self.book_depth},
                           (("PUBLIC", 1),))

    def parse_snapshot(self, body: bytes) -> BookSnapshot:
        try:
            obj = orjson.loads(body)
            (book,) = obj["result"].values()
            return BookSnapshot(0, *book_levels(book["bids"], book["asks"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError, FixedPointError) as exc:
            raise VenueMessageError(f"unreadable Kraken Depth: {exc}") from None

    # ---- other public messages ---------------------------------------------------------------

    def parse_market_message(self, obj: Any, ts_recv_ns: int
                             ) -> TradeEvent | BboEvent | ControlEvent | list[TradeEvent] | None:
        if not isinstance(obj, dict):
            raise VenueMessageError("Kraken message is not a JSON object")
        ch = obj.get("channel")
        try:
            if ch == "trade":
                if obj.get("type") == "snapshot":
                    return None       # the recent-trades snapshot on subscribe is history, not news
                trades = [TradeEvent(t["symbol"], parse_px(str(t["price"])), parse_qty(str(t["qty"])),
                                     Side.BUY if t["side"] == "buy" else Side.SELL, int(t["trade_id"]),
                                     rfc3339_ns(t.get("timestamp", "")), ts_recv_ns) for t in obj["data"]]
                return trade_records(trades)
            if ch in ("heartbeat", "status", "book"):
                return None
            method = obj.get("method")
            if method in ("subscribe", "unsubscribe"):
                if obj.get("success") is False:
                    return ControlEvent("error", f"{method}: {obj.get('error', '')}")
                return ControlEvent("ack", str(obj.get("req_id", "")))
            if method == "pong":
                return None
        except (KeyError, TypeError, ValueError, IndexError, FixedPointError) as exc:
            raise VenueMessageError(f"unreadable Kraken {ch} message: {exc}") from None
        return None


def rfc3339_ns(text: str) -> int:
    """RFC3339 UTC time ("2023-10-06T17:35:55.440295Z") to ns; 0 when absent or unreadable."""
    from datetime import datetime
    if not text:
        return 0
    try:
        head, _, frac = text.rstrip("Z").partition(".")
        secs = int(datetime.fromisoformat(head + "+00:00").timestamp())
        digits = "".join(ch for ch in frac if ch.isdigit())[:9].ljust(9, "0") if frac else "0"
        return secs * 1_000_000_000 + int(digits)
    except ValueError:
        return 0
