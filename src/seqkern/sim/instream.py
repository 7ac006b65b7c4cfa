"""The one base of the in-stream-snapshot venue simulators (Coinbase, Kraken, Bitget, Crypto.com, OKX, Bybit).

These venues send the book snapshot on the websocket after a subscribe and resync by
resubscribing. ``InStreamBookSim`` keeps the matching engines and their feeds, the per-connection
subscriptions, the fault switches, the accounts, the tick loop and the sockets, and publishes one
depth-limited "view" per book (levels pushed out of a top-N view get no delete: the client
truncates) with held balances for order entry. ``StreamVenueSim`` (OKX, Bybit) publishes instead a
view per subscribed depth, diffed on each push, with idle heartbeats. Each venue subclass writes
its own wire format, control messages, REST paths, signatures and order entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from seqkern._fixed import format_fixed, format_px, format_qty, parse_px, parse_qty
from seqkern.errors import FixedPointError
from seqkern.sim.binance import SimSymbol
from seqkern.sim.faults import FaultPlan
from seqkern.sim.marketdata import RandomWalkFeed, ReplayFeed
from seqkern.sim.matching import BUY, SELL, MatchingEngine, MatchReject, SimFill, SimOrder
from seqkern.sim.server import TickingSimServer

log = logging.getLogger("seqkern.sim")

_E9 = 1_000_000_000


def ms() -> int:
    return time.time_ns() // 1_000_000


def decimals_of(step: int, digits: int) -> int:
    """Fraction digits of a fixed-point step (tick 0.01 at 10^9 scale -> 2)."""
    d = digits
    while d > 0 and step % 10 == 0:
        step //= 10
        d -= 1
    return d


def positive_field(a: dict[str, Any], name: str, parse: Callable[[str], int],
                   missing: Callable[[str], Exception], invalid: Callable[[str], Exception]) -> int:
    """A required positive fixed-point request field; ``missing``/``invalid`` build the venue's error."""
    v = a.get(name)
    if v is None or v == "":
        raise missing(name)
    try:
        n = parse(str(v))
    except FixedPointError:
        raise invalid(name) from None
    if n <= 0:
        raise invalid(name)
    return n


@dataclass
class StreamSymbol:
    """One listed OKX/Bybit instrument (venue symbol and rules in kernel units)."""

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


def spec(symbol: str, base: str, quote: str, tick: str, lot: str, min_qty: str, mid: str, code: int = 0) -> StreamSymbol:
    return StreamSymbol(symbol, base, quote, parse_px(tick), parse_qty(lot), parse_qty(min_qty), parse_px(mid), code)


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
    subs: set[str] = field(default_factory=set)   # channels / topics
    seq: int = 0                                # per-connection message counter (Coinbase sequence_num)
    api_key: str | None = None                  # authenticated account (user connections)
    extra: dict[str, Any] = field(default_factory=dict)
    conn_id: str = ""


@dataclass
class DepthView:
    """What subscribers of one (symbol, depth) topic were last sent: {side: {px: qty}}."""

    depth: int
    levels: dict[str, dict[int, int]] = field(default_factory=lambda: {BUY: {}, SELL: {}})
    update_id: int = 0


@dataclass
class SimBook:
    """One listed instrument: its rules, matching engine, participants and what was published."""

    spec: SimSymbol | StreamSymbol
    engine: MatchingEngine
    feed: RandomWalkFeed | ReplayFeed
    px_dec: int
    qty_dec: int
    update_id: int = 0
    prev_update_id: int = 0
    view: dict[str, dict[int, int]] = field(default_factory=lambda: {BUY: {}, SELL: {}})
    views: dict[int, DepthView] = field(default_factory=dict)    # per published depth (StreamVenueSim)
    last_publish_s: float = 0.0

    def px(self, v: int) -> str:
        return format_px(v, self.px_dec)

    def qty(self, v: int) -> str:
        return format_qty(v, self.qty_dec)


