"""Kalshi market data: signed websocket, orderbook_delta books, ticker/trade records, lifecycle discovery."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import orjson

from seqkern._fixed import parse_px, parse_qty
from seqkern._predwire import FORMAT_KALSHI
from seqkern.errors import FixedPointError
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
from seqkern.venues.book_feed import BookFeedVenue, BookLeg, MarketEvent, MarketStatus, NewMarket
from seqkern.venues.catalog import VENUE_KALSHI
from seqkern.venues.kalshi.auth import KalshiSigner

WS_PATH = "/trade-api/ws/v2"
REST_PREFIX = "/trade-api/v2"
PROD_WS = "wss://external-api-ws.kalshi.com" + WS_PATH
PROD_REST = "https://external-api.kalshi.com" + REST_PREFIX
BOOK_TICK_1E9 = 100_000          # $0.0001: every Kalshi price grid (cent, deci-cent, 4 dp) lies on it
DEFAULT_TICK_1E9 = 10_000_000    # $0.01 (linear_cent) when a market does not say

BOOK_CHANNEL = "orderbook_delta"
PUBLIC_CHANNELS = ("orderbook_delta", "trade")     # the edge publishes its own books' BBO, not `ticker`
LIFECYCLE_CHANNEL = "market_lifecycle_v2"


def _px(text: Any) -> int:
    try:
        return parse_px(str(text))
    except FixedPointError as exc:
        raise VenueMessageError(f"Kalshi price {text!r}: {exc}") from None


def _qty(text: Any) -> int:
    try:
        return parse_qty(str(text))
    except FixedPointError as exc:
        raise VenueMessageError(f"Kalshi count {text!r}: {exc}") from None


def finest_tick(msg: dict[str, Any]) -> int:
    """The finest step of a market's ``price_ranges`` (px_1e9); $0.01 when absent."""
    ranges = msg.get("price_ranges") or []
    steps = [_px(r["step"]) for r in ranges if isinstance(r, dict) and "step" in r]
    steps = [s for s in steps if s > 0]
    return min(steps) if steps else DEFAULT_TICK_1E9


def trade_number(trade_id: str) -> int:
    """A stable int64 from Kalshi's UUID trade id (its first 60 bits)."""
    hexdigits = trade_id.replace("-", "")[:15]
    try:
        return int(hexdigits, 16)
    except ValueError:
        return zlib.crc32(trade_id.encode())


def kalshi_legs(ticker: str) -> tuple[BookLeg, BookLeg]:
    return (BookLeg(ticker, ticker, ticker, False), BookLeg(f"{ticker}:NO", ticker, ticker, True))


