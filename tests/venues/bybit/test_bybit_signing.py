"""Bybit signing against published example vectors.

Prehash formats (bybit-exchange/docs v5 guide.mdx "Authentication" and websocket
wss-authentication.mdx): REST GET ts+api_key+recv_window+queryString, POST ts+api_key+recv_window+
body, websocket auth "GET/realtime"+expires; HMAC-SHA256 lowercase hex. Bybit's docs print these
prehash strings with a secret they do not publish, so the vectors here are the ones in
../shared/venues/doc-examples/bybit/signing_test_vectors.json (secret "test_secret").
"""

from __future__ import annotations

import pytest

from seqkern.errors import CredentialError
from seqkern.venues.bybit.auth import (
    BybitSigner,
    rest_prehash,
    sign_hex,
    verify_hex,
    ws_auth_prehash,
)

SECRET = "test_secret"


def test_rest_get_vector() -> None:
    pre = rest_prehash(1658384314791, "XXXXXXXXXX", 5000, "category=option&symbol=BTC-29JUL22-25000-C")
    assert pre == "1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C"
    assert sign_hex(SECRET, pre) == "2c42d015234a3fc985e5294b2665235b3f51cf59dfbbde6be0097d0bc33256bf"


def test_rest_post_vector() -> None:
    pre = rest_prehash(1658385579423, "XXXXXXXXXX", 5000, '{"category": "option"}')
    assert sign_hex(SECRET, pre) == "7fdd84061f25faa9566fa013c0dd25adcb78a0ab90cbb992c0f12427d82f7221"


def test_ws_auth_vector() -> None:
    sig = "dad2d67a66c9ee401d2e6e7bf26ebd10eb1026db8a703bf3139c6950ce11a5c6"
    assert ws_auth_prehash(1662350400000) == "GET/realtime1662350400000"
    assert sign_hex(SECRET, ws_auth_prehash(1662350400000)) == sig
    assert BybitSigner("api_key", SECRET).ws_auth_args(1662350400000) == ["api_key", 1662350400000, sig]
    assert verify_hex(SECRET, "GET/realtime1662350400000", sig)
    assert not verify_hex(SECRET, "GET/realtime1662350400001", sig)


def test_rest_headers() -> None:
    h = BybitSigner("XXXXXXXXXX", SECRET).rest_headers('{"category": "option"}', 5000, 1658385579423)
    assert h["X-BAPI-SIGN"] == "7fdd84061f25faa9566fa013c0dd25adcb78a0ab90cbb992c0f12427d82f7221"
    assert h["X-BAPI-TIMESTAMP"] == "1658385579423" and h["X-BAPI-RECV-WINDOW"] == "5000"


def test_missing_parts_and_secret_hidden() -> None:
    with pytest.raises(CredentialError):
        BybitSigner("k", "")
    assert "test_secret" not in repr(BybitSigner("kkkkkkkk", SECRET))
