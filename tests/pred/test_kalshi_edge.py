"""Kalshi edge against the Kalshi simulator over real sockets: both legs, faults, orders, discovery."""

from __future__ import annotations

import asyncio
import time

import pytest

from seqkern.edge.runner import EdgeRunner
from seqkern.edge.sink import MemorySink
from seqkern.sim.kalshi import ONE, KalshiSim
from seqkern.venues.base import (
    AmendMode,
    BatchMode,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
    VenueEndpoints,
)
from seqkern.venues.kalshi.auth import KalshiSigner
from seqkern.venues.kalshi.execution import KalshiTransport
from seqkern.venues.kalshi.venue import KalshiVenue
from seqkern.venues.pairspec import PairSpec
from tests.pred.rig import ed25519_pem, ladder, rsa_pem, settled, until

T = "KXBTCZ-26DEC31-T99000"
KEY_ID = "5a9e2c1b-0000-4000-8000-00000000abcd"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def converged(sim: KalshiSim, runner: EdgeRunner, t: str) -> bool:
    yes_bids, no_bids = sim.true_levels(t)
    yes, no = runner.book(t), runner.book(f"{t}:NO")
    if not (yes.valid and no.valid):
        return False
    want_yes_asks = sorted((ONE - p, q) for p, q in no_bids)
    want_no_asks = sorted((ONE - p, q) for p, q in yes_bids)
    return (ladder(yes, 0) == yes_bids and ladder(no, 0) == no_bids
            and ladder(yes, 1) == want_yes_asks and ladder(no, 1) == want_no_asks)


async def _rig(key_pem: str, pub_pem: str, **sim_kw):
    sim = await KalshiSim(**sim_kw).start()
    sim.add_account(KEY_ID, pub_pem)
    signer = KalshiSigner(KEY_ID, key_pem)
    sink = MemorySink()
    venue = KalshiVenue(VenueEndpoints(sim.ws_url, "", sim.base_http), signer=signer)
    transport = KalshiTransport(sim.base_http, sim.ws_url, signer)
    runner = EdgeRunner(venue, [T], sink, transport=transport)   # the market's rules from GET /markets/{T}
    await runner.start()
    return sim, runner, sink, transport


@pytest.mark.parametrize("legacy", [False, True], ids=["fixed-point", "legacy-cents"])
def test_both_legs_converge_and_resync_after_faults(legacy):
    async def go():
        priv, pub = rsa_pem()
        sim, runner, sink, _ = await _rig(priv, pub, legacy_cents=legacy)
        try:
            await runner.wait_live(T)
            await runner.wait_live(f"{T}:NO")
            await settled(sim, lambda: converged(sim, runner, T), "both legs equal to the venue book")
            # each leg is a proper two-sided book, mirrored: NO bid = 1 - YES ask
            yes, no = runner.book(T), runner.book(f"{T}:NO")
            assert yes.best_bid() and yes.best_ask() and no.best_bid() and no.best_ask()
            assert no.best_bid()[0] == ONE - yes.best_ask()[0]
            assert {s.symbol for s in sink.specs} == {T, f"{T}:NO"}
            # a withheld delta: the seq hole is seen, snapshots requested, books converge again
            gaps = runner.counters.gaps
            sim.faults.skip_sequence = 1
            await until(lambda: runner.counters.gaps > gaps, what="gap detected")
            assert runner.counters.snapshot_requests >= 1
            await settled(sim, lambda: converged(sim, runner, T), "convergence after the gap")
            assert sink.resyncs
            # a malformed frame: all books resync
            bad = runner.counters.unparsable
            sim.faults.malformed_json = 1
            await until(lambda: runner.counters.unparsable > bad, what="malformed frame seen")
            await settled(sim, lambda: converged(sim, runner, T), "convergence after malformed JSON")
            # the socket dropped: reconnect, resubscribe, converge
            rec = runner.counters.reconnects
            sim.faults.drop_sockets = 1
            await until(lambda: runner.counters.reconnects > rec, what="reconnect")
            await settled(sim, lambda: converged(sim, runner, T), "convergence after reconnect")
        finally:
            await runner.stop()
            await sim.stop()
    run(go())


