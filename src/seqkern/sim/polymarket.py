"""Polymarket simulator on loopback: CLOB V2 REST (L1/L2 auth, EIP-712 V2 orders), market/user channels, relayer.

One matching engine per market on the YES token; an order on the NO token at q is matched as the
opposite YES order at 1 - q (complementary matching), and both tokens' books are published (the NO
book mirrors the YES one). ``price_change`` carries absolute sizes. Orders are verified as the
venue does: L2 HMAC over the exact body bytes, the EIP-712 signature recovered against the market's
V2 exchange (normal or neg-risk); a V1-signed order is refused.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from seqkern._fixed import format_px, format_qty
from seqkern.sim.faults import FaultPlan
from seqkern.sim.marketdata import RandomWalkFeed
from seqkern.sim.matching import BUY, SELL, MatchingEngine, MatchReject, SimFill, SimOrder
from seqkern.venues.polymarket.execution import relay_digest
from seqkern.venues.polymarket.signing import (
    EXCHANGE_V2,
    NEG_RISK_EXCHANGE_V2,
    OrderV2,
    clob_auth_digest,
    l2_signature,
    order_digest,
    recover,
    to_checksum,
)

ONE = 1_000_000_000
MAX_BATCH = 15


@dataclass
class SimPolyMarket:
    slug: str
    condition_id: str
    yes_token: str
    no_token: str
    tick: int
    neg_risk: bool
    engine: MatchingEngine
    feed: RandomWalkFeed
    published: dict[tuple[str, str, int], int] = field(default_factory=dict)   # (token, BUY|SELL, px) -> size
    resolved: str = ""


@dataclass
class _MClient:
    ws: web.WebSocketResponse
    assets: set[str] = field(default_factory=set)
    custom: bool = False


class PolymarketSim:
    def __init__(self, *, slugs: tuple[str, ...] = ("btc-above-99000-on-december-31-2026",), seed: int = 3,
                 tick_interval_s: float = 0.01, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.seed = seed
        self.faults = FaultPlan()
        self.tick_interval_s = tick_interval_s
        self.paused = False
        self.markets: dict[str, SimPolyMarket] = {}
        self.by_token: dict[str, tuple[SimPolyMarket, bool]] = {}
        self.creds: dict[str, tuple[str, str, str]] = {}     # api key -> (address, secret, passphrase)
        self.derive_calls = 0
        self.l2_failures = 0
        self.sig_failures = 0
        self.batch_calls = 0
        self.redemptions: list[dict[str, Any]] = []
        self.announced_at: dict[str, int] = {}
        self._mclients: list[_MClient] = []
        self._uclients: list[tuple[web.WebSocketResponse, str]] = []
        self._orders: dict[str, tuple[SimPolyMarket, SimOrder]] = {}
        self._tokens = itertools.count(10**75 + 12345, 7919)
        self._runner: web.AppRunner | None = None
        self._task: asyncio.Task | None = None
        for s in slugs:
            self._new_market(s)
        app = web.Application()
        r = app.router
        r.add_get("/ws/market", self._ws_market)
        r.add_get("/ws/user", self._ws_user)
        r.add_get("/markets", self._gamma_markets)
        r.add_get("/auth/derive-api-key", self._derive)
        r.add_post("/auth/api-key", self._derive)
        r.add_post("/order", self._post_order)
        r.add_post("/orders", self._post_orders)
        r.add_delete("/order", self._delete_order)
        r.add_post("/submit", self._relayer_submit)
        self._app = app

    # ---- setup -----------------------------------------------------------------------------

    def _new_market(self, slug: str, *, tick: int = 10_000_000, neg_risk: bool = False) -> SimPolyMarket:
        eng = MatchingEngine(slug, tick, 1_000_000)
        feed = RandomWalkFeed(eng, seed=self.seed + len(self.markets), mid_px_1e9=500_000_000, levels=12,
                              max_qty_lots=20_000)
        feed.seed_book()
        eng.drain_changes()
        cond = "0x" + hashlib.sha256(slug.encode()).hexdigest()
        m = SimPolyMarket(slug, cond, str(next(self._tokens)), str(next(self._tokens)), tick, neg_risk, eng, feed)
        m.published = self._levels(m)
        self.markets[slug] = m
        self.by_token[m.yes_token] = (m, False)
        self.by_token[m.no_token] = (m, True)
        return m

    def gamma_item(self, m: SimPolyMarket) -> dict[str, Any]:
        return {"slug": m.slug, "conditionId": m.condition_id, "outcomes": '["Yes", "No"]',
                "clobTokenIds": json.dumps([m.yes_token, m.no_token]), "negRisk": m.neg_risk,
                "orderPriceMinTickSize": float(format_px(m.tick)), "orderMinSize": 5, "acceptingOrders": True,
                "enableOrderBook": True}

    @property
    def base_http(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def market_ws(self) -> str:
        return f"ws://{self.host}:{self.port}/ws/market"

    @property
    def user_ws(self) -> str:
        return f"ws://{self.host}:{self.port}/ws/user"

    def true_book(self, token: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids, asks) of one token as the venue publishes it, best first."""
        m, no = self.by_token[token]
        e = m.engine
        if not no:
            return e.depth(BUY, 1000), e.depth(SELL, 1000)
        return [(ONE - p, q) for p, q in e.depth(SELL, 1000)], [(ONE - p, q) for p, q in e.depth(BUY, 1000)]

    async def start(self) -> PolymarketSim:
        self._runner = web.AppRunner(self._app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        socks = site._server.sockets if site._server else []
        if socks:
            self.port = socks[0].getsockname()[1]
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for c in list(self._mclients):
            await c.ws.close()
        for ws, _ in list(self._uclients):
            await ws.close()
        if self._runner:
            await self._runner.cleanup()

    async def announce_market(self, slug: str, *, tick: str = "0.01") -> SimPolyMarket:
        """List a binary market and send ``new_market`` to custom-feature subscribers."""
        from seqkern._fixed import parse_px
        m = self._new_market(slug, tick=parse_px(tick))
        self.announced_at[slug] = time.monotonic_ns()
        ev = {"event_type": "new_market", "id": str(len(self.markets)), "question": f"{slug}?",
              "market": m.condition_id, "slug": slug, "description": "", "assets_ids": [m.yes_token, m.no_token],
              "outcomes": ["Yes", "No"], "timestamp": str(int(time.time() * 1000)), "tags": ["crypto"],
              "condition_id": m.condition_id, "active": True, "clob_token_ids": [m.yes_token, m.no_token],
              "order_price_min_tick_size": tick}
        for c in list(self._mclients):
            if c.custom:
                await self._send(c.ws, ev)
        return m

    async def change_tick(self, slug: str, new_tick: str) -> None:
        """Change a market's tick (ticks shrink near the extremes) and announce it per token."""
        from seqkern._fixed import parse_px
        m = self.markets[slug]
        old = format_px(m.tick)
        m.tick = parse_px(new_tick)
        m.engine.tick = m.tick
        for token in (m.yes_token, m.no_token):
            ev = {"event_type": "tick_size_change", "asset_id": token, "market": m.condition_id,
                  "old_tick_size": old, "new_tick_size": new_tick, "timestamp": str(int(time.time() * 1000))}
            for c in list(self._mclients):
                if token in c.assets:
                    await self._send(c.ws, ev)

    async def resolve(self, slug: str, winner_yes: bool = True) -> None:
        m = self.markets[slug]
        m.resolved = "Yes" if winner_yes else "No"
        ev = {"event_type": "market_resolved", "id": "1", "market": m.condition_id,
              "assets_ids": [m.yes_token, m.no_token], "winning_asset_id": m.yes_token if winner_yes else m.no_token,
              "winning_outcome": m.resolved, "timestamp": str(int(time.time() * 1000))}
        for c in list(self._mclients):
            if c.custom:
                await self._send(c.ws, ev)

    # ---- market data -----------------------------------------------------------------------

    @staticmethod
    def _levels(m: SimPolyMarket) -> dict[tuple[str, str, int], int]:
        e = m.engine
        out: dict[tuple[str, str, int], int] = {}
        for p, q in e.depth(BUY, 1000):
            out[(m.yes_token, "BUY", p)] = q
            out[(m.no_token, "SELL", ONE - p)] = q
        for p, q in e.depth(SELL, 1000):
            out[(m.yes_token, "SELL", p)] = q
            out[(m.no_token, "BUY", ONE - p)] = q
        return out

    def _book_event(self, m: SimPolyMarket, token: str) -> dict[str, Any]:
        bids, asks = self.true_book(token)
        # bids ascending, asks descending (best last), as the venue's REST/WS books often come
        return {"event_type": "book", "asset_id": token, "market": m.condition_id,
                "bids": [{"price": format_px(p), "size": format_qty(q)} for p, q in reversed(bids)],
                "asks": [{"price": format_px(p), "size": format_qty(q)} for p, q in reversed(asks)],
                "timestamp": str(int(time.time() * 1000)), "hash": "0x" + uuid.uuid4().hex[:40]}

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval_s)
            if not self.paused:
                await self.tick()

    async def tick(self) -> None:
        if self.faults.take("drop_sockets"):
            for c in list(self._mclients):
                await c.ws.close()
        for m in list(self.markets.values()):
            if m.resolved:
                continue
            fills = m.feed.step(3)
            for o in [o for o in m.engine.orders.values() if not (0 < o.px < ONE)]:
                m.engine.cancel(o.order_id)
            await self._after(m, fills)

    async def _after(self, m: SimPolyMarket, fills: list[SimFill]) -> None:
        m.engine.drain_changes()
        now = self._levels(m)
        changes = [(k, now.get(k, 0)) for k in sorted(set(now) | set(m.published)) if now.get(k, 0) !=
                   m.published.get(k, 0)]
        m.published = now
        if changes:
            bb = {t: self.true_book(t) for t in (m.yes_token, m.no_token)}
            pcs = [{"asset_id": t, "price": format_px(p), "size": format_qty(q), "side": s,
                    "hash": uuid.uuid4().hex[:40], "best_bid": format_px(bb[t][0][0][0]) if bb[t][0] else "0",
                    "best_ask": format_px(bb[t][1][0][0]) if bb[t][1] else "0"} for (t, s, p), q in changes]
            ev = {"event_type": "price_change", "market": m.condition_id, "price_changes": pcs,
                  "timestamp": str(int(time.time() * 1000))}
            for c in list(self._mclients):
                if m.yes_token in c.assets or m.no_token in c.assets:
                    if self.faults.take("malformed_json"):
                        with contextlib.suppress(ConnectionError, RuntimeError):
                            await c.ws.send_str('{"event_type":"price_change","market":"0x')
                        continue
                    await self._send(c.ws, ev)
        for f in fills:
            await self._user_trade(m, f)

    async def _send(self, ws: web.WebSocketResponse, obj: Any) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(orjson.dumps(obj).decode())

    async def _ws_market(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        c = _MClient(ws)
        self._mclients.append(c)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                        break
                    continue
                if msg.data == "PING":
                    await ws.send_str("PONG")
                    continue
                try:
                    cmd = orjson.loads(msg.data)
                    assets = [str(a) for a in cmd.get("assets_ids") or []]
                except (orjson.JSONDecodeError, AttributeError, TypeError):
                    await ws.send_str("INVALID OPERATION")
                    continue
                c.custom = c.custom or bool(cmd.get("custom_feature_enabled"))
                op = cmd.get("operation", "subscribe")
                if op == "unsubscribe":
                    c.assets.difference_update(assets)
                    continue
                c.assets.update(assets)
                dump = [self._book_event(self.by_token[a][0], a) for a in assets if a in self.by_token]
                if dump and cmd.get("initial_dump", True):
                    await self._send(ws, dump)
        finally:
            if c in self._mclients:
                self._mclients.remove(c)
        return ws

    # ---- auth ------------------------------------------------------------------------------

    def _creds_for(self, address: str) -> tuple[str, str, str]:
        seed = hashlib.sha256(b"sim-clob" + address.lower().encode()).digest()
        key = str(uuid.UUID(bytes=seed[:16]))
        secret = base64.urlsafe_b64encode(seed).decode()
        passphrase = hashlib.sha256(seed).hexdigest()
        self.creds[key] = (to_checksum(address), secret, passphrase)
        return key, secret, passphrase

    def _l1(self, request: web.Request) -> str:
        h = request.headers
        try:
            addr, sig, ts, nonce = h["POLY_ADDRESS"], h["POLY_SIGNATURE"], h["POLY_TIMESTAMP"], int(h["POLY_NONCE"])
            if abs(int(ts) - time.time()) > 300:
                raise ValueError("stale timestamp")
            ok = recover(clob_auth_digest(addr, ts, nonce), sig) == to_checksum(addr)
        except (KeyError, ValueError, TypeError):
            ok = False
        if not ok:
            raise web.HTTPUnauthorized(text='{"error":"Invalid L1 Request headers"}', content_type="application/json")
        return addr

    async def _l2(self, request: web.Request) -> tuple[str, str, bytes]:
        h = request.headers
        body = await request.read()
        try:
            key = h["POLY_API_KEY"]
            addr, secret, passphrase = self.creds[key]
            ts = h["POLY_TIMESTAMP"]
            want = l2_signature(secret, ts, request.method, request.path, body.decode())
            ok = (hmac.compare_digest(want, h["POLY_SIGNATURE"]) and h["POLY_PASSPHRASE"] == passphrase
                  and h["POLY_ADDRESS"].lower() == addr.lower() and abs(int(ts) - time.time()) <= 300)
        except (KeyError, ValueError):
            ok = False
        if not ok:
            self.l2_failures += 1
            raise web.HTTPUnauthorized(text='{"error":"Unauthorized/Invalid api key"}',
                                       content_type="application/json")
        return key, addr, body

    async def _derive(self, request: web.Request) -> web.Response:
        addr = self._l1(request)
        self.derive_calls += 1
        k, s, p = self._creds_for(addr)
        return web.json_response({"apiKey": k, "secret": s, "passphrase": p})

    async def _gamma_markets(self, request: web.Request) -> web.Response:
        slug = request.query.get("slug")
        items = [self.gamma_item(m) for m in self.markets.values() if slug is None or m.slug == slug]
        return web.json_response(items)

    # ---- orders ----------------------------------------------------------------------------

    async def _one_order(self, key: str, addr: str, body: Any) -> dict[str, Any]:
        try:
            w = body["order"]
            o = OrderV2.from_wire(w)
            if body.get("owner") != key:
                return {"success": False, "errorMsg": "the order owner has to be the owner of the API KEY"}
            if "nonce" in w or "feeRateBps" in w or "taker" in w:
                return {"success": False, "errorMsg": "order_version_mismatch: V1 order fields are not accepted"}
            hit = self.by_token.get(str(o.token_id))
            if hit is None:
                return {"success": False, "errorMsg": "market not found"}
            m, no = hit
            exchange = NEG_RISK_EXCHANGE_V2 if m.neg_risk else EXCHANGE_V2
            if recover(order_digest(o, exchange), str(w["signature"])) != to_checksum(o.signer) or \
                    to_checksum(o.signer) != to_checksum(addr):
                self.sig_failures += 1
                return {"success": False, "errorMsg": "invalid signature"}
        except (KeyError, TypeError, ValueError) as exc:
            return {"success": False, "errorMsg": f"invalid order payload: {exc}"}
        if m.resolved:
            return {"success": False, "errorMsg": "market is closed"}
        buy = o.side == 0
        shares = o.taker_amount if buy else o.maker_amount
        coll = o.maker_amount if buy else o.taker_amount
        if shares <= 0:
            return {"success": False, "errorMsg": "invalid amounts"}
        px = coll * ONE // shares
        if px % m.tick or not (m.tick <= px <= ONE - m.tick):
            return {"success": False, "errorMsg": f"invalid price ({format_px(px)}), min tick {format_px(m.tick)}"}
        qty = shares * 100
        if qty < 500_000_000:
            return {"success": False, "errorMsg": "Size lower than the minimum: 5"}
        tif = {"GTC": "GTC", "GTD": "GTC", "FOK": "FOK", "FAK": "IOC"}.get(str(body.get("orderType")), "")
        if not tif:
            return {"success": False, "errorMsg": "invalid order type"}
        if body.get("postOnly"):
            if tif != "GTC":
                return {"success": False, "errorMsg": "postOnly is not allowed for FOK/FAK orders"}
            tif = "GTX"
        # a NO order at q is the complementary YES order at 1 - q
        side = (SELL if buy else BUY) if no else (BUY if buy else SELL)
        so = SimOrder(m.engine.next_order_id(), side, ONE - px if no else px, qty, owner=key, tif=tif)
        oid = "0x" + hashlib.sha256(f"{o.salt}-{o.timestamp}-{so.order_id}".encode()).hexdigest()
        so.extra.update(order_id=oid, token=str(o.token_id), no=no, px=px, buy=buy)
        try:
            fills = m.engine.submit(so)
        except MatchReject:
            return {"success": False, "errorMsg": "invalid post-only order: order crosses book"}
        if so.status in ("NEW", "PARTIALLY_FILLED"):
            self._orders[oid] = (m, so)
        await self._user_order(m, so, "PLACEMENT")
        await self._after(m, fills)
        status = "matched" if so.filled and so.remaining == 0 else ("live" if so.status in ("NEW", "PARTIALLY_FILLED")
                                                                     else "unmatched")
        filled_sh = so.filled // 100
        return {"success": True, "errorMsg": "", "orderID": oid, "status": status,
                "makingAmount": str(filled_sh * px // ONE if buy else filled_sh),
                "takingAmount": str(filled_sh if buy else filled_sh * px // ONE),
                "transactionsHashes": [], "tradeIDs": []}

    async def _post_order(self, request: web.Request) -> web.Response:
        key, addr, body = await self._l2(request)
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            return web.json_response({"error": "Invalid order payload"}, status=400)
        out = await self._one_order(key, addr, obj)
        return web.json_response(out, status=200 if out["success"] else 400)

    async def _post_orders(self, request: web.Request) -> web.Response:
        key, addr, body = await self._l2(request)
        self.batch_calls += 1
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError:
            return web.json_response({"error": "Invalid order payload"}, status=400)
        if not isinstance(items, list) or not items:
            return web.json_response({"error": "Invalid order payload"}, status=400)
        if len(items) > MAX_BATCH:
            return web.json_response({"error": f"Too many orders in payload, max {MAX_BATCH}"}, status=400)
        return web.json_response([await self._one_order(key, addr, it) for it in items])

    async def _delete_order(self, request: web.Request) -> web.Response:
        key, _, body = await self._l2(request)
        try:
            oid = str(orjson.loads(body)["orderID"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return web.json_response({"error": "Invalid order payload"}, status=400)
        hit = self._orders.get(oid)
        if hit is None or hit[1].owner != key or hit[1].order_id not in hit[0].engine.orders:
            return web.json_response({"canceled": [], "not_canceled": {oid: "order not found or already canceled"}})
        m, so = hit
        m.engine.cancel(so.order_id)
        self._orders.pop(oid, None)
        await self._user_order(m, so, "CANCELLATION")
        await self._after(m, [])
        return web.json_response({"canceled": [oid], "not_canceled": {}})

    # ---- user channel ----------------------------------------------------------------------

    async def _ws_user(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        entry: tuple[web.WebSocketResponse, str] | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                        break
                    continue
                if msg.data == "PING":
                    await ws.send_str("PONG")
                    continue
                try:
                    auth = orjson.loads(msg.data)["auth"]
                    _, secret, passphrase = self.creds[auth["apiKey"]]
                    ok = auth["secret"] == secret and auth["passphrase"] == passphrase
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    ok = False
                if not ok:
                    await ws.close(code=4001, message=b"unauthorized")
                    break
                entry = (ws, auth["apiKey"])
                self._uclients.append(entry)
        finally:
            if entry in self._uclients:
                self._uclients.remove(entry)
        return ws

    def _wire_side(self, so: SimOrder) -> tuple[str, str, str]:
        """(token, BUY|SELL, price) of an engine order as its owner placed it."""
        return so.extra["token"], "BUY" if so.extra["buy"] else "SELL", format_px(so.extra["px"])

    async def _user_order(self, m: SimPolyMarket, so: SimOrder, typ: str) -> None:
        if so.owner is None:
            return
        token, side, px = self._wire_side(so)
        ev = {"event_type": "order", "type": typ, "id": so.extra["order_id"], "owner": so.owner,
              "market": m.condition_id, "asset_id": token, "side": side, "original_size": format_qty(so.qty),
              "size_matched": format_qty(so.filled), "price": px, "outcome": "No" if so.extra["no"] else "Yes",
              "order_type": "GTC", "status": "LIVE", "timestamp": str(int(time.time() * 1000))}
        for ws, key in list(self._uclients):
            if key == so.owner:
                await self._send(ws, ev)

    async def _user_trade(self, m: SimPolyMarket, f: SimFill) -> None:
        for o, role in ((f.taker, "TAKER"), (f.maker, "MAKER")):
            if o.owner is None:
                continue
            token, side, _ = self._wire_side(o)
            px = format_px(ONE - f.px if o.extra["no"] else f.px)
            maker_orders = [] if role == "TAKER" else [{"order_id": o.extra["order_id"], "owner": o.owner,
                                                        "matched_amount": format_qty(f.qty), "price": px,
                                                        "asset_id": token, "side": side, "fee_rate_bps": "0"}]
            ev = {"event_type": "trade", "type": "TRADE", "id": str(uuid.uuid4()),
                  "taker_order_id": o.extra["order_id"] if role == "TAKER" else "0x" + "0" * 64,
                  "market": m.condition_id, "asset_id": token, "side": side, "size": format_qty(f.qty), "price": px,
                  "fee_rate_bps": "0", "status": "MATCHED", "match_time": str(int(time.time())),
                  "outcome": "No" if o.extra["no"] else "Yes", "owner": o.owner, "trader_side": role,
                  "maker_orders": maker_orders, "timestamp": str(int(time.time() * 1000))}
            for ws, key in list(self._uclients):
                if key == o.owner:
                    await self._send(ws, ev)

    # ---- chain side: the relayer -----------------------------------------------------------

    async def _relayer_submit(self, request: web.Request) -> web.Response:
        try:
            req = orjson.loads(await request.read())
            data = bytes.fromhex(req["data"].removeprefix("0x"))
            signer = recover(relay_digest(req["to"], data, int(req["nonce"])), req["signature"])
        except (orjson.JSONDecodeError, KeyError, ValueError, TypeError):
            return web.json_response({"error": "invalid relay request"}, status=400)
        if signer != to_checksum(req["from"]):
            return web.json_response({"error": "invalid signature"}, status=401)
        cond = "0x" + data[4 + 64:4 + 96].hex()
        m = next((x for x in self.markets.values() if x.condition_id == cond), None)
        if m is None or not m.resolved:
            return web.json_response({"error": "condition not resolved"}, status=400)
        tx = {"transactionID": str(uuid.uuid4()), "transactionHash": "0x" + hashlib.sha256(data).hexdigest(),
              "state": "STATE_NEW", "to": req["to"], "condition_id": cond}
        self.redemptions.append(tx)
        return web.json_response(tx)
