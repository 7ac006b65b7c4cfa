"""Shared core of the in-stream-snapshot venue simulators (Coinbase, Kraken, Bitget, Crypto.com).

These venues send the book snapshot on the websocket after a subscribe and resync by
resubscribing; the core keeps the matching engines, the per-connection subscriptions, the
depth-limited "view" a venue publishes (levels pushed out of a top-N view get no delete: the
client truncates), the fault switches and the tick loop. Each venue subclass writes its own wire
format, control messages, REST paths, signatures and order entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from seqkern._fixed import format_px, format_qty, parse_qty
from seqkern.sim.binance import SimSymbol
from seqkern.sim.faults import FaultPlan
from seqkern.sim.marketdata import RandomWalkFeed, ReplayFeed
from seqkern.sim.matching import BUY, SELL, MatchingEngine, MatchReject, SimFill, SimOrder
from seqkern.sim.server import TickingSimServer

log = logging.getLogger("seqkern.sim")

_E9 = 1_000_000_000


def decimals_of(step: int, digits: int) -> int:
    """Fraction digits of a fixed-point step (tick 0.01 at 10^9 scale -> 2)."""
    d = digits
    while d > 0 and step % 10 == 0:
        step //= 10
        d -= 1
    return d


@dataclass
class SimAccount:
    """A trading account: its key material (HMAC secret, passphrase, or a public key for JWTs)."""

    api_key: str
    secret: str = ""
    passphrase: str = ""
    public_key: Any = None
    nonce: int = 0                 # last nonce seen (venues with increasing nonces)
    balances: dict[str, int] = field(default_factory=dict)   # asset -> free, qty_1e8 units
    locked: dict[str, int] = field(default_factory=dict)     # asset -> held by open orders


# what an account holds unless a test says otherwise
DEFAULT_BALANCES = {"BTC": "1000", "ETH": "10000", "USD": "100000000", "USDT": "100000000", "USDC": "100000000"}


class SimInsufficient(Exception):
    """The account cannot fund the order; each venue answers with its own error."""


@dataclass
class SimClient:
    """One websocket connection to the simulator and what it subscribed."""

    ws: web.WebSocketResponse
    kind: str                                   # "market" | "user"
    subs: set[str] = field(default_factory=set)
    seq: int = 0                                # per-connection message counter (Coinbase sequence_num)
    api_key: str | None = None                  # authenticated account (user connections)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SimBook:
    spec: SimSymbol
    engine: MatchingEngine
    feed: RandomWalkFeed | ReplayFeed
    px_dec: int
    qty_dec: int
    update_id: int = 0
    prev_update_id: int = 0
    view: dict[str, dict[int, int]] = field(default_factory=lambda: {BUY: {}, SELL: {}})

    def px(self, v: int) -> str:
        return format_px(v, self.px_dec)

    def qty(self, v: int) -> str:
        return format_qty(v, self.qty_dec)


class InStreamBookSim(TickingSimServer):
    """Loopback venue whose book snapshot comes in the stream. ``true_depth`` is the reference book."""

    venue = "instream"
    view_depth = 0            # levels per side the depth channel shows (0 = full depth, every change)
    checksum_window = 0       # levels a skip fault must touch so the client's checksum can see it

    def __init__(self, *, symbols: list[SimSymbol] | None = None, seed: int = 7, tick_interval_s: float = 0.01,
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
        self.accounts: dict[str, Any] = {}
        self.books: dict[str, SimBook] = {}
        for i, spec in enumerate(symbols or [self.default_symbol()]):
            # participants quote in multiples of the venue minimum (a 1-satoshi step would make dust books)
            eng = MatchingEngine(spec.symbol, spec.tick_1e9, max(spec.step_1e8, spec.min_qty_1e8))
            feed: RandomWalkFeed | ReplayFeed
            if replay_path:
                feed = ReplayFeed(eng, replay_path)
            else:
                feed = RandomWalkFeed(eng, seed=seed + i, mid_px_1e9=spec.mid_px_1e9, max_qty_lots=50)
            feed.seed_book()
            eng.drain_changes()
            st = SimBook(spec, eng, feed, decimals_of(spec.tick_1e9, 9), decimals_of(spec.step_1e8, 8),
                         update_id=1000 + 100 * i, prev_update_id=1000 + 100 * i)
            st.view = self._view(st)
            self.books[spec.symbol] = st
        self.clients: list[SimClient] = []
        self._init_server()
        self._app = web.Application()
        self.build_routes(self._app.router)

    # ---- venue hooks -----------------------------------------------------------------------

    @classmethod
    def default_symbol(cls) -> SimSymbol:
        raise TypeError(f"{cls.__name__} must define default_symbol")

    def build_routes(self, r: web.UrlDispatcher) -> None:
        raise TypeError(f"{type(self).__name__} must define build_routes")

    async def on_text(self, c: SimClient, text: str) -> None:
        """A text frame from a client (subscribe, ping, order entry...)."""

    async def publish_depth(self, st: SimBook, bids: list[tuple[int, int]], asks: list[tuple[int, int]],
                            *, corrupt: bool, malformed: bool) -> None:
        """Send one depth update for ``st`` to its subscribers."""

    async def publish_trade(self, st: SimBook, f: SimFill) -> None:
        """Send one public trade."""

    async def on_connect(self, c: SimClient) -> None:
        """A new websocket (e.g. Kraken's status message)."""

    async def heartbeat(self) -> None:
        """Periodic venue heartbeats (called about once a second)."""

    # ---- public API for tests --------------------------------------------------------------

    def true_depth(self, symbol: str, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        e = self.books[symbol].engine
        return e.depth(BUY, n), e.depth(SELL, n)

    def engine(self, symbol: str) -> MatchingEngine:
        return self.books[symbol].engine

    async def _close_clients(self) -> None:
        for c in list(self.clients):
            with contextlib.suppress(Exception):
                await c.ws.close()

    # ---- book views ------------------------------------------------------------------------

    def _view(self, st: SimBook) -> dict[str, dict[int, int]]:
        n = self.view_depth or 1_000_000
        return {side: dict(st.engine.depth(side, n)) for side in (BUY, SELL)}

    def _book_changes(self, st: SimBook) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Levels to publish since the last update: every change (full depth), or for a top-N view the
        levels that changed or entered it and the deletes inside it (a level pushed out gets none)."""
        changes = st.engine.drain_changes()
        if not self.view_depth:
            return ([(px, q) for side, px, q in changes if side == BUY],
                    [(px, q) for side, px, q in changes if side == SELL])
        new = self._view(st)
        out: dict[str, list[tuple[int, int]]] = {BUY: [], SELL: []}
        for side in (BUY, SELL):
            old, cur = st.view[side], new[side]
            for px, q in cur.items():
                if old.get(px) != q:
                    out[side].append((px, q))
            for px in old:
                if px not in cur and st.engine.level_qty(side, px) == 0:
                    out[side].append((px, 0))
        st.view = new
        return sorted(out[BUY], reverse=True), sorted(out[SELL])

    def top(self, st: SimBook, side: str, n: int) -> list[tuple[int, int]]:
        return st.engine.depth(side, n)

    # ---- ticking ---------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        last_hb = time.monotonic()
        while True:
            await asyncio.sleep(self.tick_interval_s)
            now = time.monotonic()
            if now - last_hb >= 1.0:
                last_hb = now
                await self.heartbeat()
            if self.paused:
                continue
            await self.tick()

    async def tick(self) -> None:
        if self.faults.take("drop_sockets"):
            for c in [c for c in self.clients if c.kind == "market"]:
                with contextlib.suppress(Exception):
                    await c.ws.close()
                with contextlib.suppress(ValueError):
                    self.clients.remove(c)
        for st in self.books.values():
            fills = st.feed.step(self.actions_per_tick)
            self.account_fills(fills)
            await self.after_match(st, fills)

    async def after_match(self, st: SimBook, fills: list[SimFill]) -> None:
        bids, asks = self._book_changes(st)
        if bids or asks:
            await self._emit_depth(st, bids, asks)
        for f in fills:
            await self.publish_trade(st, f)
            await self.user_fill(st, f)

    async def _emit_depth(self, st: SimBook, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
        st.prev_update_id = st.update_id
        st.update_id += 1
        if self.faults.skip_sequence and self._skippable(st, bids, asks):
            self.faults.take("skip_sequence")
            self.events_skipped += 1
            self.on_skipped(st)
            return
        corrupt = self.faults.take("corrupt_checksum")
        malformed = self.faults.take("malformed_json")
        await self.publish_depth(st, bids, asks, corrupt=corrupt, malformed=malformed)
        self.events_sent += 1

    def _skippable(self, st: SimBook, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> bool:
        """A withheld update must touch the checksum window, or a checksum venue could not see it."""
        if not self.checksum_window:
            return True
        bb = [px for px, _ in st.engine.depth(BUY, self.checksum_window)]
        ba = [px for px, _ in st.engine.depth(SELL, self.checksum_window)]
        lo_b = bb[-1] if bb else 0
        hi_a = ba[-1] if ba else 0
        return any(px >= lo_b for px, _ in bids) or any(px <= hi_a for px, _ in asks)

    def on_skipped(self, st: SimBook) -> None:
        """Hook for venues whose skip means a sequence number jump on every connection."""

    # ---- sockets ---------------------------------------------------------------------------

    async def send(self, c: SimClient, obj: Any, *, malformed: bool = False) -> None:
        text = obj if isinstance(obj, str) else orjson.dumps(obj).decode()
        if malformed:
            text = text[: len(text) // 2]
        try:
            await c.ws.send_str(text)
        except (ConnectionResetError, RuntimeError):
            with contextlib.suppress(ValueError):
                self.clients.remove(c)

    async def serve_ws(self, request: web.Request, kind: str) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        c = SimClient(ws, kind)
        self.clients.append(c)
        await self.on_connect(c)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self.on_text(c, msg.data)
        finally:
            with contextlib.suppress(ValueError):
                self.clients.remove(c)
        return ws

    async def rest_gate(self, request: web.Request) -> tuple[int, float] | None:
        """Faults shared by every REST endpoint: delay, then the next armed HTTP error."""
        self.rest_calls[request.path] = self.rest_calls.get(request.path, 0) + 1
        if self.faults.rest_delay_s:
            await asyncio.sleep(self.faults.rest_delay_s)
        return self.faults.next_rest_error()

    @staticmethod
    def ms() -> int:
        return time.time_ns() // 1_000_000

    # ---- orders shared by the venues -------------------------------------------------------

    def add_account(self, api_key: str, secret: str = "", passphrase: str = "", public_key: Any = None,
                    balances: dict[str, str] | None = None) -> SimAccount:
        acct = SimAccount(api_key, secret, passphrase, public_key,
                          balances={a: parse_qty(v) for a, v in (balances or DEFAULT_BALANCES).items()})
        self.accounts[api_key] = acct
        return acct

    # ---- balances: orders hold funds, fills settle, cancels release ------------------------------

    @staticmethod
    def _funds(st: SimBook, side: str, px: int, qty: int) -> tuple[str, int]:
        return (st.spec.quote, px * qty // _E9) if side == BUY else (st.spec.base, qty)

    def reserve(self, st: SimBook, o: SimOrder, qty: int | None = None, px: int | None = None) -> None:
        acct = self.accounts.get(o.owner or "")
        if acct is None:
            return
        px = px if px is not None else (o.px or st.engine.best(SELL if o.side == BUY else BUY))
        asset, amount = self._funds(st, o.side, px, o.remaining if qty is None else qty)
        if acct.balances.get(asset, 0) < amount:
            raise SimInsufficient(f"{asset} {amount}")
        acct.balances[asset] = acct.balances.get(asset, 0) - amount
        acct.locked[asset] = acct.locked.get(asset, 0) + amount
        o.extra["rsv_px"] = px

    def release(self, st: SimBook, o: SimOrder) -> None:
        """Give back what the order's unfilled rest holds."""
        acct = self.accounts.get(o.owner or "")
        if acct is None or "rsv_px" not in o.extra:
            return
        asset, amount = self._funds(st, o.side, o.extra["rsv_px"], max(o.remaining, 0))
        amount = min(amount, acct.locked.get(asset, 0))
        acct.locked[asset] = acct.locked.get(asset, 0) - amount
        acct.balances[asset] = acct.balances.get(asset, 0) + amount
        del o.extra["rsv_px"]

    def user_orders(self, api_key: str) -> list[tuple[SimBook, SimOrder]]:
        return [(st, o) for st in self.books.values() for o in st.engine.orders.values() if o.owner == api_key]

    def find_order(self, api_key: str, st: SimBook, *, order_id: str = "", client_order_id: str = "") -> SimOrder | None:
        for o in st.engine.orders.values():
            if o.owner != api_key:
                continue
            if order_id and o.extra.get("vid") == order_id:
                return o
            if client_order_id and o.client_order_id == client_order_id:
                return o
        return None

    def new_order(self, api_key: str, st: SimBook, side: str, px: int, qty: int, *, vid: str, tif: str = "GTC",
                  market: bool = False, client_order_id: str = "") -> SimOrder:
        o = SimOrder(st.engine.next_order_id(), side, 0 if market else px, qty, owner=api_key,
                     client_order_id=client_order_id, tif=tif, order_type="MARKET" if market else "LIMIT",
                     ts_ns=time.time_ns())
        o.extra["vid"] = vid
        o.extra["symbol"] = st.spec.symbol
        return o

    async def submit(self, st: SimBook, o: SimOrder) -> list[SimFill]:
        """Hold the funds (SimInsufficient), match (MatchReject for a post-only order that would
        take), settle, notify, publish."""
        self.reserve(st, o)
        try:
            fills = st.engine.submit(o)
        except MatchReject:
            self.release(st, o)
            raise
        self.account_fills(fills)
        if o.status in ("FILLED", "EXPIRED"):
            self.release(st, o)
        await self.order_event(st, o, "new")
        await self.after_match(st, fills)
        if o.status == "EXPIRED":
            await self.order_event(st, o, "expired")
        return fills

    async def cancel_order(self, st: SimBook, o: SimOrder) -> None:
        st.engine.cancel(o.order_id)
        self.release(st, o)
        await self.order_event(st, o, "canceled")
        await self.after_match(st, [])

    async def amend_in_place(self, st: SimBook, o: SimOrder, new_qty: int, new_px: int) -> bool:
        """Native amend: a pure size decrease keeps the queue position, anything else re-queues.
        Returns whether priority was kept. A size at or below the filled quantity cancels the rest."""
        if new_qty <= o.filled:
            st.engine.cancel(o.order_id)
            self.release(st, o)
            o.status = "FILLED" if o.filled else "CANCELED"
            await self.order_event(st, o, "canceled")
            await self.after_match(st, [])
            return False
        # re-hold the funds for the amended rest first: an unfundable amend changes nothing
        old_px = o.extra.get("rsv_px")
        self.release(st, o)
        try:
            self.reserve(st, o, qty=new_qty - o.filled, px=new_px)
        except SimInsufficient:
            if old_px is not None:
                self.reserve(st, o, px=old_px)
            raise
        if new_px == o.px and new_qty < o.qty:
            st.engine.reduce(o.order_id, new_qty)
            await self.order_event(st, o, "amended")
            await self.after_match(st, [])
            return True
        _, fills = st.engine.requeue(o.order_id, new_qty, new_px)
        self.account_fills(fills)
        await self.order_event(st, o, "amended")
        await self.after_match(st, fills)
        return False

    def account_fills(self, fills: list[SimFill]) -> None:
        """Settle each user side of each fill (held funds out, proceeds in) and keep the exact filled
        notional (``extra["pxq"]`` = sum px_1e9 * qty_1e8) for average prices."""
        for f in fills:
            for o in (f.maker, f.taker):
                if o.owner is None:
                    continue
                o.extra["pxq"] = o.extra.get("pxq", 0) + f.px * f.qty
                acct = self.accounts.get(o.owner)
                if acct is None or "rsv_px" not in o.extra:
                    continue
                st = self.books.get(o.extra.get("symbol", ""))
                if st is None:
                    continue
                base, quote = st.spec.base, st.spec.quote
                if o.side == BUY:
                    held = o.extra["rsv_px"] * f.qty // _E9
                    take = min(held, acct.locked.get(quote, 0))
                    acct.locked[quote] = acct.locked.get(quote, 0) - take
                    acct.balances[quote] = acct.balances.get(quote, 0) + take - f.px * f.qty // _E9
                    acct.balances[base] = acct.balances.get(base, 0) + f.qty
                else:
                    take = min(f.qty, acct.locked.get(base, 0))
                    acct.locked[base] = acct.locked.get(base, 0) - take
                    acct.balances[base] = acct.balances.get(base, 0) + take - f.qty
                    acct.balances[quote] = acct.balances.get(quote, 0) + f.px * f.qty // _E9

    async def order_event(self, st: SimBook, o: SimOrder, kind: str) -> None:
        """Private push for an order state change (new, canceled, amended, expired); venue format."""

    async def user_fill(self, st: SimBook, f: SimFill) -> None:
        for o, maker in ((f.maker, True), (f.taker, False)):
            if o.owner is not None and o.owner in self.accounts:
                await self.fill_event(st, o, f, maker)

    async def fill_event(self, st: SimBook, o: SimOrder, f: SimFill, maker: bool) -> None:
        """Private push for one fill of a user order; venue format."""


__all__ = ["InStreamBookSim", "MatchReject", "SimAccount", "SimBook", "SimClient", "decimals_of"]
