"""Per-symbol book sync state machine: subscribe, buffer, snapshot, replay, live, invalid, resync.

Two venue procedures: REST snapshot + buffered replay (``ResyncMethod.SNAPSHOT``, Binance), and
in-stream snapshots (``ResyncMethod.RESUBSCRIBE``, OKX and Bybit): the stream's own snapshot
message replaces the book, deltas before it are dropped, and a fault means resubscribing.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from seqkern._book import L2Book
from seqkern._wire import APPLIED, BAD_LEVEL, CHECKSUM, GAP, STALE, DepthDecoder, RawLevels
from seqkern.venues.base import BookSnapshot, CexVenue, ResyncMethod

log = logging.getLogger("seqkern.edge.book")


class SyncState(enum.Enum):
    BUFFERING = "BUFFERING"   # subscribed, holding depth events until the snapshot arrives
    LIVE = "LIVE"             # snapshot + replay done; venue rule checked on every message
    INVALID = "INVALID"       # known wrong (gap, bad level, checksum): not published, resync pending


class Step(enum.Enum):
    """What the runner must do after feeding one depth message."""

    PUBLISH = "PUBLISH"       # book changed and is valid: publish the delta / BBO
    BUFFERED = "BUFFERED"     # held for replay after the snapshot
    IGNORED = "IGNORED"       # older than the book
    RESYNC = "RESYNC"         # book invalidated: fetch a new snapshot (or resubscribe)
    SNAPSHOT = "SNAPSHOT"     # an in-stream snapshot replaced the book: publish it whole, now LIVE


@dataclass
class SyncCounters:
    gaps: int = 0
    bad_levels: int = 0
    resyncs: int = 0
    snapshots: int = 0
    snapshot_retries: int = 0
    buffer_overflows: int = 0
    stale: int = 0
    checksum_failures: int = 0
    waiting: int = 0          # deltas dropped while waiting for an in-stream snapshot


_LIVE = SyncState.LIVE
_PUBLISH = Step.PUBLISH


class BookSync:
    """The sync machine of one symbol. The runner owns I/O; this class owns the rule.

    Depth messages arrive already scanned by the connection's ``DepthDecoder``; while buffering
    their raw bytes are kept and re-scanned on replay (only between a snapshot and live).
    """

    def __init__(self, venue: CexVenue, venue_symbol: str, book: L2Book, decoder: DepthDecoder) -> None:
        self.venue = venue
        self.venue_symbol = venue_symbol
        self.book = book
        self.decoder = decoder
        self.state = SyncState.BUFFERING
        self.rule = venue.sequence_rule   # seqkern._wire RULE_* checked on every live message
        self.counters = SyncCounters()
        self._buffer: list[bytes] = []
        self._first_buffered_id = -1
        self.last_reason = ""
        self.in_stream = venue.resync is ResyncMethod.RESUBSCRIBE
        # the venue's own level strings, for checksums computed over them (OKX legacy)
        self.raw: RawLevels | None = RawLevels() if venue.has_checksum else None

    # ---- transitions ---------------------------------------------------------------------

    def restart(self, reason: str) -> None:
        """Drop the book and start buffering again (a reconnect or a detected fault)."""
        self.book.clear()
        if self.raw is not None:
            self.raw.clear()
        self._buffer.clear()
        self._first_buffered_id = -1
        self.state = SyncState.BUFFERING
        self.last_reason = reason

    def invalidate(self, reason: str) -> Step:
        self.book.invalidate()
        self.counters.resyncs += 1
        log.warning("book %s %s invalid: %s; resyncing", self.venue.name, self.venue_symbol, reason)
        self.state = SyncState.INVALID
        self.restart(reason)
        self.state = SyncState.INVALID
        return Step.RESYNC

    def on_depth(self, raw: bytes | bytearray | memoryview) -> Step:
        """Feed a depth message the decoder has just scanned (``raw`` is its bytes)."""
        dec = self.decoder
        if self.in_stream and dec.is_snapshot:
            return self._on_stream_snapshot()
        if self.state is _LIVE:
            rc = dec.apply_checked(self.book, self.rule, self.raw)
            if rc == APPLIED:
                return _PUBLISH
            return self.on_live_result(rc)
        if self.in_stream:
            # deltas older than the snapshot that the (re)subscription will send: nothing to keep
            self.counters.waiting += 1
            return Step.IGNORED
        # BUFFERING or INVALID (waiting for a snapshot): keep the bytes
        if len(self._buffer) >= self.venue.max_buffered_events:
            self.counters.buffer_overflows += 1
            self._buffer.clear()
            self._first_buffered_id = -1
        if not self._buffer:
            self._first_buffered_id = dec.first_id
        self._buffer.append(bytes(raw))
        return Step.BUFFERED

    def on_live_result(self, rc: int) -> Step:
        """What a live message that was not APPLIED means (also the runner's inlined live path)."""
        if rc == STALE:
            self.counters.stale += 1
            return Step.IGNORED
        dec = self.decoder
        if rc == GAP:
            self.counters.gaps += 1
            return self.invalidate(
                f"sequence gap: last={self.book.last_update_id} U={dec.first_id} "
                f"u={dec.final_id} pu={dec.prev_final_id}")
        if rc == CHECKSUM:
            self.counters.checksum_failures += 1
            return self.invalidate(f"checksum mismatch at update {dec.final_id} (venue {dec.checksum})")
        self.counters.bad_levels += 1
        return self.invalidate("depth level does not fit the book")

    def _on_stream_snapshot(self) -> Step:
        """An OKX/Bybit snapshot message (or Bybit u == 1 restart): replace the book, go LIVE."""
        self.counters.snapshots += 1
        rc = self.decoder.apply_snapshot(self.book, self.raw)
        if rc == APPLIED:
            self._buffer.clear()
            self.state = SyncState.LIVE
            return Step.SNAPSHOT
        if rc == CHECKSUM:
            self.counters.checksum_failures += 1
            return self.invalidate(f"snapshot checksum mismatch (venue {self.decoder.checksum})")
        self.counters.bad_levels += 1
        return self.invalidate("snapshot level does not fit the book")

    def on_snapshot(self, snap: BookSnapshot) -> bool:
        """Apply a REST snapshot and replay the buffer. True when LIVE; False: fetch again."""
        self.counters.snapshots += 1
        self.book.apply_snapshot(snap.bid_px, snap.bid_qty, snap.ask_px, snap.ask_qty,
                                 snap.update_id, snap.ts_event_ns)
        dec = self.decoder
        first = True
        for raw in self._buffer:
            dec.scan(raw)
            if first and self.venue.event_is_stale(snap.update_id, dec.final_id):
                continue
            if first:
                if not self.venue.first_event_fits(snap.update_id, dec.first_id, dec.final_id):
                    self.counters.snapshot_retries += 1
                    # snapshot older than the buffered stream (or a hole): keep buffering, refetch
                    self.book.invalidate()
                    return False
                rc = dec.apply(self.book)
                first = False
            else:
                rc = dec.apply_checked(self.book, self.venue.sequence_rule)
            if rc == GAP:
                self.counters.gaps += 1
                self.book.invalidate()
                self._buffer.clear()
                self._first_buffered_id = -1
                self.state = SyncState.BUFFERING
                return False
            if rc == BAD_LEVEL:
                self.counters.bad_levels += 1
                self.book.invalidate()
                self._buffer.clear()
                self.state = SyncState.BUFFERING
                return False
        self._buffer.clear()
        self._first_buffered_id = -1
        self.book.valid = True
        self.state = SyncState.LIVE
        return True

    @property
    def buffered(self) -> int:
        return len(self._buffer)
