"""The CC's write-ahead journal: one SQLite file (WAL) holding orders, transitions, fills,
reservations, balances, API keys and encrypted credentials.

fsync policy (``sync``); the database runs in WAL mode and every API operation commits once:
- ``"full"`` (default): group commit. The WAL is fsynced by a committer thread; one fsync covers
  every commit before it. An answer (HTTP response, stream event) waits for the fsync covering its
  commit (``await durable()``, ``after_durable(cb)``), so what is acknowledged survives a killed
  process and a power cut, and the event loop never blocks on the disk.
- ``"inline"``: SQLite's synchronous=FULL: the commit itself fsyncs, on the event loop.
- ``"normal"``: fsync only at checkpoints: a commit survives kill -9 (the WAL is in the OS page
  cache), the last commits may be lost on power failure.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from seqkern.errors import JournalError

SYNC_MODES = {"full": "NORMAL", "inline": "FULL", "normal": "NORMAL"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    graph_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    parent_id TEXT,
    key_id TEXT NOT NULL,
    client_request_id TEXT,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    order_type TEXT NOT NULL,
    tif TEXT NOT NULL,
    venue INTEGER NOT NULL,
    price_1e9 INTEGER,
    qty_1e8 INTEGER NOT NULL,
    filled_1e8 INTEGER NOT NULL,
    notional_1e17 TEXT NOT NULL,
    state TEXT NOT NULL,
    sandbox INTEGER NOT NULL,
    reason TEXT,
    amend_mode TEXT,
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL,
    request_id INTEGER NOT NULL DEFAULT 0,
    venue_order_id TEXT
);
CREATE INDEX IF NOT EXISTS orders_open ON orders(state);
CREATE INDEX IF NOT EXISTS orders_parent ON orders(parent_id);
CREATE TABLE IF NOT EXISTS transitions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL,
    ts_ns INTEGER NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    reason TEXT
);
CREATE TABLE IF NOT EXISTS fills (
    fill_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    parent_id TEXT,
    venue INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    px_1e9 INTEGER NOT NULL,
    qty_1e8 INTEGER NOT NULL,
    fee_bps INTEGER NOT NULL,
    liquidity TEXT NOT NULL,
    sandbox INTEGER NOT NULL,
    ts_ns INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS fills_order ON fills(order_id);
CREATE TABLE IF NOT EXISTS reservations (
    order_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    venue INTEGER NOT NULL,
    asset TEXT NOT NULL,
    amount_1e8 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS balances (
    account TEXT NOT NULL,
    venue INTEGER NOT NULL,
    asset TEXT NOT NULL,
    amount_1e8 TEXT NOT NULL,
    PRIMARY KEY (account, venue, asset)
);
CREATE TABLE IF NOT EXISTS idempotency (
    key_id TEXT NOT NULL,
    client_request_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    PRIMARY KEY (key_id, client_request_id)
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    sandbox INTEGER NOT NULL,
    label TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS credentials (
    venue TEXT PRIMARY KEY,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    fields TEXT NOT NULL,
    updated_ns INTEGER NOT NULL
);
"""


class Journal:
    """The SQLite journal. Use ``with journal.tx():`` around the writes of one operation."""

    def __init__(self, path: str, *, sync: str = "full") -> None:
        if sync not in SYNC_MODES:
            raise JournalError(f"unknown fsync policy {sync!r}; one of {sorted(SYNC_MODES)}")
        self.path = path
        self.sync = sync
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, mode=0o700, exist_ok=True)
        try:
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={SYNC_MODES[sync]}")
            self.db.execute("PRAGMA foreign_keys=OFF")
            self.db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {path}: {exc}") from exc
        os.chmod(path, 0o600)
        self._depth = 0
        self.commits = 0
        # group commit state ("full"): commits made, commits known durable, waiters in order
        self.durable_seq = 0
        self.fsyncs = 0
        self._waiters: list[tuple[int, Callable[[], None]]] = []
        self._wake = threading.Event()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wal_fd = -1
        self._thread: threading.Thread | None = None
        if sync == "full":
            self._thread = threading.Thread(target=self._committer, name="journal-fsync", daemon=True)
            self._thread.start()

    # --- group commit ---------------------------------------------------------------------
    def _committer(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            target = self.commits
            if target <= self.durable_seq:
                continue
            if self._wal_fd < 0:
                self._wal_fd = os.open(self.path + "-wal", os.O_RDONLY)
            os.fsync(self._wal_fd)
            self.fsyncs += 1
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._durable_up_to, target)

    def _durable_up_to(self, seq: int) -> None:
        if seq > self.durable_seq:
            self.durable_seq = seq
        done = [cb for s, cb in self._waiters if s <= seq]
        self._waiters = [(s, cb) for s, cb in self._waiters if s > seq]
        for cb in done:
            cb()

    def after_durable(self, cb: Callable[[], None]) -> None:
        """Run cb (on the event loop) once everything committed so far is on disk."""
        if self.sync != "full" or self.durable_seq >= self.commits:
            cb()
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._waiters.append((self.commits, cb))
        self._wake.set()

    async def durable(self) -> None:
        """Wait until everything committed so far is on disk (no-op unless sync="full")."""
        if self.sync != "full" or self.durable_seq >= self.commits:
            return
        fut = asyncio.get_running_loop().create_future()
        self.after_durable(lambda: fut.done() or fut.set_result(None))
        await fut

    def sync_now(self) -> None:
        """Blocking fsync of the WAL (startup tools and tests outside an event loop)."""
        if self.sync == "full" and self.commits > self.durable_seq and os.path.exists(self.path + "-wal"):
            fd = os.open(self.path + "-wal", os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self.durable_seq = self.commits

    def pragma(self, name: str) -> Any:
        return self.db.execute(f"PRAGMA {name}").fetchone()[0]

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One atomic, durable unit: BEGIN IMMEDIATE ... COMMIT (nested calls join the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield self.db
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.db
        except BaseException:
            self._depth = 0
            self.db.execute("ROLLBACK")
            raise
        self._depth = 0
        self.db.execute("COMMIT")
        self.commits += 1

    # --- meta -------------------------------------------------------------------------------
    def get_meta(self, k: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT v FROM meta WHERE k=?", (k,)).fetchone()
        return row[0] if row else default

    def set_meta(self, k: str, v: str) -> None:
        self.db.execute("INSERT INTO meta(k, v) VALUES(?, ?) ON CONFLICT(k) DO UPDATE SET v=excluded.v",
                        (k, v))

    def next_counter(self, name: str) -> int:
        """A persistent monotonically increasing counter (graph ids); call inside tx()."""
        n = int(self.get_meta(f"counter:{name}", "0")) + 1
        self.set_meta(f"counter:{name}", str(n))
        return n

    def close(self) -> None:
        self.sync_now()
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._wal_fd >= 0:
            os.close(self._wal_fd)
            self._wal_fd = -1
        self.db.close()


def now_ns() -> int:
    return time.time_ns()
