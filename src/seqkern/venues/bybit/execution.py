"""Bybit order entry over the WS trade API (/v5/trade) and fills/orders from the private stream.

Trade session: ``auth`` (hex HMAC of "GET/realtime"+expires), then ``order.create``,
``order.amend`` (native, same orderId: NATIVE_ATOMIC), ``order.cancel`` and
``order.create-batch`` (10 per request for spot, 20 for linear; per-order results in
``retExtInfo.list``: NATIVE_BEST_EFFORT). Private session (/v5/private): ``order.{category}``,
``execution.{category}`` and ``wallet``.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import orjson

from seqkern._fixed import format_px, format_qty, parse_px, parse_qty
from seqkern.edge.rest import RestClient
from seqkern.venues.base import (
    AmendMode,
    BatchMode,
    FillEvent,
    OrderQuery,
    OrderRequest,
    OrderResult,
    OrderStatus,
    OrderType,
    QueryUnsupported,
    RestRequest,
    Side,
    TimeInForce,
    UserEventHandler,
    VenueMessageError,
    VenueRejected,
)
from seqkern.venues.bybit import constants as C
from seqkern.venues.bybit.auth import BybitSigner
from seqkern.venues.bybit.parsing import exec_id, order_status, parse_private_push
from seqkern.venues.credentials import CexCredentials
from seqkern.venues.order_entry import answer_object, order_fills, order_ident
from seqkern.venues.ws_session import WsOrderTransport, WsSession

log = logging.getLogger("seqkern.venues.bybit")


_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK", TimeInForce.POST_ONLY: "PostOnly"}


def _order_ident(venue_order_id: int | str | None, client_order_id: str) -> dict[str, Any]:
    return order_ident(venue_order_id, client_order_id, id_key="orderId", cid_key="orderLinkId",
                       venue_code=C.ERR_PARAMS)


def check_order_link_id(cid: str) -> None:
    if cid and not (len(cid) <= C.ORDER_LINK_ID_MAX and all(c.isascii() and (c.isalnum() or c in "_-") for c in cid)):
        raise VenueRejected(f"Bybit orderLinkId must be 1-{C.ORDER_LINK_ID_MAX} of [A-Za-z0-9_-]: {cid!r}",
                            venue_code=C.ERR_PARAMS)


class BybitWsTransport(WsOrderTransport):
    push_name = "Bybit private push"
    amend_mode = AmendMode.NATIVE_ATOMIC
    batch_mode = BatchMode.NATIVE_BEST_EFFORT
    place_op, cancel_op, amend_op = "order.create", "order.cancel", "order.amend"
    amend_qty_key, amend_px_key = "qty", "price"
    missing_param_code = C.ERR_PARAMS

    def __init__(self, *, category: str, trade_ws_url: str, private_ws_url: str, credentials: CexCredentials,
                 recv_window_ms: int = C.RECV_WINDOW_MS, request_timeout_s: float = 10.0,
                 rest: RestClient | None = None) -> None:
        self.category = category
        self.rest = rest      # signed REST queries (reconciliation)
        self.max_batch = C.SPOT_BATCH_MAX if category == "spot" else C.LINEAR_BATCH_MAX
        self.signer = BybitSigner(credentials.api_key, credentials.api_secret)
        self.recv_window_ms = recv_window_ms
        self._ids = itertools.count(1)
        super().__init__()
        ping = orjson.dumps({"req_id": "ping", "op": "ping"})
        self.trade = WsSession(trade_ws_url, name=f"bybit {category} trade", login=self._auth_frame,
                               classify=self._classify, on_push=lambda o, t: None, ping_frame=ping,
                               ping_interval_s=C.PING.client_ping_s or 20.0, request_timeout_s=request_timeout_s)
        self.private = WsSession(private_ws_url, name=f"bybit {category} private", login=self._auth_frame,
                                 classify=self._classify, on_push=self._on_push, ping_frame=ping,
                                 ping_interval_s=C.PING.client_ping_s or 20.0, request_timeout_s=request_timeout_s)

    def __repr__(self) -> str:
        return f"BybitWsTransport(category={self.category}, signer={self.signer!r})"

    def _auth_frame(self) -> bytes:
        return orjson.dumps({"req_id": "auth", "op": "auth", "args": self.signer.ws_auth_args()})

    @staticmethod
    def _classify(obj: Any) -> tuple[str, str | None]:
        op = obj.get("op")
        if op == "auth":
            ok = obj.get("success", obj.get("retCode") == 0)
            if ok is True and obj.get("retCode", 0) == 0:
                return "login", None
            return "login", str(obj.get("retCode", C.ERR_API_KEY))
        if "reqId" in obj and op is not None:
            return "response", str(obj["reqId"])
        if "topic" in obj:
            return "push", None
        return "ignore", None

    def _parse_push(self, obj: Any, ts_recv_ns: int) -> list[Any]:
        return parse_private_push(obj, ts_recv_ns)

    async def connect(self) -> None:
        await self.trade.connect()

    async def close(self) -> None:
        await self.trade.close()
        await self.private.close()

    async def subscribe_user_stream(self, on_event: UserEventHandler) -> None:
        self._on_user = on_event
        await self.private.connect()
        topics = [f"order.{self.category}", f"execution.{self.category}", "wallet"]
        self.private.add_after_login(orjson.dumps({"req_id": "private", "op": "subscribe", "args": topics}))

    async def _order_op(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        rid = f"sk{next(self._ids)}"
        frame = {"reqId": rid, "header": {"X-BAPI-TIMESTAMP": str(int(time.time() * 1000)),
                                          "X-BAPI-RECV-WINDOW": str(self.recv_window_ms)},
                 "op": op, "args": [args]}
        resp = await self.trade.request(rid, orjson.dumps(frame))
        if resp.get("retCode") != C.OK:
            raise VenueRejected(f"Bybit {op}: {resp.get('retMsg', '')}", venue_code=resp.get("retCode"))
        return resp

    # ---- orders ----------------------------------------------------------------------------------

    def _order_args(self, req: OrderRequest, *, with_category: bool = True) -> dict[str, Any]:
        check_order_link_id(req.client_order_id)
        a: dict[str, Any] = {"category": self.category} if with_category else {}
        a.update(symbol=req.venue_symbol, side="Buy" if req.side is Side.BUY else "Sell",
                 orderType="Market" if req.order_type is OrderType.MARKET else "Limit",
                 qty=format_qty(req.qty_1e8))
        if req.order_type is OrderType.LIMIT:
            a["price"] = format_px(req.px_1e9)
            a["timeInForce"] = _TIF[req.tif]
        elif self.category == "spot":
            a["marketUnit"] = "baseCoin"   # spot market orders: quantity in base, like every other venue here
        if req.client_order_id:
            a["orderLinkId"] = req.client_order_id
        if req.reduce_only and self.category != "spot":
            a["reduceOnly"] = True
        return a

    def _ident(self, venue_symbol: str, venue_order_id: int | str | None, client_order_id: str) -> dict[str, Any]:
        return {"category": self.category, "symbol": venue_symbol, **_order_ident(venue_order_id, client_order_id)}

    @staticmethod
    def _ok(venue_symbol: str, data: dict[str, Any], status: OrderStatus, cid: str) -> OrderResult:
        return OrderResult(True, venue_symbol, data.get("orderLinkId") or cid, data.get("orderId"), status)

    def _op_result(self, venue_symbol: str, resp: Any, status: OrderStatus, cid: str) -> OrderResult:
        # the create ack is asynchronous: the order's state arrives on the private stream
        return self._ok(venue_symbol, resp.get("data") or {}, status, cid)

    async def _batch_op(self, chunk: Sequence[OrderRequest]) -> Any:
        """order.create-batch within the category's limit; per-order results in retExtInfo.list."""
        return await self._order_op("order.create-batch", {
            "category": self.category, "request": [self._order_args(r, with_category=False) for r in chunk]})

    def _batch_result(self, resp: Any, k: int, req: OrderRequest) -> OrderResult:
        rows = (resp.get("data") or {}).get("list") or []
        codes = (resp.get("retExtInfo") or {}).get("list") or []
        code = codes[k] if k < len(codes) else {"code": C.ERR_PARAMS, "msg": "no result for this order"}
        if code.get("code", 0) != 0:
            return OrderResult(False, req.venue_symbol, req.client_order_id, None, None, 0,
                               code.get("code"), str(code.get("msg", "")))
        return self._ok(req.venue_symbol, rows[k] if k < len(rows) else {}, OrderStatus.NEW, req.client_order_id)

    # ---- queries (reconciliation) ----------------------------------------------------------------

    async def _signed_get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        if self.rest is None:
            raise QueryUnsupported("this Bybit transport has no REST client for order queries")
        q = urlencode(params)
        body = await self.rest.request(RestRequest("GET", path, params, C.QUERY_WEIGHTS[path], True), query=q,
                                       headers=self.signer.rest_headers(q, self.recv_window_ms))
        obj = answer_object(body, f"Bybit {path}")
        if obj.get("retCode") != 0:
            raise VenueRejected(f"Bybit {path}: {obj.get('retMsg', '')}", venue_code=obj.get("retCode"))
        return obj.get("result") or {}

    async def query_order(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                          client_order_id: str | None = None) -> OrderQuery:
        """GET /v5/order/realtime (open and recent closed orders) then GET /v5/execution/list
        for the order's executions, both signed. Bybit answers an unknown order with an empty
        list (retCode 0): not found, no error code."""
        ident = _order_ident(venue_order_id, client_order_id or "")
        res = await self._signed_get("/v5/order/realtime", {"category": self.category, "symbol": venue_symbol,
                                                            **ident})
        rows = res.get("list") or []
        if not rows:
            return OrderQuery(venue_symbol, False, venue_order_id, client_order_id or "", error_code=None,
                              error_msg="order not found (empty list)")
        try:
            d = rows[0]
            oid = str(d["orderId"])
            side = Side.BUY if d["side"] == "Buy" else Side.SELL
            status = order_status(d["orderStatus"])
            qty, filled = parse_qty(d["qty"]), parse_qty(d.get("cumExecQty") or "0")
            px = parse_px(d["price"]) if d.get("price") else 0
            avg = parse_px(d["avgPrice"]) if d.get("avgPrice") else 0
            cid = str(d.get("orderLinkId", ""))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise VenueMessageError(f"Bybit order query: unreadable answer ({exc})") from None
        fills: list[FillEvent] = []
        if filled:
            execs: list[dict[str, Any]] = []
            cursor = ""
            for _ in range(1000):   # pages of 100 linked by nextPageCursor (bounded)
                ep = {"category": self.category, "symbol": venue_symbol, "orderId": oid, "limit": "100"}
                if cursor:
                    ep["cursor"] = cursor
                ex = await self._signed_get("/v5/execution/list", ep)
                execs.extend(ex.get("list") or [])
                cursor = str(ex.get("nextPageCursor") or "")
                if not cursor:
                    break
            fills = order_fills(
                execs, order=(venue_symbol, oid, cid, side), sort_key=lambda r: (int(r["execTime"]), r.get("seq", 0)),
                is_mine=lambda r: str(r["orderId"]) == oid and r.get("execType", "Trade") == "Trade",
                read=lambda r: (parse_qty(r["execQty"]), parse_px(r["execPrice"]), str(r.get("execFee", "0")),
                                str(r.get("feeCurrency", "")), bool(r.get("isMaker")),
                                exec_id(r["execId"], r.get("seq", 0)), int(r["execTime"]) * 1_000_000),
                what="Bybit executions query", now_ns=time.time_ns())
        return OrderQuery(venue_symbol, True, oid, cid, side, status, px, qty, filled, avg,
                          fills[-1].px_1e9 if fills else 0, tuple(fills))
