"""Simulated market participants: a seeded random walk of quotes and takers, or a recorded replay."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import orjson

from seqkern._fixed import parse_px, parse_qty
from seqkern.sim.matching import BUY, SELL, MatchingEngine, SimFill, SimOrder


class RandomWalkFeed:
    """Quotes around a drifting mid: adds, cancels and aggressive takers, all from one seeded RNG."""

    def __init__(self, engine: MatchingEngine, *, seed: int, mid_px_1e9: int, levels: int = 20,
                 max_qty_lots: int = 50) -> None:
        self.engine = engine
        self.rng = random.Random(seed)
        self.mid = mid_px_1e9 // engine.tick * engine.tick
        self.levels = levels
        self.max_qty_lots = max_qty_lots

    def _quote(self, side: str, ticks_away: int) -> None:
        e = self.engine
        px = self.mid - ticks_away * e.tick if side == BUY else self.mid + ticks_away * e.tick
        if px <= 0:
            return
        qty = self.rng.randint(1, self.max_qty_lots) * e.lot
        e.submit(SimOrder(e.next_order_id(), side, px, qty))

    def seed_book(self) -> None:
        for k in range(1, self.levels + 1):
            self._quote(BUY, k)
            self._quote(SELL, k)

    def step(self, actions: int = 4) -> list[SimFill]:
        """A few random actions; returns the trades they made (possibly against user orders)."""
        e = self.engine
        rng = self.rng
        fills: list[SimFill] = []
        for _ in range(actions):
            r = rng.random()
            if r < 0.5:
                self._quote(BUY if rng.random() < 0.5 else SELL, rng.randint(1, self.levels))
            elif r < 0.85:
                mm = [o for o in e.orders.values() if o.owner is None]
                if mm:
                    e.cancel(rng.choice(mm).order_id)
            else:
                side = BUY if rng.random() < 0.5 else SELL
                qty = rng.randint(1, self.max_qty_lots) * e.lot
                fills.extend(e.submit(SimOrder(e.next_order_id(), side, 0, qty, order_type="MARKET",
                                               tif="IOC")))
        bb, ba = e.best(BUY), e.best(SELL)
        if bb and ba:
            self.mid = (bb + ba) // 2 // e.tick * e.tick
        # keep simulated quotes within a window around the mid
        far = self.levels * 3 * e.tick
        for o in [o for o in e.orders.values() if o.owner is None and abs(o.px - self.mid) > far]:
            e.cancel(o.order_id)
        if not e.best(BUY):
            self._quote(BUY, 1)
        if not e.best(SELL):
            self._quote(SELL, 1)
        return fills


class ReplayFeed:
    """Replays a file of recorded-format depth updates (one JSON message per line) as level changes.

    Each message sets absolute level quantities of the simulated participants; lines that are not
    depth updates are skipped. The replay loops when it reaches the end.
    """

    def __init__(self, engine: MatchingEngine, path: str | Path, *, messages_per_tick: int = 1) -> None:
        self.engine = engine
        self.messages_per_tick = messages_per_tick
        self.messages = [orjson.loads(line) for line in Path(path).read_bytes().splitlines() if line.strip()]
        self._it: Iterator = iter(())
        self._mm: dict[tuple[str, int], SimOrder] = {}

    def seed_book(self) -> None:
        self.step()

    def _set(self, side: str, px: int, qty: int) -> None:
        e = self.engine
        old = self._mm.pop((side, px), None)
        if old is not None and old.order_id in e.orders:
            e.cancel(old.order_id)
        if qty > 0:
            o = SimOrder(e.next_order_id(), side, px, qty)
            e._rest(o)
            self._mm[(side, px)] = o

    def step(self, actions: int = 0) -> list[SimFill]:
        """Replay the next recorded message(s); ``actions`` is the random walk's knob, unused here."""
        for _ in range(self.messages_per_tick):
            msg = next(self._it, None)
            if msg is None:
                self._it = iter(self.messages)
                msg = next(self._it, None)
                if msg is None:
                    return []
            if "data" in msg and ("stream" in msg or "topic" in msg or "arg" in msg):
                msg = msg["data"]       # Binance combined stream, Bybit topic, OKX channel push
                if isinstance(msg, list):
                    msg = msg[0] if msg else {}
            bids = msg.get("b", msg.get("bids", []))
            asks = msg.get("a", msg.get("asks", []))
            for row in bids:            # [px, qty] or OKX's [px, sz, "0", orders]
                self._set(BUY, parse_px(row[0]), parse_qty(row[1]))
            for row in asks:
                self._set(SELL, parse_px(row[0]), parse_qty(row[1]))
        return []
