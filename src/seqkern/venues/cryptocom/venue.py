"""Crypto.com Exchange v1 (spot) as a DepthStreamVenue: book.{inst}.{depth} with u/pu chaining, trades, heartbeats.

Sources: exchange-developer.crypto.com v1 docs (websocket common reference, book channel,
heartbeat), cex.md §8 and B.7; see docs/venues-cryptocom.md. A delta's ``pu`` must equal the
previous message's ``u`` (RULE_PREV_FINAL, checked in C); on a mismatch the book is resubscribed.
The server's ``public/heartbeat`` must be answered with ``public/respond-heartbeat`` (same id).
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from seqkern._fixed import parse_px, parse_qty
from seqkern._wire import FORMAT_CRYPTOCOM, RULE_PREV_FINAL
from seqkern.errors import FixedPointError, UnknownSymbol
from seqkern.venues.base import (
    BboEvent,
    BookSnapshot,
    ControlEvent,
    InstrumentInfo,
    InstrumentType,
    OpFrameVenue,
    PingRule,
    RateLimitPool,
    RestRequest,
    ResyncMethod,
    Side,
    SubscriptionLimits,
    TradeEvent,
    VenueEndpoints,
    VenueMessageError,
    trade_records,
)
from seqkern.venues.catalog import VENUE_CRYPTOCOM
from seqkern.venues.rest_levels import book_levels
from seqkern.venues.symbols import separated_symbol

ENDPOINTS = VenueEndpoints(
    market_ws="wss://stream.crypto.com/exchange/v1/market",
    trade_ws="wss://stream.crypto.com/exchange/v1/user",
    rest="https://api.crypto.com/exchange/v1",
    private_ws="wss://stream.crypto.com/exchange/v1/user",
)
BOOK_DEPTHS = (10, 50)
BATCH_MAX = 10             # create-order-list / batch-order-request: at most 10 creates (docs prose)


def cryptocom_symbol(symbol: str) -> str:
    """Canonical "BTC-USDT" (or "BTC/USDT") to the spot instrument "BTC_USDT"."""
    return separated_symbol(symbol, sep="_", what="Crypto.com spot instrument (BASE_QUOTE)")


class CryptocomSpot(OpFrameVenue):
    name = "cryptocom"
    venue_id = VENUE_CRYPTOCOM
    instrument_type = InstrumentType.SPOT
    depth_format = FORMAT_CRYPTOCOM
    sequence_rule = RULE_PREV_FINAL
    resync = ResyncMethod.RESUBSCRIBE
    subscribe_delay_s = 1.0        # limits are pro-rated to the second the connection opened: wait 1 s
    ping = PingRule(server_ping_s=30.0, pong_timeout_s=5.0)
    limits = SubscriptionLimits(streams_per_connection=400, messages_per_second=100, args_per_request=100)
    rate_limits = (RateLimitPool("PUBLIC", 100, 1.0), RateLimitPool("ORDER", 15, 0.1), RateLimitPool("OTHER", 3, 0.1))

    def __init__(self, endpoints: VenueEndpoints | None = None, *, depth: int = 50,
                 update_frequency_ms: int = 10) -> None:
        super().__init__(endpoints)
        if depth not in BOOK_DEPTHS:
            raise UnknownSymbol(f"Crypto.com book depth must be 10 or 50, not {depth}")
        self.book_depth = depth
        self.update_frequency_ms = update_frequency_ms

    @classmethod
    def default_endpoints(cls) -> VenueEndpoints:
        return ENDPOINTS

    venue_symbol = staticmethod(cryptocom_symbol)

    def instruments_request(self) -> RestRequest:
        return RestRequest("GET", "/public/get-instruments", {}, (("PUBLIC", 1),))

    def parse_instruments(self, body: bytes) -> dict[str, InstrumentInfo]:
        try:
            obj = orjson.loads(body)
            if obj.get("code", 0) != 0:
                raise VenueMessageError(f"Crypto.com get-instruments error {obj.get('code')}")
            out: dict[str, InstrumentInfo] = {}
            for p in obj["result"]["data"]:
                if p.get("inst_type") != "CCY_PAIR":
                    continue
                step = parse_qty(p["qty_tick_size"])
                out[p["symbol"]] = InstrumentInfo(p["symbol"], p["base_ccy"], p["quote_ccy"],
                                                  parse_px(p["price_tick_size"]), step, step, 0)
            return out
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, FixedPointError) as exc:
            raise VenueMessageError(f"unreadable Crypto.com instruments: {exc}") from None

    def market_streams(self, venue_symbol: str) -> list[str]:
        return [f"book.{venue_symbol}.{self.book_depth}", f"trade.{venue_symbol}"]

    def op_frame(self, op: str, streams: list[str], req_id: int) -> bytes:
        params: dict[str, Any] = {"channels": streams}
        if any(c.startswith("book.") for c in streams) and op == "subscribe":
            params["book_subscription_type"] = "SNAPSHOT_AND_UPDATE"
            params["book_update_frequency"] = self.update_frequency_ms
        return orjson.dumps({"id": req_id, "method": op, "params": params, "nonce": time.time_ns() // 1_000_000})

    def snapshot_request(self, venue_symbol: str) -> RestRequest:
        return RestRequest("GET", "/public/get-book", {"instrument_name": venue_symbol, "depth": self.book_depth},
                           (("PUBLIC", 1),))

    def parse_snapshot(self, body: bytes) -> BookSnapshot:
        try:
            d = orjson.loads(body)["result"]["data"][0]
            levels = book_levels(d["bids"], d["asks"])
            return BookSnapshot(int(d.get("u", 0)), *levels, int(d.get("t", 0)) * 1_000_000)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError, FixedPointError) as exc:
            raise VenueMessageError(f"unreadable Crypto.com get-book: {exc}") from None

    def first_event_fits(self, snapshot_id: int, first_id: int, final_id: int) -> bool:
        return first_id - 1 == snapshot_id     # a delta whose pu is the snapshot's u

    def event_is_stale(self, snapshot_id: int, final_id: int) -> bool:
        return final_id <= snapshot_id

    def parse_market_message(self, obj: Any, ts_recv_ns: int
                             ) -> TradeEvent | BboEvent | ControlEvent | list[TradeEvent] | None:
        if not isinstance(obj, dict):
            raise VenueMessageError("Crypto.com message is not a JSON object")
        method = obj.get("method")
        try:
            if method == "public/heartbeat":
                return ControlEvent("reply", str(obj["id"]), orjson.dumps(
                    {"id": obj["id"], "method": "public/respond-heartbeat"}))
            if obj.get("code", 0) != 0:
                return ControlEvent("error", f"{method} {obj.get('code')}: {obj.get('message', '')}")
            res = obj.get("result")
            if method == "subscribe" and isinstance(res, dict) and res.get("channel") == "trade" and "data" in res:
                trades = [TradeEvent(res["instrument_name"], parse_px(str(t["p"])), parse_qty(str(t["q"])),
                                     Side.BUY if t["s"] == "BUY" else Side.SELL,
                                     int(str(t["d"])) if str(t["d"]).isdigit() else 0, int(t["t"]) * 1_000_000,
                                     ts_recv_ns) for t in res["data"]]
                return trade_records(trades)
            if method in ("subscribe", "unsubscribe") and obj.get("id", -1) != -1:
                return ControlEvent("ack", str(obj.get("id")))
        except (KeyError, TypeError, ValueError, IndexError, FixedPointError) as exc:
            raise VenueMessageError(f"unreadable Crypto.com {method} message: {exc}") from None
        return None
