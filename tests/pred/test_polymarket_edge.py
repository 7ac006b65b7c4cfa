"""Polymarket: signing against a generic EIP-712 stack, doc examples, and the edge against the simulator."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import orjson
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from seqkern._book import L2Book
from seqkern._predwire import DELTA, FORMAT_POLYMARKET, SNAPSHOT, PredBookDecoder

from seqkern.edge.runner import EdgeRunner
from seqkern.edge.sink import MemorySink
from seqkern.sim.polymarket import PolymarketSim
from seqkern.venues.base import (
    AmendMode,
    BatchMode,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
    VenueEndpoints,
)
from seqkern.venues.polymarket.execution import PolymarketTransport, order_amounts, redeem_calldata
from seqkern.venues.polymarket.signing import ApiCreds, OrderV2, PolySigner, l2_signature
from seqkern.venues.polymarket.venue import PolymarketVenue, market_from_gamma
from tests.pred.rig import ladder, settled, shared_venues, until


def _docs() -> Path:
    return shared_venues() / "doc-examples" / "polymarket"


def _rec() -> Path:
    return shared_venues() / "recorded" / "polymarket"


KEY = "0x" + "5a" * 32
SLUG = "btc-above-99000-on-december-31-2026"


def test_order_and_auth_signatures_equal_eth_account():
    """Our precomputed-domain signer gives the bytes eth-account's generic EIP-712 stack gives."""
    s = PolySigner(KEY)
    acct = Account.from_key(KEY)
    assert s.address == acct.address
    td = json.loads((_docs() / "eip712_order_v2_typed_data.json").read_text())
    td["message"]["maker"] = td["message"]["signer"] = acct.address
    m = td["message"]
    o = OrderV2(int(m["salt"]), m["maker"], m["signer"], int(m["tokenId"]), int(m["makerAmount"]),
                int(m["takerAmount"]), m["side"], m["signatureType"], int(m["timestamp"]), m["metadata"], m["builder"])
    assert s.sign_order(o) == "0x" + acct.sign_message(encode_typed_data(full_message=td)).signature.hex()
    td["domain"]["verifyingContract"] = "0xe2222d279d744050d28e00520010520000310F59"
    assert s.sign_order(o, neg_risk=True) == "0x" + acct.sign_message(encode_typed_data(full_message=td)).signature.hex()
    ta = json.loads((_docs() / "eip712_clob_auth_typed_data.json").read_text())
    ta["message"]["address"] = acct.address
    h = s.l1_headers(int(ta["message"]["timestamp"]))
    assert h["POLY_SIGNATURE"] == "0x" + acct.sign_message(encode_typed_data(full_message=ta)).signature.hex()


