"""Kalshi simulator on loopback: signed WS + REST, YES/NO bid books with per-sid seq, V2 orders, lifecycle.

Market data: ``orderbook_snapshot`` / signed ``orderbook_delta`` (current ``*_dollars_fp`` strings, or
the 2026-03 era with integer cents beside them when ``legacy_cents``), ``trade``, ``fill`` and
``market_lifecycle_v2``; ``update_subscription`` ``get_snapshot`` / ``add_markets``. Orders: the V2
``/portfolio/events/orders`` family; the legacy ``/portfolio/orders`` creates answer HTTP 410 as the
venue does. Every request and the websocket handshake are signature-checked (RSA-PSS or Ed25519).
"""

from __future__ import annotations

import contextlib
import itertools
import time
import uuid
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
from seqkern.venues.kalshi.auth import HDR_KEY, HDR_SIG, HDR_TS, presign_text, verify

ONE = 1_000_000_000
WS_PATH = "/trade-api/ws/v2"
API = "/trade-api/v2"
TICK = 10_000_000        # $0.01
LOT = 1_000_000          # 0.01 contracts


class KalshiApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class SimMarket:
    ticker: str
    engine: MatchingEngine
    feed: RandomWalkFeed
    published: dict[tuple[str, int], int] = field(default_factory=dict)   # (yes|no, px) -> qty sent
    status: str = "active"


@dataclass
class _Sub:
    sid: int
    channel: str
    tickers: set[str]
    seq: int = 0
    all_markets: bool = False


@dataclass
class _Client:
    ws: web.WebSocketResponse
    key_id: str
    subs: dict[int, _Sub] = field(default_factory=dict)
    use_yes_price: bool = False


def _dollars(px: int) -> str:
    whole, _, frac = format_px(px).partition(".")
    return f"{whole}.{frac.ljust(4, '0')}"


def _fp(q: int) -> str:
    return format_qty(q, 2)


