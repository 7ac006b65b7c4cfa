"""Bitget v2 spot simulator on 127.0.0.1: books (snapshot, updates with seq and CRC32), trade, text ping.

Paths (the edge's endpoints are configurable):
  /v2/ws/public                     public websocket ({"op":"subscribe","args":[...]}, text ping/pong)
  GET /api/v2/spot/public/symbols   symbol rules
  GET /api/v2/spot/market/orderbook REST depth
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from aiohttp import web

from seqkern._fixed import parse_px, parse_qty
from seqkern.sim.binance import SimSymbol
from seqkern.sim.instream import InStreamBookSim, SimBook, SimClient
from seqkern.sim.matching import BUY, SELL, SimFill

ERR_PARAM = 30001          # "Request param error" / channel does not exist
ERR_RATE = 429


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

    @classmethod
    def default_symbol(cls) -> SimSymbol:
        return SimSymbol("BTCUSDT", "BTC", "USDT", tick_1e9=parse_px("0.01"), step_1e8=parse_qty("0.000001"),
                         min_qty_1e8=parse_qty("0.000001"), min_notional_1e9=parse_px("1"),
                         mid_px_1e9=parse_px("26000"))

    def build_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/v2/ws/public", self._public_ws)
        r.add_get("/api/v2/spot/public/symbols", self._rest_symbols)
        r.add_get("/api/v2/spot/market/orderbook", self._rest_orderbook)

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
        if text == "ping":
            await self.send(c, "pong")
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
