"""REST for an edge: one pooled keep-alive aiohttp session per venue, weight-charged rate limiting,
429/418 Retry-After honoured, bounded retries of idempotent requests on 5xx."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
import orjson
from yarl import URL

from seqkern.edge.backoff import Backoff
from seqkern.edge.ws import ssl_context_for
from seqkern.venues.base import RateLimitPool, RestRequest, VenueRejected, VenueUnavailable

log = logging.getLogger("seqkern.edge.rest")


class RateLimiter:
    """Sliding-window budgets charged by endpoint weight; a 429/418 blocks every pool until Retry-After."""

    def __init__(self, pools: Sequence[RateLimitPool], *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.pools = {p.name: p for p in pools}
        self._spent: dict[str, deque[tuple[float, int]]] = {p.name: deque() for p in pools}
        self._used: dict[str, int] = {p.name: 0 for p in pools}
        self.blocked_until = 0.0
        self.waits = 0
        self._clock = clock
        self._sleep = sleep

    def used(self, pool: str) -> int:
        self._expire(pool, self._clock())
        return self._used[pool]

    def _expire(self, pool: str, now: float) -> None:
        q = self._spent[pool]
        win = self.pools[pool].window_s
        while q and q[0][0] <= now - win:
            self._used[pool] -= q.popleft()[1]

    async def acquire(self, cost: Sequence[tuple[str, int]]) -> None:
        while True:
            now = self._clock()
            if now < self.blocked_until:
                self.waits += 1
                await self._sleep(self.blocked_until - now)
                continue
            wait = 0.0
            for name, w in cost:
                if name not in self.pools:
                    continue
                self._expire(name, now)
                pool = self.pools[name]
                if w > pool.limit:
                    raise VenueRejected(f"request weight {w} exceeds the {name} budget of {pool.limit}")
                q = self._spent[name]
                used = self._used[name]
                i = 0
                while used + w > pool.limit and i < len(q):
                    used -= q[i][1]
                    wait = max(wait, q[i][0] + pool.window_s - now)
                    i += 1
            if wait <= 0:
                for name, w in cost:
                    if name in self.pools:
                        self._spent[name].append((now, w))
                        self._used[name] += w
                return
            self.waits += 1
            await self._sleep(wait)

    def block_for(self, seconds: float) -> None:
        self.blocked_until = max(self.blocked_until, self._clock() + seconds)


class RestClient:
    """All REST calls of one venue edge go through one pooled keep-alive session and one limiter."""

    def __init__(self, base_url: str, limiter: RateLimiter, *, max_retries: int = 4,
                 timeout_s: float = 10.0, backoff: Backoff | None = None, default_retry_after_s: float = 1.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.backoff_base = backoff or Backoff(0.05, 2.0)
        self.default_retry_after_s = default_retry_after_s
        self._ssl = ssl_context_for(self.base_url)
        self._session: aiohttp.ClientSession | None = None
        self.status_counts: dict[int, int] = {}

    def _session_get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            conn = aiohttp.TCPConnector(limit=32, keepalive_timeout=60.0, ssl=self._ssl if self._ssl else False)
            self._session = aiohttp.ClientSession(connector=conn, json_serialize=lambda o: orjson.dumps(o).decode(),
                                                  timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, req: RestRequest, *, query: str | None = None, body: str | None = None,
                      headers: Mapping[str, str] | None = None) -> bytes:
        """Send ``req`` (``query`` overrides params, e.g. a signed query string); returns the body.

        Raises VenueRejected for a 4xx answer (venue code attached) and VenueUnavailable when
        retries are exhausted. Only GET is retried; an order request is never sent twice.
        """
        idempotent = req.method == "GET" or req.read_only
        if body is None and req.json_body:
            body = req.json_body.decode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        backoff = Backoff(self.backoff_base.base_s, self.backoff_base.cap_s)
        attempt = 0
        url = self.base_url + req.path
        while True:
            await self.limiter.acquire(req.cost)
            try:
                sess = self._session_get()
                params = None if query is not None else {k: str(v) for k, v in req.params.items()}
                # a signed query goes out byte for byte (no re-quoting, or the signature breaks)
                full = URL(f"{url}?{query}", encoded=True) if query else URL(url)
                async with sess.request(req.method, full, params=params, data=body, headers=headers) as resp:
                    status = resp.status
                    data = await resp.read()
                    retry_after = resp.headers.get("Retry-After")
            except (TimeoutError, aiohttp.ClientError) as exc:
                status, data, retry_after = 0, str(exc).encode(), None
            self.status_counts[status] = self.status_counts.get(status, 0) + 1
            if 200 <= status < 300:
                return data
            if status in (418, 429):
                wait = float(retry_after) if retry_after else self.default_retry_after_s
                log.warning("REST %s %s: HTTP %d, backing off %.1fs", req.method, req.path, status, wait)
                self.limiter.block_for(wait)
            elif 400 <= status < 500:
                code, msg = _venue_error(data)
                raise VenueRejected(f"{req.method} {req.path}: {msg}", venue_code=code, http_status=status)
            if not idempotent or attempt >= self.max_retries:
                raise VenueUnavailable(f"{req.method} {req.path} failed with HTTP {status or 'transport error'}")
            attempt += 1
            if status not in (418, 429):
                await asyncio.sleep(backoff.next_delay())


def _venue_error(body: bytes) -> tuple[int | str | None, str]:
    try:
        obj = orjson.loads(body)
        if isinstance(obj, dict):
            return obj.get("code"), str(obj.get("msg", obj))
    except orjson.JSONDecodeError:
        pass
    return None, body[:200].decode("utf-8", "replace")
