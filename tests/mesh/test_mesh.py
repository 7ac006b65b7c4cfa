"""The peer-link mesh with three real CC processes on loopback: mirrored books, remote edges,
cross-region routing chosen or rejected by the measured RTT, link kill and recovery,
reservations under a partition (docs/peerlink.md)."""

from __future__ import annotations

import pytest

from tests.cc.harness import http
from tests.mesh.harness import BTC, Mesh, until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    m = Mesh(str(tmp_path_factory.mktemp("mesh")))
    try:
        yield m
    finally:
        m.close()


def _quote(cc, venue):
    q = http("GET", cc.url + f"/v1/quotes/{BTC}", key=cc.admin)[1]
    return (q.get("venues") or {}).get(venue) if isinstance(q, dict) else None


def _order(cc, oid):
    return http("GET", cc.url + "/v1/orders/" + oid, key=cc.admin)[1]


def test_mesh_mirrors_books_edges_and_rtt(mesh):
    na = mesh.cc["na"]
    until(lambda: (_quote(na, "binance") or {}).get("ask") == 100000.0, what="binance mirrored to na")
    until(lambda: (_quote(na, "kraken") or {}).get("ask") == 100015.0, what="kraken mirrored to na")
    depth = na.get(f"/v1/book/{BTC}")["venues"]["binance"]
    assert depth["valid"] and depth["asks"][0] == [100000.0, 5.0]
    edges = until(lambda: [e for e in na.get("/v1/edges") if e.get("remote")] if len(
        [e for e in na.get("/v1/edges") if e.get("remote")]) == 2 else None, what="remote edges")
    by = {e["venue"]: e for e in edges}
    assert by["binance"]["region"] == "ap" and by["kraken"]["region"] == "eu"
    assert all(e["connected"] and e["age_ms"] is not None and e["age_ms"] >= 0 for e in edges)
    # the owner lists its own edge as local
    ap_edges = mesh.cc["ap"].get("/v1/edges")
    assert [e["venue"] for e in ap_edges if not e.get("remote")] == ["binance"]
    peers = until(lambda: [p for p in na.get("/v1/peers")["peers"] if p["rtt_ns"]] if all(
        p["rtt_ns"] for p in na.get("/v1/peers")["peers"]) else None, what="peer RTT")
    assert {p["region"] for p in peers} == {"ap", "eu"}
    assert all(p["out_connected"] and p["in_connected"] for p in peers)
    # mirrored balances: what the owner leaves open to this CC
    def bal():
        return {(b["venue"], b["asset"]): b["balance_1e8"] for b in na.get("/v1/balances")
                if b["account"] == "live"}
    until(lambda: bal().get((3, "USDT")) == 1_000_000 * 10**8, what="ap's balance mirrored")
    until(lambda: bal().get((1, "BTC")) == 10 * 10**8, what="eu's balance mirrored")


def _peer_rtt(cc, region):
    return next(p["rtt_ns"] or 0 for p in cc.get("/v1/peers")["peers"] if p["region"] == region)


