"""Kraken spot WebSocket v2 simulator on 127.0.0.1: status, heartbeat, ping/pong, book with CRC32, trades.

Paths (the real venue uses two hosts; the edge's endpoints are configurable):
  /v2                       public websocket: subscribe/unsubscribe book (depth 10/25/100/500/1000,
                            snapshot then updates, checksum of the top 10), trade, ping
  GET /0/public/AssetPairs  pair metadata with the legacy names (XXBTZUSD, wsname XBT/USD)
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from seqkern._fixed import parse_px, parse_qty
from seqkern.sim.binance import SimSymbol
from seqkern.sim.instream import InStreamBookSim, SimBook, SimClient
from seqkern.sim.matching import BUY, SELL, SimFill
from seqkern.venues.kraken.venue import BOOK_DEPTHS, kraken_symbol

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

    @classmethod
    def default_symbol(cls) -> SimSymbol:
        return SimSymbol("BTC/USD", "BTC", "USD", tick_1e9=parse_px("0.1"), step_1e8=parse_qty("0.00000001"),
                         min_qty_1e8=parse_qty("0.00005"), min_notional_1e9=parse_px("0.5"),
                         mid_px_1e9=parse_px("45000"))

    def build_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/v2", self._market_ws)
        r.add_get("/0/public/AssetPairs", self._rest_asset_pairs)

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
