"""One CC-LINK connection as an asyncio protocol: framing, heartbeats, RTT and backpressure."""

from __future__ import annotations

import abc
import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seqkern import _cclink as _c
from seqkern.cclink.wire import Kind, LinkErrorCode
from seqkern.errors import CclinkError, LinkClosed, LinkRefused

log = logging.getLogger("seqkern.cclink")

Handler = Callable[["LinkProtocol", Any], Any]
SnapshotSource = Callable[[int], "tuple[int, np.ndarray, np.ndarray] | None"]


@dataclass(frozen=True)
class LinkConfig:
    """Timers and limits of a CC-LINK connection (both ends)."""

    heartbeat_s: float = 1.0      # send a HEARTBEAT when nothing else went out for this long
    dead_after_s: float = 5.0     # close the link when nothing came in for this long
    ping_s: float = 1.0           # PING period (RTT measurement)
    hello_timeout_s: float = 5.0  # the HELLO exchange must finish within this
    high_water: int = 1 << 20     # transport write-buffer bytes above which market data conflates
    low_water: int = 256 << 10    # ... and below which it flows again
    max_payload: int = _c.MAX_PAYLOAD_DEFAULT

    def __post_init__(self) -> None:
        if self.heartbeat_s <= 0 or self.dead_after_s <= self.heartbeat_s:
            raise ValueError("need 0 < heartbeat_s < dead_after_s")
        if not 0 <= self.low_water <= self.high_water:
            raise ValueError("need 0 <= low_water <= high_water")


@dataclass
class LinkStats:
    frames_in: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    writes: int = 0
    gaps: int = 0
    missing: int = 0
    pauses: int = 0
    conflated: int = 0          # market-data frames replaced by a newer one while paused
    snapshots_sent: int = 0     # L2 snapshots substituted for conflated deltas
    pings: int = 0
    pongs: int = 0
    handler_errors: int = 0     # exceptions raised by the owner's frame handlers (logged)
    unknown_symbol: int = 0     # frames naming a symbol id not bound by PAIR_SPEC (CC side)
    last_gap: tuple[int, int] | None = None
    errors_from_peer: list[tuple[int, str]] = field(default_factory=list)


def _future_done(fut: asyncio.Future) -> None:
    if not fut.cancelled():
        fut.exception()  # mark retrieved: a refused or dropped handshake is reported elsewhere


