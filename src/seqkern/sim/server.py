"""The loopback server every ticking venue simulator runs on: an aiohttp app bound to 127.0.0.1
(port 0 = an ephemeral port, read back after binding), a periodic market tick task, the REST fault
gate, and an orderly stop (tick task, then the simulator's own client sockets, then the server)."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from typing import Any, Self

import orjson
from aiohttp import web

from seqkern.sim.faults import FaultPlan


class TickingSimServer(ABC):
    """Subclasses set ``host``, ``port`` and ``_app`` in __init__, call ``_init_server()``, and
    implement ``tick()`` (one market step) and ``_close_clients()``. The default tick loop steps the
    market every ``tick_interval_s`` unless ``paused``; a venue with more to do each interval
    overrides ``_tick_loop()`` (bounded by stop())."""

    host: str
    port: int
    _app: web.Application
    faults: FaultPlan
    tick_interval_s: float
    paused: bool
    rest_calls: dict[str, int]

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
    async def tick(self) -> None:
        """Advance the simulated market one step and publish what changed."""

    @abstractmethod
    async def _close_clients(self) -> None:
        """Close the simulator's open websockets (market, private, trading)."""

    async def _tick_loop(self) -> None:
        """Advance the simulated market forever (cancelled by stop())."""
        while True:
            await asyncio.sleep(self.tick_interval_s)
            if not self.paused:
                await self.tick()

    async def rest_gate(self, request: web.Request) -> tuple[int, float] | None:
        """Faults shared by every REST endpoint: count the call, delay, then the next armed HTTP
        error as (status, Retry-After seconds), or None to answer normally."""
        self.rest_calls[request.path] = self.rest_calls.get(request.path, 0) + 1
        if self.faults.rest_delay_s:
            await asyncio.sleep(self.faults.rest_delay_s)
        return self.faults.next_rest_error()

    @staticmethod
    def fault_response(err: tuple[int, float], body: Any) -> web.Response:
        """An armed HTTP error as JSON in the venue's error ``body``; 418/429 carry Retry-After."""
        status, retry_after = err
        headers = {"Retry-After": str(int(retry_after))} if status in (418, 429) else {}
        return web.Response(status=status, body=orjson.dumps(body), headers=headers, content_type="application/json")

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