def test_order_at_na_routes_to_binance_in_ap_and_fills_flow_back(mesh):
    na, ap = mesh.cc["na"], mesh.cc["ap"]
    mesh.edges["ap"].mode = "fill"
    until(lambda: (_quote(na, "binance") or {}).get("ask") and (_quote(na, "kraken") or {}).get("ask"))
    until(lambda: _peer_rtt(na, "ap"), what="na->ap RTT")
    key = http("POST", na.url + "/v1/keys", {"scopes": ["read", "trade"]}, key=na.admin)[1]["key"]
    st, o = http("POST", na.url + "/v1/orders", {"symbol": BTC, "side": "buy", "qty": "0.1",
                                                 "client_request_id": "x-1"}, key=key)
    assert st == 201, o
    assert [c["venue"] for c in o["children"]] == ["binance"]
    done = until(lambda: (lambda r: r if r["status"] == "filled" else None)(_order(na, o["order_id"])),
                 what="forwarded order filled at na")
    assert done["filled_qty_1e8"] == 10_000_000 and done["avg_price_1e9"] == 100_000 * 10**9
    fills = http("GET", na.url + "/v1/fills", key=key)[1]
    assert len(fills) == 1 and fills[0]["venue"] == "binance" and fills[0]["qty_1e8"] == 10_000_000
    # the owner holds the order under the peer's key, placed through its own edge
    ap_fills = ap.get("/v1/fills")
    assert any(f["qty_1e8"] == 10_000_000 for f in ap_fills)
    f = mesh.edges["ap"].got[-1]
    assert f.qty_1e8 == 10_000_000 and f.side == 1
    # reservations at both ends released
    until(lambda: all(b["reserved_1e8"] == 0 for b in na.get("/v1/balances") if b["venue"] == 3))
    until(lambda: all(b["reserved_1e8"] == 0 for b in ap.get("/v1/balances") if b["venue"] == 3))
    # a retry with the same client_request_id creates nothing
    st, d = http("POST", na.url + "/v1/orders", {"symbol": BTC, "side": "buy", "qty": "0.1",
                                                 "client_request_id": "x-1"}, key=key)
    assert d.get("duplicate") and len(mesh.edges["ap"].got) == 1


def test_rtt_decides_between_local_kraken_and_remote_binance(mesh):
    eu = mesh.cc["eu"]
    body = {"symbol": BTC, "side": "buy", "qty": "0.1"}
    until(lambda: (_quote(eu, "binance") or {}).get("ask") == 100000.0, what="binance at eu")
    until(lambda: _peer_rtt(eu, "ap") and _peer_rtt(eu, "ap") < 50_000_000, what="fast eu->ap")
    plan = eu.post("/v1/preview", body)[1]["plan"]
    assert plan["ranking"][0]["venue"] == "binance"          # 1.5 bps cheaper beats a few ms
    assert [leg["venue"] for leg in plan["legs"]] == ["binance"]
    mesh.link("eu", "ap", delay_s=0.5)                         # +1 s round trip
    try:
        until(lambda: _peer_rtt(eu, "ap") > 950_000_000, timeout=10, what="slow eu->ap RTT")
        plan = eu.post("/v1/preview", body)[1]["plan"]
        assert plan["ranking"][0]["venue"] == "kraken"
        assert [leg["venue"] for leg in plan["legs"]] == ["kraken"]
        bn = next(r for r in plan["ranking"] if r["venue"] == "binance")
        # the landed price carries the latency penalty: sigma 2 bps/sqrt(s) x sqrt(1 s) = 2 bps
        assert bn["landed_price_1e9"] - bn["touch_price_1e9"] > 100_000 * 10**9 * 19 // 10**5
        st, o = eu.post("/v1/orders", body)
        assert st == 201 and [c["venue"] for c in o["children"]] == ["kraken"]
    finally:
        mesh.link("eu", "ap", delay_s=0.0)
    until(lambda: _peer_rtt(eu, "ap") < 50_000_000, timeout=10, what="eu->ap RTT back")


def test_link_kill_makes_venues_stale_then_recovers(mesh):
    na = mesh.cc["na"]
    body = {"symbol": BTC, "side": "buy", "qty": "0.1"}
    until(lambda: (_quote(na, "binance") or {}).get("ask") == 100000.0)
    assert na.post("/v1/preview", body)[1]["plan"]["legs"][0]["venue"] == "binance"
    mesh.cut("na", "ap")
    try:
        # after the stale threshold: the book is gone, the remote edge is down, the SOR routes around
        until(lambda: (_quote(na, "binance") or {}).get("ask") is None, what="binance stale at na")
        e = next(e for e in na.get("/v1/edges") if e["venue"] == "binance")
        assert e["remote"] and not e["connected"]
        peer = next(p for p in na.get("/v1/peers")["peers"] if p["region"] == "ap")
        assert peer["stale"] and not peer["out_connected"] and not peer["in_connected"]
        plan = na.post("/v1/preview", body)[1]["plan"]
        assert [leg["venue"] for leg in plan["legs"]] == ["kraken"]
        st, err = na.post("/v1/preview", {**body, "venue": "binance"})
        assert st in (409, 422, 503) and err["error"]["code"] in ("VENUE_UNAVAILABLE", "NO_ROUTABLE_VENUE")
        # the other links are untouched: eu still sees ap
        assert (_quote(mesh.cc["eu"], "binance") or {}).get("ask") == 100000.0
    finally:
        mesh.restore("na", "ap")
    until(lambda: (_quote(na, "binance") or {}).get("ask") == 100000.0, what="binance back at na")
    until(lambda: next(p for p in na.get("/v1/peers")["peers"] if p["region"] == "ap")["out_connected"])
    assert na.post("/v1/preview", body)[1]["plan"]["legs"][0]["venue"] == "binance"


