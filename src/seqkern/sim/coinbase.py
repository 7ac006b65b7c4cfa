"""Coinbase Advanced Trade simulator on 127.0.0.1: level2 (snapshot + updates), market_trades, heartbeats.

Paths (the real venue uses separate hosts; the edge's endpoints are configurable):
  /                                       market-data websocket (envelope channel, client_id,
                                          timestamp, sequence_num per connection, events)
  GET /api/v3/brokerage/market/products   public product list
  GET /api/v3/brokerage/market/product_book
  POST /api/v3/brokerage/orders, /orders/edit, /orders/batch_cancel
                                          Authorization: Bearer <CDP JWT> (ES256/EdDSA, uri claim checked)
  /user                                   user websocket: subscribe channel "user" with a JWT
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from seqkern._fixed import format_px, parse_px, parse_qty
from seqkern.errors import FixedPointError
from seqkern.sim.binance import SimSymbol
from seqkern.sim.instream import InStreamBookSim, SimAccount, SimBook, SimClient, SimInsufficient
from seqkern.sim.matching import BUY, SELL, MatchReject, SimFill, SimOrder
from seqkern.venues.coinbase.auth import JwtError, b64url_decode, verify_jwt


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
        r.add_post("/api/v3/brokerage/orders", self._rest_create)
        r.add_post("/api/v3/brokerage/orders/edit", self._rest_edit)
        r.add_post("/api/v3/brokerage/orders/batch_cancel", self._rest_batch_cancel)
        r.add_get("/user", self._user_ws)

    async def _user_ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.serve_ws(request, "user")

    async def _market_ws(self, request: web.Request) -> web.WebSocketResponse:
        return await self.serve_ws(request, "market")

    def add_cdp_key(self, key_name: str, public_key: Any) -> SimAccount:
        """Register a CDP key (its name and EC P-256 / Ed25519 public key)."""
        return self.add_account(key_name, public_key=public_key)

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
            acct = self._jwt_account(str(req.get("jwt", "")), None) if c.kind == "user" else None
            if acct is None:
                await self.send(c, {"type": "error", "message": "authentication failure"})
                return
            c.api_key = acct.api_key
            if kind == "subscribe":
                c.subs.add("user")
                await self.envelope(c, "subscriptions", [{"subscriptions": {"user": products}}])
                await self.envelope(c, "user", [{"type": "snapshot", "orders": [
                    self._user_order(st, o) for st, o in self.user_orders(acct.api_key)]}])
            else:
                c.subs.discard("user")
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

    # ---- CDP JWT authentication --------------------------------------------------------------

    def _jwt_account(self, token: str, uri: str | None) -> SimAccount | None:
        """The account whose key signed ``token``; for REST the uri claim must name this request."""
        try:
            kid = orjson.loads(b64url_decode(token.split(".")[0])).get("kid", "")
        except (ValueError, IndexError, orjson.JSONDecodeError):
            return None
        acct = self.accounts.get(kid)
        if acct is None or acct.public_key is None:
            return None
        try:
            _, claims = verify_jwt(token, acct.public_key)
        except JwtError:
            return None
        if uri is not None and claims.get("uri") != uri:
            return None
        if uri is None and "uri" in claims:
            return None
        return acct

    def _rest_auth(self, request: web.Request) -> SimAccount | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        return self._jwt_account(auth[7:], f"{request.method} {request.host}{request.path}")

    async def _signed(self, request: web.Request) -> tuple[SimAccount | None, web.Response]:
        """The fault gate, then the JWT check: (account, unused) or (None, the answer to send)."""
        gated = await self._gated(request)
        if gated is not None:
            return None, gated
        return self._rest_auth(request), web.Response(status=401, text="Unauthorized\n")

    # ---- orders ------------------------------------------------------------------------------

    @staticmethod
    def _failure(error: str, message: str, reason: str) -> dict[str, Any]:
        return {"success": False, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": "",
                "error_response": {"error": error, "message": message, "error_details": "",
                                   "preview_failure_reason": reason, "new_order_failure_reason": reason}}

    async def _rest_create(self, request: web.Request) -> web.Response:
        acct, refused = await self._signed(request)
        if acct is None:
            return refused
        try:
            p = orjson.loads(await request.read())
            pid, side, cid, cfg = p["product_id"], p["side"], p["client_order_id"], p["order_configuration"]
            (kind, conf), = cfg.items()
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return web.json_response({"error": "INVALID_ARGUMENT", "message": "invalid request body",
                                      "error_details": ""}, status=400)
        st = self.books.get(pid)
        if st is None:
            return web.json_response(self._failure("UNKNOWN_FAILURE_REASON", "product not found",
                                                   "PREVIEW_INVALID_PRODUCT_ID"))
        if side not in ("BUY", "SELL"):
            return web.json_response(self._failure("INVALID_SIDE", "invalid side", "PREVIEW_INVALID_SIDE"))
        if kind not in ("limit_limit_gtc", "limit_limit_fok", "sor_limit_ioc", "market_market_ioc"):
            return web.json_response(self._failure("UNSUPPORTED_ORDER_CONFIGURATION", "unsupported configuration",
                                                   "UNSUPPORTED_ORDER_CONFIGURATION"))
        try:
            qty = parse_qty(conf["base_size"])
            px = 0 if kind == "market_market_ioc" else parse_px(conf["limit_price"])
        except (KeyError, FixedPointError, TypeError):
            return web.json_response(self._failure("INVALID_LIMIT_PRICE", "invalid price or size",
                                                   "PREVIEW_INVALID_LIMIT_PRICE"))
        if px % st.spec.tick_1e9 or px < 0:
            return web.json_response(self._failure("INVALID_PRICE_PRECISION", "price precision",
                                                   "PREVIEW_INVALID_PRICE_PRECISION"))
        if qty <= 0 or qty % st.spec.step_1e8:
            return web.json_response(self._failure("INVALID_SIZE_PRECISION", "size precision",
                                                   "PREVIEW_INVALID_SIZE_PRECISION"))
        if qty < st.spec.min_qty_1e8:
            return web.json_response(self._failure("INVALID_SIZE", "size below minimum", "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL"))
        if self.find_order(acct.api_key, st, client_order_id=cid):
            o = self.find_order(acct.api_key, st, client_order_id=cid)
            assert o is not None      # an idempotent resend: the same order comes back
            return web.json_response({"success": True, "success_response": {
                "order_id": o.extra["vid"], "product_id": pid, "side": side, "client_order_id": cid}})
        post_only = bool(conf.get("post_only", False))
        tif = {"limit_limit_gtc": "GTX" if post_only else "GTC", "limit_limit_fok": "FOK", "sor_limit_ioc": "IOC",
               "market_market_ioc": "IOC"}[kind]
        o = self.new_order(acct.api_key, st, side, px, qty, vid=str(uuid.uuid4()), tif=tif,
                           market=kind == "market_market_ioc", client_order_id=cid)
        o.extra["cfg"] = kind
        try:
            await self.submit(st, o)
        except MatchReject:
            return web.json_response(self._failure("INVALID_LIMIT_PRICE_POST_ONLY", "post-only order would cross",
                                                   "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY"))
        except SimInsufficient:
            return web.json_response(self._failure("INSUFFICIENT_FUND", "Insufficient balance in source account",
                                                   "PREVIEW_INSUFFICIENT_FUND"))
        return web.json_response({"success": True, "success_response": {
            "order_id": o.extra["vid"], "product_id": pid, "side": side, "client_order_id": cid},
            "order_configuration": cfg})

    def _any_order(self, api_key: str, order_id: str) -> tuple[SimBook, SimOrder] | None:
        for st in self.books.values():
            o = self.find_order(api_key, st, order_id=order_id)
            if o is not None:
                return st, o
        return None

    async def _rest_edit(self, request: web.Request) -> web.Response:
        acct, refused = await self._signed(request)
        if acct is None:
            return refused
        try:
            p = orjson.loads(await request.read())
            oid = str(p["order_id"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return web.json_response({"error": "INVALID_ARGUMENT", "message": "order_id required"}, status=400)

        def fail(reason: str) -> web.Response:
            return web.json_response({"success": False, "errors": [{"edit_failure_reason": reason}]})

        found = self._any_order(acct.api_key, oid)
        if found is None:
            return fail("ORDER_NOT_FOUND")
        st, o = found
        if o.extra.get("cfg") != "limit_limit_gtc":
            return fail("ONLY_LIMIT_ORDER_EDITS_SUPPORTED")          # GTC limit orders only
        try:
            px = parse_px(str(p.get("price", "")))
        except FixedPointError:
            return fail("INVALID_EDITED_PRICE")
        try:
            qty = parse_qty(str(p.get("size", "")))   # a missing size reads as 0 and is refused
        except FixedPointError:
            qty = 0
        if qty <= 0 or qty % st.spec.step_1e8:
            return fail("INVALID_EDITED_SIZE")
        if px <= 0 or px % st.spec.tick_1e9:
            return fail("INVALID_EDITED_PRICE")
        if qty <= o.filled:
            return fail("CANNOT_EDIT_TO_BELOW_FILLED_SIZE")
        if (px, qty) == (o.px, o.qty):
            return fail("EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST")
        try:
            await self.amend_in_place(st, o, qty, px)
        except SimInsufficient:
            return fail("COMMANDER_REJECTED_EDIT_ORDER")
        return web.json_response({"success": True, "errors": []})

    async def _rest_batch_cancel(self, request: web.Request) -> web.Response:
        acct, refused = await self._signed(request)
        if acct is None:
            return refused
        try:
            ids = orjson.loads(await request.read())["order_ids"]
            if not isinstance(ids, list):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return web.json_response({"error": "INVALID_ARGUMENT", "message": "order_ids required"}, status=400)
        results = []
        for oid in ids:
            found = self._any_order(acct.api_key, str(oid))
            if found is None:
                results.append({"success": False, "failure_reason": "UNKNOWN_CANCEL_ORDER", "order_id": str(oid)})
                continue
            await self.cancel_order(*found)
            results.append({"success": True, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": str(oid)})
        return web.json_response({"results": results})

    # ---- user channel ------------------------------------------------------------------------

    def _user_order(self, st: SimBook, o: SimOrder) -> dict[str, Any]:
        status = {"NEW": "OPEN", "PARTIALLY_FILLED": "OPEN", "FILLED": "FILLED", "CANCELED": "CANCELLED",
                  "EXPIRED": "EXPIRED"}.get(o.status, "OPEN")
        avg = o.extra.get("pxq", 0) // o.filled if o.filled else 0
        leaves = o.qty - o.filled if status == "OPEN" else 0
        return {"order_id": o.extra["vid"], "client_order_id": o.client_order_id,
                "cumulative_quantity": st.qty(o.filled), "leaves_quantity": st.qty(leaves),
                "avg_price": format_px(avg), "total_fees": "0", "status": status, "product_id": st.spec.symbol,
                "creation_time": datetime.fromtimestamp(o.ts_ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "order_side": o.side, "order_type": "Market" if o.order_type == "MARKET" else "Limit",
                "limit_price": st.px(o.px) if o.px else "", "cancel_reason": "", "reject_reason": "",
                "product_type": "SPOT", "time_in_force": {"GTC": "GOOD_UNTIL_CANCELLED", "GTX": "GOOD_UNTIL_CANCELLED",
                                                          "IOC": "IMMEDIATE_OR_CANCEL", "FOK": "FILL_OR_KILL"}[o.tif]}

    async def order_event(self, st: SimBook, o: SimOrder, kind: str) -> None:
        if o.owner is None:
            return
        for c in list(self.clients):
            if c.kind == "user" and c.api_key == o.owner and "user" in c.subs:
                await self.envelope(c, "user", [{"type": "update", "orders": [self._user_order(st, o)]}])

    async def fill_event(self, st: SimBook, o: SimOrder, f: SimFill, maker: bool) -> None:
        await self.order_event(st, o, "fill")     # Coinbase has no fill record here: cumulative_quantity moves

