"""Binance order entry over the WS API (spot and USD-M), USD-M batches over REST, and user data.

Spot: order.place / order.cancel / order.amend.keepPriority (quantity down only: NATIVE_ATOMIC,
priority kept); any other amend runs as cancel + new (CANCEL_REPLACE); no batch endpoint for plain
orders, so batches are SERIAL. User data through the WS API (userDataStream.subscribe after an
Ed25519 session.logon, or userDataStream.subscribe.signature with HMAC): the listenKey endpoints
were removed on 2026-02-20.

USD-M: order.place / order.cancel / order.modify (in place, atomic, but the order is re-queued:
NATIVE_ATOMIC with keeps_priority False); batches through POST /fapi/v1/batchOrders, at most 5
orders, processed concurrently with per-order results (NATIVE_BEST_EFFORT); user data on the
/private stream with a listenKey.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from seqkern._fixed import format_px, format_qty, parse_px, parse_qty
from seqkern.edge.backoff import Backoff
from seqkern.edge.rest import RestClient
from seqkern.edge.ws import WsConnectError, WsConnection
from seqkern.venues.base import (
    AmendMode,
    AmendResult,
    BatchMode,
    BatchResult,
    CexCredentials,
    OrderQuery,
    OrderRequest,
    OrderResult,
    OrderTransport,
    OrderType,
    RestRequest,
    Side,
    TimeInForce,
    UserEventHandler,
    VenueMessageError,
    VenueRejected,
    VenueUnavailable,
)
from seqkern.venues.binance import constants as C
from seqkern.venues.binance.auth import BinanceSigner
from seqkern.venues.binance.parsing import order_status, parse_user_event
from seqkern.venues.order_entry import order_fills, order_ident, rejected
from seqkern.venues.ws_session import PendingReplies, stop_task

log = logging.getLogger("seqkern.venues.binance")


@dataclass
class _Known:
    venue_symbol: str
    side: Side
    px_1e9: int
    qty_1e8: int
    client_order_id: str


class BinanceWsApiTransport(OrderTransport):
    """One WS API session per edge; requests are correlated by id; responses and user events share it."""

    def __init__(self, *, futures: bool, ws_api_url: str, credentials: CexCredentials, rest: RestClient,
                 private_ws_base: str = "", recv_window_ms: int = 5000, request_timeout_s: float = 10.0) -> None:
        self.futures = futures
        self.url = ws_api_url
        # the catalog keeps an Ed25519 key as a PEM in api_secret; otherwise it is the HMAC secret
        secret = credentials.api_secret
        pem = secret if secret.startswith("-----BEGIN") else ""
        self.signer = BinanceSigner(credentials.api_key, "" if pem else secret, pem)
        self.rest = rest
        self.private_ws_base = private_ws_base
        self.recv_window_ms = recv_window_ms
        self.request_timeout_s = request_timeout_s
        self.trades_page_size = 1000      # myTrades / userTrades maximum limit
        self.amend_mode = AmendMode.NATIVE_ATOMIC if futures else AmendMode.CANCEL_REPLACE
        self.batch_mode = BatchMode.NATIVE_BEST_EFFORT if futures else BatchMode.SERIAL
        self.max_batch = C.USDM_BATCH_MAX if futures else 1
        self._ws: WsConnection | None = None
        self._pending = PendingReplies()
        self._ids = itertools.count(1)
        self._on_user: UserEventHandler | None = None
        self._private: WsConnection | None = None
        self._private_task: asyncio.Task | None = None
        self._known: dict[int | str, _Known] = {}
        self._connect_lock = asyncio.Lock()
        self.user_events = 0
        self.unparsable = 0
        self._closing = False
        self._user_subscribed = False
        self._revive: asyncio.Task | None = None
        self.sessions = 0

    def __repr__(self) -> str:
        return f"BinanceWsApiTransport(futures={self.futures}, url={self.url!r}, signer={self.signer!r})"

    # ---- session ---------------------------------------------------------------------------

    async def connect(self) -> None:
        async with self._connect_lock:
            if self._ws is not None and self._ws.connected:
                return
            ws = WsConnection(self.url, self._on_message, on_close=self._on_close)
            await ws.connect()
            self._ws = ws
            self.sessions += 1
            resubscribe = self._user_subscribed and not self.futures
        if resubscribe:   # a new session: the spot user stream lives on the WS API session
            await self._subscribe_spot_user_stream()

    async def close(self) -> None:
        self._closing = True
        await stop_task(self._revive)
        await stop_task(self._private_task)
        if self._private:
            await self._private.close()
        if self._ws:
            await self._ws.close()

    def _on_close(self) -> None:
        self._pending.fail_all("WS API connection closed before the response")
        if not self._closing and self._user_subscribed and not self.futures and self._revive is None:
            # the spot user stream lives on this session: bring it back without waiting for an order
            self._revive = asyncio.get_running_loop().create_task(self._revive_session())

    async def _revive_session(self) -> None:
        backoff = Backoff(0.1, 10.0)
        try:
            while not self._closing:
                await asyncio.sleep(backoff.next_delay())
                try:
                    await self.connect()
                    return
                except (VenueUnavailable, VenueRejected, WsConnectError) as exc:
                    log.warning("WS API session: reconnect failed: %s", exc)
        finally:
            self._revive = None

    def _on_message(self, payload: memoryview, ts_recv_ns: int) -> None:
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self.unparsable += 1
            log.warning("unparsable WS API message (%d bytes)", len(payload))
            return
        if isinstance(obj, dict) and "event" in obj and "subscriptionId" in obj:
            self._user_event(obj, ts_recv_ns)
            return
        rid = obj.get("id") if isinstance(obj, dict) else None
        if rid is not None:
            self._pending.resolve(str(rid), obj)

    def _on_private_message(self, payload: memoryview, ts_recv_ns: int) -> None:
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self.unparsable += 1
            log.warning("unparsable private-stream message (%d bytes)", len(payload))
            return
        self._user_event(obj, ts_recv_ns)

    def _user_event(self, obj: Any, ts_recv_ns: int) -> None:
        if self._on_user is None:
            return
        try:
            events = parse_user_event(obj, ts_recv_ns)
        except VenueMessageError as exc:
            self.unparsable += 1
            log.warning("unparsable user-data event: %s", exc)
            return
        self.user_events += 1
        for ev in events:
            self._on_user(ev)

    async def _call(self, method: str, params: dict[str, Any] | None, *, signed: bool) -> Any:
        await self.connect()
        ws = self._ws
        assert ws is not None
        rid = f"sk{next(self._ids)}"
        p = dict(params or {})
        if signed:
            p.setdefault("timestamp", int(time.time() * 1000))
            p.setdefault("recvWindow", self.recv_window_ms)
            p = self.signer.sign_wsapi(p)
        frame: dict[str, Any] = {"id": rid, "method": method}
        if p:
            frame["params"] = p
        resp = await self._pending.ask(rid, lambda: ws.send_text(orjson.dumps(frame)), self.request_timeout_s,
                                       f"{method}: no response within {self.request_timeout_s}s")
        if "error" in resp:
            err = resp["error"] or {}
            raise VenueRejected(f"{method}: {err.get('msg', err)}", venue_code=err.get("code"),
                                http_status=int(resp.get("status", 400)))
        return resp.get("result")

    # ---- orders ----------------------------------------------------------------------------

    def _order_params(self, req: OrderRequest) -> dict[str, Any]:
        p: dict[str, Any] = {"symbol": req.venue_symbol, "side": req.side.value,
                             "quantity": format_qty(req.qty_1e8)}
        if req.order_type is OrderType.MARKET:
            p["type"] = "MARKET"
        elif req.tif is TimeInForce.POST_ONLY:
            if self.futures:
                p.update(type="LIMIT", timeInForce="GTX", price=format_px(req.px_1e9))
            else:
                p.update(type="LIMIT_MAKER", price=format_px(req.px_1e9))
        else:
            p.update(type="LIMIT", timeInForce=req.tif.value, price=format_px(req.px_1e9))
        if req.client_order_id:
            p["newClientOrderId"] = req.client_order_id
        if self.futures and req.reduce_only:
            p["reduceOnly"] = "true"
        return p

    def _result(self, venue_symbol: str, r: dict[str, Any]) -> OrderResult:
        oid = r.get("orderId")
        res = OrderResult(
            True, venue_symbol, r.get("clientOrderId", ""), oid, order_status(r["status"]),
            parse_qty(r.get("executedQty", "0")))
        return res

    def _remember(self, req: OrderRequest, res: OrderResult) -> None:
        if res.accepted and res.venue_order_id is not None:
            self._known[res.venue_order_id] = _Known(req.venue_symbol, req.side, req.px_1e9, req.qty_1e8,
                                                     res.client_order_id)

    async def place(self, req: OrderRequest) -> OrderResult:
        try:
            r = await self._call("order.place", self._order_params(req), signed=True)
        except VenueRejected as exc:
            return rejected(req.venue_symbol, req.client_order_id, exc)
        res = self._result(req.venue_symbol, r)
        self._remember(req, res)
        return res

    @staticmethod
    def _ident(venue_order_id: int | str | None, client_order_id: str) -> dict[str, Any]:
        return order_ident(venue_order_id, client_order_id, id_key="orderId", cid_key="origClientOrderId",
                           id_as_text=False)

    async def cancel(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                     client_order_id: str = "") -> OrderResult:
        p = {"symbol": venue_symbol, **self._ident(venue_order_id, client_order_id)}
        try:
            r = await self._call("order.cancel", p, signed=True)
        except VenueRejected as exc:
            return rejected(venue_symbol, client_order_id, exc)
        if r.get("orderId") is not None:
            self._known.pop(r["orderId"], None)
        return self._result(venue_symbol, r)

    def _lookup(self, venue_order_id: int | str | None, client_order_id: str) -> tuple[int | str | None, _Known | None]:
        if venue_order_id is not None:
            return venue_order_id, self._known.get(venue_order_id)
        for oid, k in self._known.items():
            if k.client_order_id == client_order_id:
                return oid, k
        return None, None

    def open_order(self, *, venue_order_id: int | str | None = None,
                   client_order_id: str = "") -> OrderRequest | None:
        _, k = self._lookup(venue_order_id, client_order_id)
        if k is None:
            return None
        return OrderRequest(k.venue_symbol, k.side, OrderType.LIMIT, k.qty_1e8, k.px_1e9,
                            client_order_id=k.client_order_id)

    async def decrease(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                       client_order_id: str = "", new_qty_1e8: int) -> AmendResult:
        if self.futures:
            return await self.amend(venue_symbol, venue_order_id=venue_order_id, client_order_id=client_order_id,
                                    new_qty_1e8=new_qty_1e8)
        p = {"symbol": venue_symbol, **self._ident(venue_order_id, client_order_id),
             "newQty": format_qty(new_qty_1e8)}
        _, known = self._lookup(venue_order_id, client_order_id)
        keep_cid = client_order_id or (known.client_order_id if known is not None else "")
        if keep_cid:
            # without it Binance gives the amended order a random clientOrderId
            p["newClientOrderId"] = keep_cid
        try:
            r = await self._call("order.amend.keepPriority", p, signed=True)
        except VenueRejected as exc:
            return AmendResult(AmendMode.NATIVE_ATOMIC, rejected(venue_symbol, client_order_id, exc))
        o = r["amendedOrder"]
        res = OrderResult(True, venue_symbol, o.get("clientOrderId", ""), o["orderId"], order_status(o["status"]),
                          parse_qty(o.get("executedQty", "0")))
        k = self._known.get(o["orderId"])
        if k is not None:
            k.qty_1e8 = new_qty_1e8
            k.client_order_id = res.client_order_id
        return AmendResult(AmendMode.NATIVE_ATOMIC, res, keeps_priority=True)

    async def amend(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                    client_order_id: str = "", new_qty_1e8: int | None = None,
                    new_px_1e9: int | None = None, side: Side | None = None) -> AmendResult:
        oid, known = self._lookup(venue_order_id, client_order_id)
        if known is None and (side is None or new_qty_1e8 is None or new_px_1e9 is None):
            rej = VenueRejected("amend of an order this edge did not place needs side, quantity and price")
            return AmendResult(self.amend_mode, rejected(venue_symbol, client_order_id, rej))
        side = side or known.side  # type: ignore[union-attr]
        qty = new_qty_1e8 if new_qty_1e8 is not None else known.qty_1e8  # type: ignore[union-attr]
        px = new_px_1e9 if new_px_1e9 is not None else known.px_1e9  # type: ignore[union-attr]
        if self.futures:
            p = {"symbol": venue_symbol, **self._ident(oid, client_order_id), "side": side.value,
                 "quantity": format_qty(qty), "price": format_px(px)}
            try:
                r = await self._call("order.modify", p, signed=True)
            except VenueRejected as exc:
                return AmendResult(AmendMode.NATIVE_ATOMIC, rejected(venue_symbol, client_order_id, exc))
            res = self._result(venue_symbol, r)
            if known is not None:
                known.qty_1e8, known.px_1e9 = qty, px
            return AmendResult(AmendMode.NATIVE_ATOMIC, res, keeps_priority=False)
        # spot: a pure quantity reduction is the native keep-priority amend
        if known is not None and px == known.px_1e9 and qty < known.qty_1e8:
            return await self.decrease(venue_symbol, venue_order_id=oid, client_order_id=client_order_id,
                                       new_qty_1e8=qty)
        cancelled = await self.cancel(venue_symbol, venue_order_id=oid, client_order_id=client_order_id)
        if not cancelled.accepted:
            return AmendResult(AmendMode.CANCEL_REPLACE, cancelled, replaced_order_id=oid)
        new = await self.place(OrderRequest(venue_symbol, side, OrderType.LIMIT, qty, px))
        return AmendResult(AmendMode.CANCEL_REPLACE, new, keeps_priority=False, replaced_order_id=oid)

    async def batch(self, reqs: Sequence[OrderRequest]) -> BatchResult:
        if not self.futures:
            results = [await self.place(r) for r in reqs]
            return BatchResult(BatchMode.SERIAL, tuple(results), 1)
        out: list[OrderResult] = []
        for i in range(0, len(reqs), C.USDM_BATCH_MAX):
            chunk = reqs[i:i + C.USDM_BATCH_MAX]
            orders = [{k: str(v) for k, v in self._order_params(r).items()} for r in chunk]
            params = {"batchOrders": orjson.dumps(orders).decode(), "timestamp": int(time.time() * 1000),
                      "recvWindow": self.recv_window_ms}
            req = RestRequest("POST", "/fapi/v1/batchOrders", params, C.USDM_WEIGHTS["/fapi/v1/batchOrders"], True)
            try:
                body = await self.rest.request(req, query=self.signer.sign_rest(params),
                                               headers={"X-MBX-APIKEY": self.signer.api_key})
            except VenueRejected as exc:
                out.extend(rejected(r.venue_symbol, r.client_order_id, exc) for r in chunk)
                continue
            rows = orjson.loads(body)
            for r, row in zip(chunk, rows, strict=False):
                if "code" in row and "orderId" not in row:
                    out.append(OrderResult(False, r.venue_symbol, r.client_order_id, None, None, 0,
                                           row.get("code"), str(row.get("msg", ""))))
                else:
                    res = self._result(r.venue_symbol, row)
                    self._remember(r, res)
                    out.append(res)
        return BatchResult(BatchMode.NATIVE_BEST_EFFORT, tuple(out), C.USDM_BATCH_MAX)

    # ---- queries (reconciliation) ----------------------------------------------------------

    async def query_order(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                          client_order_id: str | None = None) -> OrderQuery:
        """order.status on the WS API, then the order's trades: spot ``myTrades`` (WS API),
        USD-M GET /fapi/v1/userTrades (REST), both filtered by orderId."""
        weights = C.USDM_QUERY_WEIGHTS if self.futures else C.SPOT_QUERY_WEIGHTS
        p = {"symbol": venue_symbol, **self._ident(venue_order_id, client_order_id or "")}
        await self.rest.limiter.acquire(weights["order.status"])
        try:
            r = await self._call("order.status", p, signed=True)
        except VenueRejected as exc:
            if exc.venue_code == C.ERR_NO_SUCH_ORDER:
                return OrderQuery(venue_symbol, False, venue_order_id, client_order_id or "",
                                  error_code=exc.venue_code, error_msg=exc.message)
            raise
        try:
            oid = int(r["orderId"])
            side = Side(r["side"])
            status = order_status(r["status"])
            qty, filled = parse_qty(r["origQty"]), parse_qty(r["executedQty"])
            px = parse_px(r.get("price") or "0")
            avg = parse_px(r["avgPrice"]) if self.futures else 0
        except (KeyError, TypeError, ValueError) as exc:
            raise VenueMessageError(f"order.status: unreadable answer ({exc})") from None
        rows: list[dict[str, Any]] = []
        from_id = 0
        while True:   # pages oldest first (symbol + orderId + fromId); a short page is the last
            tp: dict[str, Any] = {"symbol": venue_symbol, "orderId": oid, "fromId": from_id,
                                  "limit": self.trades_page_size}
            if self.futures:
                params = {**tp, "timestamp": int(time.time() * 1000), "recvWindow": self.recv_window_ms}
                body = await self.rest.request(
                    RestRequest("GET", "/fapi/v1/userTrades", params, weights["/fapi/v1/userTrades"], True),
                    query=self.signer.sign_rest(params), headers={"X-MBX-APIKEY": self.signer.api_key})
                page = orjson.loads(body)
            else:
                await self.rest.limiter.acquire(weights["myTrades"])
                page = await self._call("myTrades", tp, signed=True)
            if not isinstance(page, list):
                raise VenueMessageError("order trades: the venue did not answer a list")
            rows.extend(page)
            if len(page) < self.trades_page_size or not page:
                break
            try:
                from_id = max(int(t["id"]) for t in page) + 1
            except (KeyError, TypeError, ValueError) as exc:
                raise VenueMessageError(f"order trades: unreadable answer ({exc})") from None
        cid = str(r.get("clientOrderId", ""))
        fills = order_fills(
            rows, order=(venue_symbol, oid, cid, side), sort_key=lambda t: int(t["id"]),
            is_mine=lambda t: int(t["orderId"]) == oid,
            read=lambda t: (parse_qty(t["qty"]), parse_px(t["price"]), str(t.get("commission", "0")),
                            str(t.get("commissionAsset", "")), bool(t["maker"] if self.futures else t["isMaker"]),
                            int(t["id"]), int(t.get("time", 0)) * 1_000_000),
            what="order trades", now_ns=time.time_ns())
        if not avg and fills:
            avg = sum(f.px_1e9 * f.qty_1e8 for f in fills) // max(fills[-1].cum_qty_1e8, 1)
        return OrderQuery(venue_symbol, True, oid, cid, side, status, px, qty, filled, avg,
                          fills[-1].px_1e9 if fills else 0, tuple(fills))

    # ---- user data -------------------------------------------------------------------------

    async def subscribe_user_stream(self, on_event: UserEventHandler) -> None:
        self._on_user = on_event
        if self.futures:
            self._private_task = asyncio.get_running_loop().create_task(self._private_loop())
            return
        await self.connect()
        await self._subscribe_spot_user_stream()

    async def _subscribe_spot_user_stream(self) -> None:
        if self.signer.has_ed25519:
            await self._call("session.logon", self.signer.sign_logon(int(time.time() * 1000)), signed=False)
            await self._call("userDataStream.subscribe", None, signed=False)
        else:
            await self._call("userDataStream.subscribe.signature", {}, signed=True)
        self._user_subscribed = True

    async def _private_loop(self) -> None:
        """USD-M: listenKey from REST, the /private stream, keepalive every 30 min, reconnect on loss."""
        backoff = Backoff(0.2, 10.0)
        headers = {"X-MBX-APIKEY": self.signer.api_key}
        while not self._closing:
            try:
                body = await self.rest.request(RestRequest("POST", "/fapi/v1/listenKey", {},
                                                           C.USDM_WEIGHTS["/fapi/v1/listenKey"]),
                                               query="", headers=headers)
                key = orjson.loads(body)["listenKey"]
                ws = WsConnection(f"{self.private_ws_base}/private/ws?listenKey={key}",
                                  self._on_private_message)
                await ws.connect()
                self._private = ws
                backoff.reset()
                while ws.connected:
                    try:
                        await asyncio.wait_for(ws.wait_closed(), 1800.0)
                    except TimeoutError:
                        await self.rest.request(RestRequest("PUT", "/fapi/v1/listenKey", {},
                                                            C.USDM_WEIGHTS["/fapi/v1/listenKey"]),
                                                query="", headers=headers)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("USD-M private stream: %s", exc)
            await asyncio.sleep(backoff.next_delay())