@pytest.mark.parametrize("keygen", [rsa_pem, ed25519_pem], ids=["rsa-pss", "ed25519"])
def test_every_order_verb_with_modes(keygen):
    async def go():
        priv, pub = keygen()
        sim, runner, sink, tr = await _rig(priv, pub)
        try:
            await runner.wait_live(T)
            sim.paused = True
            e = sim.markets[T].engine
            # the tier decides the batch size: 200 write tokens / 10 per order
            assert tr.max_batch == 20 and tr.usage_tier == "basic"
            assert tr.rest.limiter.pools["write"].limit == 200 and tr.rest.limiter.pools["write"].window_s == 2.0
            # modes: native at the transport, as the spec says at the graph level
            assert tr.amend_mode is AmendMode.NATIVE_ATOMIC and tr.batch_mode is BatchMode.NATIVE_ATOMIC
            assert tr.graph_amend_mode == "cancel_replace" and tr.graph_batch_mode == "serial"
            assert tr.settlement == "auto_settled"
            r = await runner.place(OrderRequest(T, Side.BUY, OrderType.LIMIT, 500_000_000, 50_000_000,
                                                TimeInForce.POST_ONLY, "c1"))
            assert r.accepted, r.error_msg
            o = next(o for o in e.orders.values() if o.client_order_id == "c1")
            assert (o.side, o.px, o.qty) == ("BUY", 50_000_000, 500_000_000)
            # NO leg: buy NO @0.97 is a YES ask @0.03? no: buy NO @q = ask @(1-q)
            r2 = await runner.place(OrderRequest(f"{T}:NO", Side.BUY, OrderType.LIMIT, 300_000_000, 20_000_000,
                                                 TimeInForce.GTC, "n1"))
            assert r2.accepted, r2.error_msg
            o2 = next(o for o in e.orders.values() if o.client_order_id == "n1")
            assert (o2.side, o2.px) == ("SELL", 980_000_000)
            # native amend keeps the order id
            a = await runner.amend(T, client_order_id="c1", new_px_1e9=60_000_000, new_qty_1e8=400_000_000)
            assert a.mode is AmendMode.NATIVE_ATOMIC and a.result.accepted, a.result.error_msg
            assert a.result.venue_order_id == r.venue_order_id
            assert (o.px, o.remaining) == (60_000_000, 400_000_000)
            d = await runner.decrease(T, venue_order_id=r.venue_order_id, new_qty_1e8=100_000_000)
            assert d.result.accepted and d.keeps_priority and o.remaining == 100_000_000
            c = await runner.cancel(T, venue_order_id=r.venue_order_id)
            assert c.accepted and o.order_id not in e.orders
            # native batch with per-order results (one bad price)
            reqs = [OrderRequest(T, Side.BUY, OrderType.LIMIT, 100_000_000, 10_000_000 * (k + 1), TimeInForce.GTC,
                                 f"b{k}") for k in range(3)]
            reqs.append(OrderRequest(T, Side.BUY, OrderType.LIMIT, 100_000_000, 5_000_000, TimeInForce.GTC, "bad"))
            b = await runner.batch(reqs)
            assert b.mode is BatchMode.NATIVE_ATOMIC and b.max_batch == 20
            assert [x.accepted for x in b.results] == [True, True, True, False]
            assert sim.rest_calls.get("/trade-api/v2/portfolio/events/orders/batched") == 1
            # a crossing order fills; the fill reaches the sink on the NO leg it was placed on
            best_bid = e.best("BUY")
            f = await runner.place(OrderRequest(f"{T}:NO", Side.BUY, OrderType.LIMIT, 100_000_000, ONE - best_bid,
                                                TimeInForce.IOC, "take"))
            assert f.accepted and f.filled_qty_1e8 == 100_000_000
            await until(lambda: any(fl.client_order_id == "take" for _, fl in sink.fills), what="fill on the WS")
            fill = next(fl for _, fl in sink.fills if fl.client_order_id == "take")
            assert fill.venue_symbol == f"{T}:NO" and fill.side is Side.BUY and fill.px_1e9 == ONE - best_bid
            # bad signatures are refused with the venue's 401
            bad = KalshiTransport(sim.base_http, sim.ws_url, KalshiSigner(KEY_ID, rsa_pem()[0]))
            rb = await bad.place(OrderRequest(T, Side.BUY, OrderType.LIMIT, 100_000_000, 10_000_000))
            await bad.close()
            assert (not rb.accepted and rb.error_code == 401) or "authentication" in rb.error_msg
            assert sim.auth_failures >= 1
        finally:
            await runner.stop()
            await sim.stop()
    run(go())


