"""Bybit spot and linear as DepthStreamVenue declarations (URLs, frames, rules, weights, parsers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from seqkern._wire import FORMAT_BYBIT
from seqkern.errors import UnknownSymbol
from seqkern.venues.base import (
    BboEvent,
    BookSnapshot,
    ControlEvent,
    DepthStreamVenue,
    InstrumentInfo,
    InstrumentType,
    RestRequest,
    ResyncMethod,
    TradeEvent,
    VenueEndpoints,
)
from seqkern.venues.bybit import book, constants, parsing


def bybit_symbol(symbol: str) -> str:
    """Canonical "BTC-USDT" (or already "BTCUSDT") to Bybit's "BTCUSDT" (spot and linear alike)."""
    s = symbol.strip().upper().replace("-", "").replace("/", "")
    if not s.isalnum() or not (5 <= len(s) <= 25):
        raise UnknownSymbol(f"not a Bybit symbol: {symbol!r}")
    return s


class BybitSpot(DepthStreamVenue):
    name = "bybit"
    venue_id = constants.VENUE_ID_BYBIT
    instrument_type = InstrumentType.SPOT
    category = "spot"
    depth_format = FORMAT_BYBIT
    sequence_rule = book.SEQUENCE_RULE
    resync = ResyncMethod.RESUBSCRIBE
    has_checksum = False
    ping = constants.PING
    limits = constants.SPOT_LIMITS
    rate_limits = constants.RATE_LIMITS
    snapshot_limit = constants.SNAPSHOT_LIMIT_SPOT
    batch_max = constants.SPOT_BATCH_MAX

    @classmethod
    def default_endpoints(cls) -> VenueEndpoints:
        return constants.ENDPOINTS

    def venue_symbol(self, symbol: str) -> str:
        return bybit_symbol(symbol)

    def instruments_request(self) -> RestRequest:
        return RestRequest("GET", "/v5/market/instruments-info", {"category": self.category}, (("IP", 1),))

    def parse_instruments(self, body: bytes) -> dict[str, InstrumentInfo]:
        return parsing.parse_instruments(body)

    def market_streams(self, venue_symbol: str) -> list[str]:
        return [f"orderbook.{constants.DEPTH}.{venue_symbol}", f"publicTrade.{venue_symbol}"]

    def market_ws_url(self, streams: Sequence[str]) -> str:
        return f"{self.endpoints.market_ws}/v5/public/{self.category}"

    def _op_frames(self, op: str, streams: Sequence[str], req_id: int) -> list[bytes]:
        n = self.limits.args_per_request
        return [orjson.dumps({"req_id": str(req_id + k), "op": op, "args": list(streams[i:i + n])})
                for k, i in enumerate(range(0, len(streams), n))]

    def subscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        return self._op_frames("subscribe", streams, req_id)

    def unsubscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        # a new subscription starts with a snapshot: resync = unsubscribe + subscribe
        return self._op_frames("unsubscribe", streams, req_id)

    def snapshot_request(self, venue_symbol: str) -> RestRequest:
        return RestRequest("GET", "/v5/market/orderbook",
                           {"category": self.category, "symbol": venue_symbol, "limit": self.snapshot_limit},
                           (("IP", 1),))

    def parse_snapshot(self, body: bytes) -> BookSnapshot:
        return parsing.parse_orderbook_snapshot(body)

    def first_event_fits(self, snapshot_id: int, first_id: int, final_id: int) -> bool:
        return book.first_event_fits(snapshot_id, first_id, final_id)

    def event_is_stale(self, snapshot_id: int, final_id: int) -> bool:
        return book.event_is_stale(snapshot_id, final_id)

    def parse_market_message(self, obj: Any, ts_recv_ns: int) -> TradeEvent | BboEvent | ControlEvent | None:
        return parsing.parse_market_message(obj, ts_recv_ns)

    def rest_cost(self, path: str) -> tuple[tuple[str, int], ...]:
        return (("IP", 1),)


class BybitLinear(BybitSpot):
    name = "bybit-perp"
    instrument_type = InstrumentType.PERP
    category = "linear"
    limits = constants.LINEAR_LIMITS
    snapshot_limit = constants.SNAPSHOT_LIMIT_LINEAR
    batch_max = constants.LINEAR_BATCH_MAX
