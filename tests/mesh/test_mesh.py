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
    until(lambda: (_quote(na, "kraken") or {}).get("ask") == 100005.0, what="kraken mirrored to na")
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
    bal = {(b["venue"], b["asset"]): b for b in na.get("/v1/balances") if b["account"] == "live"}
    assert bal[(3, "USDT")]["balance_1e8"] == 1_000_000 * 10**8