class KalshiVenue(BookFeedVenue):
    """Kalshi event contracts: one signed websocket, books derived for both legs of each market."""

    name = "kalshi"
    venue_id = VENUE_KALSHI
    instrument_type = InstrumentType.BINARY
    ping = PingRule(server_ping_s=10.0, pong_timeout_s=30.0)   # the venue pings every 10 s ("heartbeat")
    rate_limits = (RateLimitPool("read", 20, 1.0),)            # Basic tier reads per second
    fees_bps = (87.5, 350.0)
    book_format = FORMAT_KALSHI
    book_tick_1e9 = BOOK_TICK_1E9
    depth_ticks = 16384              # covers $0..$1 at $0.0001: no level is ever evicted
    has_sequence = True

    def __init__(self, endpoints: VenueEndpoints | None = None, *,
                 signer: KalshiSigner | None = None, discovery: bool = True) -> None:
        super().__init__(endpoints)
        self.signer = signer
        self.discovery = discovery
        self.discovers_markets = discovery
        self.book_sids: set[int] = set()
        self.channel_sids: dict[str, int] = {}     # first sid of each public channel on this connection

    @classmethod
    def default_endpoints(cls) -> VenueEndpoints:
        return VenueEndpoints(market_ws=PROD_WS, trade_ws="", rest=PROD_REST)

    def venue_symbol(self, symbol: str) -> str:
        """Orders name the leg: the ticker (YES) or ``TICKER:NO``."""
        return self.prediction_leg(symbol, "a Kalshi ticker (SERIES-EVENT-MARKET[:NO])")

    def instrument_requests(self, symbols: Sequence[str]) -> list[RestRequest]:
        """``GET /markets/{ticker}`` per market (public): its price ranges give the finest tick."""
        return [RestRequest("GET", f"/markets/{m}", {}, (("read", 1),)) for m in self.markets_of(symbols)]

    def read_instruments(self, bodies: Sequence[bytes]) -> dict[str, InstrumentInfo]:
        out: dict[str, InstrumentInfo] = {}
        for body in bodies:
            try:
                m = orjson.loads(body)["market"]
                ticker = str(m["ticker"])
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                raise VenueMessageError(f"Kalshi market unreadable: {exc}") from None
            out[ticker] = InstrumentInfo(ticker, ticker, "USD", finest_tick(m), 1_000_000, 1_000_000, 0)
        return out

    def legs(self, symbol: str) -> tuple[BookLeg, ...]:
        vs = self.venue_symbol(symbol)
        yes, no = kalshi_legs(vs.split(":", 1)[0])
        return (no, yes) if vs.endswith(":NO") else (yes, no)

    def ws_headers(self) -> list[tuple[str, str]]:
        if self.signer is None:
            return []
        return list(self.signer.headers("GET", self.ws_url).items())

    def on_connect(self) -> None:
        self.book_sids.clear()
        self.channel_sids.clear()

    def subscribe_frames(self, markets: Sequence[str], req_id: int, *, legs: Sequence[BookLeg] = ()) -> list[bytes]:
        """A new subscription on a fresh connection; later markets (discovery) join the existing
        subscriptions with ``update_subscription add_markets`` (one sid per channel, not per market)."""
        if all(ch in self.channel_sids for ch in PUBLIC_CHANNELS):
            return [f for i, ch in enumerate(PUBLIC_CHANNELS)
                    for f in self.add_markets_frames(self.channel_sids[ch], markets, req_id + i)]
        return [orjson.dumps({"id": req_id, "cmd": "subscribe",
                              "params": {"channels": list(PUBLIC_CHANNELS), "market_tickers": list(markets)}})]

    def add_markets_frames(self, sid: int, markets: Sequence[str], req_id: int) -> list[bytes]:
        return [orjson.dumps({"id": req_id, "cmd": "update_subscription",
                              "params": {"sids": [sid], "market_tickers": list(markets), "action": "add_markets"}})]

    def discovery_frames(self, req_id: int) -> list[bytes]:
        if not self.discovery:
            return []
        return [orjson.dumps({"id": req_id, "cmd": "subscribe", "params": {"channels": [LIFECYCLE_CHANNEL]}})]

    def snapshot_frames(self, markets: Sequence[str], req_id: int, *, legs: Sequence[BookLeg] = ()) -> list[bytes]:
        return [orjson.dumps({"id": req_id + i, "cmd": "update_subscription",
                              "params": {"sids": [sid], "market_tickers": list(markets), "action": "get_snapshot"}})
                for i, sid in enumerate(sorted(self.book_sids))]

    def on_subscribed(self, obj: Any) -> None:
        msg = obj.get("msg") or {}
        ch, sid = msg.get("channel"), msg.get("sid")
        if not isinstance(sid, int):
            return
        if ch == BOOK_CHANNEL:
            self.book_sids.add(sid)
        if ch in PUBLIC_CHANNELS:
            self.channel_sids.setdefault(ch, sid)

    def parse_market_message(self, obj: Any, ts_recv_ns: int) -> list[MarketEvent]:
        if not isinstance(obj, dict):
            return []
        t = obj.get("type")
        msg = obj.get("msg")
        try:
            if t == "subscribed":
                self.on_subscribed(obj)
                return []
            if t == "error":
                m = msg if isinstance(msg, dict) else {}
                return [ControlEvent("error", f"code {m.get('code')}: {m.get('msg')}")]
            if not isinstance(msg, dict):
                return []
            if t == "ticker":
                return self._ticker(msg, obj, ts_recv_ns)
            if t == "trade":
                return self._trade(msg, ts_recv_ns)
            if t == "market_lifecycle_v2":
                return self._lifecycle(msg, obj)
        except (KeyError, TypeError) as exc:
            raise VenueMessageError(f"Kalshi {t} message missing field {exc}") from None
        return []

    def _ticker(self, msg: dict[str, Any], obj: dict[str, Any], ts_recv: int) -> list[MarketEvent]:
        t = msg["market_ticker"]
        ts = int(msg.get("ts_ms") or obj.get("sending_ts_ms") or 0) * 1_000_000
        bid, ask = _px(msg["yes_bid_dollars"]), _px(msg["yes_ask_dollars"])
        bq = _qty(msg.get("yes_bid_size_fp", "0"))
        aq = _qty(msg.get("yes_ask_size_fp", "0"))
        one = 1_000_000_000
        uid = int(obj.get("seq") or ts)
        # the NO leg's BBO mirrors the YES one (NO bid = 1 - YES ask)
        return [BboEvent(t, bid, bq, ask, aq, uid, ts, ts_recv),
                BboEvent(f"{t}:NO", one - ask if ask else 0, aq, one - bid if bid else 0, bq, uid, ts, ts_recv)]

    def _trade(self, msg: dict[str, Any], ts_recv: int) -> list[MarketEvent]:
        t = msg["market_ticker"]
        ts = int(msg.get("ts_ms") or int(msg.get("ts", 0)) * 1000) * 1_000_000
        yes_px = _px(msg["yes_price_dollars"])
        qty = _qty(msg["count_fp"])
        taker_yes = (msg.get("taker_outcome_side") or msg.get("taker_side")) == "yes"
        tid = trade_number(str(msg.get("trade_id", "")))
        return [TradeEvent(t, yes_px, qty, Side.BUY if taker_yes else Side.SELL, tid, ts, ts_recv),
                TradeEvent(f"{t}:NO", 1_000_000_000 - yes_px, qty, Side.SELL if taker_yes else Side.BUY, tid, ts,
                           ts_recv)]

    def _lifecycle(self, msg: dict[str, Any], obj: dict[str, Any]) -> list[MarketEvent]:
        ev = msg.get("event_type")
        ticker = msg["market_ticker"]
        ts = int(obj.get("sending_ts_ms") or 0) * 1_000_000
        if ev == "created":
            return [NewMarket(ticker, kalshi_legs(ticker), finest_tick(msg), 1_000_000,
                              {"event_type": ev, "open_ts": msg.get("open_ts"), "close_ts": msg.get("close_ts"),
                               "price_level_structure": msg.get("price_level_structure"),
                               **(msg.get("additional_metadata") or {})}, ts)]
        detail = {k: v for k, v in msg.items() if k not in ("market_ticker", "event_type")}
        if ev == "price_level_structure_updated" and msg.get("price_ranges"):
            detail["tick_1e9"] = finest_tick(msg)
        return [MarketStatus(ticker, str(ev), detail)]
