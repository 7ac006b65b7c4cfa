"""Crypto.com Exchange v1 simulator on 127.0.0.1: book.{inst}.{depth} (snapshot, u/pu deltas), trade, heartbeats.

Paths (the edge's endpoints are configurable):
  /exchange/v1/market                       market websocket (subscribe/unsubscribe, public/heartbeat that
                                            must be answered within 5 s with public/respond-heartbeat)
  GET /exchange/v1/public/get-instruments   instrument rules
  GET /exchange/v1/public/get-book          REST depth
  /exchange/v1/user                         user websocket: public/auth (signed), private/create-order,
                                            private/cancel-order, private/amend-order, private/create-order-list
                                            (LIST, at most 10), user.order / user.trade subscriptions
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson
from aiohttp import web

from seqkern._fixed import format_px, parse_px, parse_qty
from seqkern.errors import FixedPointError
from seqkern.sim.binance import SimSymbol
from seqkern.sim.instream import InStreamBookSim, SimBook, SimClient, SimInsufficient
from seqkern.sim.matching import BUY, SELL, MatchReject, SimFill, SimOrder
from seqkern.venues.cryptocom.auth import verify as verify_sig

# reason codes of the v1 common API reference
ERR_SYS = 50001                 # ERR_INTERNAL
ERR_BAD_REQUEST = 40001         # BAD_REQUEST
ERR_METHOD_NOT_FOUND = 40002
ERR_INVALID_REQUEST = 40003
ERR_MISSING_ARGUMENT = 40004    # MISSING_OR_INVALID_ARGUMENT
ERR_UNAUTHORIZED = 40101        # not authenticated, or key/signature incorrect
ERR_INVALID_NONCE = 40102       # nonce more than 60 s from server time
ERR_EXCEED_SUBS = 40107         # EXCEED_MAX_SUBSCRIPTIONS
ERR_TOO_MANY = 42901            # TOO_MANY_REQUESTS
ERR_DUPLICATE_CLORDID = 204
ERR_INVALID_INSTRUMENT = 209
ERR_INVALID_ORDERID = 212
ERR_INVALID_ORDERQTY = 213
ERR_INVALID_ORDTYPE = 218
ERR_INVALID_SIDE = 220
ERR_INVALID_TIF = 221
ERR_INVALID_PRICE = 308
ERR_NO_ACTIVE_ORDER = 316
ERR_BELOW_MIN_SIZE = 415
ERR_POST_ONLY_REJ = 43005
ERR_INSUFFICIENT = 306          # INSUFFICIENT_AVAILABLE_BALANCE
LIST_MAX = 10                   # create-order-list (LIST): at most 10 orders
MAX_SUBSCRIPTIONS = 400


class CryptocomSim(InStreamBookSim):
    venue = "cryptocom"

    def __init__(self, *, depth: int = 50, heartbeat_s: float = 30.0, **kw: Any) -> None:
        self.view_depth = depth
        self.heartbeat_s = heartbeat_s
        self.heartbeat_timeouts = 0
        super().__init__(**kw)

    @classmethod
    def default_symbol(cls) -> SimSymbol:
        return SimSymbol("BTC_USDT", "BTC", "USDT", tick_1e9=parse_px("0.01"), step_1e8=parse_qty("0.00001"),
                         min_qty_1e8=parse_qty("0.00001"), min_notional_1e9=parse_px("1"),
                         mid_px_1e9=parse_px("30000"))

    def build_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/exchange/v1/market", self._market_ws)
        r.add_get("/exchange/v1/public/get-instruments", self._rest_instruments)
        r.add_get("/exchange/v1/public/get-book", self._rest_book)
        r.add_get("/exchange/v1/user", self._user_ws)

    async def _user_ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.serve_ws(request, "user")

    async def _market_ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.serve_ws(request, "market")

    # ---- wire ------------------------------------------------------------------------------

    def _push(self, st: SimBook, channel: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"id": -1, "method": "subscribe", "code": 0, "result": {
            "instrument_name": st.spec.symbol, "subscription": f"book.{st.spec.symbol}.{self.view_depth}",
            "channel": channel, "depth": self.view_depth, "data": [data]}}

    @staticmethod
    def _rows(st: SimBook, rows: list[tuple[int, int]]) -> list[list[str]]:
        return [[st.px(p), st.qty(q), "0"] for p, q in rows]    # order count column "currently returns 0"

    def _snapshot(self, st: SimBook) -> dict[str, Any]:
        n = self.view_depth
        now = self.ms()
        return self._push(st, "book", {"asks": self._rows(st, st.engine.depth(SELL, n)),
                                       "bids": self._rows(st, st.engine.depth(BUY, n)),
                                       "t": now, "tt": now, "u": st.update_id})

    async def publish_depth(self, st: SimBook, bids: list[tuple[int, int]], asks: list[tuple[int, int]],
                            *, corrupt: bool, malformed: bool) -> None:
        now = self.ms()
        msg = self._push(st, "book.update", {"update": {"asks": self._rows(st, asks), "bids": self._rows(st, bids)},
                                             "t": now, "tt": now, "u": st.update_id, "pu": st.prev_update_id})
        key = f"book.{st.spec.symbol}.{self.view_depth}"
        for c in list(self.clients):
            if key in c.subs:
                await self.send(c, msg, malformed=malformed)

    async def publish_trade(self, st: SimBook, f: SimFill) -> None:
        msg = {"id": -1, "code": 0, "method": "subscribe", "result": {
            "instrument_name": st.spec.symbol, "subscription": f"trade.{st.spec.symbol}", "channel": "trade",
            "data": [{"d": str(f.trade_id), "s": "BUY" if f.taker.side == BUY else "SELL", "p": st.px(f.px),
                      "q": st.qty(f.qty), "t": self.ms(), "i": st.spec.symbol}]}}
        for c in list(self.clients):
            if f"trade.{st.spec.symbol}" in c.subs:
                await self.send(c, msg)

    async def heartbeat(self) -> None:
        """Every ``heartbeat_s`` a public/heartbeat; no respond-heartbeat within 5 s closes the socket."""
        now = time.monotonic()
        for c in list(self.clients):
            pending = c.extra.get("hb_deadline")
            if pending is not None and now > pending:
                self.heartbeat_timeouts += 1
                await c.ws.close(code=1000, message=b"heartbeat not handled")
                continue
            if now - c.extra.setdefault("hb_last", now) >= self.heartbeat_s and pending is None:
                c.extra["hb_last"] = now
                hid = time.time_ns() // 1_000_000
                c.extra["hb_id"] = hid
                c.extra["hb_deadline"] = now + 5.0
                await self.send(c, {"id": hid, "method": "public/heartbeat", "code": 0})

    # ---- control ---------------------------------------------------------------------------

    async def on_text(self, c: SimClient, text: str) -> None:
        try:
            req = orjson.loads(text)
            method = req["method"]
            rid = req.get("id")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await self.send(c, {"id": -1, "code": ERR_BAD_REQUEST, "message": "Bad request"})
            return
        if method == "public/respond-heartbeat":
            if rid == c.extra.get("hb_id"):
                c.extra.pop("hb_deadline", None)
            return
        if c.kind == "user":
            await self._user_request(c, req, method, rid)
            return
        if method not in ("subscribe", "unsubscribe"):
            await self.send(c, {"id": rid, "method": method, "code": ERR_BAD_REQUEST, "message": "Method not found"})
            return
        params = req.get("params") or {}
        channels = params.get("channels")
        if not isinstance(channels, list):
            await self.send(c, {"id": rid, "method": method, "code": ERR_BAD_REQUEST, "message": "channels missing"})
            return
        for ch in channels:
            parts = str(ch).split(".")
            ok = len(parts) >= 2 and parts[1] in self.books and (
                (parts[0] == "book" and len(parts) == 3 and parts[2] == str(self.view_depth)) or
                (parts[0] == "trade" and len(parts) == 2))
            if not ok:
                await self.send(c, {"id": rid, "method": method, "code": ERR_BAD_REQUEST,
                                    "message": f"invalid channel {ch}"})
                continue
            if method == "unsubscribe":
                c.subs.discard(ch)
                await self.send(c, {"id": rid, "method": "unsubscribe", "code": 0})
                continue
            if len(c.subs) >= MAX_SUBSCRIPTIONS:
                await self.send(c, {"id": rid, "method": method, "code": ERR_EXCEED_SUBS,
                                    "message": "EXCEED_MAX_SUBSCRIPTIONS"})
                continue
            c.subs.add(ch)
            await self.send(c, {"id": rid, "method": "subscribe", "code": 0})
            if parts[0] == "book":
                await self.send(c, self._snapshot(self.books[parts[1]]))

    # ---- REST ------------------------------------------------------------------------------

    async def _gated(self, request: web.Request, method: str) -> web.Response | None:
        err = await self.rest_gate(request)
        if err is None:
            return None
        status, retry_after = err
        headers = {"Retry-After": str(int(retry_after))} if status == 429 else {}
        code = ERR_TOO_MANY if status == 429 else ERR_SYS
        return web.json_response({"id": -1, "method": method, "code": code,
                                  "message": "TOO_MANY_REQUESTS" if status == 429 else "SYS_ERROR"},
                                 status=status, headers=headers)

    async def _rest_instruments(self, request: web.Request) -> web.Response:
        gated = await self._gated(request, "public/get-instruments")
        if gated is not None:
            return gated
        data = [{"symbol": st.spec.symbol, "inst_type": "CCY_PAIR", "display_name": st.spec.symbol.replace("_", "/"),
                 "base_ccy": st.spec.base, "quote_ccy": st.spec.quote, "quote_decimals": st.px_dec,
                 "quantity_decimals": st.qty_dec, "price_tick_size": st.px(st.spec.tick_1e9),
                 "qty_tick_size": st.qty(st.spec.step_1e8), "max_leverage": "1", "tradable": True}
                for st in self.books.values()]
        return web.json_response({"id": -1, "method": "public/get-instruments", "code": 0, "result": {"data": data}})

    async def _rest_book(self, request: web.Request) -> web.Response:
        gated = await self._gated(request, "public/get-book")
        if gated is not None:
            return gated
        st = self.books.get(request.query.get("instrument_name", ""))
        if st is None:
            return web.json_response({"id": -1, "method": "public/get-book", "code": ERR_BAD_REQUEST,
                                      "message": "Invalid instrument_name"}, status=400)
        snap = self._snapshot(st)["result"]
        return web.json_response({"id": -1, "method": "public/get-book", "code": 0,
                                  "result": {"instrument_name": st.spec.symbol, "depth": self.view_depth,
                                             "data": snap["data"]}})

    # ---- user API ------------------------------------------------------------------------------

    async def _user_request(self, c: SimClient, req: dict[str, Any], method: str, rid: Any) -> None:
        params = req.get("params") or {}
        try:
            if method == "public/auth":
                acct = self.accounts.get(str(req.get("api_key", "")))
                nonce = req.get("nonce")
                if acct is None or not verify_sig(acct.secret, method, rid, acct.api_key, None, nonce,
                                                  str(req.get("sig", ""))):
                    raise _CdcError(ERR_UNAUTHORIZED, "UNAUTHORIZED")
                if not str(nonce).isdigit() or abs(int(str(nonce)) - self.ms()) > 60_000:
                    raise _CdcError(ERR_INVALID_NONCE, "INVALID_NONCE")
                c.api_key = acct.api_key
                await self.send(c, {"id": rid, "method": method, "code": 0})
                return
            if c.api_key is None:
                raise _CdcError(ERR_UNAUTHORIZED, "UNAUTHORIZED")
            if method in ("subscribe", "unsubscribe"):
                for ch in params.get("channels") or []:
                    if not str(ch).startswith(("user.order", "user.trade", "user.balance")):
                        raise _CdcError(ERR_INVALID_REQUEST, f"invalid channel {ch}")
                    (c.subs.add if method == "subscribe" else c.subs.discard)(str(ch))
                await self.send(c, {"id": rid, "method": method, "code": 0})
                return
            if method == "private/create-order":
                result: Any = await self._create(c.api_key, params)
            elif method == "private/cancel-order":
                st, o = self._target(c.api_key, params.get("order_id"), params.get("client_oid"),
                                     params.get("instrument_name"))
                await self.cancel_order(st, o)
                result = None
            elif method == "private/amend-order":
                result = await self._amend(c.api_key, params)
            elif method == "private/create-order-list":
                result = await self._order_list(c.api_key, params)
            else:
                raise _CdcError(ERR_METHOD_NOT_FOUND, "METHOD_NOT_FOUND")
        except _CdcError as e:
            await self.send(c, {"id": rid, "method": method, "code": e.code, "message": e.message,
                                "original": orjson.dumps(req).decode()})
            return
        out: dict[str, Any] = {"id": rid, "method": method, "code": 0}
        if result is not None:
            out["result"] = result
        await self.send(c, out)

    def _book(self, name: Any) -> SimBook:
        st = self.books.get(name) if isinstance(name, str) else None
        if st is None:
            raise _CdcError(ERR_INVALID_INSTRUMENT, "INVALID_INSTRUMENT")
        return st

    @staticmethod
    def _dec(v: Any, parse: Any, code: int, name: str) -> int:
        if not isinstance(v, str):          # every number is sent as a string
            raise _CdcError(ERR_MISSING_ARGUMENT, f"{name} must be a string")
        try:
            n = parse(v)
        except (FixedPointError, ValueError):
            raise _CdcError(code, name.upper()) from None
        if n <= 0:
            raise _CdcError(code, name.upper())
        return n

    def _check(self, st: SimBook, p: dict[str, Any]) -> tuple[str, int, int, str, bool]:
        side = p.get("side")
        if side not in ("BUY", "SELL"):
            raise _CdcError(ERR_INVALID_SIDE, "INVALID_SIDE")
        typ = p.get("type")
        if typ not in ("LIMIT", "MARKET"):
            raise _CdcError(ERR_INVALID_ORDTYPE, "INVALID_ORDTYPE")
        qty = self._dec(p.get("quantity"), parse_qty, ERR_INVALID_ORDERQTY, "quantity")
        if qty % st.spec.step_1e8:
            raise _CdcError(ERR_INVALID_ORDERQTY, "INVALID_ORDERQTY")
        if qty < st.spec.min_qty_1e8:
            raise _CdcError(ERR_BELOW_MIN_SIZE, "BELOW_MIN_ORDER_SIZE")
        px = 0
        if typ == "LIMIT":
            px = self._dec(p.get("price"), parse_px, ERR_INVALID_PRICE, "price")
            if px % st.spec.tick_1e9:
                raise _CdcError(ERR_INVALID_PRICE, "INVALID_PRICE")
        tif = p.get("time_in_force", "GOOD_TILL_CANCEL")
        if tif not in ("GOOD_TILL_CANCEL", "IMMEDIATE_OR_CANCEL", "FILL_OR_KILL"):
            raise _CdcError(ERR_INVALID_TIF, "INVALID_TIF")
        post_only = "POST_ONLY" in (p.get("exec_inst") or [])
        if post_only and tif != "GOOD_TILL_CANCEL":
            raise _CdcError(ERR_POST_ONLY_REJ, "POST_ONLY_REJ")
        return side, px, qty, tif, post_only

    async def _create(self, api_key: str, p: dict[str, Any]) -> dict[str, Any]:
        st = self._book(p.get("instrument_name"))
        side, px, qty, tif, post_only = self._check(st, p)
        cid = str(p.get("client_oid") or "")
        if len(cid) > 36:
            raise _CdcError(ERR_MISSING_ARGUMENT, "client_oid longer than 36")
        if cid and self.find_order(api_key, st, client_order_id=cid):
            raise _CdcError(ERR_DUPLICATE_CLORDID, "DUPLICATE_CLORDID")
        vid = str(int.from_bytes(secrets.token_bytes(7), "big") + 6_500_000_000_000_000_000 // 1000)
        o = self.new_order(api_key, st, side, px, qty, vid=vid, market=p.get("type") == "MARKET",
                           tif={"GOOD_TILL_CANCEL": "GTX" if post_only else "GTC", "IMMEDIATE_OR_CANCEL": "IOC",
                                "FILL_OR_KILL": "FOK"}[tif], client_order_id=cid or vid)
        o.extra["tif"] = tif
        try:
            await self.submit(st, o)
        except MatchReject:
            raise _CdcError(ERR_POST_ONLY_REJ, "POST_ONLY_REJ") from None
        except SimInsufficient:
            raise _CdcError(ERR_INSUFFICIENT, "INSUFFICIENT_AVAILABLE_BALANCE") from None
        return {"client_oid": o.client_order_id, "order_id": vid}

    def _target(self, api_key: str, oid: Any, cid: Any, inst: Any = None) -> tuple[SimBook, SimOrder]:
        if not oid and not cid:
            raise _CdcError(ERR_MISSING_ARGUMENT, "order_id or client_oid required")
        books = [self._book(inst)] if inst else list(self.books.values())
        for st in books:
            o = self.find_order(api_key, st, order_id=str(oid or ""), client_order_id=str(cid or ""))
            if o is not None:
                return st, o
        raise _CdcError(ERR_NO_ACTIVE_ORDER if oid else ERR_INVALID_ORDERID, "NO_ACTIVE_ORDER")

    async def _amend(self, api_key: str, p: dict[str, Any]) -> dict[str, Any]:
        st, o = self._target(api_key, p.get("order_id"), p.get("orig_client_oid"))
        if "new_price" not in p or "new_quantity" not in p:     # both are required, unchanged ones resent
            raise _CdcError(ERR_MISSING_ARGUMENT, "new_price and new_quantity are required")
        px = self._dec(p["new_price"], parse_px, ERR_INVALID_PRICE, "new_price")
        qty = self._dec(p["new_quantity"], parse_qty, ERR_INVALID_ORDERQTY, "new_quantity")
        if px % st.spec.tick_1e9:
            raise _CdcError(ERR_INVALID_PRICE, "INVALID_PRICE")
        if p.get("client_oid"):
            o.client_order_id = str(p["client_oid"])
        try:
            await self.amend_in_place(st, o, qty, px)
        except SimInsufficient:
            raise _CdcError(ERR_INSUFFICIENT, "INSUFFICIENT_AVAILABLE_BALANCE") from None
        return {"client_oid": o.client_order_id, "order_id": o.extra["vid"]}

    async def _order_list(self, api_key: str, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("contingency_type") != "LIST":
            raise _CdcError(ERR_INVALID_REQUEST, "contingency_type must be LIST")
        orders = p.get("order_list")
        if not isinstance(orders, list) or not (1 <= len(orders) <= LIST_MAX):
            raise _CdcError(ERR_INVALID_REQUEST, f"order_list must hold 1 to {LIST_MAX} orders")
        out = []
        for i, od in enumerate(orders):              # each order is independent (not atomic)
            try:
                r = await self._create(api_key, od if isinstance(od, dict) else {})
                out.append({"index": i, "code": 0, **r})
            except _CdcError as e:
                out.append({"index": i, "code": e.code, "message": e.message,
                            "client_oid": od.get("client_oid", "") if isinstance(od, dict) else ""})
        return {"result_list": out}

    # ---- user pushes -------------------------------------------------------------------------

    async def _user_push(self, api_key: str, st: SimBook, channel: str, data: dict[str, Any]) -> None:
        sub = f"{channel}.{st.spec.symbol}"
        msg = {"id": -1, "method": "subscribe", "code": 0, "result": {
            "instrument_name": st.spec.symbol, "subscription": sub, "channel": channel, "data": [data]}}
        for c in list(self.clients):
            if c.kind == "user" and c.api_key == api_key and (channel in c.subs or sub in c.subs):
                await self.send(c, msg)

    def _order_data(self, st: SimBook, o: SimOrder) -> dict[str, Any]:
        status = {"NEW": "ACTIVE", "PARTIALLY_FILLED": "ACTIVE", "FILLED": "FILLED", "CANCELED": "CANCELED",
                  "EXPIRED": "EXPIRED"}.get(o.status, "ACTIVE")
        avg = o.quote_filled * 1_000_000_000 // o.filled if o.filled else 0
        return {"account_id": "sim", "order_id": o.extra["vid"], "client_oid": o.client_order_id,
                "order_type": o.order_type, "time_in_force": o.extra.get("tif", "GOOD_TILL_CANCEL"),
                "side": o.side, "exec_inst": ["POST_ONLY"] if o.tif == "GTX" else [],
                "quantity": st.qty(o.qty), "limit_price": st.px(o.px) if o.px else "0",
                "order_value": "0", "avg_price": st.px(avg // st.spec.tick_1e9 * st.spec.tick_1e9),
                "cumulative_quantity": st.qty(o.filled), "cumulative_value": format_px(o.quote_filled * 10),
                "cumulative_fee": "0", "status": status, "update_user_id": "sim", "order_date": "",
                "instrument_name": st.spec.symbol, "fee_instrument_name": st.spec.quote,
                "create_time": o.ts_ns // 1_000_000, "create_time_ns": str(o.ts_ns),
                "update_time": self.ms()}

    async def order_event(self, st: SimBook, o: SimOrder, kind: str) -> None:
        if o.owner is not None:
            await self._user_push(o.owner, st, "user.order", self._order_data(st, o))

    async def fill_event(self, st: SimBook, o: SimOrder, f: SimFill, maker: bool) -> None:
        assert o.owner is not None
        await self._user_push(o.owner, st, "user.trade", {
            "account_id": "sim", "event_date": "", "journal_type": "TRADING", "side": o.side,
            "instrument_name": st.spec.symbol, "fees": "0", "trade_id": str(f.trade_id),
            "trade_match_id": str(f.trade_id), "create_time": self.ms(), "create_time_ns": str(time.time_ns()),
            "traded_price": st.px(f.px), "traded_quantity": st.qty(f.qty), "fee_instrument_name": st.spec.quote,
            "client_oid": o.client_order_id, "taker_side": f.taker.side, "order_id": o.extra["vid"]})
        await self.order_event(st, o, "trade")


class _CdcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
