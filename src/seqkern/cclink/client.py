"""The edge end of CC-LINK: connects to its CC, reconnects with backoff and jitter, resyncs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from seqkern import _cclink as _c
from seqkern.cclink.link import Handler, LinkConfig, LinkProtocol, SnapshotSource
from seqkern.cclink.wire import InstrumentType, Kind, LinkErrorCode, Region, Role
from seqkern.errors import LinkClosed, LinkRefused

log = logging.getLogger("seqkern.cclink")


class EdgeProtocol(LinkProtocol):
    """One connection attempt of an EdgeLinkClient."""

    def __init__(self, client: EdgeLinkClient) -> None:
        super().__init__(
            client.config,
            client.handlers,
            venue_slot=client.venue_slot,
            version=client.version,
            capture=client.capture,
            stream_id=client.attempts,
            snapshot_source=client.snapshot_source,
        )
        self.client = client

    def _on_open(self) -> None:
        c = self.client
        self.encoder.hello(
            c.edge_id, int(c.region), int(c.instrument_type), int(Role.EDGE),
            int(self.config.heartbeat_s * 1000), c.session_id,
        )
        self.flush()

    def _on_hello(self, frame: Any) -> None:
        if self.ready:
            self._refuse(LinkErrorCode.HELLO_REFUSED, "second HELLO on one connection", frame)
            return
        if frame.protocol_version != self.client.version or frame.version != self.client.version:
            self._refuse(
                LinkErrorCode.VERSION_MISMATCH,
                f"version mismatch: edge {self.client.edge_id!r} speaks CC-LINK "
                f"v{self.client.version}, CC {frame.edge_id!r} speaks v{frame.protocol_version}",
                frame,
            )
            return
        if frame.role not in (Role.CC, Role.PEER_CC):
            self._refuse(LinkErrorCode.HELLO_REFUSED,
                         f"peer role {frame.role} is not a CC", frame)
            return
        self.peer = frame
        self._handshake_done()
        self.client._on_ready(self)

    def _on_refusal(self, frame: Any) -> None:
        try:
            name = LinkErrorCode(frame.code).name
        except ValueError:
            name = str(frame.code)
        exc = LinkRefused(f"CC-LINK: the CC refused this edge: {frame.text}",
                          code=f"CCLINK_{name}")
        if self.handshake is not None and not self.handshake.done():
            self.handshake.set_exception(exc)
        self.close(f"refused by CC: {frame.text}")

    def describe(self) -> str:
        return f"CC {self.peer.edge_id!r}" if self.peer is not None else "CC"


class EdgeLinkClient:
    """An edge's link to its CC.

    `connect_tcp` / `connect_unix` start a connection task that lives until `close()`: it
    connects, exchanges HELLO, re-sends the PAIR_SPECs bound with `bind_symbol`, and after a
    reconnect sends RESYNC so the CC re-sends its state. A lost connection is retried after
    min(backoff_max_s, backoff_base_s * 2**attempt) * uniform(0.5, 1) seconds. A refused
    HELLO (version, region or identity) is final: `refused` holds the LinkRefused and no retry
    is made.

    Sending: market data while disconnected is dropped (counted in `md_dropped_offline`; the CC
    resyncs after the reconnect); orders, fills, balances and errors are queued (up to
    `max_offline_frames`) and sent after the next HELLO exchange, in order.
    """

    def __init__(
        self,
        edge_id: str,
        *,
        region: Region = Region.NONE,
        venue_slot: int = 0,
        instrument_type: InstrumentType = InstrumentType.ANY,
        config: LinkConfig | None = None,
        on_connect: Callable[[EdgeLinkClient], Any] | None = None,
        on_disconnect: Callable[[EdgeLinkClient, str], Any] | None = None,
        on_resync: Callable[[LinkProtocol, Any], Any] | None = None,
        snapshot_source: SnapshotSource | None = None,
        backoff_base_s: float = 0.05,
        backoff_max_s: float = 2.0,
        max_offline_frames: int = 100_000,
        resync_on_first_connect: bool = False,
        capture: Any = None,
        version: int = _c.VERSION,
        session_id: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.edge_id = edge_id
        self.region = Region(region)
        self.venue_slot = venue_slot
        self.instrument_type = InstrumentType(instrument_type)
        self.config = config or LinkConfig()
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.snapshot_source = snapshot_source
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_offline_frames = max_offline_frames
        self.resync_on_first_connect = resync_on_first_connect
        self.capture = capture
        self.version = version
        self.session_id = (session_id if session_id is not None
                           else int.from_bytes(secrets.token_bytes(8), "little"))
        self._rng = rng or random.Random()
        self.handlers: dict[int, Handler] = {}
        if on_resync is not None:
            self.handlers[Kind.RESYNC] = on_resync
        self.link: EdgeProtocol | None = None
        self.refused: LinkRefused | None = None
        self.attempts = 0
        self.connections = 0        # successful HELLO exchanges
        self.reconnects = 0
        self.last_error: BaseException | None = None
        self.last_close_reason: str | None = None
        self.md_dropped_offline = 0
        self.pairs: dict[int, dict[str, Any]] = {}
        self._offline: deque[tuple[str, tuple, dict]] = deque()
        self._last_rx_seq = 0
        self._closing = False
        self._task: asyncio.Task | None = None
        self._ready_event: asyncio.Event | None = None
        self.backoff_delays: list[float] = []

    # ---- lifecycle

    def on(self, kind: int, handler: Handler) -> None:
        kind = Kind(kind)
        if kind in (Kind.HELLO, Kind.PING, Kind.PONG):
            raise ValueError(f"{kind.name} is handled by the link itself")
        self.handlers[kind] = handler

    async def connect_tcp(self, host: str, port: int, *, wait: bool = True,
                          timeout: float = 10.0) -> None:
        async def dial() -> Any:
            loop = asyncio.get_running_loop()
            return await loop.create_connection(lambda: EdgeProtocol(self), host, port)

        await self._start(dial, wait, timeout)

    async def connect_unix(self, path: str, *, wait: bool = True, timeout: float = 10.0) -> None:
        async def dial() -> Any:
            loop = asyncio.get_running_loop()
            return await loop.create_unix_connection(lambda: EdgeProtocol(self), path)

        await self._start(dial, wait, timeout)

    async def _start(self, dial: Callable[[], Awaitable[Any]], wait: bool,
                     timeout: float) -> None:
        if self._task is not None:
            raise RuntimeError("EdgeLinkClient is already connecting; close() it first")
        self._closing = False
        self._ready_event = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(dial))
        if wait:
            await self.wait_ready(timeout)

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until the link has come up (HELLO exchanged); LinkRefused if the CC refused us.

        Returns once the link was up, even if it dropped again before this coroutine resumed
        (the connection task then reconnects by itself)."""
        assert self._ready_event is not None and self._task is not None, "connect first"
        if self.ready:
            return
        waiter = asyncio.ensure_future(self._ready_event.wait())
        await asyncio.wait({waiter, self._task}, timeout=timeout,
                           return_when=asyncio.FIRST_COMPLETED)
        came_up = waiter.done() and not waiter.cancelled()
        waiter.cancel()
        if self.refused is not None:
            raise self.refused
        if not came_up:
            raise LinkClosed(f"CC-LINK: no link to the CC within {timeout}s "
                             f"(last error: {self.last_error or self.last_close_reason})")

    async def _run(self, dial: Callable[[], Awaitable[Any]]) -> None:
        attempt = 0
        while not self._closing:
            self.attempts += 1
            try:
                _, proto = await dial()
            except (TimeoutError, OSError) as exc:
                self.last_error = exc
            else:
                self.link = proto
                assert proto.handshake is not None and proto.done is not None
                try:
                    await proto.handshake
                    attempt = 0
                except LinkRefused as exc:
                    self.refused = exc
                    log.error("CC-LINK %s: %s", self.edge_id, exc)
                except LinkClosed as exc:
                    self.last_error = exc
                reason = await proto.done
                self._last_rx_seq = proto.decoder.expected_seq - 1
                self.last_close_reason = reason
                was_ready = self.link is proto and self._ready_event is not None \
                    and self._ready_event.is_set()
                self.link = None
                if self._ready_event is not None:
                    self._ready_event.clear()
                if was_ready and self.on_disconnect is not None:
                    self.on_disconnect(self, reason)
                if self.refused is not None:
                    if self._ready_event is not None:
                        self._ready_event.set()  # wake wait_ready, which raises `refused`
                    return
            if self._closing:
                break
            delay = min(self.backoff_max_s, self.backoff_base_s * (2 ** min(attempt, 30)))
            delay *= 0.5 + 0.5 * self._rng.random()
            self.backoff_delays.append(delay)
            attempt += 1
            self.reconnects += 1
            await asyncio.sleep(delay)

    def _on_ready(self, proto: EdgeProtocol) -> None:
        for fields in self.pairs.values():
            proto.send_pair_spec(**fields)
        if self.connections > 0 or self.resync_on_first_connect:
            proto.send_resync(self._last_rx_seq)
        while self._offline:
            name, args, kwargs = self._offline.popleft()
            getattr(proto, name)(*args, **kwargs)
        proto.flush()
        self.connections += 1
        if self._ready_event is not None:
            self._ready_event.set()
        log.info("CC-LINK %s connected to %s", self.edge_id, proto.describe())
        if self.on_connect is not None:
            self.on_connect(self)

    async def close(self) -> None:
        self._closing = True
        if self.link is not None:
            self.link.close("edge closing")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.capture is not None:
            self.capture.flush()

    # ---- state

    @property
    def ready(self) -> bool:
        return self.link is not None and self.link.ready

    @property
    def rtt_ns(self) -> int | None:
        return self.link.rtt_ns if self.link is not None else None

    # ---- sending

    def bind_symbol(self, symbol_id: int, symbol: str, venue_symbol: str, venue_id: int,
                    instrument_type: int, tick_1e9: int, lot_1e8: int, min_qty_1e8: int = 0,
                    min_notional_1e9: int = 0, maker_fee_bps_e4: int = 0,
                    taker_fee_bps_e4: int = 0) -> None:
        """Bind an edge-local symbol id (PAIR_SPEC); re-sent after every reconnect."""
        fields = dict(symbol_id=symbol_id, symbol=symbol, venue_symbol=venue_symbol,
                      venue_id=venue_id, instrument_type=int(instrument_type),
                      tick_1e9=tick_1e9, lot_1e8=lot_1e8, min_qty_1e8=min_qty_1e8,
                      min_notional_1e9=min_notional_1e9, maker_fee_bps_e4=maker_fee_bps_e4,
                      taker_fee_bps_e4=taker_fee_bps_e4)
        _VALIDATOR.pair_spec(**fields)  # reject bad fields now, not at the next reconnect
        _VALIDATOR.clear()
        self.pairs[symbol_id] = fields
        if self.ready:
            assert self.link is not None
            self.link.send_pair_spec(**fields)

    def send_bbo(self, *args: Any, **kwargs: Any) -> None:
        link = self.link
        if link is None or not link.ready:
            self.md_dropped_offline += 1
            return
        link.send_bbo(*args, **kwargs)

    def send_l2(self, *args: Any, **kwargs: Any) -> None:
        link = self.link
        if link is None or not link.ready:
            self.md_dropped_offline += 1
            return
        link.send_l2(*args, **kwargs)

    def send_trade(self, *args: Any, **kwargs: Any) -> None:
        link = self.link
        if link is None or not link.ready:
            self.md_dropped_offline += 1
            return
        link.send_trade(*args, **kwargs)

    def _send_kept(self, name: str, *args: Any, **kwargs: Any) -> None:
        link = self.link
        if link is not None and link.ready:
            getattr(link, name)(*args, **kwargs)
            return
        if len(self._offline) >= self.max_offline_frames:
            raise LinkClosed(
                f"CC-LINK: link down and {self.max_offline_frames} frames already queued")
        getattr(_VALIDATOR, _ENCODER_OF[name])(*args, **kwargs)  # reject bad fields now
        _VALIDATOR.clear()
        self._offline.append((name, args, kwargs))

    def send_order(self, kind: int, **fields: Any) -> None:
        self._send_kept("send_order", kind, **fields)

    def send_order_batch(self, orders: list[dict], **fields: Any) -> None:
        self._send_kept("send_order_batch", orders, **fields)

    def send_fill(self, **fields: Any) -> None:
        self._send_kept("send_fill", **fields)

    def send_balance(self, **fields: Any) -> None:
        self._send_kept("send_balance", **fields)

    def send_error(self, code: int, text: str = "", ref_kind: int = 0, ref_seq: int = 0) -> None:
        self._send_kept("send_error", code, text, ref_kind, ref_seq)

    @property
    def offline_queued(self) -> int:
        return len(self._offline)


_VALIDATOR = _c.Encoder(capacity=1024)
_ENCODER_OF = {
    "send_order": "order",
    "send_order_batch": "order_batch",
    "send_fill": "fill",
    "send_balance": "balance",
    "send_error": "error",
}
