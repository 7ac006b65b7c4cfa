"""Kraken spot WebSocket v2 simulator on 127.0.0.1: status, heartbeat, ping/pong, book with CRC32, trades.

Paths (the real venue uses two hosts; the edge's endpoints are configurable):
  /v2                       public websocket: subscribe/unsubscribe book (depth 10/25/100/500/1000,
                            snapshot then updates, checksum of the top 10), trade, ping
  GET /0/public/AssetPairs  pair metadata with the legacy names (XXBTZUSD, wsname XBT/USD)
  POST /0/private/GetWebSocketsToken   signed REST (API-Key, API-Sign, increasing nonce) -> token
  /auth/v2                  authenticated websocket (ws-auth): add_order, amend_order (in place),
                            cancel_order, batch_add (2-15 orders, one pair), executions channel
"""

from __future__ import annotations

import json
import secrets
import string
import zlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from seqkern._fixed import format_px, parse_px, parse_qty
from seqkern.errors import FixedPointError
from seqkern.sim.binance import SimSymbol
from seqkern.sim.instream import InStreamBookSim, SimBook, SimClient, SimInsufficient
from seqkern.sim.matching import BUY, SELL, MatchReject, SimFill, SimOrder
from seqkern.venues.kraken.auth import verify_rest_signature
from seqkern.venues.kraken.venue import BATCH_MAX, BATCH_MIN, BOOK_DEPTHS, kraken_symbol

_ID_CHARS = string.ascii_uppercase + string.digits


def kraken_order_id() -> str:
    return "-".join("".join(secrets.choice(_ID_CHARS) for _ in range(n)) for n in (6, 5, 6))

# legacy REST names of the simulated pairs (AssetPairs keys and altnames)
_LEGACY = {"BTC": "XXBT", "ETH": "XETH", "USD": "ZUSD", "EUR": "ZEUR"}


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def kraken_checksum(st: SimBook) -> int:
    """Top 10 asks low->high then top 10 bids high->low; price and qty digits without the point and
    leading zeros, concatenated; CRC32 (the guide's algorithm, written independently of the edge's C)."""
    parts: list[str] = []
    for side in (SELL, BUY):
        for px, q in st.engine.depth(side, 10):
            parts.append(st.px(px).replace(".", "").lstrip("0"))
            parts.append(st.qty(q).replace(".", "").lstrip("0"))
    return zlib.crc32("".join(parts).encode()) & 0xFFFFFFFF