def test_legacy_v1_create_answers_410():
    async def go():
        priv, pub = rsa_pem()
        sim = await KalshiSim().start()
        sim.add_account(KEY_ID, pub)
        tr = KalshiTransport(sim.base_http, sim.ws_url, KalshiSigner(KEY_ID, priv))
        try:
            from seqkern.venues.base import VenueRejected
            with pytest.raises(VenueRejected) as ei:
                await tr._call("POST", "/portfolio/orders", {"ticker": T, "side": "yes", "action": "buy",
                                                             "count": 1, "yes_price": 5})
            assert ei.value.http_status == 410 and "deprecated_v1_order_endpoint" in str(ei.value)
            assert sim.legacy_hits == 1
        finally:
            await tr.close()
            await sim.stop()
    run(go())


def test_lifecycle_discovery_reaches_sink_and_is_quotable():
    async def go():
        priv, pub = rsa_pem()
        sim, runner, sink, _ = await _rig(priv, pub)
        try:
            await runner.wait_live(T)
            new = "KXETHZ-26DEC31-T5000"
            t0 = time.monotonic()
            await sim.announce_market(new, step="0.0010")
            await until(lambda: any(s.symbol == new for s in sink.specs), timeout_s=2.0, what="PAIR_SPEC")
            spec_delay = time.monotonic() - t0
            spec = next(s for s in sink.specs if s.symbol == new).spec
            assert isinstance(spec, PairSpec) and spec.tick_1e9 == 1_000_000 and spec.instrument_type == "binary"
            assert any(s.symbol == f"{new}:NO" for s in sink.specs)
            await runner.wait_live(new, 5.0)
            quote_delay = time.monotonic() - t0
            r = await runner.place(OrderRequest(new, Side.BUY, OrderType.LIMIT, 100_000_000, 10_000_000,
                                                TimeInForce.GTC, "first"))
            assert r.accepted, r.error_msg
            # the new market joined the existing subscriptions (add_markets), no new sid per market
            book_subs = [s for c in sim._clients for s in c.subs.values() if s.channel == "orderbook_delta"]
            assert len(book_subs) == 1 and new in book_subs[0].tickers
            print(f"kalshi discovery: PAIR_SPEC after {spec_delay * 1e3:.1f} ms, book live after "
                  f"{quote_delay * 1e3:.1f} ms")
            assert spec_delay < 0.5
            await sim.settle_market(new)
            await until(lambda: new in runner.market_status and runner.market_status[new].event == "settled",
                        what="settlement seen")
        finally:
            await runner.stop()
            await sim.stop()
    run(go())


def test_simulator_records_use_yes_price():
    """The flag is per connection: NO levels come on the YES scale for that client only."""
    from seqkern._fixed import parse_px

    from seqkern.sim.kalshi import KalshiSim as Sim
    from seqkern.venues.kalshi.execution import dollars

    sim = Sim()
    m = sim.markets[T]
    plain = sim._snapshot_msg(m)
    yes_scale = sim._snapshot_msg(m, True)
    no_plain = {p for p, _ in plain["no_dollars_fp"]}
    no_yes = {p for p, _ in yes_scale["no_dollars_fp"]}
    assert {dollars(ONE - parse_px(p)) for p in no_plain} == no_yes
    assert plain["yes_dollars_fp"] == yes_scale["yes_dollars_fp"]
