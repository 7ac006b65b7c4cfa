"""Crash recovery: kill -9 a real `seqkern cc` process mid-flow, restart it on the same journal,
and check that nothing acknowledged is lost and nothing is duplicated."""

from __future__ import annotations

import json
import threading

import pytest

from tests.cc.harness import BOOKS, CCProcess, http

pytestmark = pytest.mark.integration


@pytest.fixture
def snapshot(tmp_path):
    p = tmp_path / "books.json"
    p.write_text(json.dumps(BOOKS))
    return str(p)


def _order_body(i: int) -> dict:
    # even: resting limit buys (stay open, hold a reservation); odd: market buys (fill at once)
    if i % 2 == 0:
        return {"symbol": "ETH-USDT", "side": "buy", "qty": "0.1", "price": str(2900 + i % 50),
                "client_request_id": f"c-{i}"}
    return {"symbol": "ETH-USDT", "side": "buy", "qty": "0.01", "client_request_id": f"c-{i}"}


def test_kill9_mid_flow_then_recover(tmp_path, snapshot):
    data = tmp_path / "cc"
    data.mkdir()
    adminf = str(tmp_path / "admin.key")
    cc = CCProcess(str(data), snapshot, adminf)
    st, k = http("POST", cc.url + "/v1/keys", {"scopes": ["read", "trade"], "sandbox": True}, cc.admin)
    key = k["key"]
    acked: dict[int, dict] = {}
    stop = threading.Event()
    enough = threading.Event()

    def submitter():
        i = 0
        while not stop.is_set() and i < 400:
            try:
                st, o = http("POST", cc.url + "/v1/orders", _order_body(i), key)
            except OSError:
                return   # the CC died under us: that request may or may not be journaled
            if st == 201:
                acked[i] = o
            if len(acked) >= 40:
                enough.set()
            i += 1

    t = threading.Thread(target=submitter)
    t.start()
    assert enough.wait(60)
    cc.kill9()          # while the submitter is still sending
    stop.set()
    t.join(30)
    n_sent = max(acked) + 2

    cc2 = CCProcess(str(data), snapshot, adminf)
    try:
        assert cc2.info["recovered"]["open_children"] >= sum(1 for i in acked if i % 2 == 0)
        # every acknowledged order is there, unchanged
        for i, o in acked.items():
            st, g = http("GET", cc2.url + "/v1/orders/" + o["order_id"], None, key)
            assert st == 200, (i, g)
            assert (g["status"], g["filled_qty_1e8"], g["qty_1e8"]) == \
                (o["status"], o["filled_qty_1e8"], o["qty_1e8"])
        # clients retry everything they sent: acknowledged ones come back as duplicates, the rest
        # are either duplicates (journaled before the kill, ack lost) or new; none twice
        ids = {}
        for i in range(n_sent):
            st, o = http("POST", cc2.url + "/v1/orders", _order_body(i), key)
            assert st in (200, 201), o
            if i in acked:
                assert st == 200 and o["duplicate"] and o["order_id"] == acked[i]["order_id"]
            ids[i] = o["order_id"]
        assert len(set(ids.values())) == n_sent
        # open orders and their reservations add up
        st, opn = http("GET", cc2.url + "/v1/orders", None, key)
        assert sorted(o["order_id"] for o in opn) == sorted(ids[i] for i in ids if i % 2 == 0)
        want = sum(o["qty_1e8"] * o["price_1e9"] // 10**9 for o in opn)
        bal = {b["asset"]: b for b in http("GET", cc2.url + "/v1/balances", None, key)[1]}
        assert bal["USDT"]["reserved_1e8"] == want
        # fills: one per market order, no duplicate fill ids; balances agree with the fills
        st, fills = http("GET", cc2.url + "/v1/fills?limit=1000", None, key)
        assert len(fills) == len({f["fill_id"] for f in fills}) == sum(1 for i in ids if i % 2)
        assert bal["ETH"]["balance_1e8"] == 100 * 10**8 + sum(f["qty_1e8"] for f in fills)
        # a recovered order can be cancelled and releases its reservation
        first = opn[0]
        st, c = http("POST", cc2.url + f"/v1/orders/{first['order_id']}/cancel", None, key)
        assert st == 200 and c["status"] == "cancelled"
        bal2 = {b["asset"]: b for b in http("GET", cc2.url + "/v1/balances", None, key)[1]}
        assert bal2["USDT"]["reserved_1e8"] == want - first["qty_1e8"] * first["price_1e9"] // 10**9
    finally:
        assert cc2.stop() == 0
