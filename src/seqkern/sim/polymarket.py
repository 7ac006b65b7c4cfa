"""Polymarket simulator on loopback: CLOB V2 REST (L1/L2 auth, EIP-712 V2 orders), market/user channels, relayer, Polygon RPC.

One matching engine per market on the YES token; an order on the NO token at q is matched as the
opposite YES order at 1 - q (complementary matching), and both tokens' books are published (the NO
book mirrors the YES one). ``price_change`` carries absolute sizes. Orders are verified as the
venue does: L2 HMAC over the exact body bytes, the EIP-712 signature recovered against the market's
V2 exchange (normal or neg-risk) per signature type (EOA; proxy / Safe maker derived from the
signer; POLY_1271 envelope recovered to the deposit wallet's owner); a V1-signed order is refused.
GTD orders expire one minute before their expiration on the simulator's clock. The relayer checks
SAFE / PROXY requests as the contracts would (hash, signer, nonce, target, calldata); ``/rpc``
plays the chain for EOA redemptions (raw EIP-1559 transactions).
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
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from seqkern._evmhash import keccak256
from seqkern._fixed import format_px, format_qty
from seqkern.sim.faults import FaultPlan
from seqkern.sim.marketdata import RandomWalkFeed
from seqkern.sim.matching import BUY, SELL, MatchingEngine, MatchReject, SimFill, SimOrder
from seqkern.sim.server import TickingSimServer
from seqkern.venues.polymarket.execution import (
    CALL_TYPE_CALL,
    CTF_COLLATERAL_ADAPTER,
    GTD_MIN_LEAD_S,
    GTD_SECURITY_THRESHOLD_S,
    NEG_RISK_CTF_COLLATERAL_ADAPTER,
    PUSD,
    decode_proxy_calldata,
    decode_redeem_calldata,
)
from seqkern.venues.polymarket.signing import (
    CHAIN_ID,
    EXCHANGE_V2,
    NEG_RISK_EXCHANGE_V2,
    PROXY_FACTORY,
    RELAY_HUB,
    SIG_EOA,
    SIG_POLY_1271,
    SIG_POLY_GNOSIS_SAFE,
    SIG_POLY_PROXY,
    ZERO32,
    Eip1559Tx,
    OrderV2,
    clob_auth_digest,
    derive_proxy,
    derive_safe,
    exchange_domain_separator,
    l2_signature,
    order_digest,
    personal_digest,
    proxy_relay_hash,
    recover,
    recover_poly1271,
    recover_safe_signature,
    safe_tx_digest,
    to_checksum,
)

ONE = 1_000_000_000
MAX_BATCH = 15
SIM_RELAY = to_checksum("0x" + hashlib.sha256(b"seqkern-sim-relay").hexdigest()[:40])   # the relay's EOA
BASE_FEE_WEI = 30 * 10**9
TIP_WEI = 30 * 10**9
REDEEM_GAS = 150_000
_DOMS = {False: exchange_domain_separator(EXCHANGE_V2), True: exchange_domain_separator(NEG_RISK_EXCHANGE_V2)}


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


class PolymarketSim(TickingSimServer):
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
        self.clock_offset_s = 0.0                               # advance_clock() moves the venue's time
        self.wallet_owners: dict[str, str] = {}                 # POLY_1271 deposit wallet -> owner EOA
        self.undeployed_safes: set[str] = set()
        self.relayer_auth_required = False
        self.relayer_builder_keys: dict[str, tuple[str, str]] = {}   # builder api key -> (secret, passphrase)
        self.relayer_api_keys: dict[str, str] = {}              # relayer api key -> owner address
        self.relayer_failures: list[str] = []
        self.safe_nonces: dict[str, int] = {}                   # Safe -> next SafeTx nonce
        self.proxy_nonces: dict[str, int] = {}                  # EOA -> next RelayHub nonce
        self.relay_txs: dict[str, dict[str, Any]] = {}
        self.chain_nonces: dict[str, int] = {}                  # EOA -> next transaction nonce
        self.receipts: dict[str, dict[str, Any]] = {}
        self.announced_at: dict[str, int] = {}
        self._mclients: list[_MClient] = []
        self._uclients: list[tuple[web.WebSocketResponse, str]] = []
        self._orders: dict[str, tuple[SimPolyMarket, SimOrder]] = {}
        self._tokens = itertools.count(10**75 + 12345, 7919)
        self._init_server()
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
        r.add_get("/nonce", self._relayer_nonce)
        r.add_get("/relay-payload", self._relayer_payload)
        r.add_get("/deployed", self._relayer_deployed)
        r.add_get("/transaction", self._relayer_transaction)
        r.add_post("/rpc", self._rpc)
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

    def now_s(self) -> float:
        """The venue's clock (wall time plus ``clock_offset_s``)."""
        return time.time() + self.clock_offset_s

    async def advance_clock(self, seconds: float) -> None:
        """Move the venue's clock forward and expire what is due (GTD orders)."""
        self.clock_offset_s += seconds
        await self.expire_due()

    def register_deposit_wallet(self, wallet: str, owner: str) -> None:
        """Deploy a POLY_1271 deposit wallet owned by ``owner`` (its ERC-1271 check recovers the owner)."""
        self.wallet_owners[to_checksum(wallet)] = to_checksum(owner)

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}/rpc"

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

    async def _close_clients(self) -> None:
        for c in list(self._mclients):
            await c.ws.close()
        for ws, _ in list(self._uclients):
            await ws.close()

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

    async def _tick_loop(self) -> None:
        """Expire due GTD orders every interval (paused or not), then step the market."""
        while True:
            await asyncio.sleep(self.tick_interval_s)
            await self.expire_due()
            if not self.paused:
                await self.tick()

    async def expire_due(self) -> None:
        """Cancel resting GTD orders whose expiration is within the security threshold; push CANCELLATION."""
        now = self.now_s()
        due = [(oid, m, so) for oid, (m, so) in self._orders.items()
               if so.extra.get("expiration") and now >= so.extra["expiration"] - GTD_SECURITY_THRESHOLD_S]
        for oid, m, so in due:
            self._orders.pop(oid, None)
            if so.order_id in m.engine.orders:
                m.engine.cancel(so.order_id)
                await self._user_order(m, so, "CANCELLATION")
                await self._after(m, [])

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

    @staticmethod
    async def _frames(ws: web.WebSocketResponse) -> AsyncIterator[str]:
        """The text frames of a channel connection until it errors or closes; "PING" is answered "PONG"."""
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
                continue
            if msg.data == "PING":
                await ws.send_str("PONG")
                continue
            yield msg.data

    async def _ws_market(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        c = _MClient(ws)
        self._mclients.append(c)
        try:
            async for text in self._frames(ws):
                try:
                    cmd = orjson.loads(text)
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
            if not self._signature_ok(o, str(w["signature"]), m.neg_risk, addr):
                self.sig_failures += 1
                return {"success": False, "errorMsg": "invalid signature"}
            expiration = int(w.get("expiration") or 0)
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
        order_type = str(body.get("orderType"))
        tif = {"GTC": "GTC", "GTD": "GTC", "FOK": "FOK", "FAK": "IOC"}.get(order_type, "")
        if not tif:
            return {"success": False, "errorMsg": "invalid order type"}
        if order_type == "GTD" and expiration < self.now_s() + GTD_MIN_LEAD_S:
            return {"success": False, "errorMsg": f"invalid expiration value ({expiration}): a GTD order must "
                                                  f"expire at least {GTD_MIN_LEAD_S} seconds in the future"}
        if body.get("postOnly"):
            if tif != "GTC":
                return {"success": False, "errorMsg": "postOnly is not allowed for FOK/FAK orders"}
            tif = "GTX"
        # a NO order at q is the complementary YES order at 1 - q
        side = (SELL if buy else BUY) if no else (BUY if buy else SELL)
        so = SimOrder(m.engine.next_order_id(), side, ONE - px if no else px, qty, owner=key, tif=tif)
        oid = "0x" + hashlib.sha256(f"{o.salt}-{o.timestamp}-{so.order_id}".encode()).hexdigest()
        so.extra.update(order_id=oid, token=str(o.token_id), no=no, px=px, buy=buy, maker=o.maker,
                        order_type=order_type, expiration=expiration if order_type == "GTD" else 0,
                        created_ms=int(self.now_s() * 1000))
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

    def _signature_ok(self, o: OrderV2, sig: str, neg_risk: bool, l2_addr: str) -> bool:
        """The exchange's signature check per signature type, plus: the signing EOA holds the API key."""
        maker, signer = to_checksum(o.maker), to_checksum(o.signer)
        if o.signature_type == SIG_POLY_1271:
            owner = self.wallet_owners.get(signer)
            return (owner is not None and maker == signer and owner == to_checksum(l2_addr)
                    and recover_poly1271(o, sig, _DOMS[neg_risk]) == owner)
        if recover(order_digest(o, NEG_RISK_EXCHANGE_V2 if neg_risk else EXCHANGE_V2), sig) != signer or \
                signer != to_checksum(l2_addr):
            return False
        want = {SIG_EOA: signer, SIG_POLY_PROXY: derive_proxy(signer),
                SIG_POLY_GNOSIS_SAFE: derive_safe(signer)}.get(o.signature_type)
        return want == maker

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
            async for text in self._frames(ws):
                try:
                    auth = orjson.loads(text)["auth"]
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
        exp = so.extra.get("expiration", 0)
        ev = {"event_type": "order", "type": typ, "id": so.extra["order_id"], "owner": so.owner,
              "order_owner": so.owner, "market": m.condition_id, "asset_id": token, "side": side,
              "original_size": format_qty(so.qty), "size_matched": format_qty(so.filled), "price": px,
              "outcome": "No" if so.extra["no"] else "Yes", "order_type": so.extra.get("order_type", "GTC"),
              "status": "CANCELED" if typ == "CANCELLATION" else "LIVE", "maker_address": so.extra.get("maker", ""),
              "associate_trades": None, "expiration": str(exp) if exp else "0",
              "created_at": str(so.extra.get("created_ms", 0)), "timestamp": str(int(self.now_s() * 1000))}
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

    # ---- chain side: the relayer ------------------------------------------------------------

    def _relayer_error(self, msg: str, status: int = 400) -> web.Response:
        self.relayer_failures.append(msg)
        return web.json_response({"error": msg}, status=status)

    def _relayer_authorized(self, request: web.Request, body: bytes) -> bool:
        h = request.headers
        if "RELAYER_API_KEY" in h:
            owner = self.relayer_api_keys.get(h["RELAYER_API_KEY"])
            return owner is not None and to_checksum(h.get("RELAYER_API_KEY_ADDRESS", "0x" + "0" * 40)) == owner
        if "POLY_BUILDER_API_KEY" in h:
            try:
                secret, passphrase = self.relayer_builder_keys[h["POLY_BUILDER_API_KEY"]]
                ts = h["POLY_BUILDER_TIMESTAMP"]
                want = l2_signature(secret, ts, request.method, request.path, body.decode())
                return (hmac.compare_digest(want, h["POLY_BUILDER_SIGNATURE"])
                        and h.get("POLY_BUILDER_PASSPHRASE") == passphrase and abs(int(ts) - time.time()) <= 300)
            except (KeyError, ValueError):
                return False
        return not self.relayer_auth_required

    async def _relayer_nonce(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            addr = to_checksum(q["address"])
        except (KeyError, ValueError):
            return self._relayer_error("invalid address")
        if q.get("type") != "SAFE":
            return self._relayer_error(f"unsupported type {q.get('type')!r}")
        return web.json_response({"nonce": str(self.safe_nonces.get(derive_safe(addr), 0))})

    async def _relayer_payload(self, request: web.Request) -> web.Response:
        try:
            addr = to_checksum(request.query["address"])
        except (KeyError, ValueError):
            return self._relayer_error("invalid address")
        return web.json_response({"address": SIM_RELAY.lower(), "nonce": str(self.proxy_nonces.get(addr, 0))})

    async def _relayer_deployed(self, request: web.Request) -> web.Response:
        try:
            addr = to_checksum(request.query["address"])
        except (KeyError, ValueError):
            return self._relayer_error("invalid address")
        return web.json_response({"deployed": addr not in self.undeployed_safes})

    async def _relayer_transaction(self, request: web.Request) -> web.Response:
        tx = self.relay_txs.get(request.query.get("id", ""))
        return web.json_response([tx] if tx else [])

    def _redemption_call(self, to: str, data: bytes) -> tuple[SimPolyMarket | None, str]:
        """(market, "") when ``to``/``data`` is a valid redemption of a resolved market, else (None, why)."""
        try:
            collateral, parent, cond, index_sets = decode_redeem_calldata(data)
        except ValueError as exc:
            return None, str(exc)
        m = next((x for x in self.markets.values() if x.condition_id == cond), None)
        if m is None:
            return None, f"unknown condition {cond}"
        want = NEG_RISK_CTF_COLLATERAL_ADAPTER if m.neg_risk else CTF_COLLATERAL_ADAPTER
        if to_checksum(to) != to_checksum(want):
            return None, f"target {to} is not the market's collateral adapter {want}"
        if to_checksum(collateral) != to_checksum(PUSD) or parent != ZERO32 or sorted(index_sets) != [1, 2]:
            return None, "redeemPositions arguments must be (pUSD, 0x0, conditionId, [1, 2])"
        if not m.resolved:
            return None, "condition not resolved"
        return m, ""

    async def _relayer_submit(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if not self._relayer_authorized(request, raw):
            return self._relayer_error("invalid authorization", 401)
        try:
            req = orjson.loads(raw)
            typ = req["type"]
            frm, to, wallet = to_checksum(req["from"]), to_checksum(req["to"]), to_checksum(req["proxyWallet"])
            data = bytes.fromhex(req["data"].removeprefix("0x"))
            nonce, sp, sig = int(req["nonce"]), req["signatureParams"], str(req["signature"])
        except (orjson.JSONDecodeError, KeyError, ValueError, TypeError, AttributeError):
            return self._relayer_error("invalid request body")
        try:
            if typ == "SAFE":
                if wallet != derive_safe(frm):
                    return self._relayer_error("proxyWallet is not the Safe of from")
                if wallet in self.undeployed_safes:
                    return self._relayer_error("safe not deployed")
                if nonce != self.safe_nonces.get(wallet, 0):
                    return self._relayer_error(f"invalid nonce {nonce}")
                op = int(sp["operation"])
                h = safe_tx_digest(wallet, to, data, nonce, operation=op, safe_tx_gas=int(sp["safeTxnGas"]),
                                   base_gas=int(sp["baseGas"]), gas_price=int(sp["gasPrice"]),
                                   gas_token=sp["gasToken"], refund_receiver=sp["refundReceiver"])
                if recover_safe_signature(h, sig) != frm:
                    return self._relayer_error("invalid signature")
                if op != 0:
                    return self._relayer_error("only CALL operations to the collateral adapters are relayed here")
                calls = [(to, data)]
            elif typ == "PROXY":
                if to != to_checksum(PROXY_FACTORY) or wallet != derive_proxy(frm):
                    return self._relayer_error("PROXY requests go to the proxy factory for the signer's proxy")
                if to_checksum(sp["relayHub"]) != to_checksum(RELAY_HUB) or to_checksum(sp["relay"]) != SIM_RELAY:
                    return self._relayer_error("unknown relay or relay hub")
                if nonce != self.proxy_nonces.get(frm, 0):
                    return self._relayer_error(f"invalid nonce {nonce}")
                h = proxy_relay_hash(frm, to, data, int(sp["relayerFee"]), int(sp["gasPrice"]), int(sp["gasLimit"]),
                                     nonce, sp["relayHub"], sp["relay"])
                if recover(personal_digest(h), sig) != frm:
                    return self._relayer_error("invalid signature")
                decoded = decode_proxy_calldata(data)
                if not decoded or any(c[0] != CALL_TYPE_CALL or c[2] != 0 for c in decoded):
                    return self._relayer_error("proxy calls must be value-less CALLs")
                calls = [(c[1], c[3]) for c in decoded]
            else:
                return self._relayer_error(f"unsupported transaction type {typ!r}")
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            return self._relayer_error(f"invalid request: {exc}")
        hits = [self._redemption_call(t, d) for t, d in calls]
        bad = next((why for m, why in hits if m is None), "")
        if bad:
            return self._relayer_error(bad)
        if typ == "SAFE":
            self.safe_nonces[wallet] = nonce + 1
        else:
            self.proxy_nonces[frm] = nonce + 1
        tid = str(uuid.uuid4())
        tx_hash = "0x" + hashlib.sha256(raw).hexdigest()
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.relay_txs[tid] = {"transactionID": tid, "transactionHash": tx_hash, "from": frm.lower(),
                               "to": to.lower(), "proxyAddress": wallet.lower(), "data": req["data"],
                               "nonce": str(nonce), "value": "", "signature": sig, "state": "STATE_CONFIRMED",
                               "type": typ, "owner": frm.lower(), "metadata": str(req.get("metadata", "")),
                               "createdAt": now, "updatedAt": now}
        for m, _ in hits:
            assert m is not None
            self.redemptions.append({"mode": "relayer_submitted", "type": typ, "wallet": wallet,
                                     "condition_id": m.condition_id, "transactionID": tid})
        return web.json_response({"transactionID": tid, "state": "STATE_NEW"})

    # ---- chain side: Polygon JSON-RPC for EOA transactions -------------------------------------

    async def _rpc(self, request: web.Request) -> web.Response:
        try:
            req = orjson.loads(await request.read())
            rid, method, params = req.get("id"), req["method"], req.get("params") or []
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            return web.json_response({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
        try:
            result = self._rpc_call(method, params)
        except _RpcError as exc:
            return web.json_response({"jsonrpc": "2.0", "id": rid, "error": {"code": exc.code, "message": str(exc)}})
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            return web.json_response({"jsonrpc": "2.0", "id": rid, "error": {"code": -32602,
                                                                             "message": f"invalid params: {exc}"}})
        return web.json_response({"jsonrpc": "2.0", "id": rid, "result": result})

    def _rpc_call(self, method: str, params: list[Any]) -> Any:
        if method == "eth_chainId":
            return hex(CHAIN_ID)
        if method == "eth_getTransactionCount":
            return hex(self.chain_nonces.get(to_checksum(params[0]), 0))
        if method == "eth_maxPriorityFeePerGas":
            return hex(TIP_WEI)
        if method == "eth_getBlockByNumber":
            return {"number": hex(len(self.receipts) + 1), "baseFeePerGas": hex(BASE_FEE_WEI)}
        if method == "eth_estimateGas":
            m, why = self._redemption_call(params[0]["to"], bytes.fromhex(params[0]["data"].removeprefix("0x")))
            if m is None:
                raise _RpcError(3, f"execution reverted: {why}")
            return hex(REDEEM_GAS)
        if method == "eth_getTransactionReceipt":
            return self.receipts.get(str(params[0]))
        if method == "eth_sendRawTransaction":
            return self._send_raw(bytes.fromhex(str(params[0]).removeprefix("0x")))
        raise _RpcError(-32601, f"the method {method} does not exist/is not available")

    def _send_raw(self, raw: bytes) -> str:
        try:
            tx, sender = Eip1559Tx.decode(raw)
        except ValueError as exc:
            raise _RpcError(-32000, f"invalid transaction: {exc}") from None
        if tx.chain_id != CHAIN_ID:
            raise _RpcError(-32000, "invalid chain id for signer")
        want = self.chain_nonces.get(sender, 0)
        if tx.nonce != want:
            raise _RpcError(-32000, f"nonce too {'low' if tx.nonce < want else 'high'}: next nonce {want}, "
                                    f"tx nonce {tx.nonce}")
        if tx.max_fee_per_gas < BASE_FEE_WEI or tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
            raise _RpcError(-32000, "transaction underpriced: max fee per gas less than block base fee")
        if tx.gas < 21_000:
            raise _RpcError(-32000, "intrinsic gas too low")
        h = "0x" + keccak256(raw).hex()
        self.chain_nonces[sender] = want + 1
        m, _ = self._redemption_call(tx.to, tx.data)
        ok = m is not None and tx.gas >= REDEEM_GAS
        self.receipts[h] = {"transactionHash": h, "from": sender.lower(), "to": tx.to.lower(),
                            "status": "0x1" if ok else "0x0", "gasUsed": hex(min(tx.gas, REDEEM_GAS)),
                            "blockNumber": hex(len(self.receipts) + 1), "type": "0x2"}
        if ok:
            assert m is not None
            self.redemptions.append({"mode": "on_chain", "type": "EOA", "wallet": sender,
                                     "condition_id": m.condition_id, "transactionHash": h})
        return h


class _RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