class KalshiSim(TickingSimServer):
    """A Kalshi venue on 127.0.0.1. ``true_levels(t)`` gives the YES/NO bid ladders the edge must match."""

    def __init__(self, *, tickers: tuple[str, ...] = ("KXBTCZ-26DEC31-T99000",), seed: int = 11,
                 tick_interval_s: float = 0.01, actions_per_tick: int = 3, legacy_cents: bool = False,
                 batch_capacity_tokens: int = 200, max_clock_skew_ms: int = 5000,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.seed = seed
        self.faults = FaultPlan()
        self.tick_interval_s = tick_interval_s
        self.actions_per_tick = actions_per_tick
        self.legacy_cents = legacy_cents
        self.batch_capacity_tokens = batch_capacity_tokens
        self.max_clock_skew_ms = max_clock_skew_ms
        self.paused = False
        self.accounts: dict[str, str] = {}            # key id -> public key PEM
        self.markets: dict[str, SimMarket] = {}
        self.announced_at: dict[str, int] = {}        # ticker -> time.monotonic_ns() of the announcement
        self.rest_calls: dict[str, int] = {}
        self.auth_failures = 0
        self.legacy_hits = 0
        self._clients: list[_Client] = []
        self._sids = itertools.count(1)
        self._orders: dict[str, tuple[str, SimOrder]] = {}   # order id -> (ticker, order)
        self._init_server()
        for t in tickers:
            self._new_market(t)
        self._app = self._build_app()

    # ---- public API for tests --------------------------------------------------------------

    def add_account(self, key_id: str, public_key_pem: str) -> None:
        self.accounts[key_id] = public_key_pem

    @property
    def base_http(self) -> str:
        return f"http://{self.host}:{self.port}{API}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}{WS_PATH}"

    def true_levels(self, ticker: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(YES bids, NO bids) as (px_1e9, qty_1e8), best first."""
        e = self.markets[ticker].engine
        return e.depth(BUY, 1000), [(ONE - p, q) for p, q in e.depth(SELL, 1000)]

    async def _close_clients(self) -> None:
        for c in list(self._clients):
            await c.ws.close()

    async def announce_market(self, ticker: str, *, step: str = "0.0100") -> None:
        """List a new market and announce it on ``market_lifecycle_v2`` (event ``created``)."""
        self._new_market(ticker)
        self.announced_at[ticker] = time.monotonic_ns()
        now = int(time.time())
        msg = {"market_ticker": ticker, "event_type": "created", "open_ts": now, "close_ts": now + 86400,
               "additional_metadata": {"name": ticker, "title": f"Will {ticker} resolve Yes?",
                                       "event_ticker": ticker.rsplit("-", 1)[0], "can_close_early": False},
               "price_level_structure": "linear_cent",
               "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": step}]}
        for c in list(self._clients):
            for sub in c.subs.values():
                if sub.channel == "market_lifecycle_v2":
                    await self._send_sub(c, sub, "market_lifecycle_v2", msg, ts=True)

    async def settle_market(self, ticker: str, result: str = "yes") -> None:
        m = self.markets[ticker]
        m.status = "settled"
        for o in list(m.engine.orders.values()):
            m.engine.cancel(o.order_id)
        for ev, extra in (("determined", {"result": result, "settlement_value": "1.0000" if result == "yes"
                                          else "0.0000"}), ("settled", {"settled_ts": int(time.time())})):
            for c in list(self._clients):
                for sub in c.subs.values():
                    if sub.channel == "market_lifecycle_v2":
                        await self._send_sub(c, sub, "market_lifecycle_v2",
                                             {"market_ticker": ticker, "event_type": ev, **extra}, ts=True)

    # ---- market ----------------------------------------------------------------------------

    def _new_market(self, ticker: str) -> SimMarket:
        if ticker in self.markets:
            return self.markets[ticker]
        eng = MatchingEngine(ticker, TICK, LOT)
        feed = RandomWalkFeed(eng, seed=self.seed + len(self.markets), mid_px_1e9=500_000_000, levels=15,
                              max_qty_lots=5000)
        feed.seed_book()
        eng.drain_changes()
        m = SimMarket(ticker, eng, feed)
        m.published = self._levels_now(m)
        self.markets[ticker] = m
        return m

    @staticmethod
    def _levels_now(m: SimMarket) -> dict[tuple[str, int], int]:
        e = m.engine
        out = {("yes", p): q for p, q in e.depth(BUY, 10000)}
        out.update({("no", ONE - p): q for p, q in e.depth(SELL, 10000)})
        return out

    async def tick(self) -> None:
        if self.faults.take("drop_sockets"):
            dropped = list(self._clients)
            for c in dropped:
                if c in self._clients:
                    self._clients.remove(c)   # only these: a client reconnecting meanwhile stays
            for c in dropped:
                await c.ws.close()
        for m in list(self.markets.values()):
            if m.status != "active":
                continue
            # keep the walk inside (0, 1): a binary contract's price
            fills = m.feed.step(self.actions_per_tick)
            for o in [o for o in m.engine.orders.values() if not (0 < o.px < ONE)]:
                m.engine.cancel(o.order_id)
            await self._after_match(m, fills)

    async def _after_match(self, m: SimMarket, fills: list[SimFill]) -> None:
        m.engine.drain_changes()
        now = self._levels_now(m)
        changes: list[tuple[str, int, int]] = []
        for key in sorted(set(now) | set(m.published)):
            d = now.get(key, 0) - m.published.get(key, 0)
            if d:
                changes.append((key[0], key[1], d))
        m.published = now
        for side, px, d in changes:
            await self._publish_delta(m, side, px, d)
        for f in fills:
            await self._publish_trade(m, f)
            await self._user_fill(m, f)

    async def _publish_delta(self, m: SimMarket, side: str, px: int, d: int) -> None:
        msg: dict[str, Any] = {"market_ticker": m.ticker, "market_id": str(uuid.uuid5(uuid.NAMESPACE_URL, m.ticker)),
                               "price_dollars": _dollars(px), "delta_fp": _fp(d), "side": side,
                               "ts_ms": int(time.time() * 1000)}
        if self.legacy_cents:
            msg["price"] = px // TICK
            msg["delta"] = d // 100_000_000
        for c in list(self._clients):
            for sub in c.subs.values():
                if sub.channel == "orderbook_delta" and m.ticker in sub.tickers:
                    if self.faults.take("skip_sequence"):
                        sub.seq += 1           # withheld: the client sees a hole in seq
                        continue
                    if self.faults.take("malformed_json"):
                        sub.seq += 1
                        with contextlib.suppress(ConnectionError, RuntimeError):
                            await c.ws.send_str('{"type":"orderbook_delta","sid":' + str(sub.sid) + ',"msg":{"mar')
                        continue
                    await self._send_sub(c, sub, "orderbook_delta", self._yes_scale(msg) if c.use_yes_price else msg)

    @staticmethod
    def _yes_scale(msg: dict[str, Any]) -> dict[str, Any]:
        """``use_yes_price``: a NO-side delta reported at its YES price (1 - p)."""
        if msg.get("side") != "no":
            return msg
        out = dict(msg, price_dollars=_dollars(ONE - parse_px(msg["price_dollars"])))
        if "price" in out:
            out["price"] = 100 - out["price"]
        return out

    def _snapshot_msg(self, m: SimMarket, use_yes_price: bool = False) -> dict[str, Any]:
        """The book as Kalshi sends it: YES and NO bids ascending; with ``use_yes_price`` the NO
        levels are reported on the YES scale (1 - p), still ascending."""
        lv = self._levels_now(m)
        yes = sorted((p, q) for (s, p), q in lv.items() if s == "yes")
        no = sorted((ONE - p if use_yes_price else p, q) for (s, p), q in lv.items() if s == "no")
        msg: dict[str, Any] = {"market_ticker": m.ticker}
        if yes:
            msg["yes_dollars_fp"] = [[_dollars(p), _fp(q)] for p, q in yes]
        if no:
            msg["no_dollars_fp"] = [[_dollars(p), _fp(q)] for p, q in no]
        if self.legacy_cents:
            if yes:
                msg["yes"] = [[p // TICK, q // 100_000_000] for p, q in yes]
            if no:
                msg["no"] = [[p // TICK, q // 100_000_000] for p, q in no]
        return msg

    async def _publish_trade(self, m: SimMarket, f: SimFill) -> None:
        taker_yes = f.taker.side == BUY
        msg = {"trade_id": str(uuid.uuid4()), "market_ticker": m.ticker, "yes_price_dollars": _dollars(f.px),
               "no_price_dollars": _dollars(ONE - f.px), "count_fp": _fp(f.qty),
               "taker_side": "yes" if taker_yes else "no", "taker_outcome_side": "yes" if taker_yes else "no",
               "taker_book_side": "bid" if taker_yes else "ask", "ts": int(time.time()),
               "ts_ms": int(time.time() * 1000)}
        for c in list(self._clients):
            for sub in c.subs.values():
                if sub.channel == "trade" and m.ticker in sub.tickers:
                    await self._send_sub(c, sub, "trade", msg)

    async def _user_fill(self, m: SimMarket, f: SimFill) -> None:
        for o, taker in ((f.maker, False), (f.taker, True)):
            if o.owner is None:
                continue
            bid = o.side == BUY
            msg = {"trade_id": str(uuid.uuid4()), "order_id": o.extra["order_id"], "client_order_id": o.client_order_id,
                   "market_ticker": m.ticker, "is_taker": taker, "side": "yes" if bid else "no",
                   "yes_price_dollars": _dollars(f.px), "count_fp": _fp(f.qty), "fee_cost": "0.000000",
                   "action": "buy", "ts": int(time.time()), "ts_ms": int(time.time() * 1000),
                   "purchased_side": "yes" if bid else "no", "outcome_side": "yes" if bid else "no",
                   "book_side": "bid" if bid else "ask"}
            for c in list(self._clients):
                if c.key_id != o.owner:
                    continue
                for sub in c.subs.values():
                    if sub.channel == "fill":
                        await self._send_sub(c, sub, "fill", msg, ts=True)

    async def _send_sub(self, c: _Client, sub: _Sub, typ: str, msg: dict[str, Any], *, ts: bool = False) -> None:
        sub.seq += 1
        frame: dict[str, Any] = {"type": typ, "sid": sub.sid, "seq": sub.seq, "msg": msg}
        if ts:
            frame["sending_ts_ms"] = int(time.time() * 1000)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await c.ws.send_str(orjson.dumps(frame).decode())

    # ---- auth ------------------------------------------------------------------------------

    def _check_sig(self, request: web.Request) -> str:
        key = request.headers.get(HDR_KEY, "")
        ts = request.headers.get(HDR_TS, "")
        sig = request.headers.get(HDR_SIG, "")
        pem = self.accounts.get(key)
        if not key or not ts or not sig or pem is None:
            self.auth_failures += 1
            raise KalshiApiError(401, "authentication_error", "missing or unknown API key")
        if not ts.isdigit() or abs(int(ts) - int(time.time() * 1000)) > self.max_clock_skew_ms:
            self.auth_failures += 1
            raise KalshiApiError(401, "authentication_error", "timestamp outside the allowed window")
        if not verify(pem, sig, presign_text(ts, request.method, request.path)):
            self.auth_failures += 1
            raise KalshiApiError(401, "authentication_error", "invalid signature")
        return key

    @staticmethod
    def _err(e: KalshiApiError) -> web.Response:
        return web.Response(status=e.status, content_type="application/json",
                            body=orjson.dumps({"error": {"code": e.code, "message": e.message, "details": "",
                                                         "service": "exchange"}}))

    # ---- app -------------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._mw])
        app.router.add_get(WS_PATH, self._ws)
        r = app.router
        r.add_get(API + "/account/limits", self._limits)
        r.add_post(API + "/portfolio/events/orders", self._create)
        r.add_post(API + "/portfolio/events/orders/batched", self._batch)
        r.add_post(API + "/portfolio/events/orders/{oid}/amend", self._amend)
        r.add_post(API + "/portfolio/events/orders/{oid}/decrease", self._decrease)
        r.add_delete(API + "/portfolio/events/orders/{oid}", self._cancel)
        # legacy V1 order writes: refused as the venue does since the V2 migration
        for path in ("/portfolio/orders", "/portfolio/orders/batched", "/portfolio/orders/{oid}/amend",
                     "/portfolio/orders/{oid}/decrease"):
            r.add_post(API + path, self._legacy)
        r.add_get(API + "/markets/{ticker}/orderbook", self._rest_book)
        r.add_get(API + "/markets/{ticker}", self._rest_market)
        return app

    @web.middleware
    async def _mw(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.rest_calls[request.path] = self.rest_calls.get(request.path, 0) + 1
        if request.path != WS_PATH:
            err = self.faults.next_rest_error()
            if err is not None:
                return web.Response(status=err[0], body=orjson.dumps({"error": "too many requests"}),
                                    content_type="application/json")
        try:
            return await handler(request)
        except KalshiApiError as e:
            return self._err(e)

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        key = self._check_sig(request)
        ws = web.WebSocketResponse(heartbeat=10.0, autoping=True)
        await ws.prepare(request)
        c = _Client(ws, key)
        self._clients.append(c)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._command(c, msg.data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            if c in self._clients:
                self._clients.remove(c)
        return ws

    async def _reply(self, c: _Client, obj: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await c.ws.send_str(orjson.dumps(obj).decode())

    async def _command(self, c: _Client, text: str) -> None:
        try:
            cmd = orjson.loads(text)
            rid = cmd.get("id", 0)
            name = cmd["cmd"]
            params = cmd.get("params") or {}
        except (orjson.JSONDecodeError, KeyError, AttributeError, TypeError):
            await self._reply(c, {"id": 0, "type": "error", "msg": {"code": 1, "msg": "Unable to process message"}})
            return
        if name == "subscribe":
            chans = params.get("channels")
            if not chans:
                await self._reply(c, {"id": rid, "type": "error", "msg": {"code": 3, "msg": "Channels required"}})
                return
            tickers = set(params.get("market_tickers") or ([params["market_ticker"]] if "market_ticker" in params
                                                           else []))
            c.use_yes_price = bool(params.get("use_yes_price", c.use_yes_price))
            for ch in chans:
                if ch not in ("orderbook_delta", "ticker", "trade", "fill", "market_lifecycle_v2"):
                    await self._reply(c, {"id": rid, "type": "error", "msg": {"code": 8, "msg": "Unknown channel name"}})
                    continue
                if ch == "orderbook_delta" and not tickers:
                    await self._reply(c, {"id": rid, "type": "error", "msg": {"code": 2, "msg": "Params required"}})
                    continue
                sub = _Sub(next(self._sids), ch, set(tickers), all_markets=not tickers)
                c.subs[sub.sid] = sub
                await self._reply(c, {"id": rid, "type": "subscribed", "msg": {"channel": ch, "sid": sub.sid}})
                if ch == "orderbook_delta":
                    for t in sorted(tickers):
                        if t in self.markets:
                            await self._send_sub(c, sub, "orderbook_snapshot", self._snapshot_msg(self.markets[t], c.use_yes_price))
        elif name == "update_subscription":
            sids = params.get("sids") or ([params["sid"]] if "sid" in params else [])
            if len(sids) != 1 or sids[0] not in c.subs:
                await self._reply(c, {"id": rid, "type": "error", "msg": {"code": 12, "msg": "Exactly one sid required"}})
                return
            sub = c.subs[sids[0]]
            tickers = [t for t in params.get("market_tickers") or [] if t in self.markets]
            action = params.get("action")
            if action == "add_markets":
                sub.tickers.update(tickers)
            elif action == "delete_markets":
                sub.tickers.difference_update(tickers)
            elif action != "get_snapshot":
                await self._reply(c, {"id": rid, "type": "error", "msg": {"code": 13, "msg": "Unsupported action"}})
                return
            await self._reply(c, {"id": rid, "type": "ok", "sid": sub.sid, "seq": sub.seq,
                                  "msg": {"market_tickers": sorted(sub.tickers)}})
            if action in ("add_markets", "get_snapshot") and sub.channel == "orderbook_delta":
                for t in tickers:
                    await self._send_sub(c, sub, "orderbook_snapshot", self._snapshot_msg(self.markets[t], c.use_yes_price))
        elif name == "unsubscribe":
            for sid in params.get("sids") or []:
                c.subs.pop(sid, None)
            await self._reply(c, {"id": rid, "type": "unsubscribed", "sid": (params.get("sids") or [0])[0]})
        else:
            await self._reply(c, {"id": rid, "type": "error", "msg": {"code": 5, "msg": "Unknown command"}})

    # ---- REST ------------------------------------------------------------------------------

    async def _limits(self, request: web.Request) -> web.Response:
        self._check_sig(request)
        cap = self.batch_capacity_tokens
        return web.json_response({"usage_tier": "basic", "read": {"refill_rate": 200, "bucket_capacity": 400},
                                  "write": {"refill_rate": cap // 2, "bucket_capacity": cap}, "grants": []})

    async def _legacy(self, request: web.Request) -> web.Response:
        self._check_sig(request)
        self.legacy_hits += 1
        raise KalshiApiError(410, "deprecated_v1_order_endpoint",
                             "This order endpoint has been deprecated; use /portfolio/events/orders")

    async def _rest_book(self, request: web.Request) -> web.Response:
        m = self.markets.get(request.match_info["ticker"])
        if m is None:
            raise KalshiApiError(404, "not_found", "market not found")
        snap = self._snapshot_msg(m)
        return web.json_response({"orderbook_fp": {"yes_dollars": snap.get("yes_dollars_fp", []),
                                                   "no_dollars": snap.get("no_dollars_fp", [])}})

    async def _rest_market(self, request: web.Request) -> web.Response:
        m = self.markets.get(request.match_info["ticker"])
        if m is None:
            raise KalshiApiError(404, "not_found", "market not found")
        return web.json_response({"market": {"ticker": m.ticker, "status": m.status,
                                             "price_level_structure": "linear_cent",
                                             "price_ranges": [{"start": "0.0000", "end": "1.0000",
                                                               "step": _dollars(m.engine.tick)}]}})

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            raise KalshiApiError(400, "invalid_parameters", "body is not JSON") from None
        if not isinstance(body, dict):
            raise KalshiApiError(400, "invalid_parameters", "body must be an object")
        return body

    def _parse_order(self, key: str, b: dict[str, Any]) -> tuple[SimMarket, SimOrder]:
        for f in ("ticker", "client_order_id", "side", "count", "price", "time_in_force", "self_trade_prevention_type"):
            if f not in b:
                raise KalshiApiError(400, "missing_parameters", f"missing required field {f}")
        m = self.markets.get(b["ticker"])
        if m is None:
            raise KalshiApiError(404, "market_not_found", f"market {b['ticker']} not found")
        if m.status != "active":
            raise KalshiApiError(409, "market_closed", "market is not open for trading")
        if b["side"] not in ("bid", "ask"):
            raise KalshiApiError(400, "invalid_parameters", "side must be bid or ask")
        tif = {"good_till_canceled": "GTC", "immediate_or_cancel": "IOC", "fill_or_kill": "FOK"}.get(b["time_in_force"])
        if tif is None:
            raise KalshiApiError(400, "invalid_parameters", "unknown time_in_force")
        try:
            px = parse_px(str(b["price"]))
            qty = parse_qty(str(b["count"]))
        except FixedPointError:
            raise KalshiApiError(400, "invalid_parameters", "price/count must be decimal strings") from None
        if not (0 < px < ONE) or px % TICK:
            raise KalshiApiError(400, "invalid_price", "price must be on the market's tick within (0, 1)")
        if qty <= 0 or qty % LOT:
            raise KalshiApiError(400, "invalid_parameters", "count must be a positive multiple of 0.01")
        if b.get("post_only"):
            tif = "GTX"
        if any(o.client_order_id == b["client_order_id"] and o.owner == key for _, o in self._orders.values()):
            raise KalshiApiError(409, "order_already_exists", "client_order_id already used by a resting order")
        o = SimOrder(m.engine.next_order_id(), BUY if b["side"] == "bid" else SELL, px, qty, owner=key,
                     client_order_id=str(b["client_order_id"]), tif=tif)
        o.extra["order_id"] = str(uuid.uuid4())
        return m, o

    async def _submit(self, m: SimMarket, o: SimOrder) -> dict[str, Any]:
        try:
            fills = m.engine.submit(o)
        except MatchReject as exc:
            raise KalshiApiError(400, "post_only_cross", str(exc)) from None
        if o.remaining and o.status in ("NEW", "PARTIALLY_FILLED"):
            self._orders[o.extra["order_id"]] = (m.ticker, o)
        await self._after_match(m, fills)
        return self._order_resp(o)

    @staticmethod
    def _order_resp(o: SimOrder) -> dict[str, Any]:
        resting = o.remaining if o.status in ("NEW", "PARTIALLY_FILLED") else 0
        return {"order_id": o.extra["order_id"], "client_order_id": o.client_order_id, "fill_count": _fp(o.filled),
                "remaining_count": _fp(resting), "ts_ms": int(time.time() * 1000)}

    async def _create(self, request: web.Request) -> web.Response:
        key = self._check_sig(request)
        m, o = self._parse_order(key, await self._body(request))
        return web.json_response(await self._submit(m, o), status=201)

    async def _batch(self, request: web.Request) -> web.Response:
        key = self._check_sig(request)
        orders = (await self._body(request)).get("orders")
        if not isinstance(orders, list) or not orders:
            raise KalshiApiError(400, "missing_parameters", "orders required")
        if len(orders) * 10 > self.batch_capacity_tokens:
            raise KalshiApiError(429, "too_many_requests", "batch exceeds the tier's write budget")
        out = []
        for b in orders:
            try:
                m, o = self._parse_order(key, b if isinstance(b, dict) else {})
                out.append(await self._submit(m, o))
            except KalshiApiError as e:
                out.append({"client_order_id": (b or {}).get("client_order_id") if isinstance(b, dict) else None,
                            "error": {"code": e.code, "message": e.message}})
        return web.json_response({"orders": out}, status=201)

    def _own(self, key: str, oid: str) -> tuple[SimMarket, SimOrder]:
        t = self._orders.get(oid)
        if t is None or t[1].owner != key or t[1].order_id not in self.markets[t[0]].engine.orders:
            raise KalshiApiError(404, "not_found", "order not found")
        return self.markets[t[0]], t[1]

    async def _amend(self, request: web.Request) -> web.Response:
        key = self._check_sig(request)
        m, o = self._own(key, request.match_info["oid"])
        b = await self._body(request)
        for f in ("ticker", "side", "price", "count"):
            if f not in b:
                raise KalshiApiError(400, "missing_parameters", f"missing required field {f}")
        if b["ticker"] != m.ticker or b["side"] != ("bid" if o.side == BUY else "ask"):
            raise KalshiApiError(400, "invalid_parameters", "ticker/side do not match the order")
        try:
            px, count = parse_px(str(b["price"])), parse_qty(str(b["count"]))
        except FixedPointError:
            raise KalshiApiError(400, "invalid_parameters", "price/count must be decimal strings") from None
        if not (0 < px < ONE) or px % TICK or count % LOT or count <= o.filled:
            raise KalshiApiError(400, "invalid_parameters", "bad amend price or count")
        if px == o.px and count <= o.qty:
            m.engine.reduce(o.order_id, count) if count < o.qty else None
            fills: list[SimFill] = []
        else:
            o, fills = m.engine.requeue(o.order_id, count, px)
        if b.get("updated_client_order_id"):
            o.client_order_id = str(b["updated_client_order_id"])
        if not (o.remaining and o.status in ("NEW", "PARTIALLY_FILLED")):
            self._orders.pop(o.extra["order_id"], None)
        await self._after_match(m, fills)
        return web.json_response(self._order_resp(o))

    async def _decrease(self, request: web.Request) -> web.Response:
        key = self._check_sig(request)
        m, o = self._own(key, request.match_info["oid"])
        b = await self._body(request)
        if ("reduce_by" in b) == ("reduce_to" in b):
            raise KalshiApiError(400, "invalid_parameters", "exactly one of reduce_by / reduce_to")
        try:
            if "reduce_to" in b:
                resting = parse_qty(str(b["reduce_to"]))
            else:
                resting = o.remaining - parse_qty(str(b["reduce_by"]))
        except FixedPointError:
            raise KalshiApiError(400, "invalid_parameters", "reduce amount must be a decimal string") from None
        if resting < 0 or resting >= o.remaining:
            raise KalshiApiError(400, "invalid_parameters", "a decrease must lower the resting count")
        if resting == 0:
            m.engine.cancel(o.order_id)
            self._orders.pop(o.extra["order_id"], None)
        else:
            m.engine.reduce(o.order_id, o.filled + resting)
        await self._after_match(m, [])
        return web.json_response(self._order_resp(o))

    async def _cancel(self, request: web.Request) -> web.Response:
        key = self._check_sig(request)
        m, o = self._own(key, request.match_info["oid"])
        left = o.remaining
        m.engine.cancel(o.order_id)
        self._orders.pop(o.extra["order_id"], None)
        await self._after_match(m, [])
        return web.json_response({"order_id": o.extra["order_id"], "client_order_id": o.client_order_id,
                                  "reduced_by": _fp(left), "ts_ms": int(time.time() * 1000)})
