"""Bitget v2 spot simulator on 127.0.0.1: books (snapshot, updates with seq and CRC32), trade, text ping.

Paths (the edge's endpoints are configurable):
  /v2/ws/public                     public websocket ({"op":"subscribe","args":[...]}, text ping/pong)
  GET /api/v2/spot/public/symbols   symbol rules
  GET /api/v2/spot/market/orderbook REST depth
  POST /api/v2/spot/trade/place-order, cancel-order, cancel-replace-order, batch-orders (<= 50)
                                    signed (ACCESS-KEY/-SIGN/-TIMESTAMP/-PASSPHRASE)
  /v2/ws/private                    private websocket: login, orders and fill channels
"""

from __future__ import annotations

import secrets
import time
import zlib
from typing import Any

import orjson
from aiohttp import web

from seqkern._fixed import format_px, parse_px, parse_qty
from seqkern.errors import FixedPointError
from seqkern.sim.binance import SimSymbol
from seqkern.sim.instream import InStreamBookSim, SimBook, SimClient, SimInsufficient
from seqkern.sim.matching import BUY, SELL, MatchReject, SimFill, SimOrder
from seqkern.venues.bitget.auth import prehash, verify
from seqkern.venues.bitget.venue import BATCH_MAX

ERR_PARAM = 30001          # websocket: channel does not exist / request param error
ERR_WS_LOGIN = 30005       # websocket login failed
ERR_RATE = 429
# REST codes (bitget api-doc common error codes / official SDK constants)
ERR_INVALID_KEY = "40006"          # Invalid ACCESS_KEY
ERR_TIMESTAMP_EXPIRED = "40008"    # Request timestamp expired
ERR_SIGN = "40009"                 # sign signature error
ERR_PASSPHRASE = "40012"           # apikey/password is incorrect
ERR_PARAM_MISSING = "40034"        # Parameter does not exist
ERR_PARAM_CHECK = "40808"          # Parameter verification exception
ERR_ORDER_NOT_FOUND = "43001"      # The order does not exist
ERR_MIN_QTY = "45110"              # less than the minimum order quantity
ERR_POST_ONLY = "43111"            # post_only order would take (sim)
ERR_INSUFFICIENT = "43012"         # Insufficient balance


def bitget_checksum(st: SimBook) -> int:
    """First 25 levels interleaved bid then ask, "px:sz" joined with ':', CRC32 as a signed 32-bit int."""
    bids, asks = st.engine.depth(BUY, 25), st.engine.depth(SELL, 25)
    parts: list[str] = []
    for i in range(25):
        if i < len(bids):
            parts += [st.px(bids[i][0]), st.qty(bids[i][1])]
        if i < len(asks):
            parts += [st.px(asks[i][0]), st.qty(asks[i][1])]
    c = zlib.crc32(":".join(parts).encode()) & 0xFFFFFFFF
    return c - (1 << 32) if c >= 1 << 31 else c


