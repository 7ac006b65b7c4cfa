"""Bitget v2 signing: base64 HMAC-SHA256 of timestamp + METHOD + requestPath[?query] + body; WS login."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from seqkern.errors import CredentialError


def prehash(timestamp: str, method: str, request_path: str, query: str = "", body: str = "") -> str:
    return f"{timestamp}{method.upper()}{request_path}{'?' + query if query else ''}{body}"


def sign(secret: str, message: str) -> str:
    if not secret:
        raise CredentialError("a Bitget API secret is required to sign", field="api_secret")
    return base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()).decode()


def verify(secret: str, message: str, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, message), signature) if secret else False


def sorted_query(params: Mapping[str, Any]) -> str:
    """GET query signed raw (not percent-encoded) with keys sorted, as sent."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params))


def rest_headers(api_key: str, secret: str, passphrase: str, timestamp: str, method: str, path: str,
                 query: str = "", body: str = "") -> dict[str, str]:
    return {"ACCESS-KEY": api_key, "ACCESS-SIGN": sign(secret, prehash(timestamp, method, path, query, body)),
            "ACCESS-TIMESTAMP": timestamp, "ACCESS-PASSPHRASE": passphrase, "Content-Type": "application/json",
            "locale": "en-US"}


def login_args(api_key: str, secret: str, passphrase: str, timestamp_s: str) -> dict[str, str]:
    """WS login: sign(timestamp + "GET" + "/user/verify"); the timestamp in seconds."""
    return {"apiKey": api_key, "passphrase": passphrase, "timestamp": timestamp_s,
            "sign": sign(secret, prehash(timestamp_s, "GET", "/user/verify"))}
