"""Hyperliquid simulator on loopback: one websocket with l2Book/bbo/trades/user channels and WS post actions.

Actions are checked as the L1 does: the signer is recovered from the phantom-agent signature and
must be a registered wallet (or an agent of one), the nonce must be new and within the window;
a wrong signature therefore answers "User or API Wallet 0x... does not exist." Connections per IP
are capped at 10 (HTTP 429 on the 11th).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from seqkern._fixed import format_px, format_qty, parse_px, parse_qty
from seqkern.errors import FixedPointError
from seqkern.sim.faults import FaultPlan
from seqkern.sim.marketdata import RandomWalkFeed
from seqkern.sim.matching import BUY, SELL, MatchingEngine, MatchReject, SimFill, SimOrder
from seqkern.sim.server import TickingSimServer
from seqkern.venues.hyperliquid.signing import recover_signer
from seqkern.venues.hyperliquid.venue import MAX_WS_PER_IP

NONCE_WINDOW_MS = (2 * 86_400_000, 86_400_000)   # (T - 2 days, T + 1 day)


@dataclass
class SimCoin:
    name: str
    sz_decimals: int
    engine: MatchingEngine
    feed: RandomWalkFeed
    last_book: bytes = b""
    last_bbo: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass
class _Client:
    ws: web.WebSocketResponse
    subs: set[tuple[str, str]] = field(default_factory=set)   # (type, coin or user)


class HyperliquidSim(TickingSimServer):
    def __init__(self, *, coins: tuple[tuple[str, int, int], ...] = (("BTC", 5, 60_000), ("ETH", 4, 3_000)),
                 seed: int = 5, tick_interval_s: float = 0.02, host: str = "127.0.0.1", port: int = 0,
                 mainnet: bool = True) -> None:
        self.host, self.port, self.mainnet = host, port, mainnet
        self.faults = FaultPlan()
        self.tick_interval_s = tick_interval_s
        self.paused = False
        self.coins: dict[str, SimCoin] = {}
        self.users: set[str] = set()                 # registered master accounts
        self.agents: dict[str, str] = {}             # agent (API wallet) -> master
        self.vaults: dict[str, str] = {}             # vault / sub-account -> master allowed to trade it
        self.nonces: dict[str, list[int]] = {}       # signer -> up to 100 highest nonces
        self.actions: list[dict[str, Any]] = []      # every accepted action, for tests
        self.rejections: list[str] = []
        self.refused_connections = 0
        self._clients: list[_Client] = []
        self._oids = iter(range(10_000, 1 << 62))
        self._orders: dict[int, tuple[str, SimOrder]] = {}
        for i, (name, szd, mid) in enumerate(coins):
            tick = 10 ** (9 - (6 - szd)) if szd < 5 else 1_000_000_000      # BTC: whole dollars (5 sig figs)
            eng = MatchingEngine(name, tick, 10 ** (8 - szd))
            feed = RandomWalkFeed(eng, seed=seed + i, mid_px_1e9=mid * 1_000_000_000, levels=20,
                                  max_qty_lots=2000)
            feed.seed_book()
            eng.drain_changes()
            self.coins[name] = SimCoin(name, szd, eng, feed)
        self._init_server()
        app = web.Application()
        app.router.add_get("/ws", self._ws)
        app.router.add_post("/info", self._rest_info)
        self._app = app

    def add_user(self, address: str, *, agent: str | None = None, vault: str | None = None) -> None:
        a = address.lower()
        self.users.add(a)
        if agent:
            self.agents[agent.lower()] = a
        if vault:
            self.vaults[vault.lower()] = a

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    def true_book(self, coin: str, n: int = 20) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        e = self.coins[coin].engine
        return e.depth(BUY, n), e.depth(SELL, n)

    async def _close_clients(self) -> None:
        for c in list(self._clients):
            await c.ws.close()

    # ---- market ----------------------------------------------------------------------------

    async def tick(self) -> None:
        if self.faults.take("drop_sockets"):
            await self._close_clients()
        for c in self.coins.values():
            fills = c.feed.step(3)
            await self._after(c, fills)

    async def _after(self, c: SimCoin, fills: list[SimFill]) -> None:
        c.engine.drain_changes()
        bids, asks = self.true_book(c.name)
        now = int(time.time() * 1000)

        def lv(px: int, q: int) -> dict[str, Any]:
            return {"px": format_px(px), "sz": format_qty(q), "n": 1}

        book = {"coin": c.name, "time": now, "levels": [[lv(p, q) for p, q in bids], [lv(p, q) for p, q in asks]]}
        raw = orjson.dumps({"channel": "l2Book", "data": book})
        if raw != c.last_book:
            c.last_book = raw
            bad = self.faults.take("malformed_json")
            await self._broadcast(("l2Book", c.name), raw[: len(raw) // 2] if bad else raw)
        bbo = (bids[0] if bids else (0, 0)) + (asks[0] if asks else (0, 0))
        if bbo != c.last_bbo:
            c.last_bbo = bbo
            await self._broadcast(("bbo", c.name), orjson.dumps({"channel": "bbo", "data": {
                "coin": c.name, "time": now, "bbo": [lv(*bids[0]) if bids else None, lv(*asks[0]) if asks else None]}}))
        if fills:
            trades = [{"coin": c.name, "side": "B" if f.taker.side == BUY else "A", "px": format_px(f.px),
                       "sz": format_qty(f.qty), "hash": "0x" + "00" * 32, "time": now, "tid": f.trade_id,
                       "users": ["0x" + "22" * 20, "0x" + "33" * 20]} for f in fills]
            await self._broadcast(("trades", c.name), orjson.dumps({"channel": "trades", "data": trades}))
            for f in fills:
                for o in (f.maker, f.taker):
                    if o.owner is not None:
                        await self._user_fill(c, o, f, o is f.taker)

    async def _broadcast(self, key: tuple[str, str], raw: bytes) -> None:
        text = raw.decode(errors="replace")
        for cl in list(self._clients):
            if key in cl.subs:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await cl.ws.send_str(text)

    async def _user_fill(self, c: SimCoin, o: SimOrder, f: SimFill, taker: bool) -> None:
        fill = {"coin": c.name, "px": format_px(f.px), "sz": format_qty(f.qty), "side": "B" if o.side == BUY else "A",
                "time": int(time.time() * 1000), "startPosition": "0", "dir": "Open Long" if o.side == BUY
                else "Open Short", "closedPnl": "0", "hash": "0x" + "cd" * 32, "oid": o.order_id, "crossed": taker,
                "fee": "0", "tid": f.trade_id, "feeToken": "USDC"}
        await self._broadcast(("userFills", o.owner or ""), orjson.dumps(
            {"channel": "userFills", "data": {"user": o.owner, "fills": [fill]}}))
        await self._order_update(c, o, "filled" if o.remaining == 0 else "open")

    async def _order_update(self, c: SimCoin, o: SimOrder, status: str) -> None:
        u = {"order": {"coin": c.name, "side": "B" if o.side == BUY else "A", "limitPx": format_px(o.px),
                       "sz": format_qty(o.remaining), "oid": o.order_id, "timestamp": int(time.time() * 1000),
                       "origSz": format_qty(o.qty), **({"cloid": o.client_order_id} if o.client_order_id else {})},
             "status": status, "statusTimestamp": int(time.time() * 1000)}
        await self._broadcast(("orderUpdates", o.owner or ""), orjson.dumps({"channel": "orderUpdates", "data": [u]}))

    # ---- websocket -------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if len(self._clients) >= MAX_WS_PER_IP:
            self.refused_connections += 1
            return web.Response(status=429, text="Too many connections")
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        cl = _Client(ws)
        self._clients.append(cl)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(cl, msg.data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            if cl in self._clients:
                self._clients.remove(cl)
        return ws

    async def _send(self, cl: _Client, obj: Any) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await cl.ws.send_str(orjson.dumps(obj).decode())

    async def _on_text(self, cl: _Client, text: str) -> None:
        try:
            m = orjson.loads(text)
            method = m["method"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await self._send(cl, {"channel": "error", "data": f"Invalid message: {text[:100]}"})
            return
        if method == "ping":
            await self._send(cl, {"channel": "pong"})
        elif method in ("subscribe", "unsubscribe"):
            sub = m.get("subscription") or {}
            key = (str(sub.get("type")), str(sub.get("coin") or sub.get("user", "")).lower()
                   if sub.get("user") else str(sub.get("coin", "")))
            if method == "subscribe":
                cl.subs.add(key)
            else:
                cl.subs.discard(key)
            await self._send(cl, {"channel": "subscriptionResponse", "data": m})
            if method == "subscribe" and key[0] == "l2Book" and key[1] in self.coins:
                c = self.coins[key[1]]
                c.last_book = b""
                await self._after(c, [])
        elif method == "post":
            rid = m.get("id")
            req = m.get("request") or {}
            try:
                if req.get("type") == "info":
                    payload = self._info(req.get("payload") or {})
                    resp = {"type": "info", "payload": payload}
                else:
                    resp = {"type": "action", "payload": await self._action(req.get("payload") or {})}
            except _L1Error as e:
                self.rejections.append(str(e))
                resp = {"type": "error", "payload": str(e)}
            await self._send(cl, {"channel": "post", "data": {"id": rid, "response": resp}})

    async def _rest_info(self, request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read())
            return web.json_response(self._info(body))
        except (orjson.JSONDecodeError, _L1Error, KeyError, AttributeError) as exc:
            return web.json_response({"error": str(exc)}, status=422)

    def _info(self, p: dict[str, Any]) -> Any:
        if p.get("type") == "meta":
            return {"universe": [{"name": c.name, "szDecimals": c.sz_decimals, "maxLeverage": 40}
                                 for c in self.coins.values()], "marginTables": []}
        if p.get("type") == "l2Book":
            c = self.coins[p["coin"]]
            return orjson.loads(c.last_book)["data"] if c.last_book else None
        raise _L1Error(f"Unknown info type {p.get('type')}")

    # ---- actions ---------------------------------------------------------------------------

    def _authorize(self, p: dict[str, Any]) -> str:
        try:
            action, nonce, sig = p["action"], int(p["nonce"]), p["signature"]
            vault = p.get("vaultAddress")
            signer = recover_signer(action, nonce, vault, sig, mainnet=self.mainnet,
                                    expires_after=p.get("expiresAfter"))
        except (KeyError, TypeError, ValueError) as exc:
            raise _L1Error(f"Failed to deserialize the JSON body into the target type: {exc}") from None
        master = signer if signer in self.users else self.agents.get(signer)
        if master is None:
            raise _L1Error(f"L1 error: User or API Wallet {signer} does not exist.")
        now = int(time.time() * 1000)
        if not now - NONCE_WINDOW_MS[0] < nonce < now + NONCE_WINDOW_MS[1]:
            raise _L1Error("L1 error: Nonce outside the allowed window")
        seen = self.nonces.setdefault(signer, [])
        if nonce in seen or (len(seen) >= 100 and nonce <= min(seen)):
            raise _L1Error("L1 error: Nonce already used or too low")
        seen.append(nonce)
        seen.sort()
        del seen[:-100]
        if vault:
            if self.vaults.get(vault.lower()) != master:
                raise _L1Error(f"L1 error: {master} is not authorized to trade for vault {vault}")
            return vault.lower()
        return master

    async def _action(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._authorize(p)
        a = p["action"]
        self.actions.append(a)
        t = a.get("type")
        if t == "order":
            sts = [await self._place(user, w) for w in a.get("orders", [])]
            return {"status": "ok", "response": {"type": "order", "data": {"statuses": sts}}}
        if t in ("cancel", "cancelByCloid"):
            sts = [self._cancel(user, x, by_cloid=t == "cancelByCloid") for x in a.get("cancels", [])]
            for c in self.coins.values():
                await self._after(c, [])
            return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": sts}}}
        if t in ("modify", "batchModify"):
            mods = [a] if t == "modify" else a.get("modifies", [])
            sts = []
            for md in mods:
                sts.append(await self._modify(user, md))
            return {"status": "ok", "response": {"type": "order", "data": {"statuses": sts}}}
        return {"status": "err", "response": f"Unsupported action type {t}"}

    def _coin(self, asset: Any) -> SimCoin:
        names = list(self.coins)
        if not isinstance(asset, int) or not 0 <= asset < len(names):
            raise _L1Error(f"Invalid asset {asset}")
        return self.coins[names[asset]]

    async def _place(self, user: str, w: dict[str, Any], keep_oid: int | None = None) -> Any:
        try:
            c = self._coin(w["a"])
            px, sz = parse_px(w["p"]), parse_qty(w["s"])
            tif = w["t"]["limit"]["tif"]
        except (_L1Error, KeyError, TypeError, FixedPointError) as exc:
            return {"error": f"Invalid order: {exc}"}
        if w["p"] != format_px(px) or w["s"] != format_qty(sz):
            return {"error": "Order has invalid price or size wire format (trailing zeros)."}
        if px % c.engine.tick:
            return {"error": "Price must be divisible by tick size."}
        if sz <= 0 or sz % c.engine.lot:
            return {"error": "Order has invalid size."}
        if px * sz // 10 ** 17 < 10:
            return {"error": "Order must have minimum value of $10."}
        o = SimOrder(keep_oid or next(self._oids), BUY if w["b"] else SELL, px, sz, owner=user,
                     client_order_id=w.get("c", ""), tif={"Gtc": "GTC", "Alo": "GTX", "Ioc": "IOC"}.get(tif, "GTC"))
        try:
            fills = c.engine.submit(o)
        except MatchReject:
            return {"error": "Post only order would have immediately matched, bbo was 0. asset=" + str(w["a"])}
        if o.status in ("NEW", "PARTIALLY_FILLED"):
            self._orders[o.order_id] = (c.name, o)
        await self._after(c, fills)
        if o.status in ("NEW", "PARTIALLY_FILLED"):
            await self._order_update(c, o, "open")
            return {"resting": {"oid": o.order_id, **({"cloid": o.client_order_id} if o.client_order_id else {})}}
        if o.filled:
            avg = o.quote_filled * 10 ** 9 // o.filled if o.filled else 0
            return {"filled": {"totalSz": format_qty(o.filled), "avgPx": format_px(avg - avg % 1), "oid": o.order_id}}
        return {"error": "Order could not immediately match against any resting orders. asset=" + str(w["a"])}

    def _find(self, user: str, asset: Any, oid: Any = None, cloid: str | None = None) -> tuple[SimCoin, SimOrder]:
        c = self._coin(asset)
        for name, o in self._orders.values():
            if name == c.name and o.owner == user and o.order_id in c.engine.orders and (
                    (oid is not None and o.order_id == oid) or (cloid is not None and o.client_order_id == cloid)):
                return c, o
        raise _L1Error("Order was never placed, already canceled, or filled.")

    def _cancel(self, user: str, x: dict[str, Any], *, by_cloid: bool) -> Any:
        try:
            if by_cloid:
                c, o = self._find(user, x.get("asset"), cloid=str(x.get("cloid", "")).lower())
            else:
                c, o = self._find(user, x.get("a"), oid=x.get("o"))
        except _L1Error as e:
            return {"error": str(e)}
        c.engine.cancel(o.order_id)
        self._orders.pop(o.order_id, None)
        return "success"

    async def _modify(self, user: str, md: dict[str, Any]) -> Any:
        ident, w = md.get("oid"), md.get("order") or {}
        try:
            if isinstance(ident, str):
                c, o = self._find(user, w.get("a"), cloid=ident.lower())
            else:
                c, o = self._find(user, w.get("a"), oid=ident)
        except _L1Error as e:
            return {"error": f"Cannot modify: {e}"}
        c.engine.cancel(o.order_id)
        self._orders.pop(o.order_id, None)
        await self._order_update(c, o, "canceled")
        return await self._place(user, w, keep_oid=o.order_id)


class _L1Error(Exception):
    pass
