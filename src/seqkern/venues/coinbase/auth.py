"""Coinbase CDP API keys: a JWT per request, ES256 (EC P-256) or EdDSA (Ed25519), 120 s lifetime.

Header {"alg","kid": key name,"nonce","typ":"JWT"}; claims {"sub": key name,"iss":"cdp","nbf","exp"}
plus, for REST only, "uri": "<METHOD> <host><path>". The websocket JWT has no uri.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from seqkern.errors import CredentialError

JWT_LIFETIME_S = 120


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_key(pem: str) -> ec.EllipticCurvePrivateKey | Ed25519PrivateKey:
    """A CDP private key: PEM EC P-256 (ES256) or Ed25519 (EdDSA)."""
    try:
        key = load_pem_private_key(pem.replace("\\n", "\n").encode(), password=None)
    except (ValueError, TypeError):
        raise CredentialError("the Coinbase API secret is not a PEM private key", field="api_secret") from None
    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise CredentialError("Coinbase CDP keys are EC P-256 (ES256) or Ed25519", field="api_secret")


def rest_uri(method: str, host: str, path: str) -> str:
    return f"{method.upper()} {host}{path}"


def build_jwt(key_name: str, key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey, *, uri: str | None = None,
              now: int | None = None, nonce: str | None = None) -> str:
    t = int(time.time()) if now is None else now
    alg = "EdDSA" if isinstance(key, Ed25519PrivateKey) else "ES256"
    header = {"alg": alg, "kid": key_name, "nonce": nonce or secrets.token_hex(16), "typ": "JWT"}
    claims: dict[str, Any] = {"sub": key_name, "iss": "cdp", "nbf": t, "exp": t + JWT_LIFETIME_S}
    if uri is not None:
        claims["uri"] = uri
    signing_input = f"{b64url(orjson.dumps(header))}.{b64url(orjson.dumps(claims))}".encode()
    if isinstance(key, Ed25519PrivateKey):
        sig = key.sign(signing_input)
    else:
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")     # JWS ES256: raw r || s
    return f"{signing_input.decode()}.{b64url(sig)}"


class JwtError(ValueError):
    pass


def verify_jwt(token: str, public_key: ec.EllipticCurvePublicKey | Ed25519PublicKey, *,
               now: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check signature, algorithm and time window; returns (header, claims). Raises JwtError."""
    try:
        h64, c64, s64 = token.split(".")
        header = orjson.loads(b64url_decode(h64))
        claims = orjson.loads(b64url_decode(c64))
        sig = b64url_decode(s64)
    except (ValueError, orjson.JSONDecodeError):
        raise JwtError("malformed JWT") from None
    data = f"{h64}.{c64}".encode()
    try:
        if isinstance(public_key, Ed25519PublicKey):
            if header.get("alg") != "EdDSA":
                raise JwtError("wrong alg")
            public_key.verify(sig, data)
        else:
            if header.get("alg") != "ES256" or len(sig) != 64:
                raise JwtError("wrong alg")
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
            public_key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise JwtError("bad signature") from None
    t = int(time.time()) if now is None else now
    if claims.get("iss") != "cdp" or claims.get("sub") != header.get("kid"):
        raise JwtError("wrong issuer or subject")
    if not (int(claims.get("nbf", 0)) - 5 <= t < int(claims.get("exp", 0))):
        raise JwtError("expired")
    return header, claims
