"""Crypto.com Exchange v1 signing: hex HMAC-SHA256 of method + id + api_key + paramString + nonce."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from seqkern.errors import CredentialError

MAX_LEVEL = 3       # the docs' paramString recursion depth


def _value(v: Any, level: int) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Mapping):
        return param_string(v, level + 1) if level < MAX_LEVEL else str(v)
    if isinstance(v, (list, tuple)):
        return "".join(_value(x, level) for x in v) if level < MAX_LEVEL else str(v)
    return str(v)


def param_string(params: Mapping[str, Any] | None, level: int = 0) -> str:
    """Keys sorted ascending, each key followed by its value; lists concatenated element by element
    (objects inside recursively key-sorted), ``null`` for None; depth capped at 3."""
    if not params:
        return ""
    if level >= MAX_LEVEL:
        return str(params)
    return "".join(k + _value(params[k], level) for k in sorted(params))


def sign_payload(method: str, req_id: int | str, api_key: str, params: Mapping[str, Any] | None,
                 nonce: int | str) -> str:
    return f"{method}{req_id}{api_key}{param_string(params)}{nonce}"


def signature(secret: str, method: str, req_id: int | str, api_key: str, params: Mapping[str, Any] | None,
              nonce: int | str) -> str:
    if not secret:
        raise CredentialError("a Crypto.com API secret is required to sign", field="api_secret")
    payload = sign_payload(method, req_id, api_key, params, nonce)
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def verify(secret: str, method: str, req_id: int | str, api_key: str, params: Mapping[str, Any] | None,
           nonce: int | str, sig: str) -> bool:
    expected = hmac.new(secret.encode(), sign_payload(method, req_id, api_key, params, nonce).encode(),
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, str(sig).lower())
