"""Order lifecycle over the API: sandbox fills against the CC's books, parent/child states,
reservations, idempotency, cancel/amend/decrease/batch, kill switch, routing errors."""

from __future__ import annotations

import numpy as np
import pytest

from seqkern.cc.orders import TERMINAL, TRANSITIONS, OrderState, check_transition
from seqkern.errors import InvalidTransition
from tests.cc.harness import http


def order(cc, key, **body):
    return http("POST", cc.url + "/v1/orders", body, key=key)


def test_state_machine_table():
    for s in TERMINAL:
        assert TRANSITIONS[s] == frozenset()
        with pytest.raises(InvalidTransition):
            check_transition("x", s, OrderState.ACCEPTED)
    check_transition("x", OrderState.NEW, OrderState.ACCEPTED)
    with pytest.raises(InvalidTransition):
        check_transition("x", OrderState.ACCEPTED, OrderState.NEW)


def test_sandbox_market_buy_routes_through_the_sor_and_fills(cc):
    key = cc.key(["read", "trade"], sandbox=True)
    st, o = order(cc, key, symbol="BTC-USDT", side="buy", qty="0.5")
    assert st == 201, o
    assert o["order_id"] == f"graph:{o['graph_id']}:n1:0"
    assert o["status"] == "filled" and o["terminal"] and o["fill_pct"] == 100.0
    assert o["sandbox"] is True
    # books: okx 0.2 @ 100000.9 then 5 @ 100003; binance 1 @ 100001; both 10 bps taker (catalog).
    # The SOR takes okx's 0.2 first, then 0.3 on binance.
    legs = {c["venue"]: c for c in o["children"]}
    assert legs["okx"]["filled_qty_1e8"] == 20_000_000 and legs["okx"]["avg_price_1e9"] == 100000_900000000
    assert legs["binance"]["filled_qty_1e8"] == 30_000_000
    assert legs["binance"]["avg_price_1e9"] == 100001_000000000
    assert o["avg_price_1e9"] == (20_000_000 * 100000_900000000 + 30_000_000 * 100001_000000000) // 50_000_000
    assert o["routing"]["costs"]["fees_bps"] == pytest.approx(10.0, abs=0.01)
    assert o["routing"]["ranking"][0]["venue"] == "okx"
    for child in o["children"]:
        assert child["order_id"].startswith(f"graph:{o['graph_id']}:n1:") and child["status"] == "filled"
    st, fills = http("GET", cc.url + "/v1/fills?order_id=" + o["order_id"], key=key)
    assert st == 200 and sorted(f["qty_1e8"] for f in fills) == [20_000_000, 30_000_000]
    # sandbox balances moved per venue, no reservation left
    bal = {(b["venue"], b["asset"]): b for b in http("GET", cc.url + "/v1/balances", key=key)[1]}
    assert bal[(3, "BTC")]["balance_1e8"] == 100 * 10**8 + 30_000_000
    assert bal[(8, "BTC")]["balance_1e8"] == 100 * 10**8 + 20_000_000
    assert bal[(3, "USDT")]["balance_1e8"] == 1_000_000 * 10**8 - 30_000_000 * 100001
    assert all(b["reserved_1e8"] == 0 for b in bal.values())
    # every transition is in the journal
    child = legs["binance"]
    rows = cc.call(lambda: cc.cc.journal.db.execute(
        "SELECT to_state FROM transitions WHERE order_id=? ORDER BY seq", (child["order_id"],)).fetchall())
    assert [r[0] for r in rows] == ["new", "accepted", "filled"]


def test_large_market_order_splits_across_venues(cc):
    key = cc.key(["read", "trade"], sandbox=True)
    st, o = order(cc, key, symbol="BTC-USDT", side="buy", qty="6")
    assert st == 201
    assert sorted(o["venues"]) == ["binance", "okx"]
    assert o["status"] == "filled" and o["filled_qty_1e8"] == 600_000_000


