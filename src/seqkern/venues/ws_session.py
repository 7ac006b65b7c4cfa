"""A logged-in venue websocket for order entry and private pushes (OKX, Bybit): login, requests
correlated by id, pushes to a handler, application-level keepalive, reconnect with re-login."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import orjson

from seqkern.edge.backoff import Backoff
from seqkern.edge.ws import WsConnectError, WsConnection
from seqkern.venues.base import (
    OpenOrders,
    OrderRequest,
    OrderStatus,
    OrderTransport,
    OrderUpdate,
    UserEventHandler,
    VenueMessageError,
    VenueRejected,
    VenueUnavailable,
)

log = logging.getLogger("seqkern.venues.ws_session")

Classify = Callable[[Any], tuple[str, str | None]]
"""obj -> (kind, id): kind "login" (id = error code or None when ok), "response" (id = request
id), "push" (anything to hand to the push handler) or "ignore" (acks, pongs)."""


class WsSession:
    """One authenticated websocket; ``login`` builds the login frame (fresh timestamp each time)."""

    def __init__(self, url: str, *, name: str, login: Callable[[], bytes], classify: Classify,
                 on_push: Callable[[Any, int], None], ping_frame: bytes, ping_interval_s: float,
                 request_timeout_s: float = 10.0, login_timeout_s: float = 10.0) -> None:
        self.url = url
        self.name = name
        self._login = login
        self._classify = classify
        self._on_push = on_push
        self._ping_frame = ping_frame
        self._ping_interval_s = ping_interval_s
        self.request_timeout_s = request_timeout_s
        self.login_timeout_s = login_timeout_s
        self._ws: WsConnection | None = None
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._login_fut: asyncio.Future[str | None] | None = None
        self._after_login: list[bytes] = []     # frames re-sent after every (re)login (subscriptions)
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self._closing = False
        self.unparsable = 0
        self.reconnects = 0
        self.last_login_error: str | None = None

    def __repr__(self) -> str:
        return f"WsSession({self.name}, url={self.url!r})"

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._ws.connected

    async def connect(self) -> None:
        async with self._lock:
            if self.connected:
                return
            await self._open()

    async def _open(self) -> None:
        ws = WsConnection(self.url, self._on_message, on_close=self._on_close)
        await ws.connect()
        self._ws = ws
        loop = asyncio.get_running_loop()
        self._login_fut = loop.create_future()
        ws.send_text(self._login())
        try:
            err = await asyncio.wait_for(self._login_fut, self.login_timeout_s)
        except TimeoutError:
            await ws.close()
            raise VenueUnavailable(f"{self.name}: no login response within {self.login_timeout_s}s") from None
        if err is not None:
            self.last_login_error = err
            await ws.close()
            raise VenueRejected(f"{self.name}: login refused", venue_code=err)
        for frame in self._after_login:
            ws.send_text(frame)
        if not self._tasks:
            self._tasks.append(loop.create_task(self._keepalive()))
            self._tasks.append(loop.create_task(self._supervise()))

    async def close(self) -> None:
        self._closing = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self._ws is not None:
            await self._ws.close()

    def add_after_login(self, frame: bytes) -> None:
        """Send now (when connected) and again after every re-login."""
        self._after_login.append(frame)
        if self.connected and self._ws is not None:
            self._ws.send_text(frame)

    async def request(self, rid: str, frame: bytes) -> Any:
        await self.connect()
        assert self._ws is not None
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            self._ws.send_text(frame)
        except WsConnectError as exc:
            self._pending.pop(rid, None)
            raise VenueUnavailable(f"{self.name}: {exc}") from None
        try:
            return await asyncio.wait_for(fut, self.request_timeout_s)
        except TimeoutError:
            self._pending.pop(rid, None)
            raise VenueUnavailable(f"{self.name}: no response to {rid} within {self.request_timeout_s}s") from None

    # ---- callbacks ----------------------------------------------------------------------------

    def _on_message(self, payload: memoryview, ts_recv_ns: int) -> None:
        data = bytes(payload)
        if data == b"pong":
            return
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            self.unparsable += 1
            log.warning("%s: unparsable message (%d bytes)", self.name, len(data))
            return
        try:
            kind, ident = self._classify(obj)
        except (KeyError, TypeError, ValueError, AttributeError):
            self.unparsable += 1
            return
        if kind == "login":
            if self._login_fut is not None and not self._login_fut.done():
                self._login_fut.set_result(ident)
        elif kind == "response":
            fut = self._pending.pop(str(ident), None)
            if fut is not None and not fut.done():
                fut.set_result(obj)
        elif kind == "push":
            self._on_push(obj, ts_recv_ns)

    def _on_close(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(VenueUnavailable(f"{self.name}: connection closed before the response"))
        self._pending.clear()

    async def _keepalive(self) -> None:
        while not self._closing:
            await asyncio.sleep(self._ping_interval_s)
            ws = self._ws
            if ws is not None and ws.connected:
                with contextlib.suppress(WsConnectError):
                    ws.send_text(self._ping_frame)

    async def _supervise(self) -> None:
        """Reconnect and log in again when the socket drops (capped backoff with jitter)."""
        backoff = Backoff(0.2, 10.0)
        while not self._closing:
            ws = self._ws
            if ws is not None:
                await ws.wait_closed()
            if self._closing:
                return
            await asyncio.sleep(backoff.next_delay())
            try:
                async with self._lock:
                    if not self.connected:
                        self.reconnects += 1
                        await self._open()
                backoff.reset()
            except (WsConnectError, VenueUnavailable, VenueRejected) as exc:
                log.warning("%s: reconnect failed: %s", self.name, exc)



_DONE = (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED)


class WsOrderTransport(OrderTransport):
    """The shared part of a transport whose private pushes arrive on a WsSession (OKX, Bybit):
    the user-event handler, the book of open orders, and the push -> user-event dispatch."""

    push_name = "private push"   # for logs: e.g. "OKX orders push"

    def __init__(self) -> None:
        self._on_user: UserEventHandler | None = None
        self._open = OpenOrders()   # venue order id -> the order as last placed/amended
        self.user_events = 0
        self.unparsable = 0

    def _parse_push(self, obj: Any, ts_recv_ns: int) -> list[Any]:
        """The venue's private push -> user events (OrderUpdate, FillEvent, BalanceEvent)."""
        raise VenueMessageError(f"{type(self).__name__} has no private push parser")

    def _on_push(self, obj: Any, ts_recv_ns: int) -> None:
        if self._on_user is None:
            return
        try:
            events = self._parse_push(obj, ts_recv_ns)
        except VenueMessageError as exc:
            self.unparsable += 1
            log.warning("unparsable %s: %s", self.push_name, exc)
            return
        self.user_events += 1
        for ev in events:
            if isinstance(ev, OrderUpdate) and ev.status in _DONE:
                self._open.forget(ev.venue_order_id)
            self._on_user(ev)

    def open_order(self, *, venue_order_id: int | str | None = None,
                   client_order_id: str = "") -> OrderRequest | None:
        return self._open.get(venue_order_id, client_order_id)
