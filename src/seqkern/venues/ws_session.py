"""A logged-in venue websocket for order entry and private pushes (OKX, Bybit): login, requests
correlated by id, pushes to a handler, application-level keepalive, reconnect with re-login; the
order operations of a transport on such a session; and the request-reply book every venue
websocket that answers requests by id keeps (Binance, Kraken, Crypto.com too)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from seqkern._fixed import format_px, format_qty
from seqkern.edge.backoff import Backoff
from seqkern.edge.ws import WsConnectError, WsConnection
from seqkern.venues.base import (
    AmendResult,
    BatchResult,
    OpenOrders,
    OrderRequest,
    OrderResult,
    OrderStatus,
    OrderTransport,
    OrderUpdate,
    Side,
    UserEventHandler,
    VenueMessageError,
    VenueRejected,
    VenueUnavailable,
)
from seqkern.venues.order_entry import rejected

log = logging.getLogger("seqkern.venues.ws_session")

class PendingReplies:
    """Requests sent on one websocket and waiting for the reply that carries their id."""

    def __init__(self) -> None:
        self._futs: dict[Any, asyncio.Future[Any]] = {}

    async def ask(self, rid: Any, send: Callable[[], None], timeout_s: float, timeout_msg: str) -> Any:
        """Register ``rid``, ``send()`` the request and wait for its reply; no reply within
        ``timeout_s`` is VenueUnavailable(``timeout_msg``)."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._futs[rid] = fut
        try:
            send()
        except BaseException:
            self._futs.pop(rid, None)
            raise
        try:
            return await asyncio.wait_for(fut, timeout_s)
        except TimeoutError:
            self._futs.pop(rid, None)
            raise VenueUnavailable(timeout_msg) from None

    def resolve(self, rid: Any, reply: Any) -> None:
        """The reply to ``rid`` arrived (ignored when nobody waits for it)."""
        fut = self._futs.pop(rid, None)
        if fut is not None and not fut.done():
            fut.set_result(reply)

    def fail_all(self, message: str) -> None:
        """The connection closed: every waiting request gets VenueUnavailable(``message``)."""
        for fut in self._futs.values():
            if not fut.done():
                fut.set_exception(VenueUnavailable(message))
        self._futs.clear()


async def stop_task(task: asyncio.Task | None) -> None:
    """Cancel a background task (a reader, a keepalive) and wait until it has ended."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


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
        self._pending = PendingReplies()
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
        ws = self._ws
        assert ws is not None
        try:
            return await self._pending.ask(rid, lambda: ws.send_text(frame), self.request_timeout_s,
                                           f"{self.name}: no response to {rid} within {self.request_timeout_s}s")
        except WsConnectError as exc:
            raise VenueUnavailable(f"{self.name}: {exc}") from None

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
            self._pending.resolve(str(ident), obj)
        elif kind == "push":
            self._on_push(obj, ts_recv_ns)

    def _on_close(self) -> None:
        self._pending.fail_all(f"{self.name}: connection closed before the response")

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

    # ---- order operations: one order per op, amended in place --------------------------------------
    # A venue declares its op names, the amend fields and its code for a missing parameter, and
    # supplies the frames and the reading of answers (OKX, Bybit).

    place_op: str
    cancel_op: str
    amend_op: str
    amend_qty_key: str          # the amend's field for the new total quantity
    amend_px_key: str
    missing_param_code: int | str

    def _venue_qty(self, venue_symbol: str, qty_1e8: int) -> str:
        """A base quantity as the venue's size field (venues sizing in contracts convert here)."""
        return format_qty(qty_1e8)

    @abstractmethod
    async def _order_op(self, op: str, args: dict[str, Any]) -> Any:
        """Send ``op`` for one order (``args``) and return the venue's answer; refusals raise VenueRejected."""

    @abstractmethod
    def _order_args(self, req: OrderRequest) -> dict[str, Any]:
        """The venue's fields for a new order (refusals before sending raise VenueRejected)."""

    @abstractmethod
    def _ident(self, venue_symbol: str, venue_order_id: int | str | None, client_order_id: str) -> dict[str, Any]:
        """The venue's fields naming an existing order."""

    @abstractmethod
    def _op_result(self, venue_symbol: str, resp: Any, status: OrderStatus, cid: str) -> OrderResult:
        """The answer to a single-order op as an OrderResult with ``status`` when accepted."""

    @abstractmethod
    async def _batch_op(self, chunk: Sequence[OrderRequest]) -> Any:
        """Send one native batch (at most ``max_batch`` orders) and return the venue's answer."""

    @abstractmethod
    def _batch_result(self, resp: Any, k: int, req: OrderRequest) -> OrderResult:
        """The ``k``-th order's result in a batch answer."""

    async def place(self, req: OrderRequest) -> OrderResult:
        try:
            resp = await self._order_op(self.place_op, self._order_args(req))
        except VenueRejected as exc:
            return rejected(req.venue_symbol, req.client_order_id, exc)
        res = self._op_result(req.venue_symbol, resp, OrderStatus.NEW, req.client_order_id)
        self._open.remember(req, res)
        return res

    async def cancel(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                     client_order_id: str = "") -> OrderResult:
        try:
            resp = await self._order_op(self.cancel_op, self._ident(venue_symbol, venue_order_id, client_order_id))
        except VenueRejected as exc:
            return rejected(venue_symbol, client_order_id, exc)
        res = self._op_result(venue_symbol, resp, OrderStatus.CANCELED, client_order_id)
        if res.accepted:
            self._open.forget(res.venue_order_id)
        return res

    async def amend(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                    client_order_id: str = "", new_qty_1e8: int | None = None,
                    new_px_1e9: int | None = None, side: Side | None = None) -> AmendResult:
        """In place, same order id; the new quantity is the new total (filled part included).
        Queue priority on amend is not documented by these venues: not claimed."""
        try:
            a = self._ident(venue_symbol, venue_order_id, client_order_id)
            if new_qty_1e8 is None and new_px_1e9 is None:
                raise VenueRejected("amend needs a new quantity or price", venue_code=self.missing_param_code)
            if new_qty_1e8 is not None:
                a[self.amend_qty_key] = self._venue_qty(venue_symbol, new_qty_1e8)
            if new_px_1e9 is not None:
                a[self.amend_px_key] = format_px(new_px_1e9)
            resp = await self._order_op(self.amend_op, a)
        except VenueRejected as exc:
            return AmendResult(self.amend_mode, rejected(venue_symbol, client_order_id, exc))
        res = self._op_result(venue_symbol, resp, OrderStatus.NEW, client_order_id)
        if res.accepted:
            self._open.amended(self._open.key(res.venue_order_id or venue_order_id, client_order_id), new_qty_1e8, new_px_1e9)
        return AmendResult(self.amend_mode, res)

    async def batch(self, reqs: Sequence[OrderRequest]) -> BatchResult:
        """Native batches of ``max_batch``; larger batches go as several requests."""
        out: list[OrderResult] = []
        n = self.max_batch
        for i in range(0, len(reqs), n):
            chunk = reqs[i:i + n]
            try:
                resp = await self._batch_op(chunk)
            except VenueRejected as exc:
                out.extend(rejected(r.venue_symbol, r.client_order_id, exc) for r in chunk)
                continue
            for k, r in enumerate(chunk):
                res = self._batch_result(resp, k, r)
                self._open.remember(r, res)
                out.append(res)
        return BatchResult(self.batch_mode, tuple(out), n)