def _reserved(cc, venue, asset="USDT"):
    return sum(b["reserved_1e8"] for b in cc.get("/v1/balances")
               if b["venue"] == venue and b["asset"] == asset and b["account"] == "live")


def test_two_regions_cannot_spend_the_same_balance(mesh):
    """ap's Binance USDT (1 000 000) is owned by ap: na and eu each ask for 600 000 at once;
    one is placed, the other refused, and the owner's reservations never exceed the balance."""
    import threading

    na, eu, ap = mesh.cc["na"], mesh.cc["eu"], mesh.cc["ap"]
    mesh.edges["ap"].mode = "rest"
    until(lambda: (_quote(eu, "binance") or {}).get("ask") and (_quote(na, "binance") or {}).get("ask"))
    until(lambda: _reserved(ap, 3) == 0)
    body = {"symbol": BTC, "side": "buy", "qty": "6", "price": "100000", "venue": "binance"}
    res = {}

    def go(r):
        res[r] = mesh.cc[r].post("/v1/orders", body)

    ts = [threading.Thread(target=go, args=(r,)) for r in ("na", "eu")]
    for t in ts:
        t.start()
    for t in ts:
        t.join(20)

    def settled():
        out = {}
        for r, (st, o) in res.items():
            if st != 201:
                out[r] = ("refused", o["error"]["code"])
                continue
            s = _order(mesh.cc[r], o["order_id"])
            if s["status"] == "new":
                return None
            out[r] = (s["status"], s.get("failure_reason") or "")
        return out

    out = until(settled, what="both orders settled")
    placed = [r for r, v in out.items() if v[0] == "accepted"]
    refused = [r for r, v in out.items() if v[0] != "accepted"]
    assert len(placed) == 1 and len(refused) == 1, out
    assert "INSUFFICIENT_BALANCE" in " ".join(out[refused[0]]), out
    assert _reserved(ap, 3) == 600_000 * 10**8 <= 1_000_000 * 10**8
    assert len(mesh.edges["ap"].resting) == 1
    # clean up: cancel the placed order from the region that entered it
    oid = res[placed[0]][1]["order_id"]
    mesh.cc[placed[0]].post(f"/v1/orders/{oid}/cancel", {})
    until(lambda: _order(mesh.cc[placed[0]], oid)["status"] == "cancelled", what="cancel via peer")
    until(lambda: _reserved(ap, 3) == 0 and _reserved(mesh.cc[placed[0]], 3) == 0)


