"""OKX book rules: seqId/prevSeqId chaining (checked in C), legacy CRC32 checksum, resubscribe.

A snapshot has prevSeqId = -1 and replaces the book. Each update's prevSeqId must equal the last
applied seqId; seqId may equal prevSeqId (idle keepalive, empty update) or be lower (sequence
reset after maintenance). Any other mismatch is a gap: unsubscribe + subscribe for a new snapshot.
The checksum field is always 0 since 2026-06-23; a non-zero checksum (older recordings, the
simulator's legacy mode) is verified over the top 25 levels of the venue's own strings.
"""

from __future__ import annotations

from seqkern._wire import RULE_PREV_SEQ, okx_checksum_text

SEQUENCE_RULE = RULE_PREV_SEQ


def checksum_string(bids: list[tuple[str, str]], asks: list[tuple[str, str]], depth: int = 25) -> str:
    """The string OKX checksums: bid1px:bid1sz:ask1px:ask1sz:... (missing entries skipped)."""
    parts: list[str] = []
    for i in range(depth):
        if i < len(bids):
            parts.extend(bids[i])
        if i < len(asks):
            parts.extend(asks[i])
    return ":".join(parts)


def checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]], depth: int = 25) -> int:
    """Signed CRC32 of the interleaved top levels (computed in C; used by the simulator and tests)."""
    return okx_checksum_text(checksum_string(bids, asks, depth))


def snapshot_is_stale(snapshot_id: int, final_id: int) -> bool:
    """REST books carry no seqId: every stream event is kept (RESUBSCRIBE is the real procedure)."""
    return snapshot_id >= 0 and final_id <= snapshot_id


def first_event_fits(snapshot_id: int, first_id: int, final_id: int) -> bool:
    """With a seqId'd snapshot, the first kept update must chain to it; otherwise none can."""
    return snapshot_id >= 0 and first_id > snapshot_id
