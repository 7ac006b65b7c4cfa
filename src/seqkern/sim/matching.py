"""Price-time-priority matching engine shared by every venue simulator (one engine per symbol)."""

from __future__ import annotations

import bisect
import contextlib
import itertools
import time
from collections import deque
from dataclasses import dataclass, field

BUY = "BUY"
SELL = "SELL"


class MatchReject(Exception):
    """An order the engine refuses (post-only would take, FOK cannot fill, unknown order...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class SimOrder:
    order_id: int
    side: str               # BUY / SELL
    px: int                 # px_1e9; 0 for market orders
    qty: int                # qty_1e8, original (or amended) quantity
    owner: str | None = None   # account api key; None = simulated market participant
    client_order_id: str = ""
    tif: str = "GTC"        # GTC / IOC / FOK / GTX (post-only)
    order_type: str = "LIMIT"
    filled: int = 0
    quote_filled: int = 0   # sum(px * qty) / 1e9 in qty_1e8 units of quote
    status: str = "NEW"
    ts_ns: int = 0
    extra: dict = field(default_factory=dict)   # venue-specific fields a simulator keeps

    @property
    def remaining(self) -> int:
        return self.qty - self.filled


@dataclass(frozen=True)
class SimFill:
    maker: SimOrder
    taker: SimOrder
    px: int
    qty: int
    trade_id: int
    ts_ns: int = field(default_factory=time.time_ns)


class MatchingEngine:
    """One symbol's book: FIFO queues per price; levels changed since the last drain are tracked."""

    def __init__(self, symbol: str, tick_1e9: int, lot_1e8: int = 1) -> None:
        self.symbol = symbol
        self.tick = tick_1e9
        self.lot = lot_1e8
        self._levels: dict[str, dict[int, deque[SimOrder]]] = {BUY: {}, SELL: {}}
        self._prices: dict[str, list[int]] = {BUY: [], SELL: []}   # ascending
        self.orders: dict[int, SimOrder] = {}          # resting orders
        self.history: dict[int, SimOrder] = {}         # every order ever submitted (venue queries)
        self.fills_of: dict[int, list[SimFill]] = {}   # order id -> its fills, oldest first
        self._changed: set[tuple[str, int]] = set()
        self._ids = itertools.count(1)
        self._trade_ids = itertools.count(1)

    def next_order_id(self) -> int:
        return next(self._ids)

    # ---- book state ------------------------------------------------------------------------

    def level_qty(self, side: str, px: int) -> int:
        q = self._levels[side].get(px)
        return sum(o.remaining for o in q) if q else 0

    def best(self, side: str) -> int:
        p = self._prices[side]
        if not p:
            return 0
        return p[-1] if side == BUY else p[0]

    def depth(self, side: str, n: int) -> list[tuple[int, int]]:
        p = self._prices[side]
        seq = reversed(p) if side == BUY else iter(p)
        return [(px, self.level_qty(side, px)) for px in itertools.islice(seq, n)]

    def drain_changes(self) -> list[tuple[str, int, int]]:
        """(side, px, total qty) of every level touched since the last drain, sorted."""
        out = sorted((side, px, self.level_qty(side, px)) for side, px in self._changed)
        self._changed.clear()
        return out

    # ---- queue primitives ------------------------------------------------------------------

    def _rest(self, o: SimOrder) -> None:
        lv = self._levels[o.side]
        q = lv.get(o.px)
        if q is None:
            q = lv[o.px] = deque()
            bisect.insort(self._prices[o.side], o.px)
        q.append(o)
        self.orders[o.order_id] = o
        self._changed.add((o.side, o.px))

    def _unlink(self, o: SimOrder) -> None:
        lv = self._levels[o.side]
        q = lv.get(o.px)
        if q is not None:
            with contextlib.suppress(ValueError):
                q.remove(o)
            if not q:
                del lv[o.px]
                p = self._prices[o.side]
                i = bisect.bisect_left(p, o.px)
                if i < len(p) and p[i] == o.px:
                    p.pop(i)
        self.orders.pop(o.order_id, None)
        self._changed.add((o.side, o.px))

    def _crosses(self, o: SimOrder, px: int) -> bool:
        if o.order_type == "MARKET":
            return True
        return px <= o.px if o.side == BUY else px >= o.px

    def _available(self, o: SimOrder) -> int:
        opp = SELL if o.side == BUY else BUY
        total = 0
        prices = self._prices[opp] if o.side == BUY else list(reversed(self._prices[opp]))
        for px in prices:
            if not self._crosses(o, px):
                break
            total += self.level_qty(opp, px)
            if total >= o.remaining:
                break
        return total

    # ---- order operations ------------------------------------------------------------------

    def submit(self, o: SimOrder) -> list[SimFill]:
        """Match an incoming order, then rest what is left when it is a GTC/GTX limit order."""
        opp = SELL if o.side == BUY else BUY
        if o.owner is not None:     # account orders only: market participants are not queried
            self.history[o.order_id] = o
        best = self.best(opp)
        if o.tif == "GTX" and best and self._crosses(o, best):
            raise MatchReject("post-only order would take liquidity")
        if o.tif == "FOK" and self._available(o) < o.remaining:
            o.status = "EXPIRED"
            return []
        fills: list[SimFill] = []
        while o.remaining > 0:
            best = self.best(opp)
            if not best or not self._crosses(o, best):
                break
            q = self._levels[opp][best]
            maker = q[0]
            take = min(maker.remaining, o.remaining)
            maker.filled += take
            o.filled += take
            maker.quote_filled += best * take // 1_000_000_000
            o.quote_filled += best * take // 1_000_000_000
            self._changed.add((opp, best))
            fill = SimFill(maker, o, best, take, next(self._trade_ids))
            fills.append(fill)
            for side_order in (maker, o):
                if side_order.owner is not None:
                    self.fills_of.setdefault(side_order.order_id, []).append(fill)
            if maker.remaining == 0:
                maker.status = "FILLED"
                self._unlink(maker)
            else:
                maker.status = "PARTIALLY_FILLED"
        if o.remaining == 0:
            o.status = "FILLED"
        elif o.order_type == "LIMIT" and o.tif in ("GTC", "GTX"):
            o.status = "PARTIALLY_FILLED" if o.filled else "NEW"
            self._rest(o)
        else:
            o.status = "EXPIRED"
        return fills

    def cancel(self, order_id: int) -> SimOrder:
        o = self.orders.get(order_id)
        if o is None:
            raise MatchReject("unknown order")
        self._unlink(o)
        o.status = "CANCELED"
        return o

    def find_client(self, owner: str | None, client_order_id: str) -> SimOrder | None:
        for o in self.orders.values():
            if o.owner == owner and o.client_order_id == client_order_id:
                return o
        return None

    def lookup(self, owner: str | None, *, order_id: int | None = None,
               client_order_id: str = "") -> SimOrder | None:
        """Any order of ``owner`` the venue ever took (resting or done), by id or client id
        (the most recent one with that client id)."""
        if order_id is not None:
            o = self.history.get(order_id)
            return o if o is not None and o.owner == owner else None
        for o in reversed(self.history.values()):
            if o.owner == owner and o.client_order_id == client_order_id:
                return o
        return None

    def reduce(self, order_id: int, new_qty: int) -> SimOrder:
        """Lower an order's quantity in place, keeping its queue position."""
        o = self.orders.get(order_id)
        if o is None:
            raise MatchReject("unknown order")
        if not (o.filled < new_qty < o.qty):
            raise MatchReject("new quantity must be above the filled quantity and below the current one")
        o.qty = new_qty
        self._changed.add((o.side, o.px))
        return o

    def requeue(self, order_id: int, new_qty: int, new_px: int) -> tuple[SimOrder, list[SimFill]]:
        """Change price and/or quantity, losing queue priority (the order goes to the back)."""
        o = self.orders.get(order_id)
        if o is None:
            raise MatchReject("unknown order")
        if new_qty <= o.filled:
            self._unlink(o)
            o.status = "CANCELED"
            return o, []
        self._unlink(o)
        o.qty = new_qty
        o.px = new_px
        fills = self.submit(o)
        return o, fills

    def queue_position(self, order_id: int) -> int:
        """Index of the order in its price level's FIFO queue (0 = first)."""
        o = self.orders[order_id]
        return list(self._levels[o.side][o.px]).index(o)
