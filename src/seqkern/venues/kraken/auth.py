"""Kraken REST signing: API-Sign = base64(HMAC-SHA512(b64decode(secret), path + SHA256(nonce + postdata)))."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import time

from seqkern.errors import CredentialError


def rest_signature(secret_b64: str, uri_path: str, nonce: str, post_data: str) -> str:
    """The API-Sign header of one private REST call (the docs' worked example is in the tests)."""
    try:
        key = base64.b64decode(secret_b64, validate=True)
    except (binascii.Error, ValueError):
        raise CredentialError("the Kraken API secret is not base64", field="api_secret") from None
    digest = hashlib.sha256((nonce + post_data).encode()).digest()
    mac = hmac.new(key, uri_path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def verify_rest_signature(secret_b64: str, uri_path: str, nonce: str, post_data: str, signature: str) -> bool:
    try:
        expected = rest_signature(secret_b64, uri_path, nonce, post_data)
    except CredentialError:
        return False
    return hmac.compare_digest(expected, signature)


class NonceSource:
    """Strictly increasing nonces per API key (milliseconds, bumped when two calls share one)."""

    def __init__(self) -> None:
        self._last = 0
        self._tie = itertools.count()

    def next(self) -> str:
        n = max(time.time_ns() // 1_000_000, self._last + 1)
        self._last = n
        return str(n)
