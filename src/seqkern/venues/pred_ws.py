"""A websocket client whose handshake carries fresh headers on every connect (Kalshi signs it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from picows import ws_connect

from seqkern.edge.ws import MessageHandler, WsConnectError, WsConnection, _Listener


class HeaderWs(WsConnection):
    """``WsConnection`` plus handshake headers, recomputed by ``headers()`` at each connect."""

    def __init__(self, url: str, on_message: MessageHandler, headers: Callable[[], list[tuple[str, str]]], *,
                 on_close: Callable[[], None] | None = None, idle_ping_s: float = 30.0,
                 pong_timeout_s: float = 10.0, connect_timeout_s: float = 10.0) -> None:
        super().__init__(url, on_message, on_close=on_close, idle_ping_s=idle_ping_s,
                         pong_timeout_s=pong_timeout_s, connect_timeout_s=connect_timeout_s)
        self._headers = headers

    async def connect(self) -> None:
        self._done.clear()
        hdrs = self._headers()
        try:
            transport, _ = await asyncio.wait_for(ws_connect(
                lambda: _Listener(self), self.url, ssl_context=self._ssl,
                websocket_handshake_timeout=self.connect_timeout_s,
                enable_auto_ping=True, auto_ping_idle_timeout=self.idle_ping_s,
                auto_ping_reply_timeout=self.pong_timeout_s, enable_auto_pong=True,
                max_frame_size=64 * 1024 * 1024, extra_headers=hdrs or None), self.connect_timeout_s)
        except (TimeoutError, OSError, Exception) as exc:   # picows raises its own WSError types
            raise WsConnectError(f"cannot connect to {self.url}: {type(exc).__name__}: {exc}") from None
        self._transport = transport
