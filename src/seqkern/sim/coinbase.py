"""Coinbase Advanced Trade simulator on 127.0.0.1: level2 (snapshot + updates), market_trades, heartbeats.

Paths (the real venue uses separate hosts; the edge's endpoints are configurable):
  /                                       market-data websocket (envelope channel, client_id,
                                          timestamp, sequence_num per connection, events)
  GET /api/v3/brokerage/market/products   public product list
  GET /api/v3/brokerage/market/product_book
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from seqkern._fixed import parse_px, parse_qty
from seqkern.sim.binance import SimSymbol
from seqkern.sim.instream import InStreamBookSim, SimBook, SimClient
from seqkern.sim.matching import BUY, SELL, SimFill


def _iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class CoinbaseSim(InStreamBookSim):
    venue = "coinbase"
    view_depth = 0         # level2 carries every change of the full book

    @classmethod
    def default_symbol(cls) -> SimSymbol:
        return SimSymbol("BTC-USD", "BTC", "USD", tick_1e9=parse_px("0.01"), step_1e8=parse_qty("0.00000001"),
                         min_qty_1e8=parse_qty("0.00000001"), min_notional_1e9=parse_px("1"),
                         mid_px_1e9=parse_px("68000"))

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._hb = 0

    def build_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/", self._market_ws)
        r.add_get("/api/v3/brokerage/market/products", self._rest_products)
        r.add_get("/api/v3/brokerage/market/product_book", self._rest_book)

    async def _market_ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.serve_ws(request, "market")

    # ---- envelope --------------------------------------------------------------------------

    async def envelope(self, c: SimClient, channel: str, events: list[Any], *, malformed: bool = False) -> None:
        """Every message of a connection takes the next sequence_num (all channels)."""
        msg = {"channel": channel, "client_id": "", "timestamp": _iso(), "sequence_num": c.seq, "events": events}
        c.seq += 1
        await self.send(c, msg, malformed=malformed)

    @staticmethod
    def _updates(st: SimBook, bids: list[tuple[int, int]], asks: list[tuple[int, int]], t: str) -> list[dict[str, str]]:
        out = [{"side": "bid", "event_time": t, "price_level": st.px(p), "new_quantity": st.qty(q)} for p, q in bids]
        out += [{"side": "offer", "event_time": t, "price_level": st.px(p), "new_quantity": st.qty(q)} for p, q in asks]
        return out

    async def heartbeat(self) -> None:
        self._hb += 1
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f000 +0000 UTC")
        for c in list(self.clients):
            if "heartbeats" in c.subs:
                await self.envelope(c, "heartbeats", [{"current_time": now, "heartbeat_counter": self._hb}])

    async def publish_depth(self, st: SimBook, bids: list[tuple[int, int]], asks: list[tuple[int, int]],
                            *, corrupt: bool, malformed: bool) -> None:
        ev = [{"type": "update", "product_id": st.spec.symbol, "updates": self._updates(st, bids, asks, _iso())}]
        for c in list(self.clients):
            if f"level2:{st.spec.symbol}" in c.subs:
                await self.envelope(c, "l2_data", ev, malformed=malformed)

    def on_skipped(self, st: SimBook) -> None:
        for c in self.clients:
            if f"level2:{st.spec.symbol}" in c.subs:
                c.seq += 1          # the withheld message took a sequence number

    async def publish_trade(self, st: SimBook, f: SimFill) -> None:
        ev = [{"type": "update", "trades": [{"trade_id": str(f.trade_id), "product_id": st.spec.symbol,
                                             "price": st.px(f.px), "size": st.qty(f.qty),
                                             "side": "BUY" if f.taker.side == BUY else "SELL", "time": _iso()}]}]
        for c in list(self.clients):
            if f"market_trades:{st.spec.symbol}" in c.subs:
                await self.envelope(c, "market_trades", ev)

    # ---- control ---------------------------------------------------------------------------

    async def on_text(self, c: SimClient, text: str) -> None:
        try:
            req = orjson.loads(text)
            kind = req["type"]
            channel = req["channel"]
            products = req.get("product_ids") or []
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await self.send(c, {"type": "error", "message": "failure to parse message"})
            return
        if kind not in ("subscribe", "unsubscribe") or channel not in (
                "level2", "market_trades", "heartbeats", "ticker", "user"):
            await self.send(c, {"type": "error", "message": f"Failed to subscribe: unknown channel {channel}"})
            return
        if channel == "user":
            await self.send(c, {"type": "error", "message": "authentication failure"})
            return
        if channel != "heartbeats" and any(p not in self.books for p in products):
            await self.send(c, {"type": "error", "message": "Failed to subscribe"})
            return
        keys = ["heartbeats"] if channel == "heartbeats" else [f"{channel}:{p}" for p in products]
        if kind == "subscribe":
            new = [k for k in keys if k not in c.subs]
            c.subs.update(keys)
        else:
            new = []
            c.subs.difference_update(keys)
        subs: dict[str, list[str]] = {}
        for k in sorted(c.subs):
            ch, _, pid = k.partition(":")
            subs.setdefault(ch, []).append(pid or "heartbeats")
        await self.envelope(c, "subscriptions", [{"subscriptions": subs}])
        for k in new:
            if k.startswith("level2:"):
                st = self.books[k.split(":", 1)[1]]
                t = "1970-01-01T00:00:00Z"
                ups = self._updates(st, st.engine.depth(BUY, 100000), st.engine.depth(SELL, 100000), t)
                await self.envelope(c, "l2_data", [{"type": "snapshot", "product_id": st.spec.symbol, "updates": ups}])

    # ---- REST ------------------------------------------------------------------------------

    async def _gated(self, request: web.Request) -> web.Response | None:
        err = await self.rest_gate(request)
        if err is None:
            return None
        status, retry_after = err
        headers = {"Retry-After": str(int(retry_after))} if status == 429 else {}
        msg = "Too many requests" if status == 429 else "Internal server error"
        return web.json_response({"error": "rate_limit_exceeded" if status == 429 else "INTERNAL",
                                  "message": msg}, status=status, headers=headers)

    async def _rest_products(self, request: web.Request) -> web.Response:
        gated = await self._gated(request)
        if gated is not None:
            return gated
        products = []
        for st in self.books.values():
            s = st.spec
            products.append({"product_id": s.symbol, "base_increment": st.qty(s.step_1e8),
                             "quote_increment": st.px(s.tick_1e9), "price_increment": st.px(s.tick_1e9),
                             "base_min_size": st.qty(s.min_qty_1e8), "quote_min_size": st.px(s.min_notional_1e9),
                             "base_max_size": "3400", "status": "online", "product_type": "SPOT",
                             "base_currency_id": s.base, "quote_currency_id": s.quote, "trading_disabled": False})
        return web.json_response({"products": products, "num_products": len(products)})

    async def _rest_book(self, request: web.Request) -> web.Response:
        gated = await self._gated(request)
        if gated is not None:
            return gated
        st = self.books.get(request.query.get("product_id", ""))
        if st is None:
            return web.json_response({"error": "NOT_FOUND", "message": "ProductID is invalid"}, status=404)
        n = int(request.query.get("limit", "50") or 50)
        return web.json_response({"pricebook": {
            "product_id": st.spec.symbol, "time": _iso(),
            "bids": [{"price": st.px(p), "size": st.qty(q)} for p, q in st.engine.depth(BUY, n)],
            "asks": [{"price": st.px(p), "size": st.qty(q)} for p, q in st.engine.depth(SELL, n)]}})
