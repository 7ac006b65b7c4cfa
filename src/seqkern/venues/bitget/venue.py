"""Bitget v2 spot as a DepthStreamVenue: books channel (snapshot + updates, CRC32 of the top 25), trades, text ping.

Sources: bitget.com api-doc (websocket intro, spot Depth-Channel, public symbols), cex.md §7 and
B.6; see docs/venues-bitget.md. The checksum is the OKX-legacy recipe: first 25 levels
interleaved bid:ask as "px:sz" strings joined with ':', CRC32 read as signed 32-bit; a mismatch
means unsubscribe + subscribe (a new snapshot follows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from seqkern._fixed import parse_px, parse_qty
from seqkern._wire import FORMAT_BITGET, RULE_INCREASING
from seqkern.errors import FixedPointError
from seqkern.venues.base import (
    BboEvent,
    BookSnapshot,
    ControlEvent,
    InStreamSnapshot,
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
from seqkern.venues.catalog import VENUE_BITGET
from seqkern.venues.rest_levels import book_levels
from seqkern.venues.symbols import joined_symbol

ENDPOINTS = VenueEndpoints(
    market_ws="wss://ws.bitget.com/v2/ws/public",
    trade_ws="wss://ws.bitget.com/v2/ws/private",
    rest="https://api.bitget.com",
    private_ws="wss://ws.bitget.com/v2/ws/private",
)
CHECKSUM_LEVELS = 25
BATCH_MAX = 50             # batch-orders / batch-cancel-replace-order: orderList of at most 50


def bitget_symbol(symbol: str) -> str:
    """Canonical "BTC-USDT" (or "BTCUSDT") to Bitget's "BTCUSDT"."""
    return joined_symbol(symbol, drop="-/_", max_len=24, what="Bitget spot symbol")


class BitgetSpot(InStreamSnapshot, OpFrameVenue):
    name = "bitget"
    venue_id = VENUE_BITGET
    instrument_type = InstrumentType.SPOT
    depth_format = FORMAT_BITGET
    sequence_rule = RULE_INCREASING    # seq only moves forward (not +1); the checksum catches losses
    resync = ResyncMethod.RESUBSCRIBE
    has_checksum = True
    # client sends the text "ping" every 30 s and gets "pong"; idle connections are closed after 2 min
    ping = PingRule(server_ping_s=None, pong_timeout_s=120.0, client_ping_s=30.0, client_ping_text=b"ping",
                    pong_text=b"pong")
    limits = SubscriptionLimits(streams_per_connection=50, messages_per_second=10, args_per_request=50)
    rate_limits = (RateLimitPool("PUBLIC", 20, 1.0), RateLimitPool("TRADE", 10, 1.0), RateLimitPool("BATCH", 5, 1.0))

    @classmethod
    def default_endpoints(cls) -> VenueEndpoints:
        return ENDPOINTS

    venue_symbol = staticmethod(bitget_symbol)

    def instruments_request(self) -> RestRequest:
        return RestRequest("GET", "/api/v2/spot/public/symbols", {}, (("PUBLIC", 1),))

    def parse_instruments(self, body: bytes) -> dict[str, InstrumentInfo]:
        try:
            obj = orjson.loads(body)
            if obj.get("code") != "00000":
                raise VenueMessageError(f"Bitget symbols error {obj.get('code')}: {obj.get('msg')}")
            out: dict[str, InstrumentInfo] = {}
            for p in obj["data"]:
                tick = parse_px(f"1e-{int(p['pricePrecision'])}")
                lot = parse_qty(f"1e-{int(p['quantityPrecision'])}")
                out[p["symbol"]] = InstrumentInfo(p["symbol"], p["baseCoin"], p["quoteCoin"], tick, lot,
                                                  parse_qty(p.get("minTradeAmount", "0")),
                                                  parse_px(p.get("minTradeUSDT", "0")))
            return out
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, FixedPointError) as exc:
            raise VenueMessageError(f"unreadable Bitget symbols: {exc}") from None

    def market_streams(self, venue_symbol: str) -> list[str]:
        return [f"books:{venue_symbol}", f"trade:{venue_symbol}"]

    @staticmethod
    def _args(streams: Sequence[str]) -> list[dict[str, str]]:
        return [{"instType": "SPOT", "channel": s.split(":", 1)[0], "instId": s.split(":", 1)[1]} for s in streams]

    def op_frame(self, op: str, streams: list[str], req_id: int) -> bytes:
        return orjson.dumps({"op": op, "args": self._args(streams)})    # Bitget frames carry no id

    def snapshot_request(self, venue_symbol: str) -> RestRequest:
        return RestRequest("GET", "/api/v2/spot/market/orderbook", {"symbol": venue_symbol, "type": "step0",
                                                                     "limit": 150}, (("PUBLIC", 1),))

    def parse_snapshot(self, body: bytes) -> BookSnapshot:
        try:
            d = orjson.loads(body)["data"]
            levels = book_levels(d["bids"], d["asks"])
            return BookSnapshot(0, *levels, int(d.get("ts", 0)) * 1_000_000)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError, FixedPointError) as exc:
            raise VenueMessageError(f"unreadable Bitget orderbook: {exc}") from None

    def parse_market_message(self, obj: Any, ts_recv_ns: int
                             ) -> TradeEvent | BboEvent | ControlEvent | list[TradeEvent] | None:
        if not isinstance(obj, dict):
            raise VenueMessageError("Bitget message is not a JSON object")
        try:
            ev = obj.get("event")
            if ev == "error":
                return ControlEvent("error", f"{obj.get('code')}: {obj.get('msg')}")
            if ev in ("subscribe", "unsubscribe"):
                return ControlEvent("ack", f"{ev} {obj.get('arg')}")
            arg = obj.get("arg") or {}
            if arg.get("channel") == "trade" and obj.get("action") == "update":
                trades = [TradeEvent(arg["instId"], parse_px(t["price"]), parse_qty(t["size"]),
                                     Side.BUY if t["side"] == "buy" else Side.SELL, int(t["tradeId"]),
                                     int(t["ts"]) * 1_000_000, ts_recv_ns) for t in obj["data"]]
                return trade_records(trades)
        except (KeyError, TypeError, ValueError, IndexError, FixedPointError) as exc:
            raise VenueMessageError(f"unreadable Bitget message: {exc}") from None
        return None
