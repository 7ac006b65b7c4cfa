"""Binance request signing: HMAC-SHA256 (REST and WS API) and Ed25519 (WS API session.logon)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from seqkern.errors import CredentialError


def param_str(value: Any) -> str:
    """A parameter value as Binance expects it in the signed payload."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def rest_query(params: Mapping[str, Any]) -> str:
    """REST query string in the given order, non-ASCII percent-encoded (UTF-8) as Binance signs it."""
    return "&".join(f"{k}={quote(param_str(v), safe='-_.~')}" for k, v in params.items())


def wsapi_payload(params: Mapping[str, Any]) -> str:
    """WS API payload: every param except ``signature``, sorted by key, joined k=v&..., raw UTF-8."""
    return "&".join(f"{k}={param_str(params[k])}" for k in sorted(params) if k != "signature")


def hmac_sha256_hex(secret: str, payload: str) -> str:
    if not secret:
        raise CredentialError("an HMAC secret is required to sign Binance requests", field="secret")
    return hmac.new(secret.encode(), payload.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_hmac_sha256_hex(secret: str, payload: str, signature: str) -> bool:
    """Binance HMAC signatures are case-insensitive hex."""
    expected = hmac.new(secret.encode(), payload.encode("utf-8"), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.lower())


def load_ed25519_key(pem: str) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise CredentialError("the Ed25519 private key is not a valid unencrypted PEM key",
                              field="ed25519_private_key_pem") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CredentialError("the private key is not an Ed25519 key", field="ed25519_private_key_pem")
    return key


def ed25519_sign_b64(key: Ed25519PrivateKey, payload: str) -> str:
    """Ed25519 signature of the payload, base64 (case-sensitive), as the WS API expects."""
    return base64.b64encode(key.sign(payload.encode("utf-8"))).decode()


def ed25519_verify_b64(public_key: Ed25519PublicKey, payload: str, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), payload.encode("utf-8"))
    except Exception:
        return False
    return True


class BinanceSigner:
    """Signs with one account's HMAC secret (and Ed25519 key for session.logon when given)."""

    def __init__(self, api_key: str, secret: str = "", ed25519_pem: str = "") -> None:
        if not api_key:
            raise CredentialError("a Binance API key is required", field="api_key")
        if not secret and not ed25519_pem:
            raise CredentialError("a Binance HMAC secret or Ed25519 key is required", field="secret")
        self.api_key = api_key
        self._secret = secret
        self._ed = load_ed25519_key(ed25519_pem) if ed25519_pem else None

    def __repr__(self) -> str:
        return f"BinanceSigner(api_key={self.api_key[:4]}..., secret=<hidden>)"

    @property
    def has_ed25519(self) -> bool:
        return self._ed is not None

    def _sign(self, payload: str) -> str:
        # an Ed25519 API key signs every request with Ed25519; an HMAC key with HMAC-SHA256
        if self._ed is not None:
            return ed25519_sign_b64(self._ed, payload)
        return hmac_sha256_hex(self._secret, payload)

    def sign_rest(self, params: dict[str, Any]) -> str:
        """Signed REST query string (params + signature, the base64 of Ed25519 percent-encoded)."""
        q = rest_query(params)
        return f"{q}&signature={quote(self._sign(q), safe='')}"

    def sign_wsapi(self, params: dict[str, Any]) -> dict[str, Any]:
        """WS API params with apiKey and signature added."""
        p = dict(params)
        p["apiKey"] = self.api_key
        p["signature"] = self._sign(wsapi_payload(p))
        return p

    def sign_logon(self, timestamp_ms: int) -> dict[str, Any]:
        """session.logon params: Ed25519 signature of apiKey+timestamp (Ed25519 keys only)."""
        if self._ed is None:
            raise CredentialError("session.logon needs an Ed25519 key", field="ed25519_private_key_pem")
        p: dict[str, Any] = {"apiKey": self.api_key, "timestamp": timestamp_ms}
        p["signature"] = ed25519_sign_b64(self._ed, wsapi_payload(p))
        return p