class BitgetSim(InStreamBookSim):
    venue = "bitget"
    view_depth = 0            # books: full depth
    checksum_window = 25

    def __init__(self, *, idle_timeout_s: float = 120.0, **kw: Any) -> None:
        super().__init__(**kw)
        self.idle_timeout_s = idle_timeout_s     # no message (e.g. the text ping) for this long: closed
        self.idle_closes = 0

    async def heartbeat(self) -> None:
        now = time.monotonic()
        for c in list(self.clients):
            last = c.extra.setdefault("last_rx", now)
            if now - last > self.idle_timeout_s:
                self.idle_closes += 1
                await c.ws.close()

    @classmethod
    def default_symbol(cls) -> SimSymbol:
        return SimSymbol("BTCUSDT", "BTC", "USDT", tick_1e9=parse_px("0.01"), step_1e8=parse_qty("0.000001"),
                         min_qty_1e8=parse_qty("0.000001"), min_notional_1e9=parse_px("1"),
                         mid_px_1e9=parse_px("26000"))

    def build_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/v2/ws/public", self._public_ws)
        r.add_get("/api/v2/spot/public/symbols", self._rest_symbols)
        r.add_get("/api/v2/spot/market/orderbook", self._rest_orderbook)
        r.add_get("/v2/ws/private", self._private_ws)
        for path in ("place-order", "cancel-order", "cancel-replace-order", "batch-orders"):
            r.add_post(f"/api/v2/spot/trade/{path}", self._rest_trade)

    async def _private_ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.serve_ws(request, "user")

    async def _public_ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.serve_ws(request, "market")

    # ---- wire ------------------------------------------------------------------------------

    def _books(self, st: SimBook, action: str, bids: list[tuple[int, int]], asks: list[tuple[int, int]],
               checksum: int) -> dict[str, Any]:
        ts = self.ms()
        return {"action": action, "arg": {"instType": "SPOT", "channel": "books", "instId": st.spec.symbol},
                "data": [{"asks": [[st.px(p), st.qty(q)] for p, q in asks],
                          "bids": [[st.px(p), st.qty(q)] for p, q in bids],
                          "checksum": checksum, "seq": st.update_id, "ts": str(ts)}], "ts": ts}

    async def publish_depth(self, st: SimBook, bids: list[tuple[int, int]], asks: list[tuple[int, int]],
                            *, corrupt: bool, malformed: bool) -> None:
        ck = bitget_checksum(st)
        if corrupt:
            ck = ck + 1 if ck < (1 << 31) - 1 else ck - 1
        text = orjson.dumps(self._books(st, "update", bids, asks, ck)).decode()
        for c in list(self.clients):
            if f"books:{st.spec.symbol}" in c.subs:
                await self.send(c, text, malformed=malformed)

    async def publish_trade(self, st: SimBook, f: SimFill) -> None:
        msg = {"action": "update", "arg": {"instType": "SPOT", "channel": "trade", "instId": st.spec.symbol},
               "data": [{"ts": str(self.ms()), "price": st.px(f.px), "size": st.qty(f.qty),
                         "side": "buy" if f.taker.side == BUY else "sell", "tradeId": str(f.trade_id)}],
               "ts": self.ms()}
        for c in list(self.clients):
            if f"trade:{st.spec.symbol}" in c.subs:
                await self.send(c, msg)

    # ---- control ---------------------------------------------------------------------------

    async def on_text(self, c: SimClient, text: str) -> None:
        c.extra["last_rx"] = time.monotonic()
        if text == "ping":
            await self.send(c, "pong")
            return
        if c.kind == "user":
            await self._private_text(c, text)
            return
        try:
            req = orjson.loads(text)
            op = req["op"]
            args = req["args"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await self.send(c, {"event": "error", "code": ERR_PARAM, "msg": "param error"})
            return
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list):
            await self.send(c, {"event": "error", "code": ERR_PARAM, "msg": f"op {op} not supported"})
            return
        for a in args:
            ch, inst = (a.get("channel"), a.get("instId")) if isinstance(a, dict) else (None, None)
            if a.get("instType") != "SPOT" or ch not in ("books", "trade") or inst not in self.books:
                await self.send(c, {"event": "error", "arg": a, "code": ERR_PARAM,
                                    "msg": f"instType:{a.get('instType')},channel:{ch},instId:{inst} doesn't exist"})
                continue
            key = f"{ch}:{inst}"
            if op == "unsubscribe":
                c.subs.discard(key)
                await self.send(c, {"event": "unsubscribe", "arg": a})
                continue
            c.subs.add(key)
            await self.send(c, {"event": "subscribe", "arg": a})
            if ch == "books":
                st = self.books[inst]
                await self.send(c, self._books(st, "snapshot", st.engine.depth(BUY, 100000),
                                               st.engine.depth(SELL, 100000), bitget_checksum(st)))

    # ---- REST ------------------------------------------------------------------------------

    async def _gated(self, request: web.Request) -> web.Response | None:
        err = await self.rest_gate(request)
        if err is None:
            return None
        status, retry_after = err
        headers = {"Retry-After": str(int(retry_after))} if status == 429 else {}
        code = "429" if status == 429 else "40010"
        return web.json_response({"code": code, "msg": "Too Many Requests" if status == 429 else "Request timed out",
                                  "requestTime": self.ms(), "data": None}, status=status, headers=headers)

    async def _rest_symbols(self, request: web.Request) -> web.Response:
        gated = await self._gated(request)
        if gated is not None:
            return gated
        data = [{"symbol": st.spec.symbol, "baseCoin": st.spec.base, "quoteCoin": st.spec.quote,
                 "minTradeAmount": st.qty(st.spec.min_qty_1e8), "maxTradeAmount": "10000",
                 "takerFeeRate": "0.001", "makerFeeRate": "0.001", "pricePrecision": str(st.px_dec),
                 "quantityPrecision": str(st.qty_dec), "quotePrecision": str(st.px_dec), "status": "online",
                 "minTradeUSDT": st.px(st.spec.min_notional_1e9)} for st in self.books.values()]
        return web.json_response({"code": "00000", "msg": "success", "requestTime": self.ms(), "data": data})

    async def _rest_orderbook(self, request: web.Request) -> web.Response:
        gated = await self._gated(request)
        if gated is not None:
            return gated
        st = self.books.get(request.query.get("symbol", ""))
        if st is None:
            return web.json_response({"code": "40034", "msg": "Parameter does not exist", "requestTime": self.ms(),
                                      "data": None}, status=400)
        n = min(int(request.query.get("limit", "100") or 100), 150)
        return web.json_response({"code": "00000", "msg": "success", "requestTime": self.ms(), "data": {
            "asks": [[st.px(p), st.qty(q)] for p, q in st.engine.depth(SELL, n)],
            "bids": [[st.px(p), st.qty(q)] for p, q in st.engine.depth(BUY, n)], "ts": str(self.ms())}})

    # ---- private websocket -------------------------------------------------------------------

    async def _private_text(self, c: SimClient, text: str) -> None:
        try:
            req = orjson.loads(text)
            op = req["op"]
            args = req["args"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await self.send(c, {"event": "error", "code": ERR_PARAM, "msg": "param error"})
            return
        if op == "login":
            a = args[0] if isinstance(args, list) and args and isinstance(args[0], dict) else {}
            acct = self.accounts.get(str(a.get("apiKey", "")))
            ts = str(a.get("timestamp", ""))
            ok = (acct is not None and a.get("passphrase") == acct.passphrase and ts.isdigit()
                  and abs(int(ts) - time.time()) < 30
                  and verify(acct.secret, prehash(ts, "GET", "/user/verify"), str(a.get("sign", ""))))
            if not ok:
                await self.send(c, {"event": "error", "code": ERR_WS_LOGIN, "msg": "Invalid sign"})
                return
            c.api_key = acct.api_key if acct else None
            await self.send(c, {"event": "login", "code": 0})
            return
        if c.api_key is None:
            await self.send(c, {"event": "error", "code": 30004, "msg": "User not logged in"})
            return
        if op in ("subscribe", "unsubscribe"):
            for a in args:
                ch = a.get("channel") if isinstance(a, dict) else None
                if ch not in ("orders", "fill"):
                    await self.send(c, {"event": "error", "arg": a, "code": ERR_PARAM, "msg": "channel doesn't exist"})
                    continue
                key = f"{ch}:{a.get('instId', 'default')}"
                (c.subs.add if op == "subscribe" else c.subs.discard)(key)
                await self.send(c, {"event": op, "arg": a})

    async def _private_push(self, api_key: str, st: SimBook, channel: str, data: dict[str, Any]) -> None:
        msg = {"action": "snapshot", "arg": {"instType": "SPOT", "channel": channel, "instId": st.spec.symbol},
               "data": [data], "ts": self.ms()}
        for c in list(self.clients):
            if c.kind == "user" and c.api_key == api_key and (
                    f"{channel}:default" in c.subs or f"{channel}:{st.spec.symbol}" in c.subs):
                await self.send(c, msg)

    @staticmethod
    def _status(o: SimOrder) -> str:
        return {"NEW": "live", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled",
                "CANCELED": "cancelled", "EXPIRED": "cancelled"}.get(o.status, "live")

    async def order_event(self, st: SimBook, o: SimOrder, kind: str) -> None:
        if o.owner is None:
            return
        avg = o.quote_filled * 1_000_000_000 // o.filled if o.filled else 0
        await self._private_push(o.owner, st, "orders", {
            "instId": st.spec.symbol, "orderId": o.extra["vid"], "clientOid": o.client_order_id,
            "price": st.px(o.px) if o.px else "0", "size": st.qty(o.qty), "newSize": st.qty(o.qty),
            "notional": "0", "orderType": "market" if o.order_type == "MARKET" else "limit",
            "force": o.extra.get("force", "gtc"), "side": "buy" if o.side == BUY else "sell",
            "accBaseVolume": st.qty(o.filled), "priceAvg": format_px(avg), "status": self._status(o),
            "cTime": str(o.ts_ns // 1_000_000), "uTime": str(self.ms())})

    async def fill_event(self, st: SimBook, o: SimOrder, f: SimFill, maker: bool) -> None:
        assert o.owner is not None
        await self._private_push(o.owner, st, "fill", {
            "orderId": o.extra["vid"], "tradeId": str(f.trade_id), "symbol": st.spec.symbol,
            "orderType": "market" if o.order_type == "MARKET" else "limit", "side": "buy" if o.side == BUY else "sell",
            "priceAvg": st.px(f.px), "size": st.qty(f.qty), "amount": format_px(f.px * f.qty // 100_000_000),
            "tradeScope": "maker" if maker else "taker", "clientOid": o.client_order_id,
            "feeDetail": [{"feeCoin": st.spec.quote, "deduction": "no", "totalDeductionFee": "0", "totalFee": "0"}],
            "cTime": str(self.ms()), "uTime": str(self.ms())})
        await self.order_event(st, o, "trade")

    # ---- signed REST trading -----------------------------------------------------------------

    def _fail(self, code: str, msg: str, status: int = 400) -> web.Response:
        return web.json_response({"code": code, "msg": msg, "requestTime": self.ms(), "data": None}, status=status)

    def _ok(self, data: Any) -> web.Response:
        return web.json_response({"code": "00000", "msg": "success", "requestTime": self.ms(), "data": data})

    async def _rest_trade(self, request: web.Request) -> web.Response:
        gated = await self._gated(request)
        if gated is not None:
            return gated
        body = await request.text()
        h = request.headers
        acct = self.accounts.get(h.get("ACCESS-KEY", ""))
        if acct is None:
            return self._fail(ERR_INVALID_KEY, "Invalid ACCESS_KEY")
        ts = h.get("ACCESS-TIMESTAMP", "")
        if not ts.isdigit() or abs(int(ts) - self.ms()) > 30_000:
            return self._fail(ERR_TIMESTAMP_EXPIRED, "Request timestamp expired")
        if h.get("ACCESS-PASSPHRASE", "") != acct.passphrase:
            return self._fail(ERR_PASSPHRASE, "apikey/password is incorrect")
        query = request.rel_url.raw_query_string
        if not verify(acct.secret, prehash(ts, request.method, request.path, query, body), h.get("ACCESS-SIGN", "")):
            return self._fail(ERR_SIGN, "sign signature error")
        try:
            p = orjson.loads(body or b"{}")
            if not isinstance(p, dict):
                raise _BgError(ERR_PARAM_CHECK, "Parameter verification exception")
            op = request.path.rsplit("/", 1)[1]
            if op == "place-order":
                return self._ok(await self._place(acct.api_key, self._book(p), p))
            if op == "cancel-order":
                st = self._book(p)
                o = self._target(acct.api_key, st, p.get("orderId"), p.get("clientOid"))
                await self.cancel_order(st, o)
                return self._ok({"orderId": o.extra["vid"], "clientOid": o.client_order_id})
            if op == "cancel-replace-order":
                return self._ok(await self._cancel_replace(acct.api_key, p))
            return self._ok(await self._batch(acct.api_key, p))
        except _BgError as e:
            return self._fail(e.code, e.msg)

    def _book(self, p: dict[str, Any]) -> SimBook:
        if not p.get("symbol"):
            raise _BgError(ERR_PARAM_MISSING, "Parameter symbol does not exist")
        st = self.books.get(p["symbol"])
        if st is None:
            raise _BgError(ERR_PARAM_CHECK, "symbol does not exist")
        return st

    @staticmethod
    def _dec(v: Any, parse: Any, name: str) -> int:
        if v is None or v == "":
            raise _BgError(ERR_PARAM_MISSING, f"Parameter {name} does not exist")
        try:
            n = parse(str(v))
        except (FixedPointError, ValueError):
            raise _BgError(ERR_PARAM_CHECK, f"Parameter {name} verification exception") from None
        if n <= 0:
            raise _BgError(ERR_PARAM_CHECK, f"Parameter {name} verification exception")
        return n

    def _order_fields(self, st: SimBook, p: dict[str, Any]) -> tuple[str, int, int, str, bool]:
        side = p.get("side")
        if side not in ("buy", "sell"):
            raise _BgError(ERR_PARAM_CHECK, "Parameter side verification exception")
        typ = p.get("orderType")
        if typ not in ("limit", "market"):
            raise _BgError(ERR_PARAM_CHECK, "Parameter orderType verification exception")
        qty = self._dec(p.get("size"), parse_qty, "size")
        if qty % st.spec.step_1e8:
            raise _BgError(ERR_PARAM_CHECK, "size precision")
        if qty < st.spec.min_qty_1e8:
            raise _BgError(ERR_MIN_QTY, "less than the minimum order quantity")
        px = 0
        if typ == "limit":
            px = self._dec(p.get("price"), parse_px, "price")
            if px % st.spec.tick_1e9:
                raise _BgError(ERR_PARAM_CHECK, "price precision")
        force = p.get("force", "gtc")
        if force not in ("gtc", "post_only", "fok", "ioc"):
            raise _BgError(ERR_PARAM_CHECK, "Parameter force verification exception")
        return side, px, qty, force, typ == "market"

    async def _place(self, api_key: str, st: SimBook, p: dict[str, Any]) -> dict[str, Any]:
        side, px, qty, force, market = self._order_fields(st, p)
        cid = str(p.get("clientOid") or "")
        if cid and self.find_order(api_key, st, client_order_id=cid):
            raise _BgError("43118", "clientOid duplicate")
        vid = str(1_000_000_000_000_000_000 + secrets.randbelow(10**17))
        o = self.new_order(api_key, st, BUY if side == "buy" else SELL, px, qty, vid=vid, market=market,
                           tif={"gtc": "GTC", "post_only": "GTX", "fok": "FOK", "ioc": "IOC"}[force],
                           client_order_id=cid or vid)
        o.extra["force"] = force
        try:
            await self.submit(st, o)
        except MatchReject:
            raise _BgError(ERR_POST_ONLY, "post_only order would match") from None
        except SimInsufficient:
            raise _BgError(ERR_INSUFFICIENT, "Insufficient balance") from None
        return {"orderId": vid, "clientOid": o.client_order_id}

    def _target(self, api_key: str, st: SimBook, oid: Any, cid: Any) -> SimOrder:
        if not oid and not cid:
            raise _BgError(ERR_PARAM_MISSING, "orderId or clientOid must be present")
        o = self.find_order(api_key, st, order_id=str(oid or ""), client_order_id=str(cid or ""))
        if o is None:
            raise _BgError(ERR_ORDER_NOT_FOUND, "The order does not exist")
        return o

    async def _cancel_replace(self, api_key: str, p: dict[str, Any]) -> dict[str, Any]:
        """Cancel then a new order (new id, priority lost); not atomic: the cancel stands if the new fails."""
        st = self._book(p)
        o = self._target(api_key, st, p.get("orderId"), p.get("clientOid"))
        px = self._dec(p.get("price"), parse_px, "price")
        qty = self._dec(p.get("size"), parse_qty, "size")
        await self.cancel_order(st, o)
        new = {"symbol": st.spec.symbol, "side": "buy" if o.side == BUY else "sell", "orderType": "limit",
               "force": o.extra.get("force", "gtc"), "price": st.px(px), "size": st.qty(qty),
               "clientOid": p.get("newClientOid") or ""}
        try:
            r = await self._place(api_key, st, new)
        except _BgError as e:
            return {"orderId": None, "clientOid": new["clientOid"], "success": "failure", "msg": e.msg}
        return {**r, "success": "success", "msg": ""}

    async def _batch(self, api_key: str, p: dict[str, Any]) -> dict[str, Any]:
        st = self._book(p)
        orders = p.get("orderList")
        if not isinstance(orders, list) or not orders:
            raise _BgError(ERR_PARAM_MISSING, "Parameter orderList does not exist")
        if len(orders) > BATCH_MAX:
            raise _BgError(ERR_PARAM_CHECK, f"orderList at most {BATCH_MAX}")
        ok, bad = [], []
        for od in orders:
            try:
                ok.append(await self._place(api_key, st, od if isinstance(od, dict) else {}))
            except _BgError as e:
                bad.append({"clientOid": od.get("clientOid", "") if isinstance(od, dict) else "",
                            "errorMsg": e.msg, "errorCode": e.code})
        return {"successList": ok, "failureList": bad}


class _BgError(Exception):
    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
