"""Crypto.com Exchange v1 order entry on the user websocket: public/auth once, then private methods.

private/create-order, private/cancel-order, private/amend-order (the venue's own amend: one request,
ids kept; internally cancel-then-create, so queue priority survives only a pure size decrease:
NATIVE_ATOMIC with keeps_priority accordingly; both new_price and new_quantity are always sent),
private/create-order-list with contingency LIST (at most 10, each order independent:
NATIVE_BEST_EFFORT). Order states and fills arrive on user.order / user.trade. Every number
goes out as a string; the server's public/heartbeat is answered on this connection too.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson

from seqkern._fixed import format_px, format_qty, parse_px, parse_qty
from seqkern.edge.ws import WsConnection
from seqkern.errors import FixedPointError
from seqkern.venues.base import (
    AmendMode,
    AmendResult,
    BatchMode,
    BatchResult,
    FillEvent,
    OrderRequest,
    OrderResult,
    OrderStatus,
    OrderTransport,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
    UserEventHandler,
    VenueMessageError,
    VenueRejected,
)
from seqkern.venues.credentials import CexCredentials, CexPassphraseCredentials
from seqkern.venues.cryptocom.auth import signature
from seqkern.venues.cryptocom.venue import BATCH_MAX
from seqkern.venues.user_stream import UserEventFeed
from seqkern.venues.ws_session import PendingReplies

log = logging.getLogger("seqkern.venues.cryptocom")

_STATUS = {"NEW": OrderStatus.NEW, "PENDING": OrderStatus.NEW, "ACTIVE": OrderStatus.NEW,
           "FILLED": OrderStatus.FILLED, "CANCELED": OrderStatus.CANCELED, "REJECTED": OrderStatus.REJECTED,
           "EXPIRED": OrderStatus.EXPIRED}
_TIF = {TimeInForce.GTC: "GOOD_TILL_CANCEL", TimeInForce.POST_ONLY: "GOOD_TILL_CANCEL",
        TimeInForce.IOC: "IMMEDIATE_OR_CANCEL", TimeInForce.FOK: "FILL_OR_KILL"}


def parse_user_push(obj: dict[str, Any], ts_recv_ns: int) -> list[FillEvent | OrderUpdate]:
    """A user.order / user.trade push to kernel records."""
    res = obj.get("result") or {}
    ch = res.get("channel")
    out: list[FillEvent | OrderUpdate] = []
    try:
        for d in res.get("data") or []:
            if ch == "user.order":
                cum = parse_qty(d["cumulative_quantity"])
                status = _STATUS.get(d["status"], OrderStatus.NEW)
                if status is OrderStatus.NEW and cum > 0:
                    status = OrderStatus.PARTIALLY_FILLED
                px = d.get("limit_price") or d.get("price") or "0"
                out.append(OrderUpdate(d["instrument_name"], d["order_id"], d.get("client_oid", ""),
                                       Side(d["side"]), status, d["status"], parse_px(px), parse_qty(d["quantity"]),
                                       cum, int(d.get("update_time", 0)) * 1_000_000, ts_recv_ns))
            elif ch == "user.trade":
                side = Side(d["side"])
                out.append(FillEvent(d["instrument_name"], d["order_id"], d.get("client_oid", ""), side,
                                     parse_px(d["traded_price"]), parse_qty(d["traded_quantity"]), 0,
                                     str(d.get("fees", "0")), str(d.get("fee_instrument_name", "")),
                                     d.get("taker_side") != d["side"], int(d["trade_id"]),
                                     int(d.get("create_time", 0)) * 1_000_000, ts_recv_ns))
    except (KeyError, TypeError, ValueError, FixedPointError) as exc:
        raise VenueMessageError(f"unreadable Crypto.com {ch} push: {exc}") from None
    return out


class CryptocomUserTransport(UserEventFeed, OrderTransport):
    """One authenticated user websocket; requests matched by id; pushes share the connection."""

    amend_mode = AmendMode.NATIVE_ATOMIC
    batch_mode = BatchMode.NATIVE_BEST_EFFORT
    max_batch = BATCH_MAX

    def __init__(self, *, user_ws: str, credentials: CexCredentials | CexPassphraseCredentials,
                 connect_delay_s: float = 1.0, request_timeout_s: float = 10.0) -> None:
        self.url = user_ws
        self._key = credentials.api_key
        self._secret = credentials.api_secret
        self.connect_delay_s = connect_delay_s
        self.request_timeout_s = request_timeout_s
        self._ws: WsConnection | None = None
        self._ids = itertools.count(int(time.time()) * 1000)
        self._pending = PendingReplies()
        self._on_user: UserEventHandler | None = None
        self._lock = asyncio.Lock()
        self._known: dict[str, tuple[int, int]] = {}      # order id -> (px, qty) as last set
        self.user_events = 0
        self.unparsable = 0

    def __repr__(self) -> str:
        return f"CryptocomUserTransport(url={self.url!r}, api_key={self._key[:4]}...)"

    async def connect(self) -> None:
        async with self._lock:
            if self._ws is not None and self._ws.connected:
                return
            ws = WsConnection(self.url, self._on_message, on_close=self._on_close)
            await ws.connect()
            self._ws = ws
            await asyncio.sleep(self.connect_delay_s)   # limits are pro-rated to the connect second
            rid = next(self._ids)
            nonce = time.time_ns() // 1_000_000
            resp = await self._send({"id": rid, "method": "public/auth", "api_key": self._key,
                                     "sig": signature(self._secret, "public/auth", rid, self._key, None, nonce),
                                     "nonce": nonce})
            if resp.get("code") != 0:
                await ws.close()
                raise VenueRejected(f"public/auth failed: {resp.get('code')} {resp.get('message', '')}",
                                    venue_code=resp.get("code"))
        if self._on_user is not None:
            await self._subscribe()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    def _on_close(self) -> None:
        self._pending.fail_all("Crypto.com user websocket closed before the response")

    def _on_message(self, payload: memoryview, ts_recv_ns: int) -> None:
        obj = self._json_object(payload)
        if obj is None:
            return
        method = obj.get("method")
        if method == "public/heartbeat" and self._ws is not None:
            self._ws.send_text(orjson.dumps({"id": obj.get("id"), "method": "public/respond-heartbeat"}))
            return
        rid = obj.get("id")
        if rid == -1 and method == "subscribe":
            self._hand_over(parse_user_push, obj, ts_recv_ns, log)
            return
        if isinstance(rid, int):
            self._pending.resolve(rid, obj)

    async def _send(self, msg: dict[str, Any]) -> dict[str, Any]:
        ws = self._ws
        assert ws is not None
        return await self._pending.ask(msg["id"], lambda: ws.send_text(orjson.dumps(msg)), self.request_timeout_s,
                                       f"Crypto.com {msg['method']}: no response")

    async def _request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        await self.connect()
        return await self._send({"id": next(self._ids), "method": method, "params": params,
                                 "nonce": time.time_ns() // 1_000_000})

    async def _subscribe(self) -> None:
        resp = await self._request("subscribe", {"channels": ["user.order", "user.trade"]})
        if resp.get("code") != 0:
            raise VenueRejected(f"user channel subscribe failed: {resp.get('code')}", venue_code=resp.get("code"))

    async def subscribe_user_stream(self, on_event: UserEventHandler) -> None:
        self._on_user = on_event
        await self.connect()
        await self._subscribe()

    @staticmethod
    def _order_params(req: OrderRequest) -> dict[str, Any]:
        p: dict[str, Any] = {"instrument_name": req.venue_symbol, "side": req.side.value,
                             "type": "MARKET" if req.order_type is OrderType.MARKET else "LIMIT",
                             "quantity": format_qty(req.qty_1e8)}
        if req.order_type is OrderType.LIMIT:
            p["price"] = format_px(req.px_1e9)
            p["time_in_force"] = _TIF[req.tif]
            if req.tif is TimeInForce.POST_ONLY:
                p["exec_inst"] = ["POST_ONLY"]
        if req.client_order_id:
            p["client_oid"] = req.client_order_id
        return p

    def _result(self, sym: str, resp: dict[str, Any], cid: str, status: OrderStatus = OrderStatus.NEW) -> OrderResult:
        if resp.get("code") == 0:
            res = resp.get("result") or {}
            return OrderResult(True, sym, res.get("client_oid", cid), res.get("order_id"), status)
        return OrderResult(False, sym, cid, None, OrderStatus.REJECTED, error_code=resp.get("code"),
                           error_msg=str(resp.get("message", "")))

    async def place(self, req: OrderRequest) -> OrderResult:
        r = self._result(req.venue_symbol, await self._request("private/create-order", self._order_params(req)),
                         req.client_order_id)
        if r.accepted and r.venue_order_id is not None:
            self._known[str(r.venue_order_id)] = (req.px_1e9, req.qty_1e8)
        return r

    async def cancel(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                     client_order_id: str = "") -> OrderResult:
        params: dict[str, Any] = {"instrument_name": venue_symbol}
        params.update({"order_id": str(venue_order_id)} if venue_order_id else {"client_oid": client_order_id})
        r = self._result(venue_symbol, await self._request("private/cancel-order", params), client_order_id,
                         OrderStatus.CANCELED)
        if r.accepted:
            r = OrderResult(True, venue_symbol, client_order_id, venue_order_id, OrderStatus.CANCELED)
        return r

    async def amend(self, venue_symbol: str, *, venue_order_id: int | str | None = None, client_order_id: str = "",
                    new_qty_1e8: int | None = None, new_px_1e9: int | None = None,
                    side: Side | None = None) -> AmendResult:
        known = self._known.get(str(venue_order_id)) if venue_order_id else None
        px = new_px_1e9 if new_px_1e9 is not None else (known[0] if known else None)
        qty = new_qty_1e8 if new_qty_1e8 is not None else (known[1] if known else None)
        if px is None or qty is None:
            raise VenueRejected("Crypto.com amend-order needs both the price and the quantity; this order's "
                                "current values are not known here", venue_code=40004)
        params: dict[str, Any] = {"new_price": format_px(px), "new_quantity": format_qty(qty)}
        params.update({"order_id": str(venue_order_id)} if venue_order_id else {"orig_client_oid": client_order_id})
        r = self._result(venue_symbol, await self._request("private/amend-order", params), client_order_id)
        keeps = False
        if r.accepted and r.venue_order_id is not None:
            old = self._known.get(str(r.venue_order_id))
            keeps = old is not None and old[0] == px and qty < old[1]
            self._known[str(r.venue_order_id)] = (px, qty)
        return AmendResult(AmendMode.NATIVE_ATOMIC, r, keeps_priority=keeps)

    async def batch(self, reqs: Sequence[OrderRequest]) -> BatchResult:
        results: list[OrderResult] = []
        for i in range(0, len(reqs), BATCH_MAX):
            chunk = list(reqs[i:i + BATCH_MAX])
            resp = await self._request("private/create-order-list", {
                "contingency_type": "LIST", "order_list": [self._order_params(r) for r in chunk]})
            if resp.get("code") != 0:
                results.extend(OrderResult(False, r.venue_symbol, r.client_order_id, None, OrderStatus.REJECTED,
                                           error_code=resp.get("code"), error_msg=str(resp.get("message", "")))
                               for r in chunk)
                continue
            by_index = {x.get("index"): x for x in (resp.get("result") or {}).get("result_list", [])}
            for k, r in enumerate(chunk):
                x = by_index.get(k, {"code": 50001, "message": "no result for this order"})
                if x.get("code") == 0:
                    results.append(OrderResult(True, r.venue_symbol, x.get("client_oid", r.client_order_id),
                                               x.get("order_id"), OrderStatus.NEW))
                    self._known[str(x.get("order_id"))] = (r.px_1e9, r.qty_1e8)
                else:
                    results.append(OrderResult(False, r.venue_symbol, r.client_order_id, None, OrderStatus.REJECTED,
                                               error_code=x.get("code"), error_msg=str(x.get("message", ""))))
        return BatchResult(BatchMode.NATIVE_BEST_EFFORT, tuple(results), BATCH_MAX)