def test_open_order_fills_during_partition_and_reconciles_once(mesh):
    na, ap = mesh.cc["na"], mesh.cc["ap"]
    edge = mesh.edges["ap"]
    edge.mode = "rest"
    until(lambda: (_quote(na, "binance") or {}).get("ask") == 100000.0)
    st, o = na.post("/v1/orders", {"symbol": BTC, "side": "buy", "qty": "2", "price": "99000",
                                   "venue": "binance"})
    assert st == 201, o
    until(lambda: _order(na, o["order_id"])["status"] == "accepted", what="accepted via ap")
    assert _reserved(ap, 3) == 198_000 * 10**8 and _reserved(na, 3) == 198_000 * 10**8
    mesh.cut("na", "ap")
    try:
        until(lambda: not next(p for p in na.get("/v1/peers")["peers"]
                               if p["region"] == "ap")["out_connected"], what="link down")
        # the venue trades the order while the regions are apart: ap (the owner) records it
        assert mesh.run(_call(edge.fill_resting)) == 1
        until(lambda: _reserved(ap, 3) == 0, what="owner saw the fill")
        assert _order(na, o["order_id"])["status"] == "accepted"       # na cannot know yet
        # another region cannot take what the order held while it was open, and now can
    finally:
        mesh.restore("na", "ap")
    done = until(lambda: (lambda r: r if r["status"] == "filled" else None)(_order(na, o["order_id"])),
                 timeout=15, what="reconciled at na")
    assert done["filled_qty_1e8"] == 2 * 10**8 and done["avg_price_1e9"] == 99_000 * 10**9
    fills = [f for f in na.get("/v1/fills") if f["parent_id"] == o["order_id"]]
    assert len(fills) == 1
    until(lambda: _reserved(na, 3) == 0)
    # a second reconnect replays nothing twice
    mesh.cut("na", "ap")
    mesh.restore("na", "ap")
    until(lambda: next(p for p in na.get("/v1/peers")["peers"] if p["region"] == "ap")["out_connected"])
    import time
    time.sleep(0.5)
    assert len([f for f in na.get("/v1/fills") if f["parent_id"] == o["order_id"]]) == 1


async def _call(fn):
    return fn()


def test_order_lost_in_a_silent_partition_is_voided_not_placed(mesh):
    """na forwards an order into a link that swallows it; when the link is back, reconciliation
    finds ap never got it: na rejects it (PEER_ORDER_VOID) and releases its reservation; ap
    tombstones the request so a late copy could not place it."""
    na, ap = mesh.cc["na"], mesh.cc["ap"]
    edge = mesh.edges["ap"]
    edge.mode = "rest"
    until(lambda: (_quote(na, "binance") or {}).get("ask") == 100000.0)
    until(lambda: next(p for p in na.get("/v1/peers")["peers"] if p["region"] == "ap")["out_connected"])
    n_got = len(edge.got)
    mesh.shims[("na", "ap")].blackhole = True
    try:
        st, o = na.post("/v1/orders", {"symbol": BTC, "side": "buy", "qty": "1", "price": "98000",
                                       "venue": "binance"})
        assert st == 201, o
        assert _order(na, o["order_id"])["status"] == "new" and _reserved(na, 3) == 98_000 * 10**8
        # the dead-peer timer closes the silent link
        until(lambda: not next(p for p in na.get("/v1/peers")["peers"]
                               if p["region"] == "ap")["out_connected"], what="silent link closed")
    finally:
        mesh.restore("na", "ap")
    res = until(lambda: (lambda r: r if r["status"] == "rejected" else None)(_order(na, o["order_id"])),
                timeout=15, what="voided at na")
    assert "PEER_ORDER_VOID" in res["failure_reason"]
    assert len(edge.got) == n_got and _reserved(na, 3) == 0 and _reserved(ap, 3) == 0


