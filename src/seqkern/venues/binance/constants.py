"""Binance constants: endpoints, stream names, keepalive, limits and published rate-limit weights.

Sources: binance-spot-api-docs (web-socket-streams.md, rest-api.md, web-socket-api.md,
user-data-stream.md) and the USD-M futures docs (market streams split of 2026-04-23, modify and
batch orders); see docs/venues-binance.md.
"""

from __future__ import annotations

from seqkern.venues.base import PingRule, RateLimitPool, SubscriptionLimits, VenueEndpoints
from seqkern.venues.catalog import VENUE_BINANCE

VENUE_ID_BINANCE = VENUE_BINANCE   # spot and USD-M share one VenueId

SPOT_FEES_BPS = (10.0, 10.0)   # maker, taker base tier (cex.md 2.5)
USDM_FEES_BPS = (2.0, 5.0)     # (cex.md 2.7)

SPOT_ENDPOINTS = VenueEndpoints(
    market_ws="wss://stream.binance.com:9443",
    trade_ws="wss://ws-api.binance.com:443/ws-api/v3",
    rest="https://api.binance.com",
)
USDM_ENDPOINTS = VenueEndpoints(
    market_ws="wss://fstream.binance.com",          # + /public (depth, bookTicker), /market (trades)
    trade_ws="wss://ws-fapi.binance.com/ws-fapi/v1",
    rest="https://fapi.binance.com",
    private_ws="wss://fstream.binance.com",         # + /private/ws?listenKey=...
)

# keepalive: spot pings every 20 s, pong within 60 s; USD-M pings every 3 min, pong within 10 min
SPOT_PING = PingRule(server_ping_s=20.0, pong_timeout_s=60.0)
USDM_PING = PingRule(server_ping_s=180.0, pong_timeout_s=600.0)

SPOT_LIMITS = SubscriptionLimits(streams_per_connection=1024, messages_per_second=5, args_per_request=200)
USDM_LIMITS = SubscriptionLimits(streams_per_connection=200, messages_per_second=10, args_per_request=200)

# REST pools (exchangeInfo.rateLimits defaults)
SPOT_RATE_LIMITS = (
    RateLimitPool("REQUEST_WEIGHT", 6000, 60.0),
    RateLimitPool("ORDERS", 50, 10.0),
)
USDM_RATE_LIMITS = (
    RateLimitPool("REQUEST_WEIGHT", 2400, 60.0),
    RateLimitPool("ORDERS", 300, 10.0),
)

SPOT_SNAPSHOT_LIMIT = 1000
USDM_SNAPSHOT_LIMIT = 1000
USDM_BATCH_MAX = 5          # POST /fapi/v1/batchOrders: at most 5 orders


def spot_depth_weight(limit: int) -> int:
    """GET /api/v3/depth weight by limit: 5 (1-100), 25 (101-500), 50 (501-1000), 250 (1001-5000)."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def usdm_depth_weight(limit: int) -> int:
    """GET /fapi/v1/depth weight by limit: 2 (5-50), 5 (100), 10 (500), 20 (1000)."""
    if limit <= 50:
        return 2
    if limit <= 100:
        return 5
    if limit <= 500:
        return 10
    return 20


SPOT_WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {
    "/api/v3/exchangeInfo": (("REQUEST_WEIGHT", 20),),
    "/api/v3/time": (("REQUEST_WEIGHT", 1),),
    "/api/v3/order": (("REQUEST_WEIGHT", 1), ("ORDERS", 1)),
}
# order queries (reconciliation): WS API order.status weight 4 (spot) / 1 (USD-M); spot myTrades
# weight 5 with orderId (20 without); USD-M GET /fapi/v1/userTrades weight 5
SPOT_QUERY_WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {
    "order.status": (("REQUEST_WEIGHT", 4),),
    "myTrades": (("REQUEST_WEIGHT", 5),),
}
USDM_QUERY_WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {
    "order.status": (("REQUEST_WEIGHT", 1),),
    "/fapi/v1/userTrades": (("REQUEST_WEIGHT", 5),),
}
USDM_WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {
    "/fapi/v1/exchangeInfo": (("REQUEST_WEIGHT", 1),),
    "/fapi/v1/listenKey": (("REQUEST_WEIGHT", 1),),
    "/fapi/v1/order": (("REQUEST_WEIGHT", 1), ("ORDERS", 1)),
    "/fapi/v1/batchOrders": (("REQUEST_WEIGHT", 5), ("ORDERS", 5)),
}

# error codes (errors.md)
ERR_UNKNOWN = -1000
ERR_TOO_MANY_REQUESTS = -1003
ERR_UNSUPPORTED = -1020
ERR_INVALID_MESSAGE = -1013      # filter failures
ERR_TIMESTAMP = -1021
ERR_BAD_SIGNATURE = -1022
ERR_MANDATORY_PARAM = -1102
ERR_BAD_PRECISION = -1111
ERR_INVALID_TIF = -1115
ERR_INVALID_ORDER_TYPE = -1116
ERR_INVALID_SIDE = -1117
ERR_BAD_SYMBOL = -1121
ERR_INVALID_PARAMETER = -1130
ERR_NEW_ORDER_REJECTED = -2010
ERR_CANCEL_REJECTED = -2011
ERR_NO_SUCH_ORDER = -2013
ERR_BAD_API_KEY = -2014
ERR_REJECTED_API_KEY = -2015
ERR_ORDER_WOULD_TRIGGER = -2021   # GTX / LIMIT_MAKER would take (USD-M code -5022 too)
