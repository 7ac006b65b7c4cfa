"""A websocket client whose handshake carries fresh headers on every connect (Kalshi signs it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from picows import ws_connect

from seqkern.edge.ws import MessageHandler, WsConnectError, WsConnection, _Listener


class ConnectionBudget:
    """A venue's per-IP websocket caps, kept per process: at most ``max_open`` open sockets and
    ``max_new`` new ones per ``window_s`` (Hyperliquid: 10 open, 30 new a minute)."""

    def __init__(self, max_open: int, max_new: int, window_s: float = 60.0) -> None:
        self.max_open = max_open
        self.max_new = max_new
        self.window_s = window_s
        self.open = 0
        self._opened: list[float] = []

    def acquire(self, url: str) -> None:
        now = time.monotonic()
        self._opened = [t for t in self._opened if now - t < self.window_s]
        if self.open >= self.max_open:
            raise WsConnectError(f"{url}: {self.open} websockets already open, the venue allows {self.max_open} per IP")
        if len(self._opened) >= self.max_new:
            raise WsConnectError(f"{url}: {self.max_new} new websockets in {self.window_s:.0f} s already, "
                                 "the venue refuses more")
        self.open += 1
        self._opened.append(now)

    def release(self) -> None:
        self.open = max(0, self.open - 1)


class HeaderWs(WsConnection):
    """``WsConnection`` plus handshake headers, recomputed by ``headers()`` at each connect."""

    def __init__(self, url: str, on_message: MessageHandler, headers: Callable[[], list[tuple[str, str]]], *,
                 on_close: Callable[[], None] | None = None, idle_ping_s: float = 30.0,
                 pong_timeout_s: float = 10.0, connect_timeout_s: float = 10.0,
                 budget: ConnectionBudget | None = None) -> None:
        super().__init__(url, on_message, on_close=on_close, idle_ping_s=idle_ping_s,
                         pong_timeout_s=pong_timeout_s, connect_timeout_s=connect_timeout_s)
        self._headers = headers
        self._budget = budget
        self._counted = False

    async def connect(self) -> None:
        self._done.clear()
        hdrs = self._headers()
        if self._budget is not None:
            self._budget.acquire(self.url)
            self._counted = True
        try:
            transport, _ = await asyncio.wait_for(ws_connect(
                lambda: _Listener(self), self.url, ssl_context=self._ssl,
                websocket_handshake_timeout=self.connect_timeout_s,
                enable_auto_ping=True, auto_ping_idle_timeout=self.idle_ping_s,
                auto_ping_reply_timeout=self.pong_timeout_s, enable_auto_pong=True,
                max_frame_size=64 * 1024 * 1024, extra_headers=hdrs or None), self.connect_timeout_s)
        except (TimeoutError, OSError, Exception) as exc:   # picows raises its own WSError types
            self._uncount()
            raise WsConnectError(f"cannot connect to {self.url}: {type(exc).__name__}: {exc}") from None
        self._transport = transport

    def _uncount(self) -> None:
        if self._counted and self._budget is not None:
            self._budget.release()
        self._counted = False

    def _closed(self) -> None:
        self._uncount()
        super()._closed()
