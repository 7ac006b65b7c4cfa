"""OKX signing against published example vectors.

Prehash format (OKX v5 docs, "REST Authentication" and "WebSocket Login"): timestamp + METHOD +
requestPath + body, HMAC-SHA256, base64; WS login signs timestamp (Unix seconds) + "GET" +
"/users/self/verify". OKX publishes no expected signature; these vectors are the ones kept in
../shared/venues/doc-examples/okx/signing_test_vectors.json and ws_login_request_vector.json
(the first one is also nautilus_trader's credential.rs unit test).
"""

from __future__ import annotations

import pytest

from seqkern.errors import CredentialError
from seqkern.venues.okx.auth import OkxSigner, iso_timestamp, prehash, sign_b64, verify_b64

VECTORS = [
    ("chNOOS4KvNXR_Xq4k4c9qsfoKWvnDecLATCRlcBwyKDYnWgO", "2020-12-08T09:08:57.715Z", "GET", "/api/v5/account/balance", "",
     "PJ61e1nb2F2Qd7D8SPiaIcx2gjdELc+o0ygzre9z33k="),
    ("22582BD0CFF14C41EDBF1AB98506286D", "2020-12-08T09:08:57.715Z", "GET", "/api/v5/account/balance?ccy=USDT", "",
     "Ku79U+75wKPSP3i+t02ssUto76AYiAT/aws7hI3GZpg="),
    ("22582BD0CFF14C41EDBF1AB98506286D", "1538054050", "GET", "/users/self/verify", "",
     "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="),
]


@pytest.mark.parametrize(("secret", "ts", "method", "path", "body", "expected"), VECTORS)
def test_published_vectors(secret: str, ts: str, method: str, path: str, body: str, expected: str) -> None:
    assert sign_b64(secret, prehash(ts, method, path, body)) == expected
    assert verify_b64(secret, prehash(ts, method, path, body), expected)
    assert not verify_b64(secret, prehash(ts, method, path, body + " "), expected)


def test_ws_login_vector() -> None:
    # doc-examples/okx/ws_login_request_vector.json
    s = OkxSigner("985d5b66-57ce-40fb-b714-afc0b9787083", "22582BD0CFF14C41EDBF1AB98506286D", "123456")
    assert s.login_args(1538054050) == {"apiKey": "985d5b66-57ce-40fb-b714-afc0b9787083", "passphrase": "123456",
                                        "timestamp": "1538054050",
                                        "sign": "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="}


def test_rest_headers_and_timestamp_format() -> None:
    s = OkxSigner("k", "chNOOS4KvNXR_Xq4k4c9qsfoKWvnDecLATCRlcBwyKDYnWgO", "pp")
    h = s.rest_headers("get", "/api/v5/account/balance", timestamp="2020-12-08T09:08:57.715Z")
    assert h["OK-ACCESS-SIGN"] == "PJ61e1nb2F2Qd7D8SPiaIcx2gjdELc+o0ygzre9z33k="
    assert h["OK-ACCESS-PASSPHRASE"] == "pp" and h["OK-ACCESS-KEY"] == "k"
    assert iso_timestamp(1607418537.715) == "2020-12-08T09:08:57.715Z"
    body = '{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"2.15","sz":"2"}'
    h2 = s.rest_headers("POST", "/api/v5/trade/order", body, timestamp="2020-12-08T09:08:57.715Z")
    assert h2["OK-ACCESS-SIGN"] == sign_b64(s._secret, "2020-12-08T09:08:57.715ZPOST/api/v5/trade/order" + body)


def test_missing_parts_and_secrets_hidden() -> None:
    with pytest.raises(CredentialError):
        OkxSigner("k", "s", "")
    with pytest.raises(CredentialError):
        OkxSigner("", "s", "p")
    s = OkxSigner("abcdefgh", "topsecret", "passphrase1")
    assert "topsecret" not in repr(s) and "passphrase1" not in repr(s)