def test_owner_refuses_what_a_stale_mirror_offers(mesh):
    """eu's mirror of ap's balances is frozen (ap -> eu swallowed) while na reserves 600 000 of
    ap's Binance USDT: eu still sees 1 000 000 open and forwards 600 000; ap, the owner, refuses."""
    na, eu, ap = mesh.cc["na"], mesh.cc["eu"], mesh.cc["ap"]
    mesh.edges["ap"].mode = "rest"
    until(lambda: (_quote(eu, "binance") or {}).get("ask") and (_quote(na, "binance") or {}).get("ask"))
    until(lambda: _reserved(ap, 3) == 0)
    body = {"symbol": BTC, "side": "buy", "qty": "6", "price": "100000", "venue": "binance"}
    mesh.shims[("ap", "eu")].blackhole = True
    try:
        st, a = na.post("/v1/orders", body)
        assert st == 201, a
        until(lambda: _order(na, a["order_id"])["status"] == "accepted", what="na placed")
        st, b = eu.post("/v1/orders", body)
        assert st == 201, b       # eu's (stale) mirror still shows the balance open
        r = until(lambda: (lambda o: o if o["status"] != "new" else None)(_order(eu, b["order_id"])),
                  what="owner answered")
        assert r["status"] == "rejected" and "INSUFFICIENT_BALANCE" in r["failure_reason"]
        assert _reserved(ap, 3) == 600_000 * 10**8 and _reserved(eu, 3) == 0
    finally:
        mesh.restore("ap", "eu")
    na.post(f"/v1/orders/{a['order_id']}/cancel", {})
    until(lambda: _order(na, a["order_id"])["status"] == "cancelled" and _reserved(ap, 3) == 0)


def test_order_placed_but_answers_lost_is_recovered(mesh):
    """ap receives and places na's order but every answer is lost: na keeps it `new` (and its
    reservation) until the link is back; reconciliation then brings the owner's state."""
    na, ap = mesh.cc["na"], mesh.cc["ap"]
    edge = mesh.edges["ap"]
    edge.mode = "rest"
    until(lambda: (_quote(na, "binance") or {}).get("ask") == 100000.0)
    until(lambda: next(p for p in na.get("/v1/peers")["peers"] if p["region"] == "ap")["out_connected"])
    n_got = len(edge.got)
    mesh.shims[("na", "ap")].blackhole_back = True
    try:
        st, o = na.post("/v1/orders", {"symbol": BTC, "side": "buy", "qty": "1", "price": "97000",
                                       "venue": "binance"})
        assert st == 201, o
        until(lambda: len(edge.got) == n_got + 1, what="ap placed it")
        assert _reserved(ap, 3) == 97_000 * 10**8
        assert _order(na, o["order_id"])["status"] == "new"
        until(lambda: not next(p for p in na.get("/v1/peers")["peers"]
                               if p["region"] == "ap")["out_connected"], what="silent link closed")
    finally:
        mesh.restore("na", "ap")
    until(lambda: _order(na, o["order_id"])["status"] == "accepted", timeout=15, what="reconciled")
    assert len(edge.got) == n_got + 1          # placed once
    na.post(f"/v1/orders/{o['order_id']}/cancel", {})
    until(lambda: _order(na, o["order_id"])["status"] == "cancelled" and _reserved(ap, 3) == 0
          and _reserved(na, 3) == 0, what="cancelled via ap")


def test_tombstone_refuses_a_late_copy(mesh):
    """A request the owner reported unknown can never be placed afterwards (a late copy of an
    ORDER_NEW from a dead connection): checked with a raw peer connection speaking for na."""
    from seqkern.cc.peerlink import PeerClient
    from seqkern.cclink import Kind, OrderStatus, Region

    ap = mesh.cc["ap"]
    mesh.cut("na", "ap")        # the real na link stays away while the raw one speaks for na
    got = []

    async def go():
        import asyncio

        c = PeerClient("cc-na", region=Region.NA)
        c.on(Kind.ORDER_REJECT, lambda link, f: got.append((f.request_id, f.text)))
        await c.connect_tcp("127.0.0.1", ap.info["peer_port"])
        c.send_order(int(Kind.ORDER_UPDATE), symbol_id=0, request_id=987_654,
                     status=int(OrderStatus.UNSET))
        for _ in range(200):
            if got:
                break
            await asyncio.sleep(0.02)
        c.send_order(int(Kind.ORDER_NEW), symbol_id=1, side=1, order_type=1, tif=1,
                     px_1e9=100_000 * 10**9, qty_1e8=10**8, request_id=987_654)
        for _ in range(200):
            if len(got) == 2:
                break
            await asyncio.sleep(0.02)
        await c.close()

    n_got = len(mesh.edges["ap"].got)
    try:
        mesh.run(go())
    finally:
        mesh.restore("na", "ap")
    assert [g[0] for g in got] == [987_654, 987_654]
    assert all("PEER_ORDER_VOID" in g[1] for g in got)
    assert len(mesh.edges["ap"].got) == n_got


