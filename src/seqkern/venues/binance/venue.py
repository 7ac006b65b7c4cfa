"""Binance spot and USD-M as DepthStreamVenue declarations (URLs, frames, rules, weights, parsers)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from seqkern._wire import FORMAT_BINANCE, FORMAT_BINANCE_USDM
from seqkern.venues.base import (
    InstrumentType,
    OpFrameVenue,
    RestRequest,
    ResyncMethod,
    VenueEndpoints,
)
from seqkern.venues.binance import book, constants, parsing
from seqkern.venues.symbols import joined_symbol


def binance_symbol(symbol: str) -> str:
    """Canonical "BTC-USDT" (or already "BTCUSDT") to Binance's "BTCUSDT"."""
    return joined_symbol(symbol, drop="-/", max_len=20, what="Binance symbol")


class BinanceSpot(OpFrameVenue):
    name = "binance"
    venue_id = constants.VENUE_ID_BINANCE
    instrument_type = InstrumentType.SPOT
    depth_format = FORMAT_BINANCE
    sequence_rule = book.SPOT_RULE
    resync = ResyncMethod.SNAPSHOT
    ping = constants.SPOT_PING
    limits = constants.SPOT_LIMITS
    rate_limits = constants.SPOT_RATE_LIMITS
    snapshot_limit = constants.SPOT_SNAPSHOT_LIMIT
    depth_suffix = "@depth@100ms"
    weights = constants.SPOT_WEIGHTS
    fees_bps = constants.SPOT_FEES_BPS

    @classmethod
    def default_endpoints(cls) -> VenueEndpoints:
        return constants.SPOT_ENDPOINTS

    venue_symbol = staticmethod(binance_symbol)

    def instruments_request(self) -> RestRequest:
        path = "/fapi/v1/exchangeInfo" if self.instrument_type is InstrumentType.PERP else "/api/v3/exchangeInfo"
        return RestRequest("GET", path, {}, self.rest_cost(path))

    parse_instruments = staticmethod(parsing.parse_exchange_info)

    def market_streams(self, venue_symbol: str) -> list[str]:
        s = venue_symbol.lower()
        return [f"{s}{self.depth_suffix}", f"{s}@bookTicker", f"{s}@trade"]

    def market_ws_url(self, streams: Sequence[str]) -> str:
        # combined endpoint with no streams in the URL; streams come by SUBSCRIBE frames
        return f"{self.endpoints.market_ws}/stream"

    def op_frame(self, op: str, streams: list[str], req_id: int) -> bytes:
        return orjson.dumps({"method": op.upper(), "params": streams, "id": req_id})

    def snapshot_request(self, venue_symbol: str) -> RestRequest:
        return RestRequest("GET", "/api/v3/depth", {"symbol": venue_symbol, "limit": self.snapshot_limit},
                           (("REQUEST_WEIGHT", constants.spot_depth_weight(self.snapshot_limit)),))

    parse_snapshot = staticmethod(parsing.parse_depth_snapshot)
    first_event_fits = staticmethod(book.spot_first_event_fits)
    event_is_stale = staticmethod(book.spot_event_is_stale)
    parse_market_message = staticmethod(parsing.parse_market_message)

    def rest_cost(self, path: str) -> tuple[tuple[str, int], ...]:
        return self.weights.get(path, (("REQUEST_WEIGHT", 1),))


class BinanceUsdm(BinanceSpot):
    name = "binance-perp"
    instrument_type = InstrumentType.PERP
    depth_format = FORMAT_BINANCE_USDM
    sequence_rule = book.USDM_RULE
    ping = constants.USDM_PING
    limits = constants.USDM_LIMITS
    rate_limits = constants.USDM_RATE_LIMITS
    snapshot_limit = constants.USDM_SNAPSHOT_LIMIT
    weights = constants.USDM_WEIGHTS
    fees_bps = constants.USDM_FEES_BPS

    @classmethod
    def default_endpoints(cls) -> VenueEndpoints:
        return constants.USDM_ENDPOINTS

    def market_streams(self, venue_symbol: str) -> list[str]:
        s = venue_symbol.lower()
        # depth and bookTicker live under /public, trades under /market (split of 2026-04-23)
        return [f"{s}{self.depth_suffix}", f"{s}@bookTicker", f"{s}@aggTrade"]

    def market_ws_url(self, streams: Sequence[str]) -> str:
        path = "/market" if streams and all(s.endswith("@aggTrade") for s in streams) else "/public"
        return f"{self.endpoints.market_ws}{path}/stream"

    def shard_streams(self, streams: Sequence[str]) -> list[list[str]]:
        # /public and /market are different connections; shard each within the per-connection cap
        public = [s for s in streams if not s.endswith("@aggTrade")]
        market = [s for s in streams if s.endswith("@aggTrade")]
        return super().shard_streams(public) + super().shard_streams(market)

    def snapshot_request(self, venue_symbol: str) -> RestRequest:
        return RestRequest("GET", "/fapi/v1/depth", {"symbol": venue_symbol, "limit": self.snapshot_limit},
                           (("REQUEST_WEIGHT", constants.usdm_depth_weight(self.snapshot_limit)),))

    first_event_fits = staticmethod(book.usdm_first_event_fits)
    event_is_stale = staticmethod(book.usdm_event_is_stale)
