"""Binance signing against Binance's own published worked examples.

Vectors: binance/binance-spot-api-docs @ a5e0bc3d (2026-07-21), rest-api.md "SIGNED endpoint
examples for POST /api/v3/order" (HMAC, plain and non-ASCII symbol) and web-socket-api.md
"SIGNED request example (HMAC)" / session.logon example. Key and secret are the docs' own
example values, published there.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from seqkern.errors import CredentialError
from seqkern.venues.binance.auth import (
    BinanceSigner,
    ed25519_verify_b64,
    hmac_sha256_hex,
    rest_query,
    verify_hmac_sha256_hex,
    wsapi_payload,
)

DOC_API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"

# (payload, signature) as published
REST_ORDER = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
              "&timestamp=1499827319559",
              "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71")
REST_NON_ASCII = ("symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY&type=LIMIT"
                  "&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
                  "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3")
FULLWIDTH_123456 = "\uff11\uff12\uff13\uff14\uff15\uff16"   # the docs' non-ASCII symbol
WSAPI_ORDER_SIG = "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
WSAPI_LOGON_SIG = "1cf54395b336b0a9727ef27d5d98987962bc47aca6e13fe978612d0adee066ed"


@pytest.mark.parametrize("payload,expected", [REST_ORDER, REST_NON_ASCII])
def test_rest_hmac_matches_published_example(payload: str, expected: str) -> None:
    assert hmac_sha256_hex(DOC_SECRET, payload) == expected
    assert verify_hmac_sha256_hex(DOC_SECRET, payload, expected.upper())   # hex is case-insensitive


def test_rest_query_builds_the_published_payloads() -> None:
    params = {"symbol": "LTCBTC", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "1",
              "price": "0.1", "recvWindow": 5000, "timestamp": 1499827319559}
    assert rest_query(params) == REST_ORDER[0]
    params["symbol"] = FULLWIDTH_123456
    assert rest_query(params) == REST_NON_ASCII[0]
    signer = BinanceSigner(DOC_API_KEY, DOC_SECRET)
    assert signer.sign_rest(params).endswith("&signature=" + REST_NON_ASCII[1])


def test_wsapi_order_place_signature_matches_doc_request() -> None:
    # web-socket-api.md order.place example: params sorted by key, apiKey included, raw UTF-8
    params = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "0.01000000", "price": "52000.00", "recvWindow": 100, "timestamp": 1645423376532}
    signed = BinanceSigner(DOC_API_KEY, DOC_SECRET).sign_wsapi(params)
    assert signed["apiKey"] == DOC_API_KEY
    assert signed["signature"] == WSAPI_ORDER_SIG
    assert wsapi_payload(signed).startswith("apiKey=")


def test_wsapi_non_ascii_is_signed_raw_not_percent_encoded() -> None:
    params = {"apiKey": DOC_API_KEY, "price": "0.10000000", "quantity": "1.00000000", "recvWindow": 5000,
              "side": "BUY", "symbol": FULLWIDTH_123456, "timeInForce": "GTC", "timestamp": 1645423376532,
              "type": "LIMIT"}
    assert hmac_sha256_hex(DOC_SECRET, wsapi_payload(params)) == \
        "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd"


def test_session_logon_doc_signature() -> None:
    payload = wsapi_payload({"apiKey": DOC_API_KEY, "timestamp": 1649729878532, "signature": "ignored"})
    assert payload == f"apiKey={DOC_API_KEY}&timestamp=1649729878532"
    assert hmac_sha256_hex(DOC_SECRET, payload) == WSAPI_LOGON_SIG


def test_ed25519_logon_signature_verifies_and_is_base64() -> None:
    # The docs' Ed25519 example does not publish its private key; a fixed test key checks the scheme.
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    signer = BinanceSigner("ed-key", ed25519_pem=pem)
    p = signer.sign_logon(1649729878532)
    assert set(p) == {"apiKey", "timestamp", "signature"}
    assert ed25519_verify_b64(key.public_key(), "apiKey=ed-key&timestamp=1649729878532", p["signature"])
    assert not ed25519_verify_b64(key.public_key(), "apiKey=ed-key&timestamp=1649729878533", p["signature"])
    # Ed25519 is deterministic: the same payload gives the same signature
    assert signer.sign_logon(1649729878532)["signature"] == p["signature"]


def test_signer_never_shows_secrets_and_rejects_missing_ones() -> None:
    s = BinanceSigner(DOC_API_KEY, DOC_SECRET)
    assert DOC_SECRET not in repr(s)
    with pytest.raises(CredentialError) as ei:
        BinanceSigner(DOC_API_KEY)
    assert ei.value.field == "secret"
    with pytest.raises(CredentialError):
        BinanceSigner("", DOC_SECRET)
    with pytest.raises(CredentialError) as ei:
        BinanceSigner("k", ed25519_pem="-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    assert "not a key" not in str(ei.value)
    with pytest.raises(CredentialError):
        s.sign_logon(1)   # HMAC keys cannot log a session on