def test_l2_hmac_and_amounts():
    sig = l2_signature("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "1767225600", "POST", "/order", '{"a":1}')
    assert len(sig) == 44 and sig.endswith("=")
    # BUY 100 @0.52 pays 52 pUSD for 100 shares (doc example amounts)
    body = json.loads((_docs() / "rest_post_order_v2_body.json").read_text())["order"]
    assert order_amounts(Side.BUY, 520_000_000, 100 * 10**8) == (int(body["makerAmount"]), int(body["takerAmount"]))
    assert order_amounts(Side.SELL, 520_000_000, 100 * 10**8) == (100_000_000, 52_000_000)
    data = redeem_calldata("0x" + "ab" * 32)
    assert len(data) == 4 + 32 * 7 and data[4 + 64:4 + 96] == bytes.fromhex("ab" * 32)


def test_doc_and_recorded_examples_parse():
    d = PredBookDecoder(FORMAT_POLYMARKET)
    book = L2Book(100_000, depth_ticks=16384)
    raw = (_docs() / "ws_book.json").read_bytes()
    assert d.scan(raw) == SNAPSHOT and d.apply_book(book) == 0
    assert book.best_bid()[0] == 500_000_000 and book.best_ask()[0] == 520_000_000
    token = json.loads(raw)["asset_id"].encode()
    assert d.scan((_docs() / "ws_price_change.json").read_bytes()) == DELTA
    assert d.apply_changes({token: book}) == 0 and book.best_bid()[0] == 510_000_000
    assert d.scan((_rec() / "ws_market_book_msg.json").read_bytes()) == SNAPSHOT
    assert d.scan((_rec() / "ws_market_price_change_msg.json").read_bytes()) == DELTA
    assert d.levels()[0][1:3] == ("0.51", "150.0")
    v = PolymarketVenue()
    nm = v.parse_market_message(json.loads((_docs() / "ws_new_market.json").read_text()), 0)[0]
    assert nm.market == "btc-above-99000-on-december-31-2026" and nm.tick_1e9 == 10_000_000
    assert [lg.symbol for lg in nm.legs] == [nm.market, f"{nm.market}:no"]
    ts = v.parse_market_message(json.loads((_docs() / "ws_tick_size_change.json").read_text()), 0)[0]
    assert ts.event == "tick_size_change" and ts.detail["new"] == "0.001"
    gm = market_from_gamma(json.loads((_rec() / "gamma_market.json").read_text()))
    assert gm.yes_token and gm.no_token and gm.condition_id.startswith("0x")


async def _load(sim: PolymarketSim) -> PolymarketVenue:
    items = [sim.gamma_item(m) for m in sim.markets.values()]
    ep = VenueEndpoints(sim.market_ws, "", sim.base_http, private_ws=sim.user_ws, metadata=sim.base_http)
    return PolymarketVenue(ep, markets=[market_from_gamma(orjson.loads(orjson.dumps(i))) for i in items])


def _converged(sim, runner, venue, slug):
    m = venue.markets[slug]
    for sym, tok in ((slug, m.yes_token), (f"{slug}:no", m.no_token)):
        b = runner.book(sym)
        bids, asks = sim.true_book(tok)
        if not (b.valid and ladder(b, 0) == bids and ladder(b, 1) == asks):
            return False
    return True


def test_edge_against_simulator():
    async def go():
        sim = await PolymarketSim().start()
        venue = await _load(sim)
        signer = PolySigner(KEY)
        sink = MemorySink()
        tr = PolymarketTransport(sim.base_http, sim.user_ws, venue, signer, relayer_url=sim.base_http)
        runner = EdgeRunner(venue, [SLUG], sink, transport=tr)   # rules from Gamma /markets?slug=
        await runner.start()
        try:
            # L2 credentials were derived from the signer (flat fields empty)
            assert tr.derived and sim.derive_calls == 1
            await runner.wait_live(SLUG)
            await runner.wait_live(f"{SLUG}:no")
            await settled(sim, lambda: _converged(sim, runner, venue, SLUG), "YES and NO token books")
            sim.faults.malformed_json = 1
            await until(lambda: runner.counters.unparsable >= 1, what="malformed frame")
            await settled(sim, lambda: _converged(sim, runner, venue, SLUG), "resync after malformed JSON")
            sim.faults.drop_sockets = 1
            await until(lambda: runner.counters.reconnects >= 1, what="reconnect")
            await settled(sim, lambda: _converged(sim, runner, venue, SLUG), "resync after reconnect")
            sim.paused = True
            e = sim.markets[SLUG].engine
            r = await runner.place(OrderRequest(SLUG, Side.BUY, OrderType.LIMIT, 10 * 10**8, 50_000_000,
                                                TimeInForce.POST_ONLY, "p1"))
            assert r.accepted, r.error_msg
            # NO leg: buy NO @0.30 rests as a YES sell @0.70 in the complementary book
            rn = await runner.place(OrderRequest(f"{SLUG}:no", Side.BUY, OrderType.LIMIT, 10 * 10**8, 300_000_000,
                                                 TimeInForce.GTC, "n1"))
            assert rn.accepted, rn.error_msg
            assert any(o.side == "SELL" and o.px == 700_000_000 and o.owner for o in e.orders.values())
            # amend is cancel + replace, reported so
            a = await runner.amend(SLUG, venue_order_id=r.venue_order_id, new_px_1e9=60_000_000)
            assert a.mode is AmendMode.CANCEL_REPLACE and a.replaced_order_id == r.venue_order_id
            assert a.result.accepted and not a.keeps_priority
            assert tr.graph_amend_mode == "cancel_replace" and tr.graph_batch_mode == "serial"
            c = await runner.cancel(SLUG, venue_order_id=a.result.venue_order_id)
            assert c.accepted
            # native batch of up to 15, best-effort per order (one off-tick price)
            reqs = [OrderRequest(SLUG, Side.BUY, OrderType.LIMIT, 5 * 10**8, 10_000_000 * (k + 1), TimeInForce.GTC)
                    for k in range(16)]
            reqs[3] = OrderRequest(SLUG, Side.BUY, OrderType.LIMIT, 5 * 10**8, 15_000_000, TimeInForce.GTC)
            b = await runner.batch(reqs)
            assert b.mode is BatchMode.NATIVE_BEST_EFFORT and b.max_batch == 15
            assert sim.batch_calls == 2
            assert [x.accepted for x in b.results].count(False) >= 1 and not b.results[3].accepted
            # a crossing order fills; the fill arrives on the user channel on the NO leg
            yes_bid = e.best("BUY")
            f = await runner.place(OrderRequest(f"{SLUG}:no", Side.BUY, OrderType.LIMIT, 5 * 10**8,
                                                1_000_000_000 - yes_bid, TimeInForce.FOK, "take"))
            assert f.accepted, f.error_msg
            await until(lambda: any(fl.venue_order_id == f.venue_order_id for _, fl in sink.fills), what="fill")
            fl = next(x for _, x in sink.fills if x.venue_order_id == f.venue_order_id)
            assert fl.venue_symbol == f"{SLUG}:no" and fl.side is Side.BUY
            # a tampered signature is refused
            body, _ = tr.signed_order(OrderRequest(SLUG, Side.BUY, OrderType.LIMIT, 10 * 10**8, 50_000_000))
            body["order"]["makerAmount"] = str(int(body["order"]["makerAmount"]) + 1)
            out = await tr._l2("POST", "/orders", [body])
            assert out[0]["success"] is False and "signature" in out[0]["errorMsg"] and sim.sig_failures == 1
            # discovery: new_market -> PairSpec at the sink -> both token books live -> quotable
            t0 = time.monotonic()
            await sim.announce_market("eth-above-5000-on-december-31-2026", tick="0.001")
            new = "eth-above-5000-on-december-31-2026"
            await until(lambda: any(s.symbol == new for s in sink.specs), timeout_s=2.0, what="PAIR_SPEC")
            spec_delay = time.monotonic() - t0
            assert next(s for s in sink.specs if s.symbol == new).spec.tick_1e9 == 1_000_000
            await runner.wait_live(new, 5.0)
            q = await runner.place(OrderRequest(new, Side.BUY, OrderType.LIMIT, 5 * 10**8, 401_000_000))
            assert q.accepted, q.error_msg
            print(f"polymarket discovery: PAIR_SPEC after {spec_delay * 1e3:.1f} ms, quoted after "
                  f"{(time.monotonic() - t0) * 1e3:.1f} ms")
            assert spec_delay < 0.5
            # a tick change: PAIR_SPEC re-sent for both legs with the new tick, then a finer price trades
            n_specs = len(sink.specs)
            await sim.change_tick(SLUG, "0.001")
            await until(lambda: len(sink.specs) >= n_specs + 2, what="PAIR_SPEC re-sent")
            assert {s.spec.tick_1e9 for s in sink.specs[n_specs:]} == {1_000_000}
            assert {s.symbol_id for s in sink.specs[n_specs:]} == {runner.symbol_id(SLUG), runner.symbol_id(f"{SLUG}:no")}
            fine = await runner.place(OrderRequest(SLUG, Side.BUY, OrderType.LIMIT, 5 * 10**8, 101_000_000))
            assert fine.accepted, fine.error_msg
            # resolution and redemption through the relayer
            await sim.resolve(SLUG)
            await until(lambda: any(s.event == "resolved" for s in runner.market_status.values()), what="resolved")
            red = await tr.redeem(SLUG)
            assert red["mode"] == "relayer_submitted" and sim.redemptions[-1]["condition_id"] == \
                venue.markets[SLUG].condition_id
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(asyncio.wait_for(go(), 60))


def test_pre_derived_credentials_and_bad_l2():
    async def go():
        sim = await PolymarketSim().start()
        venue = await _load(sim)
        signer = PolySigner(KEY)
        k, s_, p = sim._creds_for(signer.address)
        tr = PolymarketTransport(sim.base_http, sim.user_ws, venue, signer, creds=ApiCreds(k, s_, p))
        bad = PolymarketTransport(sim.base_http, sim.user_ws, venue, signer,
                                  creds=ApiCreds(k, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", p))
        try:
            sim.paused = True
            r = await tr.place(OrderRequest(SLUG, Side.BUY, OrderType.LIMIT, 10 * 10**8, 50_000_000))
            assert r.accepted and sim.derive_calls == 0
            rb = await bad.place(OrderRequest(SLUG, Side.BUY, OrderType.LIMIT, 10 * 10**8, 50_000_000))
            assert not rb.accepted and sim.l2_failures == 1
            assert "secret" not in repr(tr.creds) or "hidden" in repr(tr.creds)
        finally:
            await tr.close()
            await bad.close()
            await sim.stop()
    asyncio.run(asyncio.wait_for(go(), 60))


@pytest.mark.parametrize("n", [15, 16])
def test_batch_cap(n):
    async def go():
        sim = await PolymarketSim().start()
        venue = await _load(sim)
        tr = PolymarketTransport(sim.base_http, sim.user_ws, venue, PolySigner(KEY))
        try:
            sim.paused = True
            b = await tr.batch([OrderRequest(SLUG, Side.BUY, OrderType.LIMIT, 5 * 10**8, 10_000_000)] * n)
            assert len(b.results) == n and sim.batch_calls == (1 if n == 15 else 2)
        finally:
            await tr.close()
            await sim.stop()
    asyncio.run(asyncio.wait_for(go(), 60))
