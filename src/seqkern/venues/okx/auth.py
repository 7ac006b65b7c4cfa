"""OKX signing: base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body)) for REST and WS login."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

from seqkern.errors import CredentialError
from seqkern.venues.okx import constants as C


def prehash(timestamp: str, method: str, request_path: str, body: str = "") -> str:
    """The signed string: timestamp + upper-case method + path (with ?query for GET) + exact body."""
    return f"{timestamp}{method.upper()}{request_path}{body}"


def sign_b64(secret: str, payload: str) -> str:
    if not secret:
        raise CredentialError("an OKX API secret is required to sign requests", field="secret")
    return base64.b64encode(hmac.new(secret.encode(), payload.encode("utf-8"), hashlib.sha256).digest()).decode()


def verify_b64(secret: str, payload: str, signature: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), payload.encode("utf-8"), hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)


def iso_timestamp(now_s: float | None = None) -> str:
    """REST timestamp: ISO-8601 UTC with milliseconds, e.g. 2020-12-08T09:08:57.715Z."""
    dt = datetime.fromtimestamp(time.time() if now_s is None else now_s, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class OkxSigner:
    """One OKX account: API key, secret and passphrase (all three required)."""

    def __init__(self, api_key: str, secret: str, passphrase: str) -> None:
        if not api_key:
            raise CredentialError("an OKX API key is required", field="api_key")
        if not secret:
            raise CredentialError("an OKX API secret is required", field="secret")
        if not passphrase:
            raise CredentialError("an OKX API passphrase is required", field="passphrase")
        self.api_key = api_key
        self._secret = secret
        self._passphrase = passphrase

    def __repr__(self) -> str:
        return f"OkxSigner(api_key={self.api_key[:4]}..., secret=<hidden>, passphrase=<hidden>)"

    def login_args(self, timestamp_s: int | None = None) -> dict[str, str]:
        """Args of the WS ``login`` op: timestamp in Unix seconds, sign over ts+GET+/users/self/verify."""
        ts = str(int(time.time()) if timestamp_s is None else timestamp_s)
        return {"apiKey": self.api_key, "passphrase": self._passphrase, "timestamp": ts,
                "sign": sign_b64(self._secret, prehash(ts, "GET", C.LOGIN_PATH))}

    def rest_headers(self, method: str, request_path: str, body: str = "", timestamp: str | None = None) -> dict[str, str]:
        ts = timestamp or iso_timestamp()
        return {"OK-ACCESS-KEY": self.api_key,
                "OK-ACCESS-SIGN": sign_b64(self._secret, prehash(ts, method, request_path, body)),
                "OK-ACCESS-TIMESTAMP": ts, "OK-ACCESS-PASSPHRASE": self._passphrase,
                "Content-Type": "application/json"}
