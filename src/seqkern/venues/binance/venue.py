"""Binance spot and USD-M as DepthStreamVenue declarations (URLs, frames, rules, weights, parsers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from seqkern._wire import FORMAT_BINANCE, FORMAT_BINANCE_USDM
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
from seqkern.venues.binance import book, constants, parsing


def binance_symbol(symbol: str) -> str:
    """Canonical "BTC-USDT" (or already "BTCUSDT") to Binance's "BTCUSDT"."""
    s = symbol.strip().upper().replace("-", "").replace("/", "")
    if not s.isalnum() or not (5 <= len(s) <= 20):
        raise UnknownSymbol(f"not a Binance symbol: {symbol!r}")
    return s


class BinanceSpot(DepthStreamVenue):
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

    def venue_symbol(self, symbol: str) -> str:
        return binance_symbol(symbol)

    def instruments_request(self) -> RestRequest:
        path = "/fapi/v1/exchangeInfo" if self.instrument_type is InstrumentType.PERP else "/api/v3/exchangeInfo"
        return RestRequest("GET", path, {}, self.rest_cost(path))

    def parse_instruments(self, body: bytes) -> dict[str, InstrumentInfo]:
        return parsing.parse_exchange_info(body)

    def market_streams(self, venue_symbol: str) -> list[str]:
        s = venue_symbol.lower()
        return [f"{s}{self.depth_suffix}", f"{s}@bookTicker", f"{s}@trade"]

    def market_ws_url(self, streams: Sequence[str]) -> str:
        # combined endpoint with no streams in the URL; streams come by SUBSCRIBE frames
        return f"{self.endpoints.market_ws}/stream"

    def subscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        n = self.limits.args_per_request
        return [orjson.dumps({"method": "SUBSCRIBE", "params": list(streams[i:i + n]), "id": req_id + k})
                for k, i in enumerate(range(0, len(streams), n))]

    def unsubscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        n = self.limits.args_per_request
        return [orjson.dumps({"method": "UNSUBSCRIBE", "params": list(streams[i:i + n]), "id": req_id + k})
                for k, i in enumerate(range(0, len(streams), n))]

    def snapshot_request(self, venue_symbol: str) -> RestRequest:
        return RestRequest("GET", "/api/v3/depth", {"symbol": venue_symbol, "limit": self.snapshot_limit},
                           (("REQUEST_WEIGHT", constants.spot_depth_weight(self.snapshot_limit)),))

    def parse_snapshot(self, body: bytes) -> BookSnapshot:
        return parsing.parse_depth_snapshot(body)

    def first_event_fits(self, snapshot_id: int, first_id: int, final_id: int) -> bool:
        return book.spot_first_event_fits(snapshot_id, first_id, final_id)

    def event_is_stale(self, snapshot_id: int, final_id: int) -> bool:
        return book.spot_event_is_stale(snapshot_id, final_id)

    def parse_market_message(self, obj: Any, ts_recv_ns: int) -> TradeEvent | BboEvent | ControlEvent | None:
        return parsing.parse_market_message(obj, ts_recv_ns)

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

    def first_event_fits(self, snapshot_id: int, first_id: int, final_id: int) -> bool:
        return book.usdm_first_event_fits(snapshot_id, first_id, final_id)

    def event_is_stale(self, snapshot_id: int, final_id: int) -> bool:
        return book.usdm_event_is_stale(snapshot_id, final_id)
