"""Bybit book rules: snapshot resets, deltas upsert (size 0 deletes), u == 1 overwrites, u chain.

Each orderbook.{depth} delta's ``u`` must be the previous u + 1 (older ones ignored); a gap means
resubscribe, which makes Bybit send a fresh snapshot. Bybit documents the u+1 rule for its
full-depth book; applying it to orderbook.{depth} is the safe reading (cex.md 5.3). ``seq`` is the
cross sequence (monotonic, not contiguous). Checked in C: the scanner reports U = u, so Binance
spot's rule (seqkern._wire RULE_FIRST_LAST: ignore u <= last, gap if U > last + 1) is exactly u+1.
"""

from __future__ import annotations

from seqkern._wire import RULE_FIRST_LAST

SEQUENCE_RULE = RULE_FIRST_LAST


def event_is_stale(snapshot_id: int, final_id: int) -> bool:
    return final_id <= snapshot_id


def first_event_fits(snapshot_id: int, first_id: int, final_id: int) -> bool:
    """After a REST snapshot (its u matches the 1000-level stream) the next delta is u + 1."""
    return first_id == snapshot_id + 1
