"""The SDK clients: ``Client`` (asyncio) and ``SyncClient`` (blocking), one method per verb."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import aiohttp
import orjson

from seqkern.sdk.results import (
    ApiError,
    BatchResult,
    Edge,
    Fill,
    Order,
    Pair,
    Preview,
    Quote,
    StreamEvent,
    VenueListing,
)

Number = int | float | str | Decimal
DEFAULT_URL = "http://127.0.0.1:8700"


def _num(v: Number) -> str:
    """Numbers travel as decimal strings so the CC parses them exactly (no float rounding)."""
    if isinstance(v, bool):
        raise TypeError("a number, not a bool")
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _order_body(symbol: str, side: str, qty: Number | None, notional: Number | None,
                price: Number | None, venue: str | int | None, time_in_force: str | None,
                client_request_id: str | None, sandbox: bool | None) -> dict:
    body: dict[str, Any] = {"symbol": symbol, "side": side}
    if qty is not None:
        body["qty"] = _num(qty)
    if notional is not None:
        body["notional"] = _num(notional)
    if price is not None:
        body["price"] = _num(price)
    if venue is not None:
        body["venue"] = venue
    if time_in_force is not None:
        body["time_in_force"] = time_in_force
    if client_request_id is not None:
        body["client_request_id"] = client_request_id
    if sandbox is not None:
        body["sandbox"] = sandbox
    return body


class Client:
    """Asyncio client of a seqkern CC. ``api_key`` defaults to $SEQKERN_API_KEY and ``url`` to
    $SEQKERN_URL (else http://127.0.0.1:8700)."""

    def __init__(self, url: str | None = None, api_key: str | None = None, *,
                 timeout: float = 10.0) -> None:
        self.url = (url or os.environ.get("SEQKERN_URL") or DEFAULT_URL).rstrip("/")
        self._key = api_key if api_key is not None else os.environ.get("SEQKERN_API_KEY", "")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _sess(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
            self._session = aiohttp.ClientSession(
                headers=headers, timeout=self._timeout, json_serialize=lambda o: orjson.dumps(o).decode(),
                connector=aiohttp.TCPConnector(limit=64, enable_cleanup_closed=True))
        return self._session

    async def _call(self, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
        kw: dict[str, Any] = {}
        if body is not None:
            kw["data"] = orjson.dumps(body)
            kw["headers"] = {"Content-Type": "application/json"}
        async with self._sess().request(method, self.url + path, params=params, **kw) as r:
            raw = await r.read()
            try:
                doc = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                raise ApiError("BAD_RESPONSE", f"non-JSON answer (HTTP {r.status})", r.status) from None
            if r.status >= 400:
                err = (doc or {}).get("error") or {}
                raise ApiError(err.get("code", "HTTP_ERROR"), err.get("message", f"HTTP {r.status}"),
                               r.status)
            return doc

    # --- state and market data -------------------------------------------------------------
    async def health(self) -> dict:
        return await self._call("GET", "/v1/health")

    async def edges(self, *, symbols: bool = False) -> list[Edge]:
        doc = await self._call("GET", "/v1/edges", params={"symbols": "1"} if symbols else None)
        return [Edge.from_wire(e) for e in doc]

    async def pairs(self) -> list[Pair]:
        return [Pair(p["symbol"], p.get("base"), p.get("quote"), tuple(p["venues"]))
                for p in await self._call("GET", "/v1/pairs")]

    async def venues_for(self, symbol: str) -> list[VenueListing]:
        doc = await self._call("GET", f"/v1/pairs/{symbol}/venues")
        return [VenueListing(v["venue"], v["venue_id"], v["instrument_type"], v["credentials"],
                             v["connected"]) for v in doc["venues"]]

    async def nbbo(self, symbol: str) -> Quote:
        return Quote.from_wire(await self._call("GET", f"/v1/quotes/{symbol}"))

    async def book(self, symbol: str, depth: int = 10) -> dict:
        return await self._call("GET", f"/v1/book/{symbol}", params={"depth": str(depth)})

    async def quote(self, symbol: str, side: str, qty: Number | None = None, *,
                    notional: Number | None = None, price: Number | None = None,
                    venue: str | int | None = None) -> Preview:
        """The pre-trade preview: the SOR's plan and expected cost; nothing is sent."""
        body = _order_body(symbol, side, qty, notional, price, venue, None, None, None)
        return Preview.from_wire(await self._call("POST", "/v1/preview", body))

    async def balances(self) -> list[dict]:
        return await self._call("GET", "/v1/balances")

    # --- orders ----------------------------------------------------------------------------
    async def order(self, symbol: str, side: str, qty: Number | None = None, *,
                    notional: Number | None = None, price: Number | None = None,
                    venue: str | int | None = None, time_in_force: str | None = None,
                    client_request_id: str | None = None, sandbox: bool | None = None) -> Order:
        body = _order_body(symbol, side, qty, notional, price, venue, time_in_force,
                           client_request_id, sandbox)
        return Order.from_wire(await self._call("POST", "/v1/orders", body))

    async def buy(self, symbol: str, qty: Number | None = None, **kw: Any) -> Order:
        return await self.order(symbol, "buy", qty, **kw)

    async def sell(self, symbol: str, qty: Number | None = None, **kw: Any) -> Order:
        return await self.order(symbol, "sell", qty, **kw)

    async def graph(self, graph: dict) -> Order:
        """Submit an execution graph (one node today; more answers NOT_SUPPORTED)."""
        return Order.from_wire(await self._call("POST", "/v1/orders", graph))

    async def get_order(self, order_id: str) -> Order:
        return Order.from_wire(await self._call("GET", f"/v1/orders/{order_id}"))

    async def wait(self, order_id: str, timeout: float = 5.0, *, until: str = "terminal") -> Order:
        """Poll an order until it is terminal (``until="terminal"``) or has left ``new`` (``until=
        "acked"``), or the timeout passes; returns the last state seen. Live orders are answered
        as soon as the CC has journaled and sent them; the venue's answers arrive after."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            o = await self.get_order(order_id)
            if o.terminal or (until == "acked" and o.status != "new") or loop.time() >= deadline:
                return o
            await asyncio.sleep(0.02)

    async def open_orders(self) -> list[Order]:
        return [Order.from_wire(o) for o in await self._call("GET", "/v1/orders")]

    async def fills(self, order_id: str | None = None, limit: int = 100) -> list[Fill]:
        params = {"limit": str(limit)}
        if order_id:
            params["order_id"] = order_id
        return [Fill.from_wire(f) for f in await self._call("GET", "/v1/fills", params=params)]

    async def cancel(self, order_id: str) -> Order:
        return Order.from_wire(await self._call("POST", f"/v1/orders/{order_id}/cancel"))

    async def amend(self, order_id: str, *, qty: Number | None = None,
                    price: Number | None = None) -> Order:
        body: dict[str, Any] = {}
        if qty is not None:
            body["qty"] = _num(qty)
        if price is not None:
            body["price"] = _num(price)
        return Order.from_wire(await self._call("POST", f"/v1/orders/{order_id}/amend", body))

    async def decrease(self, order_id: str, qty: Number) -> Order:
        return Order.from_wire(await self._call("POST", f"/v1/orders/{order_id}/decrease",
                                                {"qty": _num(qty)}))

    async def batch(self, orders: list[dict]) -> BatchResult:
        """Submit several simple orders ({"symbol","side","qty",...}); results keep their order."""
        return BatchResult.from_wire(await self._call("POST", "/v1/orders/batch", {"orders": orders}))

    async def kill(self) -> dict:
        return await self._call("POST", "/v1/kill")

    async def resume(self) -> dict:
        return await self._call("DELETE", "/v1/kill")

    # --- credentials and keys --------------------------------------------------------------
    async def set_credentials(self, venue: str, **payload: Any) -> dict:
        return await self._call("POST", f"/v1/credentials/{venue}", payload)

    async def credentials(self) -> list[dict]:
        return await self._call("GET", "/v1/credentials")

    async def delete_credentials(self, venue: str) -> dict:
        return await self._call("DELETE", f"/v1/credentials/{venue}")

    async def create_key(self, scopes: list[str], *, sandbox: bool = False, label: str = "") -> str:
        doc = await self._call("POST", "/v1/keys", {"scopes": scopes, "sandbox": sandbox, "label": label})
        return doc["key"]

    # --- streaming -------------------------------------------------------------------------
    async def stream(self, *topics: str) -> AsyncIterator[StreamEvent]:
        """Subscribe and yield events; the first item of each topic is its snapshot. A topic the
        CC refuses raises ApiError(STREAM_REJECTED) before any event."""
        ws_url = self.url.replace("http://", "ws://").replace("https://", "wss://") + "/v1/stream"
        async with self._sess().ws_connect(ws_url, heartbeat=30.0) as ws:
            await ws.send_str(orjson.dumps({"subscribe": list(topics)}).decode())
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                    aiohttp.WSMsgType.ERROR):
                        return
                    continue
                d = orjson.loads(msg.data)
                if "subscribed" in d:
                    if d["rejected"]:
                        raise ApiError("STREAM_REJECTED", f"topics refused: {d['rejected']}", 400)
                    continue
                if "error" in d:
                    raise ApiError(d["error"]["code"], d["error"]["message"], 400)
                if "channel" in d:
                    yield StreamEvent(d["channel"], d["data"], d.get("snapshot", False))


class SyncClient:
    """The blocking twin of ``Client``: same verbs, run on a private event loop thread."""

    def __init__(self, url: str | None = None, api_key: str | None = None, *,
                 timeout: float = 10.0) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="seqkern-sdk", daemon=True)
        self._thread.start()
        self._client = Client(url, api_key, timeout=timeout)

    def __repr__(self) -> str:
        return f"SyncClient(url={self._client.url!r})"

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        if self._loop.is_running():
            self._run(self._client.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name == "stream" or not asyncio.iscoroutinefunction(attr):
            return attr

        def call(*args: Any, **kw: Any) -> Any:
            return self._run(attr(*args, **kw))

        call.__name__ = name
        call.__doc__ = attr.__doc__
        return call

    def stream(self, *topics: str) -> Iterator[StreamEvent]:
        agen = self._client.stream(*topics)
        try:
            while True:
                try:
                    yield self._run(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self._run(agen.aclose())