class LinkProtocol(asyncio.Protocol, metaclass=abc.ABCMeta):
    """The part of a CC-LINK connection both ends share.

    Frames are encoded into one Encoder buffer and written once per loop iteration, so a burst
    coalesces into one socket write. Incoming bytes go to the Decoder; each frame is dispatched
    through a table indexed by kind (link-control kinds are handled here, the rest go to the
    handlers given by the owner). Subclasses implement the HELLO exchange (`_on_open`,
    `_on_hello`, `_on_refusal`).

    Backpressure: when the transport's write buffer passes `high_water`, market data (BBO, L2,
    TRADE) is held back, latest per (kind, symbol) wins, until it drains below `low_water`;
    every other frame (orders, fills, balances, errors, control) is always written, in order.
    """

    def __init__(
        self,
        config: LinkConfig,
        handlers: dict[int, Handler],
        *,
        venue_slot: int = 0,
        version: int = _c.VERSION,
        capture: Any = None,
        stream_id: int = 0,
        snapshot_source: SnapshotSource | None = None,
    ) -> None:
        self.config = config
        self.encoder = _c.Encoder(venue_slot=venue_slot, version=version)
        self.decoder = _c.Decoder(max_payload=config.max_payload, version=version)
        self._held_encoder = _c.Encoder(version=version)
        self.handlers = handlers
        self.capture = capture
        self.stream_id = stream_id
        if capture is not None:
            self.decoder.start_capture(stream_id)
        self.snapshot_source = snapshot_source
        self.transport: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.peer: Any = None          # the peer's Hello frame once received
        self.ready = False
        self.closed_reason: str | None = None
        self.rtt_ns: int | None = None
        self.rtt_min_ns: int | None = None
        self.rtt_avg_ns: float | None = None
        self.stats = LinkStats()
        self._paused = False
        self._held: dict[tuple[int, int], bytes] = {}
        self._needs_snapshot: set[int] = set()
        self._flush_handle: asyncio.Handle | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._ping_id = 0
        self._opened = 0.0
        self._last_rx = 0.0
        self._last_tx = 0.0
        self._last_ping = 0.0
        self._table: list[Callable[[Any], Any]] = []
        self._interrupt = False
        self._closing = False
        self.handshake: asyncio.Future | None = None
        self.done: asyncio.Future | None = None

    # ---- asyncio.Protocol

    def connection_made(self, transport: Any) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike
        self.transport = transport
        self.loop = asyncio.get_running_loop()
        self.handshake = self.loop.create_future()
        self.handshake.add_done_callback(_future_done)
        self.done = self.loop.create_future()
        transport.set_write_buffer_limits(high=self.config.high_water, low=self.config.low_water)
        now = self.loop.time()
        self._opened = self._last_rx = self._last_tx = now
        self._build_table(ready=False)
        self._timer = self.loop.call_later(self._tick_s(), self._tick)
        self._on_open()

    def data_received(self, data: bytes) -> None:
        assert self.loop is not None
        self._last_rx = self.loop.time()
        self.stats.bytes_in += len(data)
        try:
            frames = self.decoder.feed(data)
        except CclinkError as exc:
            self._dispatch_all(exc.frames)
            self._capture_flush()
            self._protocol_error(exc)
            return
        self._capture_flush()
        self._dispatch_all(frames)

    def eof_received(self) -> bool:
        self.closed_reason = self.closed_reason or "peer closed the connection"
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = self._interrupt = True
        if self.closed_reason is None:
            self.closed_reason = f"connection lost: {exc}" if exc else "connection closed"
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self.ready = False
        if self.handshake is not None and not self.handshake.done():
            self.handshake.set_exception(LinkClosed(f"CC-LINK: {self.closed_reason}"))
        if self.capture is not None:
            self.capture.flush()
        self._on_closed()
        if self.done is not None and not self.done.done():
            self.done.set_result(self.closed_reason)

    def pause_writing(self) -> None:
        self._paused = True
        self.stats.pauses += 1

    def resume_writing(self) -> None:
        self._paused = False
        self._release_held()

    # ---- dispatch

    def _build_table(self, *, ready: bool) -> None:
        deliver = self._deliver if ready else self._not_ready
        table: list[Callable[[Any], Any]] = [self._not_ready] * (max(Kind) + 1)
        for kind in Kind:
            table[kind] = functools.partial(deliver, int(kind))
        table[Kind.HELLO] = self._on_hello
        table[Kind.ERROR] = self._on_error_frame
        table[Kind.HEARTBEAT] = self._on_heartbeat
        table[Kind.PING] = self._on_ping
        table[Kind.PONG] = self._on_pong
        if ready:
            for kind, handler in self.handlers.items():
                if kind not in (Kind.HELLO, Kind.ERROR, Kind.PING, Kind.PONG):
                    table[kind] = functools.partial(handler, self)
        self._table = table
        self._interrupt = True

    def _dispatch_all(self, frames: list) -> None:
        table = self._table
        self.stats.frames_in += len(frames)
        for f in frames:
            if f.gap:
                self._on_gap(f)
            try:
                table[f.kind](f)
            except Exception:
                # a failing handler is the owner's bug, not the peer's: keep the link
                self.stats.handler_errors += 1
                log.exception("CC-LINK handler for %s from %s failed", f.kind_name,
                              self.describe())
            if self._interrupt:  # set by close() and by the HELLO exchange (new table)
                self._interrupt = False
                if self._closing:
                    return
                table = self._table

    def _deliver(self, kind: int, frame: Any) -> None:
        handler = self.handlers.get(kind)
        if handler is not None:
            handler(self, frame)

    def _not_ready(self, kind: int, frame: Any = None) -> None:
        f = frame if frame is not None else kind
        self.send_error(
            LinkErrorCode.NOT_READY, f"{f.kind_name} before the HELLO exchange", f.kind, f.seq
        )
        self.close(f"peer sent {f.kind_name} before HELLO")

    def _on_heartbeat(self, frame: Any) -> None:
        handler = self.handlers.get(Kind.HEARTBEAT)
        if handler is not None and self.ready:
            handler(self, frame)

    def _on_ping(self, frame: Any) -> None:
        self.encoder.pong(frame.ping_id, frame.t_send_ns)
        self._kick()

    def _on_pong(self, frame: Any) -> None:
        rtt = _c.now_ns() - frame.t_ping_ns
        if rtt < 0:
            return
        self.stats.pongs += 1
        self.rtt_ns = rtt
        self.rtt_min_ns = rtt if self.rtt_min_ns is None else min(self.rtt_min_ns, rtt)
        self.rtt_avg_ns = rtt if self.rtt_avg_ns is None else 0.8 * self.rtt_avg_ns + 0.2 * rtt

    def _on_error_frame(self, frame: Any) -> None:
        self.stats.errors_from_peer.append((frame.code, frame.text))
        if not self.ready:
            self._on_refusal(frame)
            return
        log.warning("CC-LINK peer error %s: %s", frame.code, frame.text)
        handler = self.handlers.get(Kind.ERROR)
        if handler is not None:
            handler(self, frame)

    def _on_gap(self, frame: Any) -> None:
        self.stats.gaps += 1
        if frame.gap > 0:
            self.stats.missing += frame.gap
        self.stats.last_gap = (frame.seq - frame.gap, frame.seq)
        log.warning(
            "CC-LINK sequence gap on %s: expected %d, got %d",
            self.describe(),
            frame.seq - frame.gap,
            frame.seq,
        )

    # ---- hooks for the two ends

    @abc.abstractmethod
    def _on_open(self) -> None:
        """The transport is up: the edge sends its HELLO, the CC starts waiting for one."""

    @abc.abstractmethod
    def _on_hello(self, frame: Any) -> None:
        """The peer's HELLO: check it, answer or refuse."""

    @abc.abstractmethod
    def _on_refusal(self, frame: Any) -> None:
        """An ERROR frame before the HELLO exchange finished: the peer refused us."""

    def _on_closed(self) -> None:
        pass

    def describe(self) -> str:
        return self.peer.edge_id if self.peer is not None else "unidentified peer"

    def _handshake_done(self) -> None:
        self.ready = True
        self._build_table(ready=True)
        if self.handshake is not None and not self.handshake.done():
            self.handshake.set_result(self.peer)

    def _refuse(self, code: LinkErrorCode, text: str, frame: Any = None) -> None:
        self.send_error(code, text, frame.kind if frame is not None else 0,
                        frame.seq if frame is not None else 0)
        exc = LinkRefused(f"CC-LINK refused: {text}", code=f"CCLINK_{code.name}")
        if self.handshake is not None and not self.handshake.done():
            self.handshake.set_exception(exc)
        self.close(f"refused: {text}")

    # ---- timers

    def _tick_s(self) -> float:
        return max(0.005, min(self.config.heartbeat_s, self.config.ping_s) / 2)

    def _tick(self) -> None:
        self._timer = None
        if self.transport is None or self.transport.is_closing() or self.loop is None:
            return
        now = self.loop.time()
        cfg = self.config
        if now - self._last_rx > cfg.dead_after_s:
            self.close(f"dead peer: nothing received for {now - self._last_rx:.2f}s", abort=True)
            return
        if not self.ready and now - self._opened > cfg.hello_timeout_s:
            self.close(f"no HELLO exchange within {cfg.hello_timeout_s}s", abort=True)
            return
        if self.ready and now - self._last_ping >= cfg.ping_s:
            self.ping()
        if now - self._last_tx >= cfg.heartbeat_s:
            self.encoder.heartbeat(self.decoder.expected_seq - 1)
            self._kick()
        if self.capture is not None:
            self.capture.flush()
        self._timer = self.loop.call_later(self._tick_s(), self._tick)

    # ---- writing

    def _kick(self) -> None:
        if self._flush_handle is None and self.loop is not None:
            self._flush_handle = self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write everything encoded so far in one transport.write."""
        self._flush_handle = None
        if self.transport is None or self.transport.is_closing():
            self.encoder.clear()
            return
        if len(self.encoder):
            data = self.encoder.take()
            self.transport.write(data)
            self.stats.bytes_out += len(data)
            self.stats.writes += 1
            assert self.loop is not None
            self._last_tx = self.loop.time()

    @property
    def write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def connected(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def close(self, reason: str = "closed locally", *, abort: bool = False) -> None:
        self._closing = self._interrupt = True
        if self.transport is None or self.transport.is_closing():
            return
        self.closed_reason = self.closed_reason or reason
        if abort:
            self.transport.abort()
            return
        self.flush()
        self.transport.close()

    def _protocol_error(self, exc: CclinkError) -> None:
        log.warning("CC-LINK bad frame from %s: %s (%s)", self.describe(), exc, exc.code)
        self.send_error(LinkErrorCode.BAD_FRAME, f"{exc.code}: {exc.message}"[:255])
        self.close(f"bad frame from peer: {exc.code}")

    def _capture_flush(self) -> None:
        if self.capture is not None:
            self.capture.write(self.decoder.take_capture())

    # ---- market data (conflated under backpressure)

    def send_bbo(self, symbol_id: int, bid_px_1e9: int, bid_qty_1e8: int, ask_px_1e9: int,
                 ask_qty_1e8: int, ts_venue_ns: int = 0, ts_local_ns: int = _c.STAMP_NOW,
                 flags: int = 0) -> None:
        if self._paused:
            self._held_encoder.bbo(symbol_id, bid_px_1e9, bid_qty_1e8, ask_px_1e9, ask_qty_1e8,
                                   ts_venue_ns, ts_local_ns, flags)
            self._hold(Kind.BBO, symbol_id, self._held_encoder.take())
            return
        self.encoder.bbo(symbol_id, bid_px_1e9, bid_qty_1e8, ask_px_1e9, ask_qty_1e8,
                         ts_venue_ns, ts_local_ns, flags)
        self._kick()

    def send_l2(self, kind: int, symbol_id: int, update_id: int, bids: Any, asks: Any,
                ts_venue_ns: int = 0, ts_local_ns: int = _c.STAMP_NOW, flags: int = 0) -> None:
        if self._paused:
            self._held_encoder.l2(kind, symbol_id, update_id, bids, asks, ts_venue_ns,
                                  ts_local_ns, flags)
            key = (Kind.L2_DELTA, symbol_id)
            if kind == Kind.L2_SNAPSHOT:
                self._needs_snapshot.discard(symbol_id)
            elif key in self._held:
                self._needs_snapshot.add(symbol_id)  # a delta replaced another: levels lost
            self._hold(Kind.L2_DELTA, symbol_id, self._held_encoder.take())
            return
        self.encoder.l2(kind, symbol_id, update_id, bids, asks, ts_venue_ns, ts_local_ns, flags)
        self._kick()

    def send_trade(self, symbol_id: int, side: int, px_1e9: int, qty_1e8: int,
                   trade_id: int = 0, ts_venue_ns: int = 0, ts_local_ns: int = _c.STAMP_NOW,
                   flags: int = 0) -> None:
        if self._paused:
            self._held_encoder.trade(symbol_id, side, px_1e9, qty_1e8, trade_id, ts_venue_ns,
                                     ts_local_ns, flags)
            self._hold(Kind.TRADE, symbol_id, self._held_encoder.take())
            return
        self.encoder.trade(symbol_id, side, px_1e9, qty_1e8, trade_id, ts_venue_ns,
                           ts_local_ns, flags)
        self._kick()

    def _hold(self, group: int, symbol_id: int, frame: bytes) -> None:
        key = (group, symbol_id)
        if key in self._held:
            self.stats.conflated += 1
        self._held[key] = frame

    def _release_held(self) -> None:
        if not self._held:
            return
        held, self._held = self._held, {}
        needs, self._needs_snapshot = self._needs_snapshot, set()
        for (group, symbol_id), frame in held.items():
            if group == Kind.L2_DELTA and symbol_id in needs and self.snapshot_source is not None:
                snap = self.snapshot_source(symbol_id)
                if snap is not None:
                    update_id, bids, asks = snap
                    self.encoder.l2(Kind.L2_SNAPSHOT, symbol_id, update_id, bids, asks,
                                    flags=_c.FLAG_CONFLATED)
                    self.stats.snapshots_sent += 1
                    continue
            self.encoder.append_frame(frame, True, _c.FLAG_CONFLATED)
        self._kick()

    @property
    def held(self) -> int:
        """Market-data frames currently held back by backpressure."""
        return len(self._held)

    # ---- everything else (never dropped)

    def send_pair_spec(self, **fields: Any) -> None:
        self.encoder.pair_spec(**fields)
        self._kick()

    def send_order(self, kind: int, **fields: Any) -> None:
        self.encoder.order(kind, **fields)
        self._kick()

    def send_order_batch(self, orders: list[dict], **fields: Any) -> None:
        self.encoder.order_batch(orders, **fields)
        self._kick()

    def send_fill(self, **fields: Any) -> None:
        self.encoder.fill(**fields)
        self._kick()

    def send_balance(self, **fields: Any) -> None:
        self.encoder.balance(**fields)
        self._kick()

    def send_resync(self, last_rx_seq: int | None = None,
                    symbol_id: int = _c.ALL_SYMBOLS) -> None:
        if last_rx_seq is None:
            last_rx_seq = self.decoder.expected_seq - 1
        self.encoder.resync(last_rx_seq, symbol_id)
        self._kick()

    def send_error(self, code: int, text: str = "", ref_kind: int = 0, ref_seq: int = 0) -> None:
        short = text.encode()[:255].decode("utf-8", "ignore")  # never cut a UTF-8 sequence
        self.encoder.error(int(code), short, ref_kind, ref_seq)
        self._kick()

    def send_frame(self, frame: Any, *, add_flags: int = 0) -> None:
        """Re-send an encoded frame (bytes or a decoded Frame) with this link's next seq."""
        self.encoder.append_frame(frame, True, add_flags)
        self._kick()

    def ping(self) -> None:
        assert self.loop is not None
        self._ping_id += 1
        self._last_ping = self.loop.time()
        self.stats.pings += 1
        self.encoder.ping(self._ping_id, _c.now_ns())
        self._kick()