def test_market_remainder_expires(cc):
    key = cc.key(["read", "trade"], sandbox=True)
    st, o = order(cc, key, symbol="ETH-USDT", side="sell", qty="15")
    assert st == 201
    assert o["status"] == "expired" and o["filled_qty_1e8"] == 10 * 10**8
    assert o["fill_pct"] == pytest.approx(66.666667)
    assert o["failure_reason"]


def test_resting_limit_reserves_then_fills_on_book_move(cc):
    key = cc.key(["read", "trade"], sandbox=True)
    st, o = order(cc, key, symbol="ETH-USDT", side="buy", qty="2", price="2999.5",
                  client_request_id="rest-1")
    assert st == 201 and o["status"] == "accepted" and not o["terminal"]
    res = cc.call(lambda: cc.cc.ledger.reserved("sandbox", 3, "USDT"))
    assert res == 2 * 2999_5 * 10**7
    st, opn = http("GET", cc.url + "/v1/orders", key=key)
    assert [x["order_id"] for x in opn] == [o["order_id"]]
    # the book moves through the limit: the resting order fills
    cc.call(lambda: cc.cc.market.apply_book(
        "ETH-USDT", 3, np.array([2999_000000000], dtype=np.int64), np.array([10**9], dtype=np.int64),
        np.array([2999_400000000], dtype=np.int64), np.array([10**8], dtype=np.int64), snapshot=True))
    st, o2 = http("GET", cc.url + "/v1/orders/" + o["order_id"], key=key)
    assert o2["status"] == "partially_filled" and o2["filled_qty_1e8"] == 10**8
    cc.call(lambda: cc.cc.market.apply_book(
        "ETH-USDT", 3, np.array([2999_000000000], dtype=np.int64), np.array([10**9], dtype=np.int64),
        np.array([2999_500000000], dtype=np.int64), np.array([5 * 10**8], dtype=np.int64), snapshot=True))
    st, o3 = http("GET", cc.url + "/v1/orders/" + o["order_id"], key=key)
    assert o3["status"] == "filled" and o3["terminal"]
    assert cc.call(lambda: cc.cc.ledger.reserved("sandbox", 3, "USDT")) == 0


def test_idempotency_by_client_request_id(cc):
    key = cc.key(["read", "trade"], sandbox=True)
    st1, a = order(cc, key, symbol="ETH-USDT", side="buy", qty="1", price="2000",
                   client_request_id="abc")
    st2, b = order(cc, key, symbol="ETH-USDT", side="buy", qty="1", price="2000",
                   client_request_id="abc")
    assert (st1, st2) == (201, 200)
    assert a["order_id"] == b["order_id"] and b["duplicate"] is True
    assert len(http("GET", cc.url + "/v1/orders", key=key)[1]) == 1


def test_cancel_amend_decrease(cc):
    key = cc.key(["read", "trade"], sandbox=True)
    _, o = order(cc, key, symbol="ETH-USDT", side="buy", qty="3", price="2990")
    oid = o["order_id"]
    st, d = http("POST", cc.url + f"/v1/orders/{oid}/decrease", {"qty": "1"}, key=key)
    assert st == 200 and d["qty_1e8"] == 2 * 10**8 and d["status"] == "accepted"
    assert cc.call(lambda: cc.cc.ledger.reserved("sandbox", 3, "USDT")) == 2 * 2990 * 10**8
    st, a = http("POST", cc.url + f"/v1/orders/{oid}/amend", {"price": "2995"}, key=key)
    assert st == 200 and a["amend_mode"] == "cancel_replace"
    assert a["price_1e9"] == 2995 * 10**9 and a["status"] == "accepted"
    assert [c["status"] for c in a["children"]] == ["cancelled", "accepted"]
    assert cc.call(lambda: cc.cc.ledger.reserved("sandbox", 3, "USDT")) == 2 * 2995 * 10**8
    # amend into the market: it fills
    st, a2 = http("POST", cc.url + f"/v1/orders/{oid}/amend", {"price": "3001"}, key=key)
    assert a2["status"] == "filled" and a2["avg_price_1e9"] == 3000_500000000
    st, e = http("POST", cc.url + f"/v1/orders/{oid}/cancel", key=key)
    assert st == 409 and e["error"]["code"] == "ORDER_NOT_OPEN"
    _, o = order(cc, key, symbol="ETH-USDT", side="sell", qty="1", price="3100")
    st, c = http("DELETE", cc.url + "/v1/orders/" + o["order_id"], key=key)
    assert st == 200 and c["status"] == "cancelled" and c["terminal"]
    assert cc.call(lambda: cc.cc.ledger.reserved("sandbox", 3, "ETH")) == 0


