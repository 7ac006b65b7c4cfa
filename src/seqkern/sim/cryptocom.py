"""Crypto.com Exchange v1 simulator on 127.0.0.1: book.{inst}.{depth} (snapshot, u/pu deltas), trade, heartbeats.

Paths (the edge's endpoints are configurable):
  /exchange/v1/market                       market websocket (subscribe/unsubscribe, public/heartbeat that
                                            must be answered within 5 s with public/respond-heartbeat)
  GET /exchange/v1/public/get-instruments   instrument rules
  GET /exchange/v1/public/get-book          REST depth
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from seqkern._fixed import parse_px, parse_qty
from seqkern.sim.binance import SimSymbol
from seqkern.sim.instream import InStreamBookSim, SimBook, SimClient
from seqkern.sim.matching import BUY, SELL, SimFill

ERR_SYS = 10001                 # SYS_ERROR
ERR_BAD_REQUEST = 40003         # BAD_REQUEST
ERR_EXCEED_SUBS = 40008         # EXCEED_MAX_SUBSCRIPTIONS (400 per market connection)
ERR_TOO_MANY = 42901            # TOO_MANY_REQUESTS
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
            await self.send(c, {"id": rid, "method": "subscribe", "code": 0, "result": {"channel": parts[0],
                                                                                         "subscription": ch}})
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
