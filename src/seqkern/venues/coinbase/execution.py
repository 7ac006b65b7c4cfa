"""Coinbase Advanced Trade order entry over REST with CDP JWTs, and the ``user`` channel for order states.

POST /api/v3/brokerage/orders (limit_limit_gtc / sor_limit_ioc / limit_limit_fok / market_market_ioc),
/orders/edit (native: GTC limit orders only, price and size both sent: NATIVE_ATOMIC; queue priority
is assumed kept only for a pure size decrease, which Coinbase does not document), /orders/batch_cancel.
There is no batch create: batches run order by order (SERIAL). Each request carries a fresh JWT
(120 s) whose ``uri`` claim names the request; the user websocket subscribe carries one without.
The user channel reports orders, not fills: a fill is the growth of ``cumulative_quantity``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from seqkern._fixed import format_px, format_qty, parse_px, parse_qty
from seqkern.edge.rest import RestClient
from seqkern.edge.ws import WsConnectError, WsConnection
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
    RestRequest,
    Side,
    TimeInForce,
    UserEventHandler,
    VenueMessageError,
    VenueRejected,
    VenueUnavailable,
)
from seqkern.venues.coinbase.auth import build_jwt, load_key, rest_uri
from seqkern.venues.coinbase.venue import BATCH_CANCEL_MAX
from seqkern.venues.credentials import CexCredentials, CexPassphraseCredentials
from seqkern.venues.kraken.venue import rfc3339_ns
from seqkern.venues.user_stream import UserEventFeed
from seqkern.venues.ws_session import stop_task

log = logging.getLogger("seqkern.venues.coinbase")

_STATUS = {"PENDING": OrderStatus.NEW, "OPEN": OrderStatus.NEW, "FILLED": OrderStatus.FILLED,
           "CANCELLED": OrderStatus.CANCELED, "EXPIRED": OrderStatus.EXPIRED, "FAILED": OrderStatus.REJECTED}


@dataclass
class _Seen:
    cum: int = 0
    notional: int = 0        # avg price * cumulative quantity (px_1e9 * qty_1e8 units)


class UserOrderTracker:
    """Turns ``user`` channel order snapshots into order updates and the fills they imply."""

    def __init__(self) -> None:
        self._seen: dict[str, _Seen] = {}

    def on_message(self, obj: dict[str, Any], ts_recv_ns: int) -> list[FillEvent | OrderUpdate]:
        out: list[FillEvent | OrderUpdate] = []
        try:
            for ev in obj.get("events") or []:
                snapshot = ev.get("type") == "snapshot"
                for o in ev.get("orders") or []:
                    oid = o["order_id"]
                    cum = parse_qty(o["cumulative_quantity"])
                    avg = parse_px(o.get("avg_price") or "0")
                    notional = avg * cum            # px_1e9 * qty_1e8, exact
                    side = Side(o["order_side"])
                    seen = self._seen.setdefault(oid, _Seen())
                    if cum > seen.cum and not snapshot:
                        dq = cum - seen.cum
                        px = (notional - seen.notional) // dq
                        out.append(FillEvent(o["product_id"], oid, o.get("client_order_id", ""), side, px, dq, cum,
                                             str(o.get("total_fees", "0")), "", False, 0,
                                             ts_recv_ns, ts_recv_ns))
                    seen.cum, seen.notional = cum, notional
                    status = _STATUS.get(o["status"], OrderStatus.NEW)
                    if status is OrderStatus.NEW and cum > 0:
                        status = OrderStatus.PARTIALLY_FILLED
                    leaves = parse_qty(o.get("leaves_quantity") or "0")
                    px = parse_px(o["limit_price"]) if o.get("limit_price") else 0
                    out.append(OrderUpdate(o["product_id"], oid, o.get("client_order_id", ""), side, status,
                                           o["status"], px, cum + leaves, cum,
                                           rfc3339_ns(obj.get("timestamp", "")), ts_recv_ns))
                    if status in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED):
                        self._seen.pop(oid, None)
        except (KeyError, TypeError, ValueError, FixedPointError) as exc:
            raise VenueMessageError(f"unreadable Coinbase user message: {exc}") from None
        return out


class CoinbaseRestTransport(UserEventFeed, OrderTransport):
    amend_mode = AmendMode.NATIVE_ATOMIC
    batch_mode = BatchMode.SERIAL
    max_batch = 1

    def __init__(self, *, rest: RestClient, user_ws: str, credentials: CexCredentials | CexPassphraseCredentials,
                 rest_host: str = "") -> None:
        self.rest = rest
        self.user_ws = user_ws
        self._key_name = credentials.api_key
        self._key = load_key(credentials.api_secret)
        self._host = rest_host or urlsplit(rest.base_url).netloc
        self._ws: WsConnection | None = None
        self._ws_task: asyncio.Task | None = None
        self._on_user: UserEventHandler | None = None
        self._tracker = UserOrderTracker()
        self._known: dict[str, tuple[int, int]] = {}     # order id -> (price, size) last set
        self._closing = False
        self.user_events = 0
        self.unparsable = 0

    def __repr__(self) -> str:
        return f"CoinbaseRestTransport(host={self._host!r}, key={self._key_name[:12]}...)"

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        self._closing = True
        await stop_task(self._ws_task)
        if self._ws is not None:
            await self._ws.close()

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        text = orjson.dumps(body).decode()
        headers = {"Authorization": f"Bearer {build_jwt(self._key_name, self._key, uri=rest_uri('POST', self._host, path))}",
                   "Content-Type": "application/json"}
        raw = await self.rest.request(RestRequest("POST", path, {}, (("PRIVATE", 1),), signed=True), body=text,
                                      headers=headers)
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise VenueUnavailable(f"unreadable Coinbase answer to {path}") from None

    @staticmethod
    def _config(req: OrderRequest) -> dict[str, Any]:
        size = format_qty(req.qty_1e8)
        if req.order_type is OrderType.MARKET:
            return {"market_market_ioc": {"base_size": size}}
        px = format_px(req.px_1e9)
        if req.tif is TimeInForce.IOC:
            return {"sor_limit_ioc": {"base_size": size, "limit_price": px}}
        if req.tif is TimeInForce.FOK:
            return {"limit_limit_fok": {"base_size": size, "limit_price": px}}
        return {"limit_limit_gtc": {"base_size": size, "limit_price": px,
                                    "post_only": req.tif is TimeInForce.POST_ONLY}}

    async def place(self, req: OrderRequest) -> OrderResult:
        cid = req.client_order_id or str(uuid.uuid4())
        try:
            obj = await self._post("/api/v3/brokerage/orders", {
                "client_order_id": cid, "product_id": req.venue_symbol, "side": req.side.value,
                "order_configuration": self._config(req)})
        except VenueRejected as exc:
            return OrderResult(False, req.venue_symbol, cid, None, OrderStatus.REJECTED, error_code=exc.venue_code,
                               error_msg=str(exc))
        if not obj.get("success"):
            er = obj.get("error_response") or {}
            return OrderResult(False, req.venue_symbol, cid, None, OrderStatus.REJECTED,
                               error_code=er.get("error"), error_msg=str(er.get("message", "")))
        sr = obj["success_response"]
        self._known[sr["order_id"]] = (req.px_1e9, req.qty_1e8)
        return OrderResult(True, req.venue_symbol, sr.get("client_order_id", cid), sr["order_id"], OrderStatus.NEW)

    async def _cancel_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i in range(0, len(ids), BATCH_CANCEL_MAX):
            obj = await self._post("/api/v3/brokerage/orders/batch_cancel", {"order_ids": ids[i:i + BATCH_CANCEL_MAX]})
            out.extend(obj.get("results") or [])
        return out

    async def cancel(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                     client_order_id: str = "") -> OrderResult:
        if not venue_order_id:
            raise VenueRejected("Coinbase cancels by order_id only", venue_code="INVALID_CANCEL_REQUEST")
        try:
            (res,) = await self._cancel_ids([str(venue_order_id)])
        except VenueRejected as exc:
            return OrderResult(False, venue_symbol, client_order_id, venue_order_id, OrderStatus.REJECTED,
                               error_code=exc.venue_code, error_msg=str(exc))
        if not res.get("success"):
            return OrderResult(False, venue_symbol, client_order_id, venue_order_id, None,
                               error_code=res.get("failure_reason"), error_msg=str(res.get("failure_reason")))
        return OrderResult(True, venue_symbol, client_order_id, venue_order_id, OrderStatus.CANCELED)

    async def cancel_many(self, venue_order_ids: Sequence[str]) -> list[tuple[str, bool, str]]:
        """batch_cancel: (order id, cancelled, failure reason) for each id."""
        return [(r.get("order_id", ""), bool(r.get("success")), str(r.get("failure_reason", "")))
                for r in await self._cancel_ids([str(x) for x in venue_order_ids])]

    async def amend(self, venue_symbol: str, *, venue_order_id: int | str | None = None, client_order_id: str = "",
                    new_qty_1e8: int | None = None, new_px_1e9: int | None = None,
                    side: Side | None = None) -> AmendResult:
        if not venue_order_id:
            raise VenueRejected("Coinbase edits by order_id only", venue_code="ORDER_NOT_FOUND")
        old = self._known.get(str(venue_order_id))
        px = new_px_1e9 if new_px_1e9 is not None else (old[0] if old else None)
        qty = new_qty_1e8 if new_qty_1e8 is not None else (old[1] if old else None)
        if px is None or qty is None:
            raise VenueRejected("Coinbase edit needs both price and size (a missing size reads as 0)",
                                venue_code="INVALID_EDITED_SIZE")
        obj = await self._post("/api/v3/brokerage/orders/edit", {"order_id": str(venue_order_id),
                                                                 "price": format_px(px), "size": format_qty(qty)})
        if not obj.get("success"):
            reason = ((obj.get("errors") or [{}])[0]).get("edit_failure_reason", "UNKNOWN_EDIT_ORDER_FAILURE_REASON")
            return AmendResult(AmendMode.NATIVE_ATOMIC, OrderResult(False, venue_symbol, client_order_id,
                                                                    venue_order_id, None, error_code=reason,
                                                                    error_msg=reason))
        keeps = old is not None and px == old[0] and qty < old[1]
        self._known[str(venue_order_id)] = (px, qty)
        return AmendResult(AmendMode.NATIVE_ATOMIC, OrderResult(True, venue_symbol, client_order_id, venue_order_id,
                                                                OrderStatus.NEW), keeps_priority=keeps)

    async def batch(self, reqs: Sequence[OrderRequest]) -> BatchResult:
        return BatchResult(BatchMode.SERIAL, tuple([await self.place(r) for r in reqs]), 1)

    # ---- user channel ------------------------------------------------------------------------

    async def subscribe_user_stream(self, on_event: UserEventHandler) -> None:
        self._on_user = on_event
        await self._open_user()
        self._ws_task = asyncio.get_running_loop().create_task(self._keep_user())

    async def _open_user(self) -> None:
        ws = WsConnection(self.user_ws, self._on_user_message)
        await ws.connect()
        self._ws = ws
        for channel in ("heartbeats", "user"):
            ws.send_text(orjson.dumps({"type": "subscribe", "channel": channel, "product_ids": [],
                                       "jwt": build_jwt(self._key_name, self._key)}))

    async def _keep_user(self) -> None:
        while not self._closing:
            await asyncio.sleep(1.0)
            if self._ws is None or not self._ws.connected:
                with contextlib.suppress(WsConnectError):
                    await self._open_user()

    def _on_user_message(self, payload: memoryview, ts_recv_ns: int) -> None:
        obj = self._json_object(payload)
        if obj is None:
            return
        if obj.get("type") == "error":
            log.warning("Coinbase user channel error: %s", obj.get("message"))
            return
        if obj.get("channel") != "user" or self._on_user is None:
            return
        self._hand_over(self._tracker.on_message, obj, ts_recv_ns, log)
