"""Shared machinery of the OKX and Bybit simulators: symbols with engines and feeds, the tick loop,
market clients with topic subscriptions, depth views diffed per published depth, REST fault gate."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from seqkern._fixed import format_fixed, parse_px, parse_qty
from seqkern.sim.faults import FaultPlan
from seqkern.sim.marketdata import RandomWalkFeed, ReplayFeed
from seqkern.sim.matching import BUY, SELL, MatchingEngine, SimFill, SimOrder
from seqkern.sim.server import TickingSimServer

log = logging.getLogger("seqkern.sim")

E9 = 1_000_000_000
E8 = 100_000_000


def ms() -> int:
    return time.time_ns() // 1_000_000


def decimals_of(step: int, digits: int) -> int:
    """Decimals a venue prints for a tick/lot step held with ``digits`` fixed-point digits."""
    d = digits
    while d > 0 and step % 10 == 0:
        step //= 10
        d -= 1
    return d


@dataclass
class StreamSymbol:
    """One listed instrument of a simulator (venue symbol and rules in kernel units)."""

    symbol: str
    base: str
    quote: str
    tick_1e9: int
    lot_1e8: int
    min_qty_1e8: int
    mid_px_1e9: int
    code: int = 0           # OKX instIdCode

    @property
    def px_decimals(self) -> int:
        return decimals_of(self.tick_1e9, 9)

    @property
    def qty_decimals(self) -> int:
        return decimals_of(self.lot_1e8, 8)

    def px(self, v: int) -> str:
        """Price string as the venue prints it: fixed decimals of the tick (e.g. "30247.20")."""
        return format_fixed(v, 9, self.px_decimals)

    def qty(self, v: int) -> str:
        return format_fixed(v, 8, self.qty_decimals)


@dataclass
class StreamAccount:
    api_key: str
    secret: str
    passphrase: str = ""


@dataclass
class DepthView:
    """What subscribers of one (symbol, depth) topic were last sent: {side: {px: qty}}."""

    depth: int
    levels: dict[str, dict[int, int]] = field(default_factory=lambda: {BUY: {}, SELL: {}})
    update_id: int = 0


@dataclass
class SymbolState:
    spec: StreamSymbol
    engine: MatchingEngine
    feed: RandomWalkFeed | ReplayFeed
    views: dict[int, DepthView] = field(default_factory=dict)
    last_publish_s: float = 0.0


@dataclass
class MarketClient:
    ws: web.WebSocketResponse
    topics: set[str] = field(default_factory=set)
    conn_id: str = ""


class StreamVenueSim(TickingSimServer):
    """Base of a loopback venue: subclasses add routes, message formats and order handling."""

    def __init__(self, symbols: list[StreamSymbol], *, seed: int = 7, tick_interval_s: float = 0.01,
                 actions_per_tick: int = 4, replay_path: str | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.host = host
        self.port = port
        self.faults = FaultPlan()
        self.tick_interval_s = tick_interval_s
        self.actions_per_tick = actions_per_tick
        self.paused = False
        self.events_sent = 0
        self.events_skipped = 0
        self.rest_calls: dict[str, int] = {}
        self.accounts: dict[str, StreamAccount] = {}
        self._symbols: dict[str, SymbolState] = {}
        for i, spec in enumerate(symbols):
            eng = MatchingEngine(spec.symbol, spec.tick_1e9, spec.lot_1e8)
            feed: RandomWalkFeed | ReplayFeed
            if replay_path:
                feed = ReplayFeed(eng, replay_path)
            else:
                feed = RandomWalkFeed(eng, seed=seed + i, mid_px_1e9=spec.mid_px_1e9, max_qty_lots=50)
            feed.seed_book()
            eng.drain_changes()
            self._symbols[spec.symbol] = SymbolState(spec, eng, feed)
        self._market: list[MarketClient] = []
        self._init_server()
        self._conn_seq = 0
        self._bg: set[asyncio.Task] = set()
        self._app = web.Application()
        self.add_routes(self._app.router)

    # ---- subclass hooks ----------------------------------------------------------------------------

    def add_routes(self, router: web.UrlDispatcher) -> None:
        raise TypeError("a StreamVenueSim subclass defines its routes")

    async def publish_depth(self, st: SymbolState) -> None:
        """Send depth updates of every subscribed depth of ``st``."""

    async def publish_trade(self, st: SymbolState, f: SimFill) -> None:
        """Send a public trade."""

    async def user_fill(self, st: SymbolState, f: SimFill) -> None:
        """Private pushes to the owners of the filled orders."""

    async def heartbeat(self, st: SymbolState) -> None:
        """Called on idle ticks (OKX sends empty updates with seqId == prevSeqId)."""

    # ---- public API for tests -----------------------------------------------------------------------

    def add_account(self, api_key: str, secret: str, passphrase: str = "") -> StreamAccount:
        acct = StreamAccount(api_key, secret, passphrase)
        self.accounts[api_key] = acct
        return acct

    def true_depth(self, symbol: str, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        e = self._symbols[symbol].engine
        return e.depth(BUY, n), e.depth(SELL, n)

    def engine(self, symbol: str) -> MatchingEngine:
        return self._symbols[symbol].engine

    def symbol_state(self, symbol: str) -> SymbolState:
        return self._symbols[symbol]

    async def _close_clients(self) -> None:
        await self.close_all()

    async def close_all(self) -> None:
        for c in list(self._market):
            await c.ws.close()
        self._market.clear()

    # ---- ticking -------------------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval_s)
            if self.paused:
                continue
            try:
                await self.tick()
            except (ConnectionResetError, RuntimeError) as exc:   # a client vanished mid-send
                log.debug("tick: %s", exc)

    async def tick(self) -> None:
        if self.faults.take("drop_sockets"):
            await self.close_all()
        for st in self._symbols.values():
            fills = st.feed.step(self.actions_per_tick)
            await self.after_match(st, fills)

    async def after_match(self, st: SymbolState, fills: list[SimFill]) -> None:
        st.engine.drain_changes()   # views are diffed against the engine; the change set is not needed
        before = self.events_sent
        await self.publish_depth(st)
        for f in fills:
            await self.publish_trade(st, f)
            await self.user_fill(st, f)
        if self.events_sent == before:
            await self.heartbeat(st)
        else:
            st.last_publish_s = time.monotonic()

    # ---- depth views ---------------------------------------------------------------------------------

    def view(self, st: SymbolState, depth: int, start_id: int = 0) -> DepthView:
        v = st.views.get(depth)
        if v is None:
            v = st.views[depth] = DepthView(depth, update_id=start_id)
            self._fill_view(st, v)
        return v

    def _fill_view(self, st: SymbolState, v: DepthView) -> None:
        e = st.engine
        v.levels = {BUY: dict(e.depth(BUY, v.depth)), SELL: dict(e.depth(SELL, v.depth))}

    def diff_view(self, st: SymbolState, v: DepthView) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Level changes since the view was last sent (qty 0 = removed); the view is updated."""
        e = st.engine
        out: dict[str, list[tuple[int, int]]] = {BUY: [], SELL: []}
        for side in (BUY, SELL):
            new = dict(e.depth(side, v.depth))
            old = v.levels[side]
            for px in old:
                if px not in new:
                    out[side].append((px, 0))
            for px, q in new.items():
                if old.get(px) != q:
                    out[side].append((px, q))
            v.levels[side] = new
        out[BUY].sort(reverse=True)
        out[SELL].sort()
        return out[BUY], out[SELL]

    def sorted_view(self, v: DepthView) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        bids = sorted(v.levels[BUY].items(), reverse=True)
        asks = sorted(v.levels[SELL].items())
        return bids, asks

    # ---- sockets -------------------------------------------------------------------------------------

    def new_conn_id(self) -> str:
        self._conn_seq += 1
        return f"sim{self._conn_seq:06d}"

    async def send(self, ws: web.WebSocketResponse, text: str) -> None:
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await ws.send_str(text)

    def spawn_send(self, ws: web.WebSocketResponse, text: str) -> None:
        """Send from synchronous code (private pushes); the task is kept until it is done."""
        t = asyncio.get_running_loop().create_task(self.send(ws, text))
        self._bg.add(t)
        t.add_done_callback(self._bg.discard)

    def subscribers(self, topic: str) -> list[MarketClient]:
        """Recipients fixed before any await, so a client subscribing meanwhile (and getting a
        snapshot that already includes this update) is not sent it again."""
        return [c for c in self._market if topic in c.topics]

    async def rest_gate(self, request: web.Request, error_body: Any) -> web.Response | None:
        """Faults shared by every REST endpoint: delay, then 429/5xx answers (venue error body)."""
        self.rest_calls[request.path] = self.rest_calls.get(request.path, 0) + 1
        if self.faults.rest_delay_s:
            await asyncio.sleep(self.faults.rest_delay_s)
        err = self.faults.next_rest_error()
        if err is None:
            return None
        status, retry_after = err
        headers = {"Retry-After": str(int(retry_after))} if status in (418, 429) else {}
        return web.Response(status=status, body=orjson.dumps(error_body(status)), headers=headers,
                            content_type="application/json")

    def user_order(self, st: SymbolState, owner: str, side: str, px: int, qty: int, *, tif: str = "GTC",
                   order_type: str = "LIMIT", client_order_id: str = "") -> SimOrder:
        return SimOrder(st.engine.next_order_id(), side, px, qty, owner=owner, client_order_id=client_order_id,
                        tif=tif, order_type=order_type, ts_ns=time.time_ns())


def spec(symbol: str, base: str, quote: str, tick: str, lot: str, min_qty: str, mid: str, code: int = 0) -> StreamSymbol:
    return StreamSymbol(symbol, base, quote, parse_px(tick), parse_qty(lot), parse_qty(min_qty), parse_px(mid), code)