class KrakenSim(InStreamBookSim):
    venue = "kraken"
    view_depth = 10
    checksum_window = 10

    def __init__(self, *, depth: int = 10, **kw: Any) -> None:
        self.view_depth = depth
        super().__init__(**kw)
        self.tokens: dict[str, str] = {}        # websocket token -> api key
        self._exec_seq: dict[int, int] = {}

    @classmethod
    def default_symbol(cls) -> SimSymbol:
        return SimSymbol("BTC/USD", "BTC", "USD", tick_1e9=parse_px("0.1"), step_1e8=parse_qty("0.00000001"),
                         min_qty_1e8=parse_qty("0.00005"), min_notional_1e9=parse_px("0.5"),
                         mid_px_1e9=parse_px("45000"))

    def build_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/v2", self._market_ws)
        r.add_get("/0/public/AssetPairs", self._rest_asset_pairs)
        r.add_post("/0/private/GetWebSocketsToken", self._rest_ws_token)
        r.add_get("/auth/v2", self._auth_ws)

    async def _auth_ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.serve_ws(request, "user")

    async def _market_ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.serve_ws(request, "market")

    # ---- wire ------------------------------------------------------------------------------

    @staticmethod
    def _levels(st: SimBook, rows: list[tuple[int, int]]) -> str:
        # JSON numbers written at full precision (trailing zeros kept), as Kraken sends them
        return "[" + ",".join(f'{{"price":{st.px(p)},"qty":{st.qty(q)}}}' for p, q in rows) + "]"

    def _book_msg(self, st: SimBook, kind: str, bids: list[tuple[int, int]], asks: list[tuple[int, int]],
                  checksum: int) -> str:
        ts = "" if kind == "snapshot" else f',"timestamp":"{_now_iso()}"'
        return (f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{st.spec.symbol}",'
                f'"bids":{self._levels(st, bids)},"asks":{self._levels(st, asks)},"checksum":{checksum}{ts}}}]}}')

    async def on_connect(self, c: SimClient) -> None:
        await self.send(c, {"channel": "status", "type": "update", "data": [
            {"version": "2.0.0", "system": "online", "api_version": "v2", "connection_id": id(c) & 0xFFFFFFFF}]})

    async def heartbeat(self) -> None:
        for c in list(self.clients):
            if c.subs:
                await self.send(c, {"channel": "heartbeat"})

    async def publish_depth(self, st: SimBook, bids: list[tuple[int, int]], asks: list[tuple[int, int]],
                            *, corrupt: bool, malformed: bool) -> None:
        ck = kraken_checksum(st)
        if corrupt:
            ck ^= 0x5A5A5A5A
        text = self._book_msg(st, "update", bids, asks, ck)
        for c in list(self.clients):
            if f"book:{st.spec.symbol}" in c.subs:
                await self.send(c, text, malformed=malformed)

    async def publish_trade(self, st: SimBook, f: SimFill) -> None:
        text = orjson.dumps({"channel": "trade", "type": "update", "data": [{
            "symbol": st.spec.symbol, "side": "buy" if f.taker.side == BUY else "sell", "price": 0, "qty": 0,
            "ord_type": "limit" if f.taker.order_type == "LIMIT" else "market", "trade_id": f.trade_id,
            "timestamp": _now_iso()}]}).decode()
        text = text.replace('"price":0,"qty":0', f'"price":{st.px(f.px)},"qty":{st.qty(f.qty)}')
        for c in list(self.clients):
            if f"trade:{st.spec.symbol}" in c.subs:
                await self.send(c, text)

    # ---- control ---------------------------------------------------------------------------

    def _ack(self, method: str, result: dict[str, Any], req_id: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"method": method, "result": result, "success": True,
                               "time_in": _now_iso(), "time_out": _now_iso()}
        if req_id is not None:
            out["req_id"] = req_id
        return out

    def _err(self, method: str, error: str, req_id: Any, symbol: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"error": error, "method": method, "success": False,
                               "time_in": _now_iso(), "time_out": _now_iso()}
        if symbol is not None:
            out["symbol"] = symbol
        if req_id is not None:
            out["req_id"] = req_id
        return out

    async def on_text(self, c: SimClient, text: str) -> None:
        if c.kind == "user":
            await self._user_text(c, text)
            return
        try:
            req = orjson.loads(text)
            method = req["method"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await self.send(c, {"error": "Malformed request", "method": "", "success": False})
            return
        rid = req.get("req_id")
        params = req.get("params") or {}
        if method == "ping":
            await self.send(c, {"method": "pong", "req_id": rid, "time_in": _now_iso(), "time_out": _now_iso()})
            return
        if method not in ("subscribe", "unsubscribe"):
            await self.send(c, self._err(method, "Method not found", rid))
            return
        ch = params.get("channel")
        syms = params.get("symbol") or []
        if ch not in ("book", "trade") or not isinstance(syms, list):
            await self.send(c, self._err(method, f"Channel {ch} not found" if ch else "Missing channel", rid))
            return
        depth = params.get("depth", 10)
        if ch == "book" and depth not in BOOK_DEPTHS:
            await self.send(c, self._err(method, "Invalid depth", rid))
            return
        for s in syms:
            st = self.books.get(s) if isinstance(s, str) else None
            if st is None or s != kraken_symbol(s):
                await self.send(c, self._err(method, f"Currency pair not supported {s}", rid, str(s)))
                continue
            key = f"{ch}:{s}"
            result: dict[str, Any] = {"channel": ch, "symbol": s}
            if ch == "book":
                result["depth"] = depth
            if method == "unsubscribe":
                if key not in c.subs:
                    await self.send(c, self._err(method, "Subscription Not Found", rid, s))
                    continue
                c.subs.discard(key)
                await self.send(c, self._ack(method, result, rid))
                continue
            if key in c.subs:
                await self.send(c, self._err(method, "Already subscribed", rid, s))
                continue
            c.subs.add(key)
            result["snapshot"] = bool(params.get("snapshot", True))
            await self.send(c, self._ack(method, result, rid))
            if ch == "book" and result["snapshot"]:
                n = self.view_depth
                await self.send(c, self._book_msg(st, "snapshot", st.engine.depth(BUY, n), st.engine.depth(SELL, n),
                                                  kraken_checksum(st)))

    # ---- REST ------------------------------------------------------------------------------

    async def _rest_asset_pairs(self, request: web.Request) -> web.Response:
        err = await self.rest_gate(request)
        if err is not None:
            status, retry_after = err
            headers = {"Retry-After": str(int(retry_after))} if status == 429 else {}
            return web.json_response({"error": ["EGeneral:Too many requests" if status == 429
                                                else "EService:Unavailable"]}, status=status, headers=headers)
        result: dict[str, Any] = {}
        for st in self.books.values():
            s = st.spec
            b, q = _LEGACY.get(s.base, s.base), _LEGACY.get(s.quote, s.quote)
            alt_b = "XBT" if s.base == "BTC" else s.base
            result[b + q] = {
                "altname": alt_b + s.quote, "wsname": f"{alt_b}/{s.quote}", "base": b, "quote": q,
                "pair_decimals": st.px_dec, "lot_decimals": st.qty_dec, "cost_decimals": 5,
                "tick_size": st.px(s.tick_1e9), "ordermin": st.qty(s.min_qty_1e8),
                "costmin": st.px(s.min_notional_1e9), "status": "online"}
        return web.json_response({"error": [], "result": result})

    # ---- private REST ------------------------------------------------------------------------

    async def _rest_ws_token(self, request: web.Request) -> web.Response:
        err = await self.rest_gate(request)
        if err is not None:
            return web.json_response({"error": ["EAPI:Rate limit exceeded" if err[0] == 429 else
                                                "EService:Unavailable"]}, status=err[0])
        body = await request.text()
        acct = self.accounts.get(request.headers.get("API-Key", ""))
        if acct is None:
            return web.json_response({"error": ["EAPI:Invalid key"]})
        form = dict(parse_qsl(body, keep_blank_values=True))
        nonce = form.get("nonce", "")
        if not nonce.isdigit():
            return web.json_response({"error": ["EAPI:Invalid nonce"]})
        if not verify_rest_signature(acct.secret, request.path, nonce, body, request.headers.get("API-Sign", "")):
            return web.json_response({"error": ["EAPI:Invalid signature"]})
        if int(nonce) <= acct.nonce:
            return web.json_response({"error": ["EAPI:Invalid nonce"]})
        acct.nonce = int(nonce)
        token = secrets.token_urlsafe(32)
        self.tokens[token] = acct.api_key
        return web.json_response({"error": [], "result": {"token": token, "expires": 900}})

    # ---- authenticated websocket -------------------------------------------------------------

    def _resp(self, method: str, rid: Any, result: Any = None, error: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {"method": method}
        if rid is not None:
            out["req_id"] = rid
        if error:
            out.update({"success": False, "error": error})
        else:
            out.update({"success": True, "result": result})
        out.update({"time_in": _now_iso(), "time_out": _now_iso()})
        return out

    async def _user_text(self, c: SimClient, text: str) -> None:
        try:
            req = json.loads(text, parse_float=str)   # Kraken sends numbers: keep their decimal text
            method = req["method"]
            params = req.get("params") or {}
        except (ValueError, KeyError, TypeError):
            await self.send(c, {"error": "Malformed request", "method": "", "success": False})
            return
        rid = req.get("req_id")
        if method == "ping":
            await self.send(c, {"method": "pong", "req_id": rid, "time_in": _now_iso(), "time_out": _now_iso()})
            return
        token = params.get("token")
        api_key = self.tokens.get(token) if isinstance(token, str) else None
        if api_key is None:
            await self.send(c, self._resp(method, rid, error="EAPI:Invalid key" if token else
                                          "EGeneral:Invalid arguments:token"))
            return
        c.api_key = api_key
        try:
            if method == "subscribe" and params.get("channel") == "executions":
                c.subs.add("executions")
                await self.send(c, self._resp(method, rid, {"channel": "executions", "snapshot": False}))
                return
            if method == "add_order":
                result = await self._add(api_key, params, params.get("symbol"))
            elif method == "amend_order":
                result = await self._amend(api_key, params)
            elif method == "cancel_order":
                result = await self._cancel(api_key, params)
            elif method == "batch_add":
                await self._batch(c, api_key, params, rid)
                return
            else:
                raise _KrakenError("EGeneral:Invalid arguments:method")
        except _KrakenError as e:
            await self.send(c, self._resp(method, rid, error=e.text))
            return
        await self.send(c, self._resp(method, rid, result))

    def _book(self, symbol: Any) -> SimBook:
        st = self.books.get(symbol) if isinstance(symbol, str) else None
        if st is None:
            raise _KrakenError("EQuery:Unknown asset pair")
        return st

    @staticmethod
    def _num(v: Any, parse: Any, name: str) -> int:
        try:
            n = parse(str(v))
        except (FixedPointError, ValueError, TypeError):
            raise _KrakenError(f"EGeneral:Invalid arguments:{name}") from None
        if n <= 0:
            raise _KrakenError(f"EGeneral:Invalid arguments:{name}")
        return n

    def _validate(self, st: SimBook, p: dict[str, Any]) -> tuple[str, int, int, str, bool, bool]:
        side = p.get("side")
        if side not in ("buy", "sell"):
            raise _KrakenError("EGeneral:Invalid arguments:side")
        otype = p.get("order_type")
        if otype not in ("limit", "market"):
            raise _KrakenError("EGeneral:Invalid arguments:order_type")
        qty = self._num(p.get("order_qty"), parse_qty, "order_qty")
        if qty % st.spec.step_1e8:
            raise _KrakenError("EGeneral:Invalid arguments:order_qty")
        if qty < st.spec.min_qty_1e8:
            raise _KrakenError("EOrder:Order minimum not met")
        px = 0
        if otype == "limit":
            px = self._num(p.get("limit_price"), parse_px, "limit_price")
            if px % st.spec.tick_1e9:
                raise _KrakenError("EOrder:Invalid price")
        tif = str(p.get("time_in_force", "gtc")).lower()
        if tif not in ("gtc", "ioc", "gtd"):
            raise _KrakenError("EGeneral:Invalid arguments:time_in_force")
        return side, px, qty, tif, otype == "market", bool(p.get("post_only", False))

    async def _add(self, api_key: str, p: dict[str, Any], symbol: Any) -> dict[str, Any]:
        st = self._book(symbol)
        side, px, qty, tif, market, post_only = self._validate(st, p)
        cid = str(p.get("cl_ord_id", "") or "")
        if cid and self.find_order(api_key, st, client_order_id=cid):
            raise _KrakenError("EOrder:Duplicate order")
        o = self.new_order(api_key, st, BUY if side == "buy" else SELL, px, qty, vid=kraken_order_id(),
                           tif="GTX" if post_only else ("IOC" if tif == "ioc" or market else "GTC"), market=market,
                           client_order_id=cid)
        try:
            await self.submit(st, o)
        except MatchReject:
            raise _KrakenError("EOrder:Post only order") from None
        except SimInsufficient:
            raise _KrakenError("EOrder:Insufficient funds") from None
        out: dict[str, Any] = {"order_id": o.extra["vid"]}
        if cid:
            out["cl_ord_id"] = cid
        return out

    def _target(self, api_key: str, p: dict[str, Any]) -> tuple[SimBook, SimOrder]:
        oid = p.get("order_id")
        cid = p.get("cl_ord_id")
        for st in self.books.values():
            o = self.find_order(api_key, st, order_id=oid if isinstance(oid, str) else "",
                                client_order_id=cid if isinstance(cid, str) else "")
            if o is not None:
                return st, o
        raise _KrakenError("EOrder:Unknown order")

    async def _amend(self, api_key: str, p: dict[str, Any]) -> dict[str, Any]:
        st, o = self._target(api_key, p)
        qty = self._num(p["order_qty"], parse_qty, "order_qty") if "order_qty" in p else o.qty
        px = self._num(p["limit_price"], parse_px, "limit_price") if "limit_price" in p else o.px
        if px % st.spec.tick_1e9:
            raise _KrakenError("EOrder:Invalid price")
        if qty % st.spec.step_1e8:
            raise _KrakenError("EGeneral:Invalid arguments:order_qty")
        o.extra["amend_id"] = kraken_order_id()
        try:
            await self.amend_in_place(st, o, qty, px)
        except SimInsufficient:
            raise _KrakenError("EOrder:Insufficient funds") from None
        return {"amend_id": o.extra["amend_id"], "order_id": o.extra["vid"]}

    async def _cancel(self, api_key: str, p: dict[str, Any]) -> dict[str, Any]:
        ids = p.get("order_id") or []
        cids = p.get("cl_ord_id") or []
        if not ids and not cids:
            raise _KrakenError("EGeneral:Invalid arguments:order_id")
        if not isinstance(ids, list) or not isinstance(cids, list):
            raise _KrakenError("EGeneral:Invalid arguments:order_id")
        last = ""
        for oid in ids:
            st, o = self._target(api_key, {"order_id": oid})
            await self.cancel_order(st, o)
            last = oid
        for cid in cids:
            st, o = self._target(api_key, {"cl_ord_id": cid})
            await self.cancel_order(st, o)
            last = o.extra["vid"]
        return {"order_id": last}

    async def _batch(self, c: SimClient, api_key: str, p: dict[str, Any], rid: Any) -> None:
        orders = p.get("orders")
        if not isinstance(orders, list) or not (BATCH_MIN <= len(orders) <= BATCH_MAX):
            await self.send(c, self._resp("batch_add", rid, error="EGeneral:Invalid arguments:orders"))
            return
        try:
            st = self._book(p.get("symbol"))
            for od in orders:                       # the whole batch is validated first
                if not isinstance(od, dict):
                    raise _KrakenError("EGeneral:Invalid arguments:orders")
                self._validate(st, od)
        except _KrakenError as e:
            await self.send(c, self._resp("batch_add", rid, error=e.text))
            return
        results: list[dict[str, Any]] = []
        for od in orders:                           # then each order meets the engine on its own
            try:
                r = await self._add(api_key, od, p.get("symbol"))
                results.append({**r, "success": True} if "cl_ord_id" in r else {"order_id": r["order_id"]})
            except _KrakenError as e:
                results.append({"success": False, "error": e.text, **({"cl_ord_id": od["cl_ord_id"]}
                                                                      if od.get("cl_ord_id") else {})})
        await self.send(c, self._resp("batch_add", rid, results))

    # ---- executions channel ------------------------------------------------------------------

    async def _exec(self, api_key: str, item: dict[str, Any]) -> None:
        for c in list(self.clients):
            if c.kind == "user" and c.api_key == api_key and "executions" in c.subs:
                n = self._exec_seq.get(id(c), 0) + 1
                self._exec_seq[id(c)] = n
                text = orjson.dumps({"channel": "executions", "type": "update", "data": [item], "sequence": n}).decode()
                for k, v in item.items():      # numbers as JSON numbers with their full precision
                    if isinstance(v, _Num):
                        text = text.replace(f'"{k}":"{v}"', f'"{k}":{v}', 1)
                await self.send(c, text)

    @staticmethod
    def _status(o: SimOrder) -> str:
        return {"NEW": "new", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled", "CANCELED": "canceled",
                "EXPIRED": "expired"}.get(o.status, "new")

    def _base(self, st: SimBook, o: SimOrder, exec_type: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            "order_id": o.extra["vid"], "exec_id": kraken_order_id(), "exec_type": exec_type,
            "symbol": st.spec.symbol, "side": "buy" if o.side == BUY else "sell",
            "order_type": "market" if o.order_type == "MARKET" else "limit",
            "order_qty": _Num(st.qty(o.qty)), "cum_qty": _Num(st.qty(o.filled)),
            "order_status": "new" if exec_type == "new" else self._status(o), "timestamp": _now_iso()}
        if o.px:
            item["limit_price"] = _Num(st.px(o.px))
        if o.client_order_id:
            item["cl_ord_id"] = o.client_order_id
        return item

    async def order_event(self, st: SimBook, o: SimOrder, kind: str) -> None:
        if o.owner is None:
            return
        item = self._base(st, o, kind)
        if kind == "amended":
            item["amend_id"] = o.extra.get("amend_id", "")
        await self._exec(o.owner, item)

    async def fill_event(self, st: SimBook, o: SimOrder, f: SimFill, maker: bool) -> None:
        assert o.owner is not None
        item = self._base(st, o, "trade")
        item.update({"trade_id": f.trade_id, "last_qty": _Num(st.qty(f.qty)), "last_price": _Num(st.px(f.px)),
                     "liquidity_ind": "m" if maker else "t",
                     "cost": _Num(format_px(f.px * f.qty // 100_000_000)),
                     "fees": [{"asset": st.spec.quote, "qty": 0}]})
        await self._exec(o.owner, item)
        if o.status == "FILLED":
            await self._exec(o.owner, self._base(st, o, "filled"))


class _Num(str):
    """A decimal kept as text, written to the wire as a JSON number."""


class _KrakenError(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text
