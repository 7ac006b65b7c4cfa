"""A plain-Python reference model of seqkern._book.L2Book, used as the oracle in property tests."""

from __future__ import annotations

from dataclasses import dataclass, field

BID, ASK = 0, 1


@dataclass
class SideModel:
    cap: int
    levels: dict[int, int] = field(default_factory=dict)  # key -> qty; higher key is better

    def best(self) -> int | None:
        return max(self.levels) if self.levels else None

    def set(self, key: int, qty: int) -> tuple[int, int]:
        """Apply one level; returns (evicted, dropped) counts, following the documented rule."""
        if qty == 0:
            self.levels.pop(key, None)
            return 0, 0
        best = self.best()
        if best is not None and key <= best - self.cap:
            return 0, 1
        gone = [k for k in self.levels if k <= key - self.cap]
        for k in gone:
            del self.levels[k]
        self.levels[key] = qty
        return len(gone), 0

    def ordered(self) -> list[tuple[int, int]]:
        return sorted(self.levels.items(), reverse=True)


class BookModel:
    def __init__(self, tick: int, cap: int) -> None:
        self.tick = tick
        self.cap = cap
        self.sides = (SideModel(cap), SideModel(cap))
        self.evicted = 0
        self.dropped = 0

    def key(self, side: int, px: int) -> int:
        t = px // self.tick
        return t if side == BID else -t

    def set(self, side: int, px: int, qty: int) -> None:
        e, d = self.sides[side].set(self.key(side, px), qty)
        self.evicted += e
        self.dropped += d

    def clear(self) -> None:
        for s in self.sides:
            s.levels.clear()

    def levels(self, side: int) -> list[tuple[int, int]]:
        sign = 1 if side == BID else -1
        return [(sign * k * self.tick, q) for k, q in self.sides[side].ordered()]

    def fill(self, side: int, qty: int) -> tuple[int, int, int]:
        left, notional, worst = qty, 0, 0
        for px, q in self.levels(side):
            if left == 0:
                break
            take = min(q, left)
            notional += take * px
            worst = px
            left -= take
        return qty - left, notional, worst

    def depth(self, side: int, limit: int) -> int:
        if side == BID:
            return sum(q for px, q in self.levels(side) if px >= limit)
        return sum(q for px, q in self.levels(side) if px <= limit)
