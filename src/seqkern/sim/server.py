"""The loopback server every ticking venue simulator runs on: an aiohttp app bound to 127.0.0.1
(port 0 = an ephemeral port, read back after binding), a periodic market tick task, and an
orderly stop (tick task, then the simulator's own client sockets, then the server)."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from typing import Any, Self

from aiohttp import web


class TickingSimServer(ABC):
    """Subclasses set ``host``, ``port`` and ``_app`` in __init__, call ``_init_server()``, and
    implement ``_tick_loop()`` (bounded by stop()) and ``_close_clients()``."""

    host: str
    port: int
    _app: web.Application

    def _init_server(self) -> None:
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[Any] | None = None

    @property
    def base_http(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_ws(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @abstractmethod
    async def _tick_loop(self) -> None:
        """Advance the simulated market forever (cancelled by stop())."""

    @abstractmethod
    async def _close_clients(self) -> None:
        """Close the simulator's open websockets (market, private, trading)."""

    async def start(self) -> Self:
        self._runner = web.AppRunner(self._app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = site._server.sockets if site._server else []   # the bound port when port=0
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())
        return self

    async def stop(self) -> None:
        if self._ticker:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self._close_clients()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
