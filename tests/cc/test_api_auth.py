"""Auth: 401 without or with a bad key, 403 without the scope, error JSON shape, routes."""

from __future__ import annotations

from tests.cc.harness import http


def test_health_needs_no_key(cc):
    st, doc = http("GET", cc.url + "/v1/health")
    assert st == 200 and doc["status"] == "ok" and doc["region"] == "ap"
    assert doc["journal"]["sync"] == "full"


def test_missing_and_bad_keys_are_401(cc):
    for path in ("/v1/edges", "/v1/pairs", "/v1/quotes/BTC-USDT", "/v1/orders", "/v1/credentials"):
        st, doc = http("GET", cc.url + path)
        assert st == 401, path
        assert doc["error"]["code"] == "UNAUTHORIZED"
        assert doc["error"]["message"]
    st, doc = http("GET", cc.url + "/v1/edges", key="seq_live_notakey")
    assert st == 401 and doc["error"]["code"] == "UNAUTHORIZED"
    st, doc = http("GET", cc.url + "/v1/edges", key="sk-something-else")
    assert st == 401


def test_scopes_are_403(cc):
    read = cc.key(["read"])
    st, _ = http("GET", cc.url + "/v1/pairs", key=read)
    assert st == 200
    st, doc = http("POST", cc.url + "/v1/orders", {"symbol": "BTC-USDT", "side": "buy", "qty": "1"},
                   key=read)
    assert st == 403 and doc["error"]["code"] == "FORBIDDEN"
    st, doc = http("POST", cc.url + "/v1/credentials/binance", {"api_key": "a", "api_secret": "b"},
                   key=read)
    assert st == 403
    st, doc = http("POST", cc.url + "/v1/keys", {"scopes": ["read"]}, key=read)
    assert st == 403


def test_keys_are_stored_hashed(cc):
    st, doc = http("POST", cc.url + "/v1/keys", {"scopes": ["read", "trade"], "sandbox": True},
                   key=cc.admin)
    assert st == 201 and doc["key"].startswith("seq_test_")
    key = doc["key"]
    rows = cc.call(lambda: cc.cc.journal.db.execute("SELECT * FROM api_keys").fetchall())
    assert not any(key in str(r) for r in rows)
    with open(cc.cc.journal.path, "rb") as f:
        assert key.encode() not in f.read()
    st, _ = http("GET", cc.url + "/v1/orders", key=key)
    assert st == 200
    st, doc = http("POST", cc.url + "/v1/keys", {"scopes": ["root"]}, key=cc.admin)
    assert st == 400 and doc["error"]["code"] == "BAD_REQUEST"


def test_unknown_route_and_bad_json(cc):
    st, doc = http("GET", cc.url + "/v1/nope", key=cc.admin)
    assert st == 404 and doc["error"]["code"] == "NOT_FOUND"
    st, doc = http("POST", cc.url + "/v1/orders", raw=b"{not json", key=cc.admin)
    assert st == 400 and doc["error"]["code"] == "BAD_JSON"
    st, doc = http("POST", cc.url + "/v1/orders", raw=b"[1,2]", key=cc.admin)
    assert st == 400


def test_market_data_shapes(cc):
    st, q = http("GET", cc.url + "/v1/quotes/BTC-USDT", key=cc.admin)
    assert st == 200
    assert set(q) >= {"symbol", "nbbo", "venues"}
    assert q["nbbo"]["bid"] == 100000.5 and q["nbbo"]["ask"] == 100000.9
    assert abs(q["nbbo"]["mid"] - 100000.7) < 1e-6
    assert q["nbbo"]["spread_bps"] > 0
    assert q["venues"]["binance"] == {**q["venues"]["binance"], "bid": 100000.0, "ask": 100001.0,
                                      "bid_size": 1.5, "ask_size": 1.0}
    st, b = http("GET", cc.url + "/v1/book/BTC-USDT?depth=1", key=cc.admin)
    assert st == 200 and b["venues"]["binance"]["bids"] == [[100000.0, 1.5]]
    assert b["venues"]["binance"]["asks_1e9_1e8"] == [[100001000000000], [100000000]]
    st, doc = http("GET", cc.url + "/v1/book/BTC-USDT?depth=abc", key=cc.admin)
    assert st == 400
    st, doc = http("GET", cc.url + "/v1/quotes/NOPE-USD", key=cc.admin)
    assert st == 404 and doc["error"]["code"] == "UNKNOWN_SYMBOL"
    st, pairs = http("GET", cc.url + "/v1/pairs", key=cc.admin)
    assert {p["symbol"]: p["venues"] for p in pairs}["BTC-USDT"] == ["binance", "okx"]
    st, v = http("GET", cc.url + "/v1/pairs/BTC-USD/venues", key=cc.admin)
    assert [x["venue"] for x in v["venues"]] == ["kraken"]
    assert v["venues"][0]["credentials"] is False
