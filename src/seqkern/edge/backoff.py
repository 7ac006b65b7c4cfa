"""Capped exponential backoff with jitter for reconnects and retries."""

from __future__ import annotations

import random


class Backoff:
    """delay(n) = uniform(0.5, 1) x min(cap, base x 2^n); reset after a healthy connection."""

    def __init__(self, base_s: float = 0.5, cap_s: float = 30.0, *, rng: random.Random | None = None) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        d = min(self.cap_s, self.base_s * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return d * (0.5 + 0.5 * self._rng.random())

    def reset(self) -> None:
        self.attempt = 0
