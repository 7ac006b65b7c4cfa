"""API keys: `seq_live_...` routes to venues, `seq_test_...` is sandbox; stored as SHA-256 hashes
with their scopes, shown in full exactly once (at creation)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from seqkern.cc.journal import Journal, now_ns
from seqkern.errors import BadRequest, Forbidden, Unauthorized

SCOPES = ("read", "trade", "credentials", "admin")
LIVE_PREFIX = "seq_live_"
TEST_PREFIX = "seq_test_"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A verified caller: the key's id (a hash prefix, safe to log), scopes and sandbox flag."""

    key_id: str
    scopes: frozenset[str]
    sandbox: bool
    label: str

    def require(self, scope: str) -> None:
        if scope not in self.scopes and "admin" not in self.scopes:
            raise Forbidden(f"this API key lacks the {scope!r} scope")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyStore:
    """Keys are 32 random bytes (base62-ish, 43 chars), so a plain SHA-256 is a sound verifier."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._cache: dict[str, ApiKey] = {}

    def create(self, scopes: list[str] | tuple[str, ...], *, sandbox: bool = False,
               label: str = "") -> tuple[str, ApiKey]:
        bad = [s for s in scopes if s not in SCOPES]
        if bad or not scopes:
            raise BadRequest(f"scopes must be a non-empty subset of {list(SCOPES)}")
        key = (TEST_PREFIX if sandbox else LIVE_PREFIX) + secrets.token_urlsafe(32)
        h = _hash(key)
        info = ApiKey(h[:16], frozenset(scopes), sandbox, label)
        with self._journal.tx() as db:
            db.execute("INSERT INTO api_keys(key_id, key_hash, scopes, sandbox, label, created_ns) "
                       "VALUES(?,?,?,?,?,?)",
                       (info.key_id, h, ",".join(sorted(scopes)), int(sandbox), label, now_ns()))
        return key, info

    def verify(self, key: str | None) -> ApiKey:
        if not key:
            raise Unauthorized("missing API key: send 'Authorization: Bearer seq_live_...' "
                               "or 'seq_test_...'")
        if not (key.startswith(LIVE_PREFIX) or key.startswith(TEST_PREFIX)):
            raise Unauthorized("malformed API key")
        h = _hash(key)
        hit = self._cache.get(h)
        if hit is not None:
            return hit
        row = self._journal.db.execute(
            "SELECT key_id, key_hash, scopes, sandbox, label FROM api_keys WHERE key_hash=? AND revoked=0",
            (h,)).fetchone()
        if row is None or not hmac.compare_digest(row[1], h):
            raise Unauthorized("unknown or revoked API key")
        info = ApiKey(row[0], frozenset(row[2].split(",")), bool(row[3]), row[4])
        self._cache[h] = info
        return info

    def revoke(self, key_id: str) -> bool:
        with self._journal.tx() as db:
            cur = db.execute("UPDATE api_keys SET revoked=1 WHERE key_id=?", (key_id,))
        self._cache = {h: k for h, k in self._cache.items() if k.key_id != key_id}
        return cur.rowcount > 0

    def listing(self) -> list[dict]:
        return [{"key_id": r[0], "scopes": r[1].split(","), "sandbox": bool(r[2]), "label": r[3],
                 "revoked": bool(r[4])}
                for r in self._journal.db.execute(
                    "SELECT key_id, scopes, sandbox, label, revoked FROM api_keys ORDER BY created_ns")]
