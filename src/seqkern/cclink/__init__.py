"""CC-LINK transport: edge and CC ends over TCP or Unix sockets, capture and replay.

The wire format (frames, encoder, decoder) is the compiled module seqkern._cclink; this package
runs it under asyncio (uvloop in production). See docs/cclink.md.
"""

from __future__ import annotations

from seqkern._cclink import (
    BATCH_DTYPE,
    Decoder,
    Encoder,
    Frame,
    decode_batch,
    decode_frames,
    now_ns,
)
from seqkern.cclink.capture import CaptureReader, CaptureWriter, ReplayStats, publish, replay
from seqkern.cclink.client import EdgeLinkClient, EdgeProtocol
from seqkern.cclink.link import LinkConfig, LinkProtocol, LinkStats
from seqkern.cclink.server import CcLinkServer, EdgeSession
from seqkern.cclink.wire import (
    AmendMode,
    BatchMode,
    Flag,
    InstrumentType,
    Kind,
    LinkErrorCode,
    Liquidity,
    OrderFlag,
    OrderStatus,
    OrderType,
    RedeemMode,
    Region,
    Role,
    Side,
    TimeInForce,
    fee_bps_e4,
)

__all__ = [
    "BATCH_DTYPE",
    "AmendMode",
    "BatchMode",
    "CaptureReader",
    "CaptureWriter",
    "CcLinkServer",
    "Decoder",
    "EdgeLinkClient",
    "EdgeProtocol",
    "EdgeSession",
    "Encoder",
    "Flag",
    "Frame",
    "InstrumentType",
    "Kind",
    "LinkConfig",
    "LinkErrorCode",
    "LinkProtocol",
    "LinkStats",
    "Liquidity",
    "OrderFlag",
    "OrderStatus",
    "OrderType",
    "RedeemMode",
    "Region",
    "ReplayStats",
    "Role",
    "Side",
    "TimeInForce",
    "decode_batch",
    "decode_frames",
    "fee_bps_e4",
    "now_ns",
    "publish",
    "replay",
]