def test_owner_killed_and_restarted_keeps_the_forwarded_order(mesh):
    """kill -9 of ap while it holds na's resting order: after the restart ap has the order and its
    reservation from its journal, na reconnects, and the venue's fill reaches na exactly once."""
    na, ap = mesh.cc["na"], mesh.cc["ap"]
    edge = mesh.edges["ap"]
    edge.mode = "rest"
    until(lambda: (_quote(na, "binance") or {}).get("ask") == 100000.0)
    until(lambda: next(p for p in na.get("/v1/peers")["peers"] if p["region"] == "ap")["out_connected"])
    st, o = na.post("/v1/orders", {"symbol": BTC, "side": "buy", "qty": "0.5", "price": "96000",
                                   "venue": "binance"})
    assert st == 201, o
    until(lambda: _order(na, o["order_id"])["status"] == "accepted", what="accepted via ap")
    ap.kill9_and_restart()
    assert _reserved(ap, 3) == 48_000 * 10**8                  # from ap's journal
    until(lambda: edge.client.ready, what="edge back at ap")
    until(lambda: next(p for p in na.get("/v1/peers")["peers"] if p["region"] == "ap")["out_connected"]
          and next(p for p in na.get("/v1/peers")["peers"] if p["region"] == "ap")["in_connected"],
          timeout=15, what="mesh back")
    assert _order(na, o["order_id"])["status"] == "accepted"
    assert mesh.run(_call(edge.fill_resting)) == 1
    done = until(lambda: (lambda r: r if r["status"] == "filled" else None)(_order(na, o["order_id"])),
                 timeout=15, what="fill relayed after the restart")
    assert done["filled_qty_1e8"] == 50_000_000
    assert len([f for f in na.get("/v1/fills") if f["parent_id"] == o["order_id"]]) == 1
    until(lambda: _reserved(na, 3) == 0 and _reserved(ap, 3) == 0)


def test_peer_port_refuses_edges_same_region_and_bad_orders(mesh):
    """The peer-link port takes only peer CCs of other regions; a bad forwarded order is answered
    with a typed reject, never a crash."""
    import asyncio

    from seqkern.cc.peerlink import PeerClient
    from seqkern.cclink import EdgeLinkClient, Kind, Region
    from seqkern.errors import LinkRefused

    ap = mesh.cc["ap"]
    port = ap.info["peer_port"]
    got = []

    async def go():
        for c in (EdgeLinkClient("venue-edge-binance", region=Region.AP, venue_slot=3),
                  PeerClient("cc-ap", region=Region.AP)):
            with pytest.raises(LinkRefused):
                await c.connect_tcp("127.0.0.1", port, timeout=5)
            await c.close()
        c = PeerClient("cc-eu", region=Region.EU)
        c.on(Kind.ORDER_REJECT, lambda link, f: got.append((f.request_id, f.text)))
        await c.connect_tcp("127.0.0.1", port)
        c.send_order(int(Kind.ORDER_NEW), symbol_id=4_000_000, side=1, order_type=1, tif=1,
                     px_1e9=10**9, qty_1e8=10**8, request_id=555_001)
        c.send_order(int(Kind.ORDER_CANCEL), symbol_id=1, request_id=555_002)
        for _ in range(200):
            if len(got) == 2:
                break
            await asyncio.sleep(0.02)
        await c.close()

    mesh.cut("eu", "ap")          # the raw connection speaks for eu meanwhile
    try:
        mesh.run(go())
    finally:
        mesh.restore("eu", "ap")
    texts = dict(got)
    assert set(texts) == {555_001, 555_002}
    assert texts[555_001].startswith("UNKNOWN_SYMBOL") and texts[555_002].startswith("ORDER_NOT_FOUND")
    assert ap.get("/v1/health")["status"] == "ok"
