"""Websocket client connection on picows: TLS with verification for wss://, ws:// only to loopback."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import ssl
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from seqkern.errors import SeqkernError

log = logging.getLogger("seqkern.edge.ws")


class EdgeConfigError(SeqkernError, ValueError):
    code = "BAD_EDGE_CONFIG"


class WsConnectError(SeqkernError, ConnectionError):
    code = "VENUE_CONNECT_FAILED"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ssl_context_for(url: str) -> ssl.SSLContext | None:
    """Verified TLS for wss:// and https://; plain ws:// and http:// only for loopback simulators."""
    parts = urlsplit(url)
    if parts.scheme in ("wss", "https"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx
    if parts.scheme in ("ws", "http"):
        if not _is_loopback(parts.hostname or ""):
            raise EdgeConfigError(f"plain {parts.scheme}:// is only allowed to loopback simulators, not {parts.hostname}")
        return None
    raise EdgeConfigError(f"unsupported URL scheme in {url!r}")


MessageHandler = Callable[[memoryview, int], None]


class _Listener(WSListener):
    def __init__(self, conn: WsConnection) -> None:
        self.conn = conn
        self._parts: list[bytes] = []

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.conn._transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        mt = frame.msg_type
        if mt == WSMsgType.TEXT or mt == WSMsgType.BINARY or mt == WSMsgType.CONTINUATION:
            ts = time.time_ns()
            if frame.fin and not self._parts:
                self.conn.frames += 1
                self.conn.on_message(frame.get_payload_as_memoryview(), ts)
                return
            self._parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                data = b"".join(self._parts)
                self._parts.clear()
                self.conn.frames += 1
                self.conn.on_message(memoryview(data), ts)
        elif mt == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.conn._closed()


class WsConnection:
    """One websocket; ``on_message(payload, ts_recv_ns)`` runs inside the read callback (payload is
    only valid during the call). Server pings are answered automatically (pong echoes the payload);
    an idle connection is probed with our own ping and dropped when the pong does not come."""

    def __init__(self, url: str, on_message: MessageHandler, *, on_close: Callable[[], None] | None = None,
                 idle_ping_s: float = 30.0, pong_timeout_s: float = 10.0, connect_timeout_s: float = 10.0) -> None:
        self.url = url
        self.on_message = on_message
        self.on_close = on_close
        self.idle_ping_s = idle_ping_s
        self.pong_timeout_s = pong_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._ssl = ssl_context_for(url)
        self._transport: WSTransport | None = None
        self._done = asyncio.Event()
        self.frames = 0

    async def connect(self) -> None:
        self._done.clear()
        try:
            transport, _ = await asyncio.wait_for(ws_connect(
                lambda: _Listener(self), self.url, ssl_context=self._ssl,
                websocket_handshake_timeout=self.connect_timeout_s,
                enable_auto_ping=True, auto_ping_idle_timeout=self.idle_ping_s,
                auto_ping_reply_timeout=self.pong_timeout_s, enable_auto_pong=True,
                max_frame_size=64 * 1024 * 1024), self.connect_timeout_s)
        except (TimeoutError, OSError, Exception) as exc:   # picows raises its own WSError types
            raise WsConnectError(f"cannot connect to {self.url}: {type(exc).__name__}: {exc}") from None
        self._transport = transport

    @property
    def connected(self) -> bool:
        return self._transport is not None and not self._done.is_set()

    def send_text(self, data: bytes) -> None:
        if self._transport is None or self._done.is_set():
            raise WsConnectError(f"websocket to {self.url} is not connected")
        self._transport.send(WSMsgType.TEXT, data)

    def _closed(self) -> None:
        self._done.set()
        if self.on_close is not None:
            self.on_close()

    async def wait_closed(self) -> None:
        await self._done.wait()

    async def close(self) -> None:
        t = self._transport
        if t is not None and not self._done.is_set():
            t.send_close()
            t.disconnect()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._done.wait(), 2.0)
