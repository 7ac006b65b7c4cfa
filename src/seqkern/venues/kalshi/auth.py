"""Kalshi request signing: timestamp_ms + METHOD + path (no query), RSA-PSS SHA-256 or Ed25519."""

from __future__ import annotations

import base64
import time
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from seqkern.errors import CredentialError

HDR_KEY = "KALSHI-ACCESS-KEY"
HDR_TS = "KALSHI-ACCESS-TIMESTAMP"
HDR_SIG = "KALSHI-ACCESS-SIGNATURE"

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def signing_path(path_or_url: str) -> str:
    """The signed path: the URL path with the /trade-api/... prefix, without ``?query``."""
    if "://" in path_or_url:
        return urlsplit(path_or_url).path
    return path_or_url.split("?", 1)[0]


def presign_text(ts_ms: int | str, method: str, path_or_url: str) -> bytes:
    return f"{ts_ms}{method.upper()}{signing_path(path_or_url)}".encode()


class KalshiSigner:
    """Signs Kalshi requests with the account's key (type detected from the parsed key, not the PEM).

    ``repr`` never shows key material; the private key object is built once.
    """

    __slots__ = ("_key", "key_id", "key_type")

    def __init__(self, key_id: str, private_key_pem: str) -> None:
        try:
            key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        except (ValueError, TypeError):
            raise CredentialError("Kalshi private key is not a readable unencrypted PEM key",
                                  code="BAD_CREDENTIALS") from None
        if isinstance(key, rsa.RSAPrivateKey):
            self.key_type = "rsa"
        elif isinstance(key, ed25519.Ed25519PrivateKey):
            self.key_type = "ed25519"
        else:
            raise CredentialError("Kalshi keys are RSA or Ed25519", code="BAD_CREDENTIALS")
        self._key = key
        self.key_id = key_id

    def __repr__(self) -> str:
        return f"KalshiSigner(key_id={self.key_id[:8]}..., {self.key_type})"

    def sign(self, message: bytes) -> str:
        if self.key_type == "rsa":
            sig = self._key.sign(message, _PSS, hashes.SHA256())
        else:
            sig = self._key.sign(message)
        return base64.b64encode(sig).decode()

    def headers(self, method: str, path_or_url: str, ts_ms: int | None = None) -> dict[str, str]:
        ts = int(time.time() * 1000) if ts_ms is None else ts_ms
        return {HDR_KEY: self.key_id, HDR_TS: str(ts), HDR_SIG: self.sign(presign_text(ts, method, path_or_url))}


def verify(public_key_pem: str, signature_b64: str, message: bytes) -> bool:
    """Check a Kalshi signature against a registered public key (RSA-PSS or Ed25519)."""
    try:
        pub = serialization.load_pem_public_key(public_key_pem.encode())
        sig = base64.b64decode(signature_b64, validate=True)
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(sig, message, _PSS, hashes.SHA256())
        elif isinstance(pub, ed25519.Ed25519PublicKey):
            pub.verify(sig, message)
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