def test_batch_is_serial_with_per_order_results(cc):
    key = cc.key(["read", "trade"], sandbox=True)
    st, b = http("POST", cc.url + "/v1/orders/batch", {"orders": [
        {"symbol": "ETH-USDT", "side": "buy", "qty": "1", "price": "2000"},
        {"symbol": "NOPE-X", "side": "buy", "qty": "1"},
        {"symbol": "ETH-USDT", "side": "sell", "qty": "0.5"},
    ]}, key=key)
    assert st == 200 and b["batch_mode"] == "serial"
    assert [r["ok"] for r in b["results"]] == [True, False, True]
    assert b["results"][1]["error"]["code"] == "NO_ROUTABLE_VENUE"


def test_live_routing_needs_credentials(cc):
    live = cc.key(["read", "trade"])
    st, e = order(cc, live, symbol="BTC-USD", side="buy", qty="0.1")
    assert st == 422 and e["error"]["code"] == "NO_ROUTABLE_VENUE"
    assert "credentials" in e["error"]["message"] and "BTC-USD" in e["error"]["message"]
    http("POST", cc.url + "/v1/credentials/binance", {"api_key": "k", "api_secret": "s"}, key=cc.admin)
    # Binance credentials do not help a BTC-USD order (spec's example)
    st, e = order(cc, live, symbol="BTC-USD", side="buy", qty="0.1")
    assert st == 422 and e["error"]["code"] == "NO_ROUTABLE_VENUE"
    # with credentials but no connected edge: 503
    st, e = order(cc, live, symbol="BTC-USDT", side="buy", qty="0.1", venue="binance")
    assert st == 503 and e["error"]["code"] == "VENUE_UNAVAILABLE"
    # the per-order sandbox flag needs no credentials
    st, o = order(cc, live, symbol="BTC-USD", side="buy", qty="0.1", sandbox=True)
    assert st == 201 and o["sandbox"] and o["status"] == "filled"


@pytest.mark.parametrize(("body", "code"), [
    ({"symbol": "BTC-USDT", "side": "hold", "qty": "1"}, "BAD_REQUEST"),
    ({"symbol": "BTC-USDT", "side": "buy"}, "BAD_REQUEST"),
    ({"symbol": "BTC-USDT", "side": "buy", "qty": "-1"}, "BAD_REQUEST"),
    ({"symbol": "BTC-USDT", "side": "buy", "qty": "1e400x"}, "BAD_REQUEST"),
    ({"symbol": "BTC-USDT", "side": "buy", "qty": "0.000000001"}, "BAD_REQUEST"),
    ({"symbol": "BTC-USDT", "side": "buy", "qty": "0.000001"}, "BAD_QUANTITY"),
    ({"symbol": "BTC-USDT", "side": "buy", "qty": "1", "price": "100000.001"}, "BAD_PRICE"),
    ({"symbol": "BTC-USDT", "side": "buy", "qty": "1", "venue": "nasdaq"}, "UNKNOWN_VENUE"),
    ({"symbol": "BTC-USDT", "side": "buy", "qty": "1", "venue": "kraken"}, "NO_ROUTABLE_VENUE"),
    ({"symbol": "NOPE-USD", "side": "buy", "qty": "1"}, "NO_ROUTABLE_VENUE"),
    ({"nodes": [{"node_id": "a"}, {"node_id": "b"}], "edges": []}, "NOT_SUPPORTED"),
])  # fmt: skip
def test_bad_orders_get_typed_errors(cc, body, code):
    key = cc.key(["read", "trade"], sandbox=True)
    st, e = order(cc, key, **body)
    assert st >= 400 and e["error"]["code"] == code, e


