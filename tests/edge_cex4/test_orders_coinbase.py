"""Coinbase order entry (REST + CDP JWT, user channel) against the simulator: every verb, modes, fills."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from seqkern.edge.rest import RateLimiter, RestClient
from seqkern.sim.coinbase import CoinbaseSim
from seqkern.sim.matching import BUY, SELL
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
from seqkern.venues.coinbase import CoinbaseSpot
from seqkern.venues.coinbase.execution import CoinbaseRestTransport
from seqkern.venues.credentials import CexPassphraseCredentials
from tests.edge_cex4.harness import start_edge

KEY_NAME = "organizations/org-sim/apiKeys/key-1"


def _pem(k: object) -> str:
    return k.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()  # type: ignore[attr-defined]


async def _rig(priv: object):
    sim = await CoinbaseSim(seed=51).start()
    sim.add_cdp_key(KEY_NAME, priv.public_key())  # type: ignore[attr-defined]
    venue = CoinbaseSpot(VenueEndpoints(market_ws=f"{sim.base_ws}/", trade_ws=f"{sim.base_ws}/user",
                                        rest=sim.base_http, private_ws=f"{sim.base_ws}/user"))
    rest = RestClient(venue.endpoints.rest, RateLimiter(venue.rate_limits))
    t = CoinbaseRestTransport(rest=rest, user_ws=venue.endpoints.private_ws,
                              credentials=CexPassphraseCredentials("coinbase", KEY_NAME, _pem(priv), "unused"))
    runner, sink = await start_edge(venue, ["BTC-USD"], transport=t, rest=rest)
    await runner.wait_live("BTC-USD", 10)
    return sim, runner, sink


@pytest.mark.parametrize("keytype", ["es256", "ed25519"])
def test_coinbase_every_order_verb(keytype: str) -> None:
    async def run() -> None:
        priv = ec.generate_private_key(ec.SECP256R1()) if keytype == "es256" else Ed25519PrivateKey.generate()
        sim, runner, _ = await _rig(priv)
        try:
            e = sim.engine("BTC-USD")
            lot = sim.books["BTC-USD"].spec.min_qty_1e8 * 1000
            px = e.best(BUY) - 300 * e.tick
            r = await runner.place(OrderRequest("BTC-USD", Side.BUY, OrderType.LIMIT, 10 * lot, px, TimeInForce.GTC, "cb-1"))
            assert r.accepted and r.client_order_id == "cb-1"
            o = next(o for o in e.orders.values() if o.client_order_id == "cb-1")
            assert (await runner.place(OrderRequest("BTC-USD", Side.BUY, OrderType.LIMIT, lot, px))).accepted
            d = await runner.decrease("BTC-USD", venue_order_id=r.venue_order_id, new_qty_1e8=5 * lot)
            assert d.mode is AmendMode.NATIVE_ATOMIC and d.keeps_priority and e.queue_position(o.order_id) == 0
            a = await runner.amend("BTC-USD", venue_order_id=r.venue_order_id, new_px_1e9=px - e.tick)
            assert a.mode is AmendMode.NATIVE_ATOMIC and a.result.accepted and (o.px, o.qty) == (px - e.tick, 5 * lot)
            same = await runner.amend("BTC-USD", venue_order_id=r.venue_order_id, new_px_1e9=px - e.tick)
            assert not same.result.accepted and same.result.error_code == "EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST"
            c = await runner.cancel("BTC-USD", venue_order_id=r.venue_order_id)
            assert c.accepted and o.order_id not in e.orders
            c2 = await runner.cancel("BTC-USD", venue_order_id=r.venue_order_id)
            assert not c2.accepted and c2.error_code == "UNKNOWN_CANCEL_ORDER"
            b = await runner.batch([OrderRequest("BTC-USD", Side.BUY, OrderType.LIMIT, lot, px - k * e.tick)
                                    for k in range(3)])
            assert b.mode is BatchMode.SERIAL and all(x.accepted for x in b.results)
            ioc = await runner.place(OrderRequest("BTC-USD", Side.BUY, OrderType.LIMIT, lot, px, TimeInForce.IOC))
            edit_ioc = await runner.amend("BTC-USD", venue_order_id=ioc.venue_order_id, new_px_1e9=px,
                                          new_qty_1e8=lot)
            assert not edit_ioc.result.accepted       # IOC expired; edits are for open GTC limit orders only
            sim.paused = True   # the touch holds still between reading it and the order
            po = await runner.place(OrderRequest("BTC-USD", Side.BUY, OrderType.LIMIT, lot, e.best(SELL), TimeInForce.POST_ONLY))
            assert not po.accepted and po.error_code == "INVALID_LIMIT_PRICE_POST_ONLY"
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(run())


def test_coinbase_fills_from_the_user_channel() -> None:
    async def run() -> None:
        sim, runner, sink = await _rig(ec.generate_private_key(ec.SECP256R1()))
        try:
            e = sim.engine("BTC-USD")
            sim.paused = True   # the touch holds still between reading it and the order
            ask = e.best(SELL)
            qty = sim.books["BTC-USD"].spec.min_qty_1e8
            r = await runner.place(OrderRequest("BTC-USD", Side.BUY, OrderType.LIMIT, qty, ask, TimeInForce.IOC, "cbt-1"))
            assert r.accepted
            for _ in range(100):
                if sink.fills and any(u.status is OrderStatus.FILLED for _, u in sink.order_updates):
                    break
                await asyncio.sleep(0.02)
            _, f = sink.fills[0]
            assert f.venue_order_id == r.venue_order_id and (f.px_1e9, f.qty_1e8) == (ask, qty)
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(run())


def test_coinbase_wrong_key_is_401() -> None:
    async def run() -> None:
        sim = await CoinbaseSim(seed=52).start()
        sim.add_cdp_key(KEY_NAME, ec.generate_private_key(ec.SECP256R1()).public_key())
        rest = RestClient(sim.base_http, RateLimiter(CoinbaseSpot.rate_limits))
        other = ec.generate_private_key(ec.SECP256R1())
        t = CoinbaseRestTransport(rest=rest, user_ws=f"{sim.base_ws}/user",
                                  credentials=CexPassphraseCredentials("coinbase", KEY_NAME, _pem(other), "x"))
        try:
            r = await t.place(OrderRequest("BTC-USD", Side.BUY, OrderType.LIMIT, 100000, 1_000_000_000_000))
            assert not r.accepted and "PRIVATE KEY" not in r.error_msg
            assert sim.rest_calls.get("/api/v3/brokerage/orders") == 1
        finally:
            await t.close()
            await rest.close()
            await sim.stop()
    asyncio.run(run())


def test_coinbase_order_rest_faults_are_unavailable_not_retried() -> None:
    from seqkern.venues.base import VenueUnavailable

    async def run() -> None:
        sim, runner, _ = await _rig(Ed25519PrivateKey.generate())
        try:
            e = sim.engine("BTC-USD")
            lot = sim.books["BTC-USD"].spec.min_qty_1e8
            px = e.best(BUY) - 300 * e.tick
            sim.faults.rest_errors = [(502, 0.0)]
            with pytest.raises(VenueUnavailable):
                await runner.place(OrderRequest("BTC-USD", Side.BUY, OrderType.LIMIT, lot, px))
            assert sim.rest_calls["/api/v3/brokerage/orders"] == 1
            assert not [o for o in e.orders.values() if o.owner is not None]
        finally:
            await runner.stop()
            await sim.stop()
    asyncio.run(run())
