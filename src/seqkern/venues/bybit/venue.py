"""Bybit spot and linear as DepthStreamVenue declarations (URLs, frames, rules, weights, parsers)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from seqkern._wire import FORMAT_BYBIT
from seqkern.venues.base import (
    InstrumentType,
    OpFrameVenue,
    RestRequest,
    ResyncMethod,
    VenueEndpoints,
)
from seqkern.venues.bybit import book, constants, parsing
from seqkern.venues.symbols import joined_symbol


def bybit_symbol(symbol: str) -> str:
    """Canonical "BTC-USDT" (or already "BTCUSDT") to Bybit's "BTCUSDT" (spot and linear alike)."""
    return joined_symbol(symbol, drop="-/", max_len=25, what="Bybit symbol")


class BybitSpot(OpFrameVenue):
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

    venue_symbol = staticmethod(bybit_symbol)

    def instruments_request(self) -> RestRequest:
        return RestRequest("GET", "/v5/market/instruments-info", {"category": self.category}, (("IP", 1),))

    parse_instruments = staticmethod(parsing.parse_instruments)

    def market_streams(self, venue_symbol: str) -> list[str]:
        return [f"orderbook.{constants.DEPTH}.{venue_symbol}", f"publicTrade.{venue_symbol}"]

    def market_ws_url(self, streams: Sequence[str]) -> str:
        return f"{self.endpoints.market_ws}/v5/public/{self.category}"

    def op_frame(self, op: str, streams: list[str], req_id: int) -> bytes:
        return orjson.dumps({"req_id": str(req_id), "op": op, "args": streams})

    def snapshot_request(self, venue_symbol: str) -> RestRequest:
        return RestRequest("GET", "/v5/market/orderbook",
                           {"category": self.category, "symbol": venue_symbol, "limit": self.snapshot_limit},
                           (("IP", 1),))

    parse_snapshot = staticmethod(parsing.parse_orderbook_snapshot)
    first_event_fits = staticmethod(book.first_event_fits)
    event_is_stale = staticmethod(book.event_is_stale)
    parse_market_message = staticmethod(parsing.parse_market_message)

    def rest_cost(self, path: str) -> tuple[tuple[str, int], ...]:
        return (("IP", 1),)


class BybitLinear(BybitSpot):
    name = "bybit-perp"
    instrument_type = InstrumentType.PERP
    category = "linear"
    limits = constants.LINEAR_LIMITS
    snapshot_limit = constants.SNAPSHOT_LIMIT_LINEAR
    batch_max = constants.LINEAR_BATCH_MAX