def test_one_node_graph_is_accepted(cc):
    key = cc.key(["read", "trade"], sandbox=True)
    st, o = order(cc, key, client_request_id="g-1", nodes=[{
        "node_id": "entry", "instrument": {"symbol": "ETH-USDT", "type": "spot"}, "side": "buy",
        "order_type": "market", "quantity": {"fixed": {"qty_1e8": 100000000}},
        "execution": {"policy": "sor", "urgency": "high"}, "activation": "root"}])
    assert st == 201 and o["node_id"] == "entry" and o["order_id"].endswith(":entry:0")
    assert o["status"] == "filled"
    st, e = order(cc, key, nodes=[{"node_id": "t", "instrument": {"symbol": "ETH-USDT"}, "side": "buy",
                                   "quantity": {"fixed": {"qty_1e8": 1}},
                                   "execution": {"policy": "sor", "pacing": {"uniform": {
                                       "num_slices": 4, "interval_ms": 100}}}}])
    assert st == 501 and e["error"]["code"] == "NOT_SUPPORTED"


def test_kill_switch(cc):
    key = cc.key(["read", "trade"], sandbox=True)
    _, o = order(cc, key, symbol="ETH-USDT", side="buy", qty="1", price="2000")
    st, k = http("POST", cc.url + "/v1/kill", key=key)
    assert st == 200 and k["kill_switch"] and k["cancelled_orders"] == 1
    assert http("GET", cc.url + "/v1/orders/" + o["order_id"], key=key)[1]["status"] == "cancelled"
    st, e = order(cc, key, symbol="ETH-USDT", side="buy", qty="1", price="2000")
    assert st == 423 and e["error"]["code"] == "KILL_SWITCH_ACTIVE"
    assert http("DELETE", cc.url + "/v1/kill", key=key)[0] == 403
    assert http("DELETE", cc.url + "/v1/kill", key=cc.admin)[0] == 200
    assert order(cc, key, symbol="ETH-USDT", side="buy", qty="1", price="2000")[0] == 201


def test_preview_sends_nothing(cc):
    key = cc.key(["read"], sandbox=True)
    st, p = http("POST", cc.url + "/v1/preview", {"symbol": "BTC-USDT", "side": "buy", "qty": "0.5"},
                 key=key)
    assert st == 200 and p["plan"]["legs"][0]["venue"] == "binance"
    assert p["plan"]["expected_cost_bps"] > 0
    assert http("GET", cc.url + "/v1/orders", key=key)[1] == []


def test_orders_are_private_to_their_key(cc):
    a = cc.key(["read", "trade"], sandbox=True)
    b = cc.key(["read", "trade"], sandbox=True)
    _, o = order(cc, a, symbol="ETH-USDT", side="buy", qty="1", price="2000")
    st, e = http("GET", cc.url + "/v1/orders/" + o["order_id"], key=b)
    assert st == 404 and e["error"]["code"] == "ORDER_NOT_FOUND"
    assert http("POST", cc.url + f"/v1/orders/{o['order_id']}/cancel", key=b)[0] == 404


def test_insufficient_balance_rolls_back_everything(cc):
    key = cc.key(["read", "trade"], sandbox=True)
    _, ok = order(cc, key, symbol="ETH-USDT", side="buy", qty="1", price="2000")
    before = cc.call(lambda: (dict(cc.cc.ledger._reserved), len(cc.cc.engine.orders)))
    # 1000 ETH x 2000 = 2,000,000 USDT > the 1,000,000 sandbox seed
    st, e = order(cc, key, symbol="ETH-USDT", side="buy", qty="1000", price="2000",
                  client_request_id="too-big")
    assert st == 422 and e["error"]["code"] == "INSUFFICIENT_BALANCE"
    assert cc.call(lambda: (dict(cc.cc.ledger._reserved), len(cc.cc.engine.orders))) == before
    assert [o["order_id"] for o in http("GET", cc.url + "/v1/orders", key=key)[1]] == [ok["order_id"]]
    # the client request id was not consumed by the failed attempt
    st, o = order(cc, key, symbol="ETH-USDT", side="buy", qty="1", price="2000",
                  client_request_id="too-big")
    assert st == 201 and not o.get("duplicate")
