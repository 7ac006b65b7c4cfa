"""The seqkern SDK: ``Client`` (asyncio) and ``SyncClient`` over a CC's HTTP API and stream."""

from seqkern.sdk.client import Client, SyncClient
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
]  # fmt: skip
