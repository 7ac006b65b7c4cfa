"""Kraken order entry over WebSocket v2 (ws-auth): add_order, amend_order, cancel_order, batch_add, executions.

A token from the signed REST call GetWebSocketsToken authorises every request (fresh per
connection). amend_order is Kraken's atomic in-place amend (ids kept, fills kept, queue priority
kept where possible: a pure size decrease): NATIVE_ATOMIC. batch_add takes 2 to 15 orders of one
pair, validated as a whole, then each order meets the engine on its own (per-order results):
NATIVE_BEST_EFFORT. Fills and order states arrive on the ``executions`` channel.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Sequence
from typing import Any

import orjson

from seqkern._fixed import format_px, format_qty, parse_px, parse_qty
from seqkern.edge.rest import RestClient
from seqkern.edge.ws import WsConnection
from seqkern.errors import FixedPointError
from seqkern.venues.base import (
    AmendMode,
    AmendResult,
    BatchMode,
    BatchResult,
    CexCredentials,
    FillEvent,
    OrderRequest,
    OrderResult,
    OrderStatus,
    OrderTransport,
    OrderType,
    OrderUpdate,
    RestRequest,
    Side,
    TimeInForce,
    UserEventHandler,
    VenueMessageError,
    VenueRejected,
    VenueUnavailable,
)
from seqkern.venues.kraken.auth import NonceSource, rest_signature
from seqkern.venues.kraken.venue import BATCH_MAX, BATCH_MIN, rfc3339_ns
from seqkern.venues.user_stream import UserEventFeed
from seqkern.venues.ws_session import PendingReplies

log = logging.getLogger("seqkern.venues.kraken")

_STATUS = {"pending_new": OrderStatus.NEW, "new": OrderStatus.NEW, "partially_filled": OrderStatus.PARTIALLY_FILLED,
           "filled": OrderStatus.FILLED, "canceled": OrderStatus.CANCELED, "expired": OrderStatus.EXPIRED}


class _Raw(str):
    """A decimal that goes on the wire as a JSON number (Kraken v2 takes numbers, not strings)."""


def dumps_numbers(obj: dict[str, Any]) -> bytes:
    """JSON with the ``_Raw`` values written as numbers, keeping their exact decimal text."""
    raws: list[str] = []

    def mark(v: Any) -> Any:
        if isinstance(v, _Raw):
            raws.append(str(v))
            return f"\x00{len(raws) - 1}\x00"
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v

    text = orjson.dumps(mark(obj)).decode()
    for i, r in enumerate(raws):
        text = text.replace(f'"\\u0000{i}\\u0000"', r, 1)
    return text.encode()


def _dec(v: Any, parse: Any) -> int:
    return int(parse(str(v)))


def parse_execution(item: dict[str, Any], ts_recv_ns: int) -> list[FillEvent | OrderUpdate]:
    """One ``executions`` item (numbers decoded as text) to kernel records."""
    try:
        et = item["exec_type"]
        sym = item["symbol"]
        side = Side.BUY if item["side"] == "buy" else Side.SELL
        ts = rfc3339_ns(item.get("timestamp", ""))
        cum = _dec(item.get("cum_qty", "0"), parse_qty)
        status = _STATUS.get(item.get("order_status", ""), OrderStatus.NEW)
        out: list[FillEvent | OrderUpdate] = []
        if et == "trade":
            fee = item.get("fees") or [{"asset": "", "qty": "0"}]
            out.append(FillEvent(sym, item["order_id"], item.get("cl_ord_id", ""), side,
                                 _dec(item["last_price"], parse_px), _dec(item["last_qty"], parse_qty), cum,
                                 str(fee[0].get("qty", "0")), str(fee[0].get("asset", "")),
                                 item.get("liquidity_ind") == "m", int(item.get("trade_id", 0)), ts, ts_recv_ns))
        px = _dec(item["limit_price"], parse_px) if "limit_price" in item else 0
        qty = _dec(item["order_qty"], parse_qty) if "order_qty" in item else 0
        out.append(OrderUpdate(sym, item["order_id"], item.get("cl_ord_id", ""), side, status, et.upper(), px, qty,
                               cum, ts, ts_recv_ns))
        return out
    except (KeyError, TypeError, ValueError, FixedPointError) as exc:
        raise VenueMessageError(f"unreadable Kraken execution: {exc}") from None


class KrakenWsTransport(UserEventFeed, OrderTransport):
    """Order entry and executions on one authenticated websocket; responses matched by req_id."""

    amend_mode = AmendMode.NATIVE_ATOMIC
    batch_mode = BatchMode.NATIVE_BEST_EFFORT
    max_batch = BATCH_MAX

    def __init__(self, *, trade_ws: str, credentials: CexCredentials, rest: RestClient,
                 request_timeout_s: float = 10.0) -> None:
        self.url = trade_ws
        self._key = credentials.api_key
        self._secret = credentials.api_secret
        self.rest = rest
        self.request_timeout_s = request_timeout_s
        self._nonces = NonceSource()
        self._ws: WsConnection | None = None
        self._token = ""
        self._ids = itertools.count(1)
        self._pending = PendingReplies()
        self._on_user: UserEventHandler | None = None
        self._lock = asyncio.Lock()
        self.user_events = 0
        self.unparsable = 0

    def __repr__(self) -> str:
        return f"KrakenWsTransport(url={self.url!r}, api_key={self._key[:4]}...)"

    async def _fetch_token(self) -> str:
        path = "/0/private/GetWebSocketsToken"
        nonce = self._nonces.next()
        body = f"nonce={nonce}"
        headers = {"API-Key": self._key, "API-Sign": rest_signature(self._secret, path, nonce, body),
                   "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "seqkern"}
        raw = await self.rest.request(RestRequest("POST", path, {}, (("REST_COUNTER", 1),), signed=True),
                                      body=body, headers=headers)
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise VenueUnavailable("unreadable GetWebSocketsToken answer") from None
        if obj.get("error"):
            raise VenueRejected(f"GetWebSocketsToken: {obj['error'][0]}", venue_code=obj["error"][0])
        return str(obj["result"]["token"])

    async def connect(self) -> None:
        async with self._lock:
            if self._ws is not None and self._ws.connected:
                return
            self._token = await self._fetch_token()     # tokens are per connection
            ws = WsConnection(self.url, self._on_message, on_close=self._on_close)
            await ws.connect()
            self._ws = ws
        if self._on_user is not None:
            await self._subscribe_executions()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    def _on_close(self) -> None:
        self._pending.fail_all("Kraken ws-auth closed before the response")

    def _on_message(self, payload: memoryview, ts_recv_ns: int) -> None:
        try:
            obj = json.loads(bytes(payload), parse_float=str)    # numbers keep their decimal text
        except ValueError:
            self.unparsable += 1
            return
        if not isinstance(obj, dict):
            return
        if obj.get("channel") == "executions":
            if self._on_user is None:
                return
            for item in obj.get("data") or []:
                self._hand_over(parse_execution, item, ts_recv_ns, log)
            return
        rid = obj.get("req_id")
        if isinstance(rid, int):
            self._pending.resolve(rid, obj)

    async def _request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        await self.connect()
        ws = self._ws
        assert ws is not None
        rid = next(self._ids)
        frame = dumps_numbers({"method": method, "params": {**params, "token": self._token}, "req_id": rid})
        return await self._pending.ask(rid, lambda: ws.send_text(frame), self.request_timeout_s,
                                       f"Kraken {method}: no response within {self.request_timeout_s}s")

    async def _subscribe_executions(self) -> None:
        resp = await self._request("subscribe", {"channel": "executions", "snap_orders": False, "snap_trades": False})
        if not resp.get("success"):
            raise VenueRejected(f"executions subscribe: {resp.get('error')}", venue_code=resp.get("error"))

    async def subscribe_user_stream(self, on_event: UserEventHandler) -> None:
        self._on_user = on_event
        await self._subscribe_executions()

    # ---- orders ------------------------------------------------------------------------------

    @staticmethod
    def _order_params(req: OrderRequest) -> dict[str, Any]:
        p: dict[str, Any] = {"order_type": "market" if req.order_type is OrderType.MARKET else "limit",
                             "side": "buy" if req.side is Side.BUY else "sell",
                             "order_qty": _Raw(format_qty(req.qty_1e8))}
        if req.order_type is OrderType.LIMIT:
            p["limit_price"] = _Raw(format_px(req.px_1e9))
            if req.tif is TimeInForce.POST_ONLY:
                p["post_only"] = True
            elif req.tif is TimeInForce.IOC:
                p["time_in_force"] = "ioc"
            elif req.tif is TimeInForce.FOK:
                raise VenueRejected("Kraken spot has no fill-or-kill time in force", venue_code="EGeneral:Invalid arguments")
            else:
                p["time_in_force"] = "gtc"
        if req.client_order_id:
            p["cl_ord_id"] = req.client_order_id
        return p

    @staticmethod
    def _result(req_symbol: str, resp: dict[str, Any], cid: str = "", status: OrderStatus = OrderStatus.NEW) -> OrderResult:
        if resp.get("success"):
            res = resp.get("result") or {}
            return OrderResult(True, req_symbol, res.get("cl_ord_id", cid), res.get("order_id"), status)
        err = str(resp.get("error", "unknown error"))
        return OrderResult(False, req_symbol, cid, None, OrderStatus.REJECTED, error_code=err, error_msg=err)

    async def place(self, req: OrderRequest) -> OrderResult:
        resp = await self._request("add_order", {**self._order_params(req), "symbol": req.venue_symbol})
        return self._result(req.venue_symbol, resp, req.client_order_id)

    async def cancel(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                     client_order_id: str = "") -> OrderResult:
        params = {"order_id": [str(venue_order_id)]} if venue_order_id else {"cl_ord_id": [client_order_id]}
        resp = await self._request("cancel_order", params)
        r = self._result(venue_symbol, resp, client_order_id, OrderStatus.CANCELED)
        if r.accepted and r.venue_order_id is None:
            r = OrderResult(True, venue_symbol, client_order_id, venue_order_id, OrderStatus.CANCELED)
        return r

    async def amend(self, venue_symbol: str, *, venue_order_id: int | str | None = None, client_order_id: str = "",
                    new_qty_1e8: int | None = None, new_px_1e9: int | None = None,
                    side: Side | None = None) -> AmendResult:
        params: dict[str, Any] = {"order_id": str(venue_order_id)} if venue_order_id else {"cl_ord_id": client_order_id}
        if new_qty_1e8 is not None:
            params["order_qty"] = _Raw(format_qty(new_qty_1e8))
        if new_px_1e9 is not None:
            params["limit_price"] = _Raw(format_px(new_px_1e9))
        resp = await self._request("amend_order", params)
        r = self._result(venue_symbol, resp, client_order_id)
        if r.accepted and r.venue_order_id is None:
            r = OrderResult(True, venue_symbol, client_order_id, venue_order_id, OrderStatus.NEW)
        # Kraken keeps the queue position where it can: a size decrease at an unchanged price
        keeps = r.accepted and new_px_1e9 is None and new_qty_1e8 is not None
        return AmendResult(AmendMode.NATIVE_ATOMIC, r, keeps_priority=keeps)

    async def batch(self, reqs: Sequence[OrderRequest]) -> BatchResult:
        """batch_add per pair in chunks of 2..15; a lone order (or a lone leftover) goes as add_order."""
        by_symbol: dict[str, list[OrderRequest]] = {}
        for r in reqs:
            by_symbol.setdefault(r.venue_symbol, []).append(r)
        out: dict[int, OrderResult] = {}
        index = {id(r): i for i, r in enumerate(reqs)}
        native = False
        for sym, group in by_symbol.items():
            chunks = [group[i:i + BATCH_MAX] for i in range(0, len(group), BATCH_MAX)]
            for chunk in chunks:
                if len(chunk) < BATCH_MIN:
                    out[index[id(chunk[0])]] = await self.place(chunk[0])
                    continue
                native = True
                resp = await self._request("batch_add", {"symbol": sym, "orders": [self._order_params(r) for r in chunk]})
                if not resp.get("success"):
                    err = str(resp.get("error", ""))
                    for r in chunk:
                        out[index[id(r)]] = OrderResult(False, sym, r.client_order_id, None, OrderStatus.REJECTED,
                                                        error_code=err, error_msg=err)
                    continue
                for r, res in zip(chunk, resp.get("result") or [], strict=False):
                    ok = res.get("success", True) and "order_id" in res
                    out[index[id(r)]] = (OrderResult(True, sym, r.client_order_id, res["order_id"], OrderStatus.NEW)
                                         if ok else OrderResult(False, sym, r.client_order_id, None,
                                                                OrderStatus.REJECTED, error_code=res.get("error"),
                                                                error_msg=str(res.get("error", ""))))
        results = tuple(out[i] for i in range(len(reqs)))
        return BatchResult(BatchMode.NATIVE_BEST_EFFORT if native else BatchMode.SERIAL, results, BATCH_MAX)

