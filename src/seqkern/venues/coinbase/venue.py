"""Coinbase Advanced Trade (spot) as a DepthStreamVenue: level2 with the connection's sequence_num, heartbeats.

Sources: docs.cdp.coinbase.com advanced-trade websocket channels and level2 (AsyncAPI),
coinbase-advanced-py constants; see docs/venues-coinbase.md. Every message of a connection
carries an envelope ``sequence_num``; a skipped number is a gap for every book on the connection
(checked in C by seqkern._wire) and the books are resubscribed, which makes Coinbase send fresh
snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from seqkern._fixed import parse_px, parse_qty
from seqkern._wire import FORMAT_COINBASE, RULE_NONE
from seqkern.errors import FixedPointError
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
from seqkern.venues.catalog import VENUE_COINBASE
from seqkern.venues.kraken.venue import rfc3339_ns
from seqkern.venues.rest_levels import book_levels
from seqkern.venues.symbols import separated_symbol

ENDPOINTS = VenueEndpoints(
    market_ws="wss://advanced-trade-ws.coinbase.com",
    trade_ws="wss://advanced-trade-ws-user.coinbase.com",
    rest="https://api.coinbase.com",
    private_ws="wss://advanced-trade-ws-user.coinbase.com",
)
BATCH_CANCEL_MAX = 100      # batch_cancel has no documented maximum; chunked like other clients do


def coinbase_symbol(symbol: str) -> str:
    """Canonical "BTC-USD" (or "BTC/USD") to the product id "BTC-USD"."""
    return separated_symbol(symbol, sep="-", what="Coinbase product id (BASE-QUOTE)")


class CoinbaseSpot(InStreamSnapshot, DepthStreamVenue):
    name = "coinbase"
    venue_id = VENUE_COINBASE
    instrument_type = InstrumentType.SPOT
    depth_format = FORMAT_COINBASE
    sequence_rule = RULE_NONE        # continuity is the connection's sequence_num, checked while scanning
    resync = ResyncMethod.RESUBSCRIBE
    # no protocol pings from Coinbase: the heartbeats channel keeps subscriptions open (1 message/s)
    ping = PingRule(server_ping_s=None, pong_timeout_s=60.0)
    limits = SubscriptionLimits(streams_per_connection=200, messages_per_second=8, args_per_request=100)
    rate_limits = (RateLimitPool("PUBLIC", 10, 1.0), RateLimitPool("PRIVATE", 30, 1.0))

    @classmethod
    def default_endpoints(cls) -> VenueEndpoints:
        return ENDPOINTS

    venue_symbol = staticmethod(coinbase_symbol)

    def instruments_request(self) -> RestRequest:
        return RestRequest("GET", "/api/v3/brokerage/market/products", {"product_type": "SPOT"}, (("PUBLIC", 1),))

    def parse_instruments(self, body: bytes) -> dict[str, InstrumentInfo]:
        try:
            obj = orjson.loads(body)
            out: dict[str, InstrumentInfo] = {}
            for p in obj["products"]:
                pid = p["product_id"]
                out[pid] = InstrumentInfo(
                    pid, p["base_currency_id"], p["quote_currency_id"],
                    parse_px(p.get("price_increment") or p["quote_increment"]), parse_qty(p["base_increment"]),
                    parse_qty(p.get("base_min_size", "0")), parse_px(p.get("quote_min_size", "0")))
            return out
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, FixedPointError) as exc:
            raise VenueMessageError(f"unreadable Coinbase products: {exc}") from None

    # ---- subscriptions (one channel per subscribe message) ----------------------------------

    def market_streams(self, venue_symbol: str) -> list[str]:
        return [f"level2:{venue_symbol}", f"market_trades:{venue_symbol}"]

    @staticmethod
    def _frame(kind: str, channel: str, products: list[str]) -> bytes:
        return orjson.dumps({"type": kind, "product_ids": products, "channel": channel})

    def subscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        by_channel = streams_by_channel(streams)
        n = self.limits.args_per_request
        # heartbeats first: most channels close after 60-90 s without updates otherwise
        frames = [self._frame("subscribe", "heartbeats", [])]
        for ch, pids in by_channel.items():
            frames.extend(self._frame("subscribe", ch, pids[i:i + n]) for i in range(0, len(pids), n))
        return frames

    def unsubscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        by_channel = streams_by_channel(streams)
        return [self._frame("unsubscribe", ch, pids) for ch, pids in by_channel.items()]

    def resubscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        """Unsubscribe + subscribe ``streams`` (no second heartbeats subscription)."""
        by_channel = streams_by_channel(streams)
        return ([self._frame("unsubscribe", ch, pids) for ch, pids in by_channel.items()]
                + [self._frame("subscribe", ch, pids) for ch, pids in by_channel.items()])

    # ---- REST book (tools; the sync snapshot comes in the stream) ---------------------------

    def snapshot_request(self, venue_symbol: str) -> RestRequest:
        return RestRequest("GET", "/api/v3/brokerage/market/product_book", {"product_id": venue_symbol, "limit": 500},
                           (("PUBLIC", 1),))

    def parse_snapshot(self, body: bytes) -> BookSnapshot:
        try:
            book = orjson.loads(body)["pricebook"]
            levels = book_levels(book["bids"], book["asks"], "price", "size")
            return BookSnapshot(0, *levels, rfc3339_ns(book.get("time", "")))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, FixedPointError) as exc:
            raise VenueMessageError(f"unreadable Coinbase product_book: {exc}") from None

    def parse_market_message(self, obj: Any, ts_recv_ns: int
                             ) -> TradeEvent | BboEvent | ControlEvent | list[TradeEvent] | None:
        if not isinstance(obj, dict):
            raise VenueMessageError("Coinbase message is not a JSON object")
        ch = obj.get("channel")
        try:
            if ch == "market_trades":
                trades = []
                for ev in obj["events"]:
                    if ev.get("type") == "snapshot":
                        continue      # the recent-trades snapshot on subscribe is history, not news
                    for t in ev.get("trades", []):
                        tid = str(t["trade_id"])
                        trades.append(TradeEvent(t["product_id"], parse_px(t["price"]), parse_qty(t["size"]),
                                                 Side.BUY if t["side"] == "BUY" else Side.SELL,
                                                 int(tid) if tid.isdigit() else 0, rfc3339_ns(t.get("time", "")),
                                                 ts_recv_ns))
                return trade_records(trades)
            if ch == "subscriptions":
                return ControlEvent("ack", orjson.dumps(obj["events"][0].get("subscriptions", {})).decode())
            if obj.get("type") == "error":
                return ControlEvent("error", str(obj.get("message", "")))
        except (KeyError, TypeError, ValueError, IndexError, FixedPointError) as exc:
            raise VenueMessageError(f"unreadable Coinbase {ch} message: {exc}") from None
        return None
