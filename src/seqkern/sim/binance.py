"""Binance spot and USD-M simulators on 127.0.0.1: market streams, REST depth, WS API orders, user data.

One aiohttp server per simulator serves every Binance path the edge uses (the real venue spreads
them over several hosts; the edge's endpoints are configurable):

spot:  /ws[/<streams>], /stream?streams=..   market streams (raw / combined)
       /ws-api/v3                            WS API: session.logon, userDataStream.subscribe[.signature],
                                             order.place, order.cancel, order.amend.keepPriority
       GET /api/v3/depth, /api/v3/time, /api/v3/exchangeInfo
USD-M: /public/..., /market/...              market streams (depth+bookTicker / aggTrade)
       /private/ws?listenKey=...             user data
       /ws-fapi/v1                           WS API: order.place, order.cancel, order.modify
       GET /fapi/v1/depth, POST/PUT /fapi/v1/listenKey, POST /fapi/v1/batchOrders
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import WSMsgType, web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from seqkern._fixed import format_px, format_qty, parse_px, parse_qty
from seqkern.errors import FixedPointError
from seqkern.sim.faults import FaultPlan
from seqkern.sim.marketdata import RandomWalkFeed, ReplayFeed
from seqkern.sim.matching import BUY, SELL, MatchingEngine, MatchReject, SimFill, SimOrder
from seqkern.sim.server import TickingSimServer
from seqkern.venues.binance import constants as C
from seqkern.venues.binance.auth import ed25519_verify_b64, verify_hmac_sha256_hex, wsapi_payload
from seqkern.venues.catalog import VENUE_BINANCE
from seqkern.venues.pairspec import pairspec_table

_DEFAULT_SPECS = pairspec_table()

log = logging.getLogger("seqkern.sim.binance")

_E9 = 1_000_000_000


def _ms() -> int:
    return time.time_ns() // 1_000_000


def _avg_px(o: SimOrder) -> int:
    """Average fill price px_1e9 (quote_filled is in qty_1e8 units of the quote asset)."""
    return o.quote_filled * _E9 // o.filled if o.filled else 0


class BinanceApiError(Exception):
    def __init__(self, code: int, msg: str, http_status: int = 400) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.http_status = http_status


def _mandatory(name: str) -> BinanceApiError:
    return BinanceApiError(C.ERR_MANDATORY_PARAM,
                           f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


@dataclass
class SimSymbol:
    symbol: str
    base: str
    quote: str
    tick_1e9: int
    step_1e8: int
    min_qty_1e8: int
    min_notional_1e9: int
    mid_px_1e9: int


@dataclass
class SimAccount:
    api_key: str
    secret: str = ""
    ed25519_public_pem: str = ""
    balances: dict[str, int] = field(default_factory=dict)   # asset -> free, qty_1e8 units
    locked: dict[str, int] = field(default_factory=dict)

    def public_key(self) -> Ed25519PublicKey | None:
        if not self.ed25519_public_pem:
            return None
        k = load_pem_public_key(self.ed25519_public_pem.encode())
        return k if isinstance(k, Ed25519PublicKey) else None


@dataclass
class _MarketClient:
    ws: web.WebSocketResponse
    combined: bool
    streams: set[str]
    kind: str      # "market" | "public" | "ws" (spot)


@dataclass
class _SymbolState:
    spec: SimSymbol
    engine: MatchingEngine
    feed: RandomWalkFeed | ReplayFeed
    last_u: int = 0
    last_bbo: tuple[int, int, int, int] = (0, 0, 0, 0)
    bbo_id: int = 0


class BinanceSim(TickingSimServer):
    """A Binance venue (spot or USD-M) on loopback. ``true_depth`` is the book the edge must match."""

    def __init__(self, *, futures: bool = False, symbols: list[SimSymbol] | None = None, seed: int = 7,
                 tick_interval_s: float = 0.01, actions_per_tick: int = 4, replay_path: str | None = None,
                 ping_interval_s: float | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.futures = futures
        self.host = host
        self.port = port
        self.faults = FaultPlan()
        self.tick_interval_s = tick_interval_s
        self.actions_per_tick = actions_per_tick
        self.ping_interval_s = ping_interval_s if ping_interval_s is not None else (
            C.USDM_PING.server_ping_s if futures else C.SPOT_PING.server_ping_s)
        self.accounts: dict[str, SimAccount] = {}
        self.paused = False
        self.events_sent = 0
        self.events_skipped = 0
        self.rest_calls: dict[str, int] = {}
        self._symbols: dict[str, _SymbolState] = {}
        for i, spec in enumerate(symbols or [default_symbol(futures=futures)]):
            eng = MatchingEngine(spec.symbol, spec.tick_1e9, spec.step_1e8)
            feed: RandomWalkFeed | ReplayFeed
            if replay_path:
                feed = ReplayFeed(eng, replay_path)
            else:
                feed = RandomWalkFeed(eng, seed=seed + i, mid_px_1e9=spec.mid_px_1e9, max_qty_lots=50)
            feed.seed_book()
            eng.drain_changes()
            st = _SymbolState(spec, eng, feed, last_u=1000 + 100 * i)
            self._symbols[spec.symbol] = st
        self._market: list[_MarketClient] = []
        self._user_sessions: dict[str, list[web.WebSocketResponse]] = {}   # api key -> spot WS API sessions
        self._listen_keys: dict[str, str] = {}                              # listenKey -> api key
        self._private: dict[str, list[web.WebSocketResponse]] = {}          # api key -> USD-M private sockets
        self._api_sockets: set[web.WebSocketResponse] = set()               # every WS API session
        self._init_server()
        self._app = self._build_app()

    # ---- public API for tests --------------------------------------------------------------

    def add_account(self, api_key: str, secret: str = "", ed25519_public_pem: str = "",
                    balances: dict[str, str] | None = None) -> SimAccount:
        acct = SimAccount(api_key, secret, ed25519_public_pem,
                          {a: parse_qty(v) for a, v in (balances or {}).items()})
        self.accounts[api_key] = acct
        return acct

    def true_depth(self, symbol: str, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        e = self._symbols[symbol].engine
        return e.depth(BUY, n), e.depth(SELL, n)

    def last_update_id(self, symbol: str) -> int:
        return self._symbols[symbol].last_u

    def spec(self, symbol: str) -> SimSymbol:
        return self._symbols[symbol].spec

    def engine(self, symbol: str) -> MatchingEngine:
        return self._symbols[symbol].engine

    async def _close_clients(self) -> None:
        for c in list(self._market):
            await c.ws.close()
        for lst in [*self._user_sessions.values(), *self._private.values()]:
            for ws in list(lst):
                await ws.close()

    # ---- market data -----------------------------------------------------------------------

    def _depth_stream(self, sym: str) -> tuple[str, str]:
        s = sym.lower()
        return f"{s}@depth@100ms", f"{s}@depth"

    async def tick(self) -> None:
        """One market step for every symbol: participants act, events go out."""
        if self.faults.take("drop_sockets"):
            for c in list(self._market):
                await c.ws.close()
            self._market.clear()
        if self.faults.take("drop_user_sockets"):
            for ws in [w for lst in (*self._user_sessions.values(), *self._private.values()) for w in lst]:
                await ws.close()
            for lst in (*self._user_sessions.values(), *self._private.values()):
                lst.clear()
            for ws in list(self._api_sockets):
                await ws.close()
        for st in self._symbols.values():
            fills = st.feed.step(self.actions_per_tick)
            await self._after_match(st, fills)

    async def _after_match(self, st: _SymbolState, fills: list[SimFill]) -> None:
        await self._publish_depth(st)
        for f in fills:
            await self._publish_trade(st, f)
            await self._user_fill(st, f)
        await self._publish_bbo(st)

    async def _publish_depth(self, st: _SymbolState) -> None:
        changes = st.engine.drain_changes()
        if not changes:
            return
        first = st.last_u + 1
        prev = st.last_u
        st.last_u += len(changes)
        ev: dict[str, Any] = {"e": "depthUpdate", "E": _ms()}
        if self.futures:
            ev["T"] = ev["E"]
        ev["s"] = st.spec.symbol
        ev["U"] = first
        ev["u"] = st.last_u
        if self.futures:
            ev["pu"] = prev
        ev["b"] = [[format_px(px), format_qty(q)] for side, px, q in changes if side == BUY]
        ev["a"] = [[format_px(px), format_qty(q)] for side, px, q in changes if side == SELL]
        if self.faults.take("skip_sequence"):
            self.events_skipped += 1
            return
        names = self._depth_stream(st.spec.symbol)
        malformed = self.faults.take("malformed_json")
        await self._broadcast(names, ev, malformed)
        self.events_sent += 1

    async def _publish_trade(self, st: _SymbolState, f: SimFill) -> None:
        s = st.spec.symbol
        now = _ms()
        if self.futures:
            ev = {"e": "aggTrade", "E": now, "a": f.trade_id, "s": s, "p": format_px(f.px),
                  "q": format_qty(f.qty), "f": f.trade_id, "l": f.trade_id, "T": now,
                  "m": f.taker.side == SELL}
            await self._broadcast((f"{s.lower()}@aggTrade",), ev)
        else:
            ev = {"e": "trade", "E": now, "s": s, "t": f.trade_id, "p": format_px(f.px),
                  "q": format_qty(f.qty), "T": now, "m": f.taker.side == SELL, "M": True}
            await self._broadcast((f"{s.lower()}@trade",), ev)

    async def _publish_bbo(self, st: _SymbolState) -> None:
        e = st.engine
        bb, ba = e.best(BUY), e.best(SELL)
        bbo = (bb, e.level_qty(BUY, bb) if bb else 0, ba, e.level_qty(SELL, ba) if ba else 0)
        if bbo == st.last_bbo:
            return
        st.last_bbo = bbo
        st.bbo_id += 1
        ev: dict[str, Any] = {}
        if self.futures:
            ev = {"e": "bookTicker", "u": st.last_u, "E": _ms(), "T": _ms()}
        else:
            ev = {"u": st.last_u}
        ev.update({"s": st.spec.symbol, "b": format_px(bbo[0]), "B": format_qty(bbo[1]),
                   "a": format_px(bbo[2]), "A": format_qty(bbo[3])})
        await self._broadcast((f"{st.spec.symbol.lower()}@bookTicker",), ev)

    async def _broadcast(self, names: tuple[str, ...], ev: dict[str, Any], malformed: bool = False) -> None:
        raw = orjson.dumps(ev).decode()
        for c in list(self._market):
            hit = next((n for n in names if n in c.streams), None)
            if hit is None:
                continue
            msg = f'{{"stream":"{hit}","data":{raw}}}' if c.combined else raw
            if malformed:
                msg = msg[: len(msg) // 2]
            try:
                await c.ws.send_str(msg)
            except (ConnectionResetError, RuntimeError):
                with contextlib.suppress(ValueError):
                    self._market.remove(c)

    # ---- HTTP app --------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application()
        r = app.router
        if self.futures:
            for prefix in ("/public", "/market"):
                r.add_get(prefix + "/ws", self._market_ws)
                r.add_get(prefix + "/ws/{streams:.*}", self._market_ws)
                r.add_get(prefix + "/stream", self._market_ws)
            r.add_get("/private/ws", self._private_ws)
            r.add_get("/private/ws/{listenKey}", self._private_ws)
            r.add_get("/ws-fapi/v1", self._ws_api)
            r.add_get("/fapi/v1/depth", self._rest_depth)
            r.add_get("/fapi/v1/time", self._rest_time)
            r.add_get("/fapi/v1/exchangeInfo", self._rest_exchange_info)
            r.add_post("/fapi/v1/listenKey", self._rest_listen_key)
            r.add_put("/fapi/v1/listenKey", self._rest_listen_key)
            r.add_post("/fapi/v1/batchOrders", self._rest_batch_orders)
            r.add_get("/fapi/v1/userTrades", self._rest_user_trades)
        else:
            r.add_get("/ws", self._market_ws)
            r.add_get("/ws/{streams:.*}", self._market_ws)
            r.add_get("/stream", self._market_ws)
            r.add_get("/ws-api/v3", self._ws_api)
            r.add_get("/api/v3/depth", self._rest_depth)
            r.add_get("/api/v3/time", self._rest_time)
            r.add_get("/api/v3/exchangeInfo", self._rest_exchange_info)
        return app

    def _ws(self) -> web.WebSocketResponse:
        return web.WebSocketResponse(heartbeat=self.ping_interval_s, autoping=True)

    async def _market_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = self._ws()
        await ws.prepare(request)
        path = request.path
        combined = path.endswith("/stream")
        streams: set[str] = set()
        if combined:
            q = request.query.get("streams", "")
            streams.update(s for s in q.split("/") if s)
        else:
            tail = request.match_info.get("streams", "")
            streams.update(s for s in tail.split("/") if s)
        kind = "market" if path.startswith("/market") else "public" if path.startswith("/public") else "ws"
        client = _MarketClient(ws, combined, streams, kind)
        self._market.append(client)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self._market_control(client, msg.data)
        finally:
            with contextlib.suppress(ValueError):
                self._market.remove(client)
        return ws

    async def _market_control(self, c: _MarketClient, text: str) -> None:
        try:
            req = orjson.loads(text)
            method = req["method"]
            rid = req.get("id")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await c.ws.send_str(orjson.dumps({"error": {"code": 3, "msg": "Invalid JSON: expected a request object"},
                                              "id": None}).decode())
            return
        params = req.get("params") or []
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                await c.ws.send_str(orjson.dumps({"error": {"code": 2, "msg": "Invalid request: params must be a list of stream names"},
                                                  "id": rid}).decode())
                return
            if method == "SUBSCRIBE":
                if len(c.streams) + len(params) > (C.USDM_LIMITS if self.futures else C.SPOT_LIMITS).streams_per_connection:
                    await c.ws.send_str(orjson.dumps({"error": {"code": 2, "msg": "Invalid request: too many streams"},
                                                      "id": rid}).decode())
                    return
                c.streams.update(params)
            else:
                c.streams.difference_update(params)
            await c.ws.send_str(orjson.dumps({"result": None, "id": rid}).decode())
        elif method == "LIST_SUBSCRIPTIONS":
            await c.ws.send_str(orjson.dumps({"result": sorted(c.streams), "id": rid}).decode())
        else:
            await c.ws.send_str(orjson.dumps({"error": {"code": 2, "msg": f"Invalid request: unknown method {method}"},
                                              "id": rid}).decode())

    # ---- REST ------------------------------------------------------------------------------

    async def _rest_gate(self, request: web.Request) -> web.Response | None:
        """Faults shared by every REST endpoint: delay, then 429/418/5xx answers."""
        err = await self.rest_gate(request)
        if err is None:
            return None
        if err[0] in (418, 429):
            body = {"code": C.ERR_TOO_MANY_REQUESTS,
                    "msg": "Too much request weight used; current limit is 6000 request weight per 1 MINUTE."}
        else:
            body = {"code": C.ERR_UNKNOWN, "msg": "An unknown error occured while processing the request."}
        return self.fault_response(err, body)

    @staticmethod
    def _error(e: BinanceApiError) -> web.Response:
        return web.Response(status=e.http_status, body=orjson.dumps({"code": e.code, "msg": e.msg}),
                            content_type="application/json")

    async def _rest_depth(self, request: web.Request) -> web.Response:
        gated = await self._rest_gate(request)
        if gated is not None:
            return gated
        sym = request.query.get("symbol", "")
        st = self._symbols.get(sym)
        if st is None:
            return self._error(BinanceApiError(C.ERR_BAD_SYMBOL, "Invalid symbol."))
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return self._error(BinanceApiError(C.ERR_INVALID_PARAMETER, "Illegal characters found in parameter 'limit'."))
        limit = max(1, min(limit, 1000 if self.futures else 5000))
        bids, asks = self.true_depth(sym, limit)
        body: dict[str, Any] = {"lastUpdateId": st.last_u}
        if self.futures:
            body["E"] = _ms()
            body["T"] = body["E"]
        body["bids"] = [[format_px(p), format_qty(q)] for p, q in bids]
        body["asks"] = [[format_px(p), format_qty(q)] for p, q in asks]
        weight = C.usdm_depth_weight(limit) if self.futures else C.spot_depth_weight(limit)
        return web.Response(body=orjson.dumps(body), content_type="application/json",
                            headers={"X-MBX-USED-WEIGHT-1M": str(weight)})

    async def _rest_time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": _ms()})

    async def _rest_exchange_info(self, request: web.Request) -> web.Response:
        syms = []
        for st in self._symbols.values():
            s = st.spec
            syms.append({
                "symbol": s.symbol, "status": "TRADING", "baseAsset": s.base, "quoteAsset": s.quote,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "amendAllowed": True,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": format_px(s.tick_1e9), "maxPrice": "1000000",
                     "tickSize": format_px(s.tick_1e9)},
                    {"filterType": "LOT_SIZE", "minQty": format_qty(s.min_qty_1e8), "maxQty": "9000",
                     "stepSize": format_qty(s.step_1e8)},
                    {"filterType": "MIN_NOTIONAL", "notional": format_px(s.min_notional_1e9)} if self.futures
                    else {"filterType": "NOTIONAL", "minNotional": format_px(s.min_notional_1e9)},
                ]})
        return web.json_response({"timezone": "UTC", "serverTime": _ms(), "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50}],
            "exchangeFilters": [], "symbols": syms})

    def _rest_account(self, request: web.Request) -> SimAccount:
        acct = self.accounts.get(request.headers.get("X-MBX-APIKEY", ""))
        if acct is None:
            raise BinanceApiError(C.ERR_REJECTED_API_KEY, "Invalid API-key, IP, or permissions for action.", 401)
        return acct

    async def _rest_listen_key(self, request: web.Request) -> web.Response:
        gated = await self._rest_gate(request)
        if gated is not None:
            return gated
        try:
            acct = self._rest_account(request)
        except BinanceApiError as e:
            return self._error(e)
        if request.method == "POST":
            key = next((k for k, a in self._listen_keys.items() if a == acct.api_key), None)
            if key is None:
                key = secrets.token_urlsafe(48)
                self._listen_keys[key] = acct.api_key
            return web.json_response({"listenKey": key})
        return web.json_response({})

    async def _rest_signed_params(self, request: web.Request) -> tuple[SimAccount, dict[str, str]]:
        acct = self._rest_account(request)
        body = await request.text()
        qs = request.rel_url.raw_query_string   # as sent (percent-encoded), which is what was signed
        pairs = parse_qsl(qs, keep_blank_values=True) + parse_qsl(body, keep_blank_values=True)
        params = dict(pairs)
        sig = params.pop("signature", "")
        if not sig:
            raise _mandatory("signature")
        # Binance verifies the exact query string + body as sent, minus the signature parameter
        parts = [x for x in qs.split("&") if not x.startswith("signature=")]
        signed_part = "&".join(parts) + body
        if not self._verify(acct, signed_part, sig):
            raise BinanceApiError(C.ERR_BAD_SIGNATURE, "Signature for this request is not valid.")
        self._check_timestamp(params)
        return acct, params

    @staticmethod
    def _verify(acct: SimAccount, payload: str, sig: str) -> bool:
        """HMAC keys verify hex HMAC-SHA256; Ed25519 keys verify a base64 Ed25519 signature."""
        pub = acct.public_key()
        if pub is not None:
            return ed25519_verify_b64(pub, payload, sig)
        if acct.secret and all(c in "0123456789abcdefABCDEF" for c in sig):
            return verify_hmac_sha256_hex(acct.secret, payload, sig)
        return False

    @staticmethod
    def _check_timestamp(params: dict[str, Any]) -> None:
        try:
            ts = int(params["timestamp"])
        except (KeyError, ValueError, TypeError):
            raise _mandatory("timestamp") from None
        recv = float(params.get("recvWindow", 5000))
        now = _ms()
        if not (ts < now + 1000 and now - ts <= recv):
            raise BinanceApiError(C.ERR_TIMESTAMP, "Timestamp for this request is outside of the recvWindow.")

    async def _rest_batch_orders(self, request: web.Request) -> web.Response:
        gated = await self._rest_gate(request)
        if gated is not None:
            return gated
        try:
            acct, params = await self._rest_signed_params(request)
            raw = params.get("batchOrders")
            if not raw:
                raise _mandatory("batchOrders")
            try:
                orders = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise BinanceApiError(C.ERR_INVALID_PARAMETER, "Data sent for parameter 'batchOrders' is not valid.") from None
            if not isinstance(orders, list) or not orders or len(orders) > C.USDM_BATCH_MAX:
                raise BinanceApiError(C.ERR_INVALID_PARAMETER, "Data sent for parameter 'batchOrders' is not valid.")
        except BinanceApiError as e:
            return self._error(e)
        out = []
        for o in orders:
            try:
                if not isinstance(o, dict):
                    raise BinanceApiError(C.ERR_INVALID_PARAMETER, "Data sent for parameter 'batchOrders' is not valid.")
                out.append(await self._place(acct, {k: str(v) for k, v in o.items()}))
            except BinanceApiError as e:
                out.append({"code": e.code, "msg": e.msg})
        return web.Response(body=orjson.dumps(out), content_type="application/json")

    async def _rest_user_trades(self, request: web.Request) -> web.Response:
        """USD-M GET /fapi/v1/userTrades (signed): the account's trades of one symbol."""
        gated = await self._rest_gate(request)
        if gated is not None:
            return gated
        try:
            acct, params = await self._rest_signed_params(request)
            return web.Response(body=orjson.dumps(self._my_trades(acct, params)), content_type="application/json")
        except BinanceApiError as e:
            return self._error(e)

    # ---- order queries (answered from the matching engine, including orders already done) ------

    def _queried(self, acct: SimAccount, st: _SymbolState, p: dict[str, str]) -> SimOrder:
        oid, cid = p.get("orderId"), p.get("origClientOrderId")
        if not oid and not cid:
            raise BinanceApiError(C.ERR_MANDATORY_PARAM,
                                  "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        o = None
        if oid:
            with contextlib.suppress(ValueError):
                o = st.engine.lookup(acct.api_key, order_id=int(oid))
        else:
            o = st.engine.lookup(acct.api_key, client_order_id=cid or "")
        if o is None:
            raise BinanceApiError(C.ERR_NO_SUCH_ORDER, "Order does not exist.")
        return o

    def _order_status(self, acct: SimAccount, p: dict[str, str]) -> dict[str, Any]:
        """order.status: the order as the venue holds it now (weight 4 spot, 1 USD-M)."""
        st = self._symbol(p)
        o = self._queried(acct, st, p)
        out = self._order_json(o, st)
        t = o.ts_ns // 1_000_000
        if self.futures:
            out.update(time=t)
        else:
            out.pop("transactTime", None)
            out.update(stopPrice="0.00000000", icebergQty="0.00000000", time=t, updateTime=_ms(),
                       isWorking=o.status in ("NEW", "PARTIALLY_FILLED"), workingTime=t)
        return out

    def _my_trades(self, acct: SimAccount, p: dict[str, str]) -> list[dict[str, Any]]:
        """Spot myTrades / USD-M userTrades filtered by orderId (fromId / limit honoured)."""
        st = self._symbol(p)
        limit = int(p.get("limit") or 500)
        if not 1 <= limit <= 1000:
            raise BinanceApiError(C.ERR_INVALID_PARAMETER, "Invalid limit.")
        try:
            from_id = int(p["fromId"]) if p.get("fromId") not in (None, "") else None
        except ValueError:
            raise BinanceApiError(C.ERR_INVALID_PARAMETER, "Illegal characters found in parameter 'fromId'.") from None
        if p.get("orderId"):
            try:
                oid = int(p["orderId"])
            except ValueError:
                raise BinanceApiError(C.ERR_INVALID_PARAMETER, "Illegal characters found in parameter 'orderId'.") from None
            orders = [o for o in (st.engine.lookup(acct.api_key, order_id=oid),) if o is not None]
        else:
            orders = [o for o in st.engine.history.values() if o.owner == acct.api_key]
        rows: list[dict[str, Any]] = []
        for o in orders:
            for f in st.engine.fills_of.get(o.order_id, ()):
                if from_id is not None and f.trade_id < from_id:
                    continue
                maker = f.maker is o
                quote = format_qty(f.px * f.qty // _E9, 8)
                t = f.ts_ns // 1_000_000
                if self.futures:
                    rows.append({"buyer": o.side == BUY, "commission": "0", "commissionAsset": st.spec.quote,
                                 "id": f.trade_id, "maker": maker, "orderId": o.order_id,
                                 "price": format_px(f.px), "qty": format_qty(f.qty), "quoteQty": quote,
                                 "realizedPnl": "0", "side": o.side, "positionSide": "BOTH",
                                 "symbol": st.spec.symbol, "time": t})
                else:
                    rows.append({"symbol": st.spec.symbol, "id": f.trade_id, "orderId": o.order_id,
                                 "orderListId": -1, "price": format_px(f.px, 8), "qty": format_qty(f.qty, 8),
                                 "quoteQty": quote, "commission": "0.00000000", "commissionAsset": st.spec.quote,
                                 "time": t, "isBuyer": o.side == BUY, "isMaker": maker, "isBestMatch": True})
        rows.sort(key=lambda r: r["id"])
        # fromId: trades from that id on; without it the most recent ones
        return rows[:limit] if from_id is not None else rows[-limit:]

    # ---- WS API ----------------------------------------------------------------------------

    async def _ws_api(self, request: web.Request) -> web.WebSocketResponse:
        ws = self._ws()
        await ws.prepare(request)
        session: dict[str, Any] = {"api_key": None, "subscribed": False}
        self._api_sockets.add(ws)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                if self.faults.ws_api_delay_s:
                    await asyncio.sleep(self.faults.ws_api_delay_s)
                resp = await self._ws_api_request(ws, session, msg.data)
                await ws.send_str(orjson.dumps(resp).decode())
        finally:
            self._api_sockets.discard(ws)
            key = session.get("api_key")
            if key and ws in self._user_sessions.get(key, []):
                self._user_sessions[key].remove(ws)
        return ws

    async def _ws_api_request(self, ws: web.WebSocketResponse, session: dict[str, Any], text: str) -> dict[str, Any]:
        rid: Any = None
        try:
            try:
                req = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise BinanceApiError(-1000, "Malformed request: not valid JSON.") from None
            if not isinstance(req, dict) or not isinstance(req.get("method"), str):
                raise BinanceApiError(-1000, "Malformed request: 'method' is required.")
            rid = req.get("id")
            params = req.get("params") or {}
            if not isinstance(params, dict):
                raise BinanceApiError(C.ERR_INVALID_PARAMETER, "'params' must be an object.")
            result = await self._ws_api_method(ws, session, req["method"], params)
            return {"id": rid, "status": 200, "result": result,
                    "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                                    "intervalNum": 1, "limit": 6000, "count": 1}]}
        except BinanceApiError as e:
            return {"id": rid, "status": e.http_status, "error": {"code": e.code, "msg": e.msg}}

    def _ws_auth(self, session: dict[str, Any], params: dict[str, Any], *, require: bool = True) -> SimAccount:
        """Signed-request check as Binance does it: apiKey + timestamp + signature, or a logged-on session."""
        if "signature" not in params and session.get("api_key"):
            return self.accounts[session["api_key"]]
        key = params.get("apiKey")
        if not key:
            raise _mandatory("apiKey")
        acct = self.accounts.get(key)
        if acct is None:
            raise BinanceApiError(C.ERR_REJECTED_API_KEY, "Invalid API-key, IP, or permissions for action.", 401)
        sig = params.get("signature")
        if not sig:
            raise _mandatory("signature")
        if not self._verify(acct, wsapi_payload(params), str(sig)):
            raise BinanceApiError(C.ERR_BAD_SIGNATURE, "Signature for this request is not valid.")
        self._check_timestamp(params)
        return acct

    async def _ws_api_method(self, ws: web.WebSocketResponse, session: dict[str, Any], method: str,
                             params: dict[str, Any]) -> Any:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": _ms()}
        if method == "session.logon":
            acct = self.accounts.get(params.get("apiKey", ""))
            if acct is None:
                raise BinanceApiError(C.ERR_REJECTED_API_KEY, "Invalid API-key, IP, or permissions for action.", 401)
            pub = acct.public_key()
            if pub is None:
                raise BinanceApiError(-4056 if self.futures else C.ERR_REJECTED_API_KEY,
                                      "Only Ed25519 API keys can be used for session logon.")
            sig = str(params.get("signature", ""))
            if not sig:
                raise _mandatory("signature")
            try:
                base64.b64decode(sig, validate=True)
            except ValueError:
                raise BinanceApiError(C.ERR_BAD_SIGNATURE, "Signature for this request is not valid.") from None
            if not ed25519_verify_b64(pub, wsapi_payload(params), sig):
                raise BinanceApiError(C.ERR_BAD_SIGNATURE, "Signature for this request is not valid.")
            self._check_timestamp(params)
            session["api_key"] = acct.api_key
            return {"apiKey": acct.api_key, "authorizedSince": _ms(), "connectedSince": _ms(),
                    "returnRateLimits": False, "serverTime": _ms(), "userDataStream": session["subscribed"]}
        if method == "session.status":
            return {"apiKey": session.get("api_key"), "userDataStream": session["subscribed"], "serverTime": _ms()}
        if not self.futures and method in ("userDataStream.subscribe", "userDataStream.subscribe.signature"):
            if method == "userDataStream.subscribe":
                if not session.get("api_key"):
                    raise BinanceApiError(-1002,
                                          "You are not authorized to execute this request.", 401)
                acct = self.accounts[session["api_key"]]
            else:
                acct = self._ws_auth({}, params)
                session["api_key"] = session.get("api_key") or acct.api_key
            self._user_sessions.setdefault(acct.api_key, []).append(ws)
            session["subscribed"] = True
            return {"subscriptionId": 0}
        if method in ("userDataStream.start", "userDataStream.ping", "userDataStream.stop"):
            raise BinanceApiError(C.ERR_UNSUPPORTED, "This request has been removed.")  # listenKey gone 2026-02-20
        acct = self._ws_auth(session, params)
        p = {k: (str(v) if not isinstance(v, str) else v) for k, v in params.items()}
        if method == "order.place":
            return await self._place(acct, p)
        if method == "order.cancel":
            return await self._cancel(acct, p)
        if method == "order.amend.keepPriority" and not self.futures:
            return await self._amend_keep_priority(acct, p)
        if method == "order.modify" and self.futures:
            return await self._modify(acct, p)
        if method == "order.status":
            return self._order_status(acct, p)
        if method == "myTrades" and not self.futures:
            return self._my_trades(acct, p)
        raise BinanceApiError(C.ERR_UNSUPPORTED, f"Unsupported method '{method}'.")

    # ---- orders ----------------------------------------------------------------------------

    def _symbol(self, p: dict[str, str]) -> _SymbolState:
        sym = p.get("symbol")
        if not sym:
            raise _mandatory("symbol")
        st = self._symbols.get(sym)
        if st is None:
            raise BinanceApiError(C.ERR_BAD_SYMBOL, "Invalid symbol.")
        return st

    def _order_json(self, o: SimOrder, st: _SymbolState, fills: list[SimFill] | None = None) -> dict[str, Any]:
        now = _ms()
        if self.futures:
            return {"orderId": o.order_id, "symbol": st.spec.symbol, "status": o.status,
                    "clientOrderId": o.client_order_id, "price": format_px(o.px),
                    "avgPrice": format_px(_avg_px(o)),
                    "origQty": format_qty(o.qty), "executedQty": format_qty(o.filled),
                    "cumQuote": format_qty(o.quote_filled), "timeInForce": o.tif, "type": o.order_type,
                    "reduceOnly": False, "closePosition": False, "side": o.side, "positionSide": "BOTH",
                    "stopPrice": "0", "workingType": "CONTRACT_PRICE", "priceProtect": False,
                    "origType": o.order_type, "priceMatch": "NONE", "selfTradePreventionMode": "NONE",
                    "goodTillDate": 0, "updateTime": now}
        out: dict[str, Any] = {
            "symbol": st.spec.symbol, "orderId": o.order_id, "orderListId": -1,
            "clientOrderId": o.client_order_id, "transactTime": now, "price": format_px(o.px, 8),
            "origQty": format_qty(o.qty, 8), "executedQty": format_qty(o.filled, 8),
            "origQuoteOrderQty": "0.00000000", "cummulativeQuoteQty": format_qty(o.quote_filled, 8),
            "status": o.status, "timeInForce": o.tif if o.tif != "GTX" else "GTC",
            "type": o.extra.get("type", o.order_type), "side": o.side, "workingTime": now,
            "selfTradePreventionMode": "NONE"}
        if fills is not None:
            out["fills"] = [{"price": format_px(f.px, 8), "qty": format_qty(f.qty, 8), "commission": "0",
                             "commissionAsset": st.spec.quote, "tradeId": f.trade_id} for f in fills]
        return out

    def _num(self, p: dict[str, str], name: str, parse: Callable[[str], int]) -> int:
        v = p.get(name)
        if v is None or v == "":
            raise _mandatory(name)
        try:
            n = parse(v)
        except FixedPointError:
            raise BinanceApiError(C.ERR_BAD_PRECISION if "precision" in name else C.ERR_INVALID_PARAMETER,
                                  f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.") from None
        if n <= 0:
            raise BinanceApiError(C.ERR_INVALID_PARAMETER, f"Invalid {name}.")
        return n

    def _filters(self, st: _SymbolState, px: int, qty: int, check_px: bool) -> None:
        s = st.spec
        if check_px and px % s.tick_1e9:
            raise BinanceApiError(C.ERR_INVALID_MESSAGE, "Filter failure: PRICE_FILTER")
        if qty % s.step_1e8 or qty < s.min_qty_1e8:
            raise BinanceApiError(C.ERR_INVALID_MESSAGE, "Filter failure: LOT_SIZE")
        if check_px and px * qty // 100_000_000 < s.min_notional_1e9:
            if self.futures:
                raise BinanceApiError(-4164, f"Order's notional must be no smaller than {format_px(s.min_notional_1e9)} "
                                             "(unless you choose reduce only).")
            raise BinanceApiError(C.ERR_INVALID_MESSAGE, "Filter failure: NOTIONAL")

    async def _place(self, acct: SimAccount, p: dict[str, str]) -> dict[str, Any]:
        st = self._symbol(p)
        side = p.get("side")
        if not side:
            raise _mandatory("side")
        if side not in (BUY, SELL):
            raise BinanceApiError(C.ERR_INVALID_SIDE, "Invalid side.")
        typ = p.get("type")
        if not typ:
            raise _mandatory("type")
        allowed = ("LIMIT", "MARKET") if self.futures else ("LIMIT", "MARKET", "LIMIT_MAKER")
        if typ not in allowed:
            raise BinanceApiError(C.ERR_INVALID_ORDER_TYPE, "Invalid orderType.")
        qty = self._num(p, "quantity", parse_qty)
        px = 0
        tif = "IOC"
        if typ in ("LIMIT", "LIMIT_MAKER"):
            px = self._num(p, "price", parse_px)
            if typ == "LIMIT":
                tif = p.get("timeInForce", "")
                if not tif:
                    raise _mandatory("timeInForce")
                if tif not in (("GTC", "IOC", "FOK", "GTX") if self.futures else ("GTC", "IOC", "FOK")):
                    raise BinanceApiError(C.ERR_INVALID_TIF, "Invalid timeInForce.")
            else:
                tif = "GTX"
        self._filters(st, px, qty, typ != "MARKET")
        cid = p.get("newClientOrderId") or f"sim{secrets.token_hex(8)}"
        if st.engine.find_client(acct.api_key, cid):
            raise BinanceApiError(C.ERR_NEW_ORDER_REJECTED, "Duplicate order sent.")
        # funds are locked at the limit price; a market buy locks at the best ask + 10% (it may
        # walk the book), and every fill and release uses that same price
        reserve_px = px or st.engine.best(SELL if side == BUY else BUY) * (11 if side == BUY else 10) // 10
        if not self.futures:
            self._reserve(acct, st, side, reserve_px, qty)
        o = SimOrder(st.engine.next_order_id(), side, px, qty, owner=acct.api_key, client_order_id=cid,
                     tif=tif, order_type="MARKET" if typ == "MARKET" else "LIMIT", ts_ns=time.time_ns(),
                     extra={"type": typ, "reserve_px": reserve_px})
        try:
            fills = st.engine.submit(o)
        except MatchReject:
            if not self.futures:
                self._release(acct, st, o)
            if self.futures:
                raise BinanceApiError(-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected.") from None
            raise BinanceApiError(C.ERR_NEW_ORDER_REJECTED, "Order would immediately match and take.") from None
        self._user_order_event(acct, st, o, "NEW")
        await self._after_match(st, fills)
        if o.status == "EXPIRED":
            if not self.futures:
                self._release(acct, st, o)
            self._user_order_event(acct, st, o, "EXPIRED")
        return self._order_json(o, st, fills)

    def _find(self, acct: SimAccount, st: _SymbolState, p: dict[str, str]) -> SimOrder:
        oid = p.get("orderId")
        cid = p.get("origClientOrderId")
        if not oid and not cid:
            raise _mandatory("orderId")
        o = None
        if oid:
            try:
                o = st.engine.orders.get(int(oid))
            except ValueError:
                o = None
        elif cid:
            o = st.engine.find_client(acct.api_key, cid)
        if o is None or o.owner != acct.api_key:
            raise BinanceApiError(C.ERR_CANCEL_REJECTED, "Unknown order sent.")
        return o

    async def _cancel(self, acct: SimAccount, p: dict[str, str]) -> dict[str, Any]:
        st = self._symbol(p)
        o = self._find(acct, st, p)
        st.engine.cancel(o.order_id)
        if not self.futures:
            self._release(acct, st, o)
        self._user_order_event(acct, st, o, "CANCELED")
        await self._after_match(st, [])
        out = self._order_json(o, st)
        if not self.futures:
            out["origClientOrderId"] = o.client_order_id
        return out

    async def _amend_keep_priority(self, acct: SimAccount, p: dict[str, str]) -> dict[str, Any]:
        st = self._symbol(p)
        o = self._find(acct, st, p)
        new_qty = self._num(p, "newQty", parse_qty)
        if not (0 < new_qty < o.qty) or new_qty <= o.filled:
            raise BinanceApiError(C.ERR_INVALID_PARAMETER, "Invalid newQty: it must be greater than 0 and less than the order's quantity.")
        if new_qty % st.spec.step_1e8:
            raise BinanceApiError(C.ERR_INVALID_MESSAGE, "Filter failure: LOT_SIZE")
        released = o.qty - new_qty
        st.engine.reduce(o.order_id, new_qty)
        self._unreserve(acct, st, o.side, o.px, released)
        orig = o.client_order_id
        # as Binance: the amended order gets newClientOrderId, or a random one when it is not sent
        o.client_order_id = p.get("newClientOrderId") or f"sim{secrets.token_hex(8)}"
        self._user_order_event(acct, st, o, "REPLACED", orig_cid=orig)
        await self._after_match(st, [])
        amended = self._order_json(o, st)
        amended.update({"origClientOrderId": orig, "qty": amended.pop("origQty"),
                        "preventedQty": "0.00000000", "quoteOrderQty": "0.00000000",
                        "cumulativeQuoteQty": amended.pop("cummulativeQuoteQty")})
        for k in ("transactTime", "origQuoteOrderQty", "timeInForce"):
            amended.pop(k, None)
        amended["timeInForce"] = o.tif
        return {"transactTime": _ms(), "executionId": o.order_id, "amendedOrder": amended}

    async def _modify(self, acct: SimAccount, p: dict[str, str]) -> dict[str, Any]:
        st = self._symbol(p)
        o = self._find(acct, st, p)
        side = p.get("side")
        if not side:
            raise _mandatory("side")
        qty = self._num(p, "quantity", parse_qty)
        px = self._num(p, "price", parse_px)
        self._filters(st, px, qty, True)
        o2, fills = st.engine.requeue(o.order_id, qty, px)
        self._user_order_event(acct, st, o2, "AMENDMENT")
        await self._after_match(st, fills)
        return self._order_json(o2, st)

    # ---- balances (spot) -------------------------------------------------------------------

    def _reserve(self, acct: SimAccount, st: _SymbolState, side: str, px: int, qty: int) -> None:
        asset, amount = (st.spec.quote, px * qty // _E9) if side == BUY else (st.spec.base, qty)
        if acct.balances.get(asset, 0) < amount:
            raise BinanceApiError(C.ERR_NEW_ORDER_REJECTED, "Account has insufficient balance for requested action.")
        acct.balances[asset] -= amount
        acct.locked[asset] = acct.locked.get(asset, 0) + amount

    def _unreserve(self, acct: SimAccount, st: _SymbolState, side: str, px: int, qty: int) -> None:
        if self.futures:
            return
        asset, amount = (st.spec.quote, px * qty // _E9) if side == BUY else (st.spec.base, qty)
        amount = min(amount, acct.locked.get(asset, 0))
        acct.locked[asset] = acct.locked.get(asset, 0) - amount
        acct.balances[asset] = acct.balances.get(asset, 0) + amount

    def _release(self, acct: SimAccount, st: _SymbolState, o: SimOrder) -> None:
        self._unreserve(acct, st, o.side, o.extra.get("reserve_px", o.px), o.remaining)

    # ---- user data -------------------------------------------------------------------------

    async def _user_fill(self, st: _SymbolState, f: SimFill) -> None:
        for o, maker in ((f.maker, True), (f.taker, False)):
            if o.owner is None or o.owner not in self.accounts:
                continue
            acct = self.accounts[o.owner]
            if not self.futures:
                locked_px = o.extra.get("reserve_px", o.px) or f.px
                base, quote = st.spec.base, st.spec.quote
                if o.side == BUY:
                    acct.locked[quote] = acct.locked.get(quote, 0) - locked_px * f.qty // _E9
                    acct.balances[quote] = acct.balances.get(quote, 0) + (locked_px - f.px) * f.qty // _E9
                    acct.balances[base] = acct.balances.get(base, 0) + f.qty
                else:
                    acct.locked[base] = acct.locked.get(base, 0) - f.qty
                    acct.balances[quote] = acct.balances.get(quote, 0) + f.px * f.qty // _E9
            self._user_order_event(acct, st, o, "TRADE", fill=f, maker=maker)

    def _user_order_event(self, acct: SimAccount, st: _SymbolState, o: SimOrder, exec_type: str, *,
                          fill: SimFill | None = None, maker: bool = False, orig_cid: str = "") -> None:
        now = _ms()
        last_qty = fill.qty if fill else 0
        last_px = fill.px if fill else 0
        if self.futures:
            ev: dict[str, Any] = {"e": "ORDER_TRADE_UPDATE", "T": now, "E": now, "o": {
                "s": st.spec.symbol, "c": o.client_order_id, "S": o.side, "o": o.order_type,
                "f": o.tif, "q": format_qty(o.qty), "p": format_px(o.px),
                "ap": format_px(_avg_px(o)),
                "sp": "0", "x": exec_type, "X": o.status, "i": o.order_id, "l": format_qty(last_qty),
                "z": format_qty(o.filled), "L": format_px(last_px), "N": st.spec.quote,
                "n": "0", "T": now, "t": fill.trade_id if fill else 0, "b": "0", "a": "0", "m": maker,
                "R": False, "wt": "CONTRACT_PRICE", "ot": o.order_type, "ps": "BOTH", "cp": False,
                "rp": "0", "pP": False, "si": 0, "ss": 0, "V": "NONE", "pm": "NONE", "gtd": 0}}
            self._send_private(acct.api_key, ev)
            if fill:
                self._send_private(acct.api_key, {"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": {
                    "m": "ORDER", "B": [{"a": st.spec.quote, "wb": format_qty(acct.balances.get(st.spec.quote, 0), 8),
                                         "cw": format_qty(acct.balances.get(st.spec.quote, 0), 8), "bc": "0"}],
                    "P": []}})
            return
        ev = {"e": "executionReport", "E": now, "s": st.spec.symbol, "c": o.client_order_id,
              "S": o.side, "o": o.extra.get("type", o.order_type), "f": o.tif if o.tif != "GTX" else "GTC",
              "q": format_qty(o.qty, 8), "p": format_px(o.px, 8), "P": "0.00000000", "F": "0.00000000",
              "g": -1, "C": orig_cid if exec_type == "REPLACED" else (o.client_order_id if exec_type == "CANCELED" else ""),
              "x": exec_type, "X": o.status, "r": "NONE", "i": o.order_id,
              "l": format_qty(last_qty, 8), "z": format_qty(o.filled, 8), "L": format_px(last_px, 8),
              "n": "0", "N": None, "T": now, "t": fill.trade_id if fill else -1, "v": 0, "I": 0,
              "w": o.status in ("NEW", "PARTIALLY_FILLED"), "m": maker, "M": False, "O": o.ts_ns // 1_000_000,
              "Z": format_qty(o.quote_filled, 8), "Y": format_qty(last_px * last_qty // _E9, 8),
              "Q": "0.00000000", "W": o.ts_ns // 1_000_000, "V": "NONE"}
        self._send_user(acct.api_key, ev)
        if fill:
            assets = sorted({st.spec.base, st.spec.quote})
            self._send_user(acct.api_key, {"e": "outboundAccountPosition", "E": now, "u": now, "B": [
                {"a": a, "f": format_qty(acct.balances.get(a, 0), 8), "l": format_qty(acct.locked.get(a, 0), 8)}
                for a in assets]})

    def _send_user(self, api_key: str, ev: dict[str, Any]) -> None:
        text = orjson.dumps({"subscriptionId": 0, "event": ev}).decode()
        for ws in list(self._user_sessions.get(api_key, [])):
            asyncio.get_running_loop().create_task(self._safe_send(ws, text))

    def _send_private(self, api_key: str, ev: dict[str, Any]) -> None:
        text = orjson.dumps(ev).decode()
        for ws in list(self._private.get(api_key, [])):
            asyncio.get_running_loop().create_task(self._safe_send(ws, text))

    @staticmethod
    async def _safe_send(ws: web.WebSocketResponse, text: str) -> None:
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await ws.send_str(text)

    async def _private_ws(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("listenKey") or request.match_info.get("listenKey", "")
        api_key = self._listen_keys.get(key)
        if api_key is None:
            return self._error(BinanceApiError(-1125, "This listenKey does not exist."))
        ws = self._ws()
        await ws.prepare(request)
        self._private.setdefault(api_key, []).append(ws)
        try:
            async for _ in ws:
                pass
        finally:
            with contextlib.suppress(ValueError):
                self._private[api_key].remove(ws)
        return ws


def default_symbol(symbol: str = "BTC-USDT", *, futures: bool = False, mid: str = "60000") -> SimSymbol:
    """A simulated listing with the catalog's default rules for Binance spot or USD-M."""
    spec = _DEFAULT_SPECS[(symbol, VENUE_BINANCE, "perp" if futures else "spot")]
    base, quote = symbol.split("-")
    return SimSymbol(spec.venue_symbol, base, quote, tick_1e9=spec.tick_1e9, step_1e8=spec.lot_1e8,
                     min_qty_1e8=spec.min_qty_1e8, min_notional_1e9=spec.min_notional_1e9,
                     mid_px_1e9=parse_px(mid))
