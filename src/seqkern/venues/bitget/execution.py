"""Bitget v2 spot order entry over signed REST, with fills and order states from the private websocket.

place-order, cancel-order, batch-orders (at most 50 per request, per-order success/failure lists:
NATIVE_BEST_EFFORT). Spot has no in-place amend: an amend runs as cancel-replace-order (a new
order id, queue priority lost, not atomic: CANCEL_REPLACE). Every REST call carries ACCESS-KEY,
ACCESS-SIGN, ACCESS-TIMESTAMP (ms) and ACCESS-PASSPHRASE. The private websocket logs in with a
seconds timestamp and subscribes to ``orders`` and ``fill``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Sequence
from typing import Any

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
from seqkern.venues.bitget.auth import login_args, rest_headers
from seqkern.venues.bitget.venue import BATCH_MAX
from seqkern.venues.credentials import CexPassphraseCredentials
from seqkern.venues.user_stream import UserEventFeed
from seqkern.venues.ws_session import stop_task

log = logging.getLogger("seqkern.venues.bitget")

_FORCE = {TimeInForce.GTC: "gtc", TimeInForce.POST_ONLY: "post_only", TimeInForce.IOC: "ioc", TimeInForce.FOK: "fok"}
_STATUS = {"live": OrderStatus.NEW, "new": OrderStatus.NEW, "init": OrderStatus.NEW,
           "partially_filled": OrderStatus.PARTIALLY_FILLED, "filled": OrderStatus.FILLED,
           "cancelled": OrderStatus.CANCELED, "canceled": OrderStatus.CANCELED}


def parse_private_push(obj: dict[str, Any], ts_recv_ns: int) -> list[FillEvent | OrderUpdate]:
    arg = obj.get("arg") or {}
    ch = arg.get("channel")
    out: list[FillEvent | OrderUpdate] = []
    try:
        for d in obj.get("data") or []:
            if ch == "orders":
                side = Side.BUY if d["side"] == "buy" else Side.SELL
                out.append(OrderUpdate(d["instId"], d["orderId"], d.get("clientOid", ""), side,
                                       _STATUS.get(d["status"], OrderStatus.NEW), d["status"].upper(),
                                       parse_px(d.get("price") or "0"), parse_qty(d.get("newSize") or d["size"]),
                                       parse_qty(d.get("accBaseVolume") or "0"), int(d.get("uTime", 0)) * 1_000_000,
                                       ts_recv_ns))
            elif ch == "fill":
                side = Side.BUY if d["side"] == "buy" else Side.SELL
                fee = (d.get("feeDetail") or [{}])[0]
                out.append(FillEvent(d["symbol"], d["orderId"], d.get("clientOid", ""), side, parse_px(d["priceAvg"]),
                                     parse_qty(d["size"]), 0, str(fee.get("totalFee", "0")), str(fee.get("feeCoin", "")),
                                     d.get("tradeScope") == "maker", int(d["tradeId"]),
                                     int(d.get("cTime", 0)) * 1_000_000, ts_recv_ns))
    except (KeyError, TypeError, ValueError, FixedPointError) as exc:
        raise VenueMessageError(f"unreadable Bitget {ch} push: {exc}") from None
    return out


class BitgetRestTransport(UserEventFeed, OrderTransport):
    amend_mode = AmendMode.CANCEL_REPLACE      # decrease too: no in-place decrease on spot (priority lost)
    batch_mode = BatchMode.NATIVE_BEST_EFFORT
    max_batch = BATCH_MAX

    def __init__(self, *, rest: RestClient, private_ws: str, credentials: CexPassphraseCredentials) -> None:
        self.rest = rest
        self.private_ws = private_ws
        self._key = credentials.api_key
        self._secret = credentials.api_secret
        self._passphrase = credentials.passphrase
        self._ws: WsConnection | None = None
        self._ws_task: asyncio.Task | None = None
        self._on_user: UserEventHandler | None = None
        self._login: asyncio.Future[dict[str, Any]] | None = None
        self._closing = False
        self._known: dict[str, int] = {}       # order id -> limit price (cancel-replace needs it)
        self.user_events = 0
        self.unparsable = 0

    def __repr__(self) -> str:
        return f"BitgetRestTransport(rest={self.rest.base_url!r}, api_key={self._key[:4]}...)"

    async def connect(self) -> None:
        return None       # REST: one pooled session, opened on first use

    async def close(self) -> None:
        self._closing = True
        await stop_task(self._ws_task)
        if self._ws is not None:
            await self._ws.close()

    async def _post(self, path: str, body: dict[str, Any], pool: str = "TRADE") -> Any:
        text = orjson.dumps(body).decode()
        ts = str(time.time_ns() // 1_000_000)
        headers = rest_headers(self._key, self._secret, self._passphrase, ts, "POST", path, "", text)
        raw = await self.rest.request(RestRequest("POST", path, {}, ((pool, 1),), signed=True), body=text,
                                      headers=headers)
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise VenueUnavailable(f"unreadable Bitget answer to {path}") from None
        if obj.get("code") != "00000":
            raise VenueRejected(f"{path}: {obj.get('msg')}", venue_code=obj.get("code"))
        return obj.get("data")

    @staticmethod
    def _rejected(sym: str, cid: str, exc: VenueRejected) -> OrderResult:
        return OrderResult(False, sym, cid, None, OrderStatus.REJECTED, error_code=exc.venue_code,
                           error_msg=str(exc))

    @staticmethod
    def _body(req: OrderRequest) -> dict[str, Any]:
        b: dict[str, Any] = {"side": "buy" if req.side is Side.BUY else "sell",
                             "orderType": "market" if req.order_type is OrderType.MARKET else "limit",
                             "force": _FORCE[req.tif], "size": format_qty(req.qty_1e8)}
        if req.order_type is OrderType.LIMIT:
            b["price"] = format_px(req.px_1e9)
        b["clientOid"] = req.client_order_id or f"sk{secrets.token_hex(12)}"
        return b

    async def place(self, req: OrderRequest) -> OrderResult:
        body = {"symbol": req.venue_symbol, **self._body(req)}
        try:
            d = await self._post("/api/v2/spot/trade/place-order", body)
        except VenueRejected as exc:
            return self._rejected(req.venue_symbol, body["clientOid"], exc)
        self._known[str(d.get("orderId"))] = req.px_1e9
        return OrderResult(True, req.venue_symbol, d.get("clientOid", body["clientOid"]), d.get("orderId"),
                           OrderStatus.NEW)

    async def cancel(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                     client_order_id: str = "") -> OrderResult:
        body: dict[str, Any] = {"symbol": venue_symbol}
        body.update({"orderId": str(venue_order_id)} if venue_order_id else {"clientOid": client_order_id})
        try:
            d = await self._post("/api/v2/spot/trade/cancel-order", body)
        except VenueRejected as exc:
            return self._rejected(venue_symbol, client_order_id, exc)
        return OrderResult(True, venue_symbol, d.get("clientOid", client_order_id), d.get("orderId"),
                           OrderStatus.CANCELED)

    async def amend(self, venue_symbol: str, *, venue_order_id: int | str | None = None, client_order_id: str = "",
                    new_qty_1e8: int | None = None, new_px_1e9: int | None = None,
                    side: Side | None = None) -> AmendResult:
        if new_px_1e9 is None and venue_order_id is not None:
            new_px_1e9 = self._known.get(str(venue_order_id))
        if new_qty_1e8 is None or new_px_1e9 is None:
            raise VenueRejected("Bitget cancel-replace-order needs both price and size", venue_code="40034")
        body: dict[str, Any] = {"symbol": venue_symbol, "price": format_px(new_px_1e9),
                                "size": format_qty(new_qty_1e8), "newClientOid": f"sk{secrets.token_hex(12)}"}
        body.update({"orderId": str(venue_order_id)} if venue_order_id else {"clientOid": client_order_id})
        try:
            d = await self._post("/api/v2/spot/trade/cancel-replace-order", body)
        except VenueRejected as exc:
            return AmendResult(AmendMode.CANCEL_REPLACE, self._rejected(venue_symbol, client_order_id, exc))
        if d.get("success") != "success" or not d.get("orderId"):
            # not atomic: the old order is gone, the new one failed
            r = OrderResult(False, venue_symbol, body["newClientOid"], None, OrderStatus.REJECTED,
                            error_code="cancel-replace", error_msg=str(d.get("msg", "")))
            return AmendResult(AmendMode.CANCEL_REPLACE, r, replaced_order_id=venue_order_id)
        r = OrderResult(True, venue_symbol, d.get("clientOid", body["newClientOid"]), d["orderId"], OrderStatus.NEW)
        self._known[str(d["orderId"])] = new_px_1e9
        return AmendResult(AmendMode.CANCEL_REPLACE, r, keeps_priority=False, replaced_order_id=venue_order_id)

    async def batch(self, reqs: Sequence[OrderRequest]) -> BatchResult:
        results: dict[int, OrderResult] = {}
        by_symbol: dict[str, list[tuple[int, OrderRequest]]] = {}
        for i, r in enumerate(reqs):
            by_symbol.setdefault(r.venue_symbol, []).append((i, r))
        for sym, group in by_symbol.items():
            for k in range(0, len(group), BATCH_MAX):
                chunk = group[k:k + BATCH_MAX]
                bodies = [self._body(r) for _, r in chunk]
                try:
                    d = await self._post("/api/v2/spot/trade/batch-orders", {"symbol": sym, "orderList": bodies},
                                         pool="BATCH")
                except VenueRejected as exc:
                    for (i, _), b in zip(chunk, bodies, strict=True):
                        results[i] = self._rejected(sym, b["clientOid"], exc)
                    continue
                ok = {x.get("clientOid"): x for x in d.get("successList") or []}
                bad = {x.get("clientOid"): x for x in d.get("failureList") or []}
                for (i, _), b in zip(chunk, bodies, strict=True):
                    cid = b["clientOid"]
                    if cid in ok:
                        results[i] = OrderResult(True, sym, cid, ok[cid].get("orderId"), OrderStatus.NEW)
                        self._known[str(ok[cid].get("orderId"))] = reqs[i].px_1e9
                    else:
                        x = bad.get(cid, {})
                        results[i] = OrderResult(False, sym, cid, None, OrderStatus.REJECTED,
                                                 error_code=x.get("errorCode"), error_msg=str(x.get("errorMsg", "")))
        return BatchResult(BatchMode.NATIVE_BEST_EFFORT, tuple(results[i] for i in range(len(reqs))), BATCH_MAX)

    # ---- private websocket -------------------------------------------------------------------

    async def subscribe_user_stream(self, on_event: UserEventHandler) -> None:
        self._on_user = on_event
        await self._open_private()
        self._ws_task = asyncio.get_running_loop().create_task(self._keep_private())

    async def _open_private(self) -> None:
        ws = WsConnection(self.private_ws, self._on_private)
        await ws.connect()
        self._ws = ws
        self._login = asyncio.get_running_loop().create_future()
        ws.send_text(orjson.dumps({"op": "login", "args": [login_args(self._key, self._secret, self._passphrase,
                                                                       str(int(time.time())))]}))
        resp = await asyncio.wait_for(self._login, 10.0)
        if resp.get("event") != "login" or resp.get("code") not in (0, "0"):
            await ws.close()
            raise VenueRejected(f"Bitget private login failed: {resp.get('code')} {resp.get('msg')}",
                                venue_code=resp.get("code"))
        ws.send_text(orjson.dumps({"op": "subscribe", "args": [
            {"instType": "SPOT", "channel": "orders", "instId": "default"},
            {"instType": "SPOT", "channel": "fill", "instId": "default"}]}))

    async def _keep_private(self) -> None:
        """Text ping every 30 s; reopen (login, subscribe) when the socket drops."""
        while not self._closing:
            await asyncio.sleep(30.0 if self._ws is not None and self._ws.connected else 1.0)
            if self._ws is not None and self._ws.connected:
                with contextlib.suppress(WsConnectError):
                    self._ws.send_text(b"ping")
                continue
            with contextlib.suppress(WsConnectError, VenueRejected, TimeoutError):
                await self._open_private()

    def _on_private(self, payload: memoryview, ts_recv_ns: int) -> None:
        if payload == b"pong":
            return
        obj = self._json_object(payload)
        if obj is None:
            return
        ev = obj.get("event")
        if ev in ("login", "error") and self._login is not None and not self._login.done():
            self._login.set_result(obj)
            return
        if ev is not None or self._on_user is None:
            return
        self._hand_over(parse_private_push, obj, ts_recv_ns, log)
