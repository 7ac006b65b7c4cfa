"""The seqkern SDK: ``Client`` (asyncio) and ``SyncClient`` over a CC's HTTP API and stream."""

from seqkern.sdk.client import Client, SyncClient
from seqkern.venues import (
    VENUE_BINANCE,
    VENUE_BITGET,
    VENUE_BITMART,
    VENUE_BYBIT,
    VENUE_COINBASE,
    VENUE_CRYPTOCOM,
    VENUE_DEX,
    VENUE_DEX_ARB,
    VENUE_DEX_BASE,
    VENUE_DEX_ETH,
    VENUE_DEX_OP,
    VENUE_DEX_POLY,
    VENUE_DEX_SOL,
    VENUE_HYPERLIQUID,
    VENUE_KALSHI,
    VENUE_KRAKEN,
    VENUE_OKX,
    VENUE_POLYMARKET,
    VENUE_UNKNOWN,
    is_cex,
    is_dex,
    is_prediction,
)
from seqkern.sdk.results import (
    ApiError,
    BatchResult,
    Edge,
    Fill,
    Order,
    Pair,
    Preview,
    Quote,
    RouteLeg,
    StreamEvent,
    VenueListing,
    VenueQuote,
)

__all__ = [
    "ApiError", "BatchResult", "Client", "Edge", "Fill", "Order", "Pair", "Preview", "Quote",
    "RouteLeg", "StreamEvent", "SyncClient", "VenueListing", "VenueQuote",
    "VENUE_BINANCE", "VENUE_BITGET", "VENUE_BITMART", "VENUE_BYBIT", "VENUE_COINBASE",
    "VENUE_CRYPTOCOM", "VENUE_DEX", "VENUE_DEX_ARB", "VENUE_DEX_BASE", "VENUE_DEX_ETH",
    "VENUE_DEX_OP", "VENUE_DEX_POLY", "VENUE_DEX_SOL", "VENUE_HYPERLIQUID", "VENUE_KALSHI",
    "VENUE_KRAKEN", "VENUE_OKX", "VENUE_POLYMARKET", "VENUE_UNKNOWN", "is_cex", "is_dex",
    "is_prediction",
]  # fmt: skip