class InStreamBookSim(TickingSimServer):
    """Loopback venue whose book snapshot comes in the stream. ``true_depth`` is the reference book."""

    venue = "instream"
    view_depth = 0            # levels per side the depth channel shows (0 = full depth, every change)
    checksum_window = 0       # levels a skip fault must touch so the client's checksum can see it

    def __init__(self, *, symbols: list[Any] | None = None, seed: int = 7, tick_interval_s: float = 0.01,
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
        for i, sym in enumerate(symbols or [self.default_symbol()]):
            eng = MatchingEngine(sym.symbol, sym.tick_1e9, self.engine_lot(sym))
            feed: RandomWalkFeed | ReplayFeed
            if replay_path:
                feed = ReplayFeed(eng, replay_path)
            else:
                feed = RandomWalkFeed(eng, seed=seed + i, mid_px_1e9=sym.mid_px_1e9, max_qty_lots=50)
            feed.seed_book()
            eng.drain_changes()
            self.books[sym.symbol] = self.new_book(i, sym, eng, feed)
        self.clients: list[SimClient] = []
        self._init_server()
        self._app = web.Application()
        self.build_routes(self._app.router)

    # ---- venue hooks -----------------------------------------------------------------------

    @classmethod
    def default_symbol(cls) -> SimSymbol:
        raise TypeError(f"{cls.__name__} must define default_symbol")

    def engine_lot(self, sym: SimSymbol) -> int:
        """Participants quote in multiples of the venue minimum (a 1-satoshi step would make dust books)."""
        return max(sym.step_1e8, sym.min_qty_1e8)

    def new_book(self, i: int, sym: SimSymbol, eng: MatchingEngine, feed: RandomWalkFeed | ReplayFeed) -> SimBook:
        st = SimBook(sym, eng, feed, decimals_of(sym.tick_1e9, 9), decimals_of(sym.step_1e8, 8),
                     update_id=1000 + 100 * i, prev_update_id=1000 + 100 * i)
        st.view = self._view(st)
        return st

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

    def symbol_state(self, symbol: str) -> SimBook:
        return self.books[symbol]

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
            try:
                await self.tick()
            except (ConnectionResetError, RuntimeError) as exc:   # a client vanished mid-send
                log.debug("tick: %s", exc)

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

    ms = staticmethod(ms)

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
        kept = new_px == o.px and new_qty < o.qty
        _, fills = self.amend_book(st, o, new_qty, new_px)
        self.account_fills(fills)
        await self.order_event(st, o, "amended")
        await self.after_match(st, fills)
        return kept

    @staticmethod
    def amend_book(st: SimBook, o: SimOrder, new_qty: int, new_px: int) -> tuple[SimOrder, list[SimFill]]:
        """A pure size decrease stays in place (queue position kept); anything else re-queues."""
        if new_px == o.px and new_qty < o.qty:
            st.engine.reduce(o.order_id, new_qty)
            return o, []
        return st.engine.requeue(o.order_id, new_qty, new_px)

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



class StreamVenueSim(InStreamBookSim):
    """OKX/Bybit shape: a view per (symbol, depth) topic diffed on each push, idle heartbeats, REST
    errors and signature checks in the venue's body, pushes sent from synchronous code."""

    def __init__(self, symbols: list[StreamSymbol], **kw: Any) -> None:
        self._conn_seq = 0
        self._bg: set[asyncio.Task] = set()
        super().__init__(symbols=symbols, **kw)

    @property
    def _symbols(self) -> dict[str, SimBook]:
        return self.books

    def engine_lot(self, sym: StreamSymbol) -> int:  # type: ignore[override]
        return sym.lot_1e8

    def new_book(self, i: int, sym: StreamSymbol, eng: MatchingEngine,  # type: ignore[override]
                 feed: RandomWalkFeed | ReplayFeed) -> SimBook:
        return SimBook(sym, eng, feed, sym.px_decimals, sym.qty_decimals)

    # ---- subclass hooks ----------------------------------------------------------------------------

    async def publish_views(self, st: SimBook) -> None:
        """Send depth updates of every subscribed depth of ``st``."""

    async def idle(self, st: SimBook) -> None:
        """Called when a market step published nothing (OKX sends empty updates, seqId == prevSeqId)."""

    def rest_auth(self, request: web.Request) -> tuple[str | None, web.Response | None]:
        """The venue's REST signature check: (account key, None), or (None, the refusal)."""
        raise TypeError(f"{type(self).__name__} must define rest_auth")

    # ---- publishing ---------------------------------------------------------------------------------

    async def after_match(self, st: SimBook, fills: list[SimFill]) -> None:
        st.engine.drain_changes()   # views are diffed against the engine; the change set is not needed
        before = self.events_sent
        await self.publish_views(st)
        for f in fills:
            await self.publish_trade(st, f)
            await self.user_fill(st, f)
        if self.events_sent == before:
            await self.idle(st)
        else:
            st.last_publish_s = time.monotonic()

    def view(self, st: SimBook, depth: int, start_id: int = 0) -> DepthView:
        v = st.views.get(depth)
        if v is None:
            v = st.views[depth] = DepthView(depth, update_id=start_id)
            self._fill_view(st, v)
        return v

    def _fill_view(self, st: SimBook, v: DepthView) -> None:
        e = st.engine
        v.levels = {BUY: dict(e.depth(BUY, v.depth)), SELL: dict(e.depth(SELL, v.depth))}

    def diff_view(self, st: SimBook, v: DepthView) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
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

    # ---- sockets and REST ---------------------------------------------------------------------------

    def new_conn_id(self) -> str:
        self._conn_seq += 1
        return f"sim{self._conn_seq:06d}"

    async def send_text(self, ws: web.WebSocketResponse, text: str) -> None:
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await ws.send_str(text)

    def spawn_send(self, ws: web.WebSocketResponse, text: str) -> None:
        """Send from synchronous code (private pushes); the task is kept until it is done."""
        t = asyncio.get_running_loop().create_task(self.send_text(ws, text))
        self._bg.add(t)
        t.add_done_callback(self._bg.discard)

    def subscribers(self, topic: str) -> list[SimClient]:
        """Recipients fixed before any await, so a client subscribing meanwhile (and getting a
        snapshot that already includes this update) is not sent it again."""
        return [c for c in self.clients if topic in c.subs]

    async def rest_fault(self, request: web.Request, error_body: Callable[[int], Any]) -> web.Response | None:
        """The REST fault gate answered in the venue's error body (``error_body(status)``)."""
        err = await self.rest_gate(request)
        return None if err is None else self.fault_response(err, error_body(err[0]))

    async def signed_rest(self, request: web.Request,
                          error_body: Callable[[int], Any]) -> tuple[str, web.Response | None]:
        """The fault gate, then the signature check: (account key, None), or ("", the answer)."""
        gated = await self.rest_fault(request, error_body)
        if gated is not None:
            return "", gated
        owner, denied = self.rest_auth(request)
        if denied is not None:
            return "", denied
        return str(owner), None

    async def entered(self, st: SimBook, o: SimOrder, fills: list[SimFill]) -> None:
        """A new order matched: its state pushed, the match published; an IOC/FOK rest that did not
        fill is pushed again as canceled."""
        await self.order_event(st, o, "new")
        await self.after_match(st, fills)
        if o.status == "EXPIRED":
            o.status = "CANCELED"
            await self.order_event(st, o, "canceled")

    def user_order(self, st: SimBook, owner: str, side: str, px: int, qty: int, *, tif: str = "GTC",
                   order_type: str = "LIMIT", client_order_id: str = "") -> SimOrder:
        return SimOrder(st.engine.next_order_id(), side, px, qty, owner=owner, client_order_id=client_order_id,
                        tif=tif, order_type=order_type, ts_ns=time.time_ns())


__all__ = ["DepthView", "InStreamBookSim", "MatchReject", "SimAccount", "SimBook", "SimClient", "StreamSymbol",
           "StreamVenueSim", "decimals_of", "ms", "positive_field", "spec"]
