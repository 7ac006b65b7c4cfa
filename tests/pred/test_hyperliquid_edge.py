"""Hyperliquid: signing vectors, literal doc examples, and the edge against the simulator over real sockets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from seqkern._book import L2Book
from seqkern._predwire import FORMAT_HYPERLIQUID, SNAPSHOT, PredBookDecoder

from seqkern.edge.runner import EdgeRunner
from seqkern.edge.sink import MemorySink
from seqkern.edge.ws import WsConnectError
from seqkern.sim.hyperliquid import HyperliquidSim
from seqkern.venues.base import (
    AmendMode,
    BatchMode,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    VenueEndpoints,
)
from seqkern.venues.hyperliquid.execution import (
    HyperliquidTransport,
    cloid_for,
    parse_post_response,
)
from seqkern.venues.hyperliquid.signing import L1Signer, action_hash, fixed_to_wire, float_to_wire
from seqkern.venues.hyperliquid.venue import HyperliquidVenue
from seqkern.venues.pred_ws import ConnectionBudget
from tests.pred.rig import ladder, settled, shared_venues, until


def _docs() -> Path:
    return shared_venues() / "doc-examples" / "hyperliquid"


SDK_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"


# Vectors: hyperliquid-python-sdk tests/signing_test.py (test_l1_action_signing_matches,
# test_phantom_agent_creation_matches_production).
def test_l1_signing_matches_sdk_vectors():
    action = {"type": "dummy", "num": 100_000_000_000}      # float_to_int_for_hashing(1000)
    main = L1Signer(SDK_KEY).sign_action(action, 0)
    assert main == {"r": "0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298",
                    "s": "0x755c40ba9bf05223521753995abb2f73ab3229be8ec921f350cb447e384d8ed8", "v": 27}
    test = L1Signer(SDK_KEY, mainnet=False).sign_action(action, 0)
    assert test == {"r": "0x542af61ef1f429707e3c76c5293c80d01f74ef853e34b76efffcb57e574f9510",
                    "s": "0x17b8b32f086e8cdede991f1e2c529f5dd5297cbe8128500e00cbaf766204a613", "v": 28}


def test_order_action_hash_matches_sdk_vector():
    order = {"type": "order", "orders": [{"a": 4, "b": True, "p": "1670.1", "s": "0.0147", "r": False,
                                          "t": {"limit": {"tif": "Ioc"}}}], "grouping": "na"}
    assert action_hash(order, None, 1677777606040).hex() == \
        "0fcbeda5ae3c4950a548021552a4fea2226858c4453571bf3f24ba017eac2908"


def test_float_and_fixed_to_wire():
    assert float_to_wire(60000.0) == "60000" and float_to_wire(0.1 + 0.2) == "0.3"
    assert float_to_wire(1e-8) == "0.00000001" and float_to_wire(1e20) == "100000000000000000000"
    with pytest.raises(ValueError):
        float_to_wire(1.5e-8)
    assert fixed_to_wire(1_670_100_000_000, 9) == "1670.1" and fixed_to_wire(1_470_000, 8) == "0.0147"
    assert fixed_to_wire(6_000_000_000_000, 8) == "60000"


def test_doc_examples_parse():
    d = PredBookDecoder(FORMAT_HYPERLIQUID)
    b = L2Book(1_000_000_000, depth_ticks=1 << 16)
    raw = (_docs() / "ws_l2book.json").read_bytes()
    assert d.scan(raw) == SNAPSHOT and d.apply_book(b) == 0
    doc = json.loads(raw)
    assert b.best_bid()[0] == int(doc["data"]["levels"][0][0]["px"]) * 10**9
    v = HyperliquidVenue()
    trades = v.parse_market_message(json.loads((_docs() / "ws_trades.json").read_text()), 0)
    assert trades[0].venue_symbol == "BTC" and trades[0].taker_side is Side.BUY
    bbo = v.parse_market_message(json.loads((_docs() / "ws_bbo.json").read_text()), 0)[0]
    assert bbo.bid_px_1e9 == 60000 * 10**9
    assert parse_post_response((_docs() / "ws_post_response_resting.json").read_bytes())["response"]["payload"][
        "response"]["data"]["statuses"][0]["resting"]["oid"] == 88383
    body = json.loads((_docs() / "exchange_batch_modify_body.json").read_text())
    assert body["action"]["modifies"][1]["oid"] == cloid_for(body["action"]["modifies"][1]["oid"])


def _converged(sim, runner, coin, sym):
    b = runner.book(sym)
    bids, asks = sim.true_book(coin)
    return b.valid and ladder(b, 0) == bids and ladder(b, 1) == asks


def test_edge_against_simulator_market_data_orders_and_limits():
    async def go():
        sim = await HyperliquidSim().start()
        signer = L1Signer("0x" + "42" * 32)
        agent_of = L1Signer("0x" + "43" * 32)
        sim.add_user(agent_of.address, agent=signer.address)
        sink = MemorySink()
        venue = HyperliquidVenue(VenueEndpoints(sim.ws_url, sim.ws_url, sim.base_http))   # rules from /info meta
        tr = HyperliquidTransport(sim.ws_url, signer, account_address=agent_of.address)
        runner = EdgeRunner(venue, ["BTC-USDC", "ETH-USDC"], sink, transport=tr)
        await runner.start()
        try:
            await runner.wait_live("BTC-USDC")
            await settled(sim, lambda: _converged(sim, runner, "BTC", "BTC-USDC") and
                          _converged(sim, runner, "ETH", "ETH-USDC"), "books equal to the venue")
            # malformed frame: books invalid until the next full l2Book
            sim.faults.malformed_json = 1
            await until(lambda: runner.counters.unparsable >= 1, what="malformed frame")
            await settled(sim, lambda: _converged(sim, runner, "BTC", "BTC-USDC"), "reconverged")
            sim.faults.drop_sockets = 1
            await until(lambda: runner.counters.reconnects >= 1, what="reconnect")
            await settled(sim, lambda: _converged(sim, runner, "BTC", "BTC-USDC"), "reconverged after drop")
            await until(lambda: tr.connected, what="trading socket reconnected")
            sim.paused = True
            e = sim.coins["BTC"].engine
            bb = e.best("BUY")
            assert tr.assets == {"BTC": 0, "ETH": 1}
            # Gtc + cloid, Alo, reduce-only flag
            r = await runner.place(OrderRequest("BTC-USDC", Side.BUY, OrderType.LIMIT, 100_000, bb - 50 * 10**9,
                                                TimeInForce.GTC, "my-1"))
            assert r.accepted, r.error_msg
            o = e.orders[r.venue_order_id]
            assert o.client_order_id == cloid_for("my-1") and o.owner == agent_of.address
            r2 = await runner.place(OrderRequest("BTC-USDC", Side.BUY, OrderType.LIMIT, 100_000, bb - 60 * 10**9,
                                                 TimeInForce.POST_ONLY, "my-2"))
            assert r2.accepted and e.orders[r2.venue_order_id].tif == "GTX"
            alo_cross = await runner.place(OrderRequest("BTC-USDC", Side.BUY, OrderType.LIMIT, 100_000,
                                                        e.best("SELL"), TimeInForce.POST_ONLY, "x"))
            assert not alo_cross.accepted and "Post only" in alo_cross.error_msg
            # an IOC larger than the best ask level takes the level; the venue cancels the rest:
            # the order ends EXPIRED with what it filled (a terminal state the CC can close on)
            ask = e.best("SELL")
            top = e.level_qty("SELL", ask)
            ioc = await runner.place(OrderRequest("BTC-USDC", Side.BUY, OrderType.LIMIT, top + 100_000, ask,
                                                  TimeInForce.IOC, "ioc-1"))
            assert ioc.accepted and ioc.status is OrderStatus.EXPIRED and ioc.filled_qty_1e8 == top, ioc
            ask = e.best("SELL")
            lvl = e.level_qty("SELL", ask)
            q = max(min(lvl, 100_000), 20_000)   # within the level where it can be, and over $10
            full = await runner.place(OrderRequest("BTC-USDC", Side.BUY, OrderType.LIMIT, q, ask, TimeInForce.IOC,
                                                   "ioc-2"))
            assert full.accepted and full.filled_qty_1e8 == min(q, lvl), full
            assert full.status is (OrderStatus.FILLED if full.filled_qty_1e8 == q else OrderStatus.EXPIRED)
            # native modify keeps the oid on this venue's wire; mode NATIVE_ATOMIC at the transport
            a = await runner.amend("BTC-USDC", venue_order_id=r.venue_order_id, new_px_1e9=bb - 40 * 10**9)
            assert a.mode is AmendMode.NATIVE_ATOMIC and a.result.accepted, a.result.error_msg
            assert e.orders[a.result.venue_order_id].px == bb - 40 * 10**9
            assert sim.actions[-1]["type"] == "batchModify"
            d = await runner.decrease("BTC-USDC", venue_order_id=a.result.venue_order_id, new_qty_1e8=50_000)
            assert d.result.accepted and e.orders[d.result.venue_order_id].qty == 50_000
            # cancel by oid and by cloid
            c1 = await runner.cancel("BTC-USDC", venue_order_id=d.result.venue_order_id)
            c2 = await runner.cancel("BTC-USDC", client_order_id="my-2")
            assert c1.accepted and c2.accepted and sim.actions[-1]["type"] == "cancelByCloid"
            # one signed action, per-order statuses (one below the $10 minimum)
            b = await runner.batch([OrderRequest("ETH-USDC", Side.SELL, OrderType.LIMIT, 10_000_000,
                                                 sim.coins["ETH"].engine.best("SELL") + 10**9 * k, TimeInForce.GTC)
                                    for k in (1, 2)] +
                                   [OrderRequest("ETH-USDC", Side.SELL, OrderType.LIMIT, 10_000, 4000 * 10**9)])
            assert b.mode is BatchMode.NATIVE_BEST_EFFORT
            assert [x.accepted for x in b.results] == [True, True, False]
            assert "minimum value" in b.results[2].error_msg
            # IOC taker fills and the fill arrives on userFills
            f = await runner.place(OrderRequest("BTC-USDC", Side.SELL, OrderType.LIMIT, 100_000, bb - 10**9 * 5,
                                                TimeInForce.IOC, "take"))
            assert f.accepted and f.filled_qty_1e8 == 100_000
            await until(lambda: any(fl.venue_order_id == f.venue_order_id for _, fl in sink.fills), what="fill")
            # an unknown signer gets the L1's answer
            stranger = HyperliquidTransport(sim.ws_url, L1Signer("0x" + "44" * 32))
            await stranger.connect()
            rs = await stranger.place(OrderRequest("BTC-USDC", Side.BUY, OrderType.LIMIT, 100_000, bb - 10**11))
            await stranger.close()
            assert not rs.accepted and "does not exist" in rs.error_msg
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(asyncio.wait_for(go(), 60))


@pytest.mark.parametrize("edge_budget", [True, False], ids=["edge-enforces", "venue-enforces"])
def test_connection_cap_per_ip(edge_budget):
    """10 websockets per IP: the edge refuses the 11th itself (typed error, nothing sent); without
    its budget the venue (simulator) answers the 11th handshake with 429."""
    async def go():
        sim = await HyperliquidSim().start()
        budget = ConnectionBudget(10, 30) if edge_budget else ConnectionBudget(1000, 1000)
        trs = [HyperliquidTransport(sim.ws_url, L1Signer("0x" + "45" * 32), budget=budget) for _ in range(11)]
        errors = []
        try:
            for t in trs:
                try:
                    await t.connect()
                except WsConnectError as exc:
                    errors.append(str(exc))
            assert len(errors) == 1
            if edge_budget:
                assert "allows 10 per IP" in errors[0] and sim.refused_connections == 0 and budget.open == 10
            else:
                assert sim.refused_connections == 1
        finally:
            for t in trs:
                await t.close()
            await sim.stop()
        if edge_budget:
            assert budget.open == 0
    asyncio.run(asyncio.wait_for(go(), 60))


def test_fused_digest_equals_the_step_by_step_hash():
    """The compiled one-call digest (vault, expiresAfter) equals msgpack -> keccak -> phantom agent
    computed step by step, and the signature recovers to the signer."""
    from coincurve import PrivateKey

    from seqkern.venues.hyperliquid.signing import agent_digest, recover_signer
    key = "0x" + "07" * 32
    s = L1Signer(key)
    action = {"type": "order", "orders": [{"a": 0, "b": True, "p": "60000", "s": "0.01", "r": False,
                                           "t": {"limit": {"tif": "Gtc"}}}], "grouping": "na"}
    vault = "0x1719884eb866cb12b2287399b15f7db5e7d775ea"
    for v, exp in ((None, None), (vault, None), (vault, 1_767_225_660_000), (None, 5)):
        sig = s.sign_action(action, 1_767_225_600_000, v, exp)
        digest = agent_digest(action_hash(action, v, 1_767_225_600_000, exp))
        raw = PrivateKey(bytes.fromhex(key[2:])).sign_recoverable(digest, hasher=None)
        assert sig == {"r": hex(int.from_bytes(raw[:32], "big")), "s": hex(int.from_bytes(raw[32:64], "big")),
                       "v": 27 + raw[64]}
        assert recover_signer(action, 1_767_225_600_000, v, sig, expires_after=exp) == s.address


def test_order_wire_equals_the_doc_body_byte_for_byte():
    """Our wire for the doc example's order is the doc's action, key order included (msgpack hashes it)."""
    import orjson as oj
    body = json.loads((_docs() / "exchange_order_body.json").read_text())
    tr = HyperliquidTransport("ws://127.0.0.1:1/ws", L1Signer(SDK_KEY))
    tr.assets, tr.sz_decimals = {"BTC": 0}, {"BTC": 5}
    wire = tr.order_wire(OrderRequest("BTC-USDC", Side.BUY, OrderType.LIMIT, 1_000_000, 60_000 * 10**9,
                                      TimeInForce.GTC, "0x1234567890abcdef1234567890abcdef"))
    action = {"type": "order", "orders": [wire], "grouping": "na"}
    assert oj.dumps(action) == oj.dumps(body["action"])
    assert list(wire) == ["a", "b", "p", "s", "r", "t", "c"]
    # the vault + expiresAfter body: the signature we would send recovers to our signer
    vb = json.loads((_docs() / "exchange_order_body_vault_expires.json").read_text())
    sig = L1Signer(SDK_KEY).sign_action(vb["action"], vb["nonce"], vb["vaultAddress"], vb["expiresAfter"])
    from seqkern.venues.hyperliquid.signing import recover_signer
    assert recover_signer(vb["action"], vb["nonce"], vb["vaultAddress"], sig,
                          expires_after=vb["expiresAfter"]) == L1Signer(SDK_KEY).address


def test_batch_modify_two_orders_in_one_action():
    async def go():
        sim = await HyperliquidSim().start()
        signer = L1Signer("0x" + "46" * 32)
        sim.add_user(signer.address)
        tr = HyperliquidTransport(sim.ws_url, signer, budget=ConnectionBudget(10, 30))
        try:
            await tr.connect()
            sim.paused = True
            e = sim.coins["BTC"].engine
            bb = e.best("BUY")
            reqs = [OrderRequest("BTC-USDC", Side.BUY, OrderType.LIMIT, 100_000, bb - k * 10**10, TimeInForce.GTC)
                    for k in (3, 4)]
            placed = await tr.batch(reqs)
            oids = [r.venue_order_id for r in placed.results]
            moved = [OrderRequest("BTC-USDC", Side.BUY, OrderType.LIMIT, 200_000, bb - k * 10**10, TimeInForce.GTC)
                     for k in (5, 6)]
            res = await tr.batch_modify(list(zip(oids, moved, strict=True)))
            assert [r.accepted for r in res.results] == [True, True]
            assert sim.actions[-1]["type"] == "batchModify" and len(sim.actions[-1]["modifies"]) == 2
            assert sorted(o.px for o in e.orders.values() if o.owner) == [bb - 6 * 10**10, bb - 5 * 10**10]
        finally:
            await tr.close()
            await sim.stop()
    asyncio.run(asyncio.wait_for(go(), 60))
