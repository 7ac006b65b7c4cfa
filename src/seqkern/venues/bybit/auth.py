"""Bybit signing: HMAC-SHA256 lowercase hex of ts+key+recv_window+payload (REST, WS trade header)
and of "GET/realtime"+expires (websocket auth)."""

from __future__ import annotations

import hashlib
import hmac
import time

from seqkern.errors import CredentialError


def rest_prehash(timestamp_ms: int | str, api_key: str, recv_window_ms: int | str, payload: str) -> str:
    """GET: payload = query string; POST: payload = the exact JSON body."""
    return f"{timestamp_ms}{api_key}{recv_window_ms}{payload}"


def ws_auth_prehash(expires_ms: int | str) -> str:
    return f"GET/realtime{expires_ms}"


def sign_hex(secret: str, payload: str) -> str:
    if not secret:
        raise CredentialError("a Bybit API secret is required to sign requests", field="secret")
    return hmac.new(secret.encode(), payload.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_hex(secret: str, payload: str, signature: str) -> bool:
    expected = hmac.new(secret.encode(), payload.encode("utf-8"), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class BybitSigner:
    def __init__(self, api_key: str, secret: str) -> None:
        if not api_key:
            raise CredentialError("a Bybit API key is required", field="api_key")
        if not secret:
            raise CredentialError("a Bybit API secret is required", field="secret")
        self.api_key = api_key
        self._secret = secret

    def __repr__(self) -> str:
        return f"BybitSigner(api_key={self.api_key[:4]}..., secret=<hidden>)"

    def ws_auth_args(self, expires_ms: int | None = None, ttl_ms: int = 10_000) -> list[object]:
        """args of {"op":"auth"}: [api_key, expires (ms, in the future), hex signature]."""
        exp = int(time.time() * 1000) + ttl_ms if expires_ms is None else expires_ms
        return [self.api_key, exp, sign_hex(self._secret, ws_auth_prehash(exp))]

    def rest_headers(self, payload: str, recv_window_ms: int = 5000, timestamp_ms: int | None = None) -> dict[str, str]:
        ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        return {"X-BAPI-API-KEY": self.api_key, "X-BAPI-TIMESTAMP": str(ts),
                "X-BAPI-RECV-WINDOW": str(recv_window_ms),
                "X-BAPI-SIGN": sign_hex(self._secret, rest_prehash(ts, self.api_key, recv_window_ms, payload)),
                "Content-Type": "application/json"}
