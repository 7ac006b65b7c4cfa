"""Simulated accounts hold funds for open orders, settle fills and refuse unfundable orders with each
venue's own error."""

from __future__ import annotations

import asyncio

import pytest
from seqkern._fixed import parse_px, parse_qty

from seqkern.sim.bitget import BitgetSim
from seqkern.sim.coinbase import CoinbaseSim
from seqkern.sim.cryptocom import CryptocomSim
from seqkern.sim.instream import SimInsufficient
from seqkern.sim.kraken import KrakenSim
from seqkern.sim.matching import BUY, SELL


@pytest.mark.parametrize("sim_cls", [KrakenSim, CoinbaseSim, BitgetSim, CryptocomSim])
def test_hold_settle_release(sim_cls) -> None:
    async def run() -> None:
        sim = sim_cls(seed=5)
        sim.paused = True
        st = next(iter(sim.books.values()))
        quote, base = st.spec.quote, st.spec.base
        acct = sim.add_account("acct", "s", "p", balances={quote: "100000", base: "1"})
        e = st.engine
        bid, ask = e.best(BUY), e.best(SELL)
        qty = st.spec.min_qty_1e8 * 10
        o = sim.new_order("acct", st, BUY, bid - 100 * e.tick, qty, vid="v1")
        await sim.submit(st, o)
        held = (bid - 100 * e.tick) * qty // 1_000_000_000
        assert acct.locked[quote] == held and acct.balances[quote] == parse_qty("100000") - held
        await sim.cancel_order(st, o)
        assert acct.locked[quote] == 0 and acct.balances[quote] == parse_qty("100000")
        take = sim.new_order("acct", st, BUY, ask, min(qty, e.level_qty(SELL, ask)), vid="v2", tif="IOC")
        await sim.submit(st, take)
        assert acct.balances[base] == parse_qty("1") + take.filled
        assert acct.balances[quote] == parse_qty("100000") - ask * take.filled // 1_000_000_000
        big = sim.new_order("acct", st, BUY, bid, parse_qty("1000"), vid="v3")
        with pytest.raises(SimInsufficient):
            await sim.submit(st, big)
        assert parse_px("1") > 0
    asyncio.run(run())


def test_unfunded_orders_get_each_venues_error() -> None:
    """Through the real transports: the venue's own insufficient-funds answer."""
    from seqkern.venues.base import OrderRequest, OrderType, Side
    from tests.edge_cex4 import test_orders_bitget as bg
    from tests.edge_cex4 import test_orders_cryptocom as cdc
    from tests.edge_cex4 import test_orders_kraken as kr

    async def one(rig, key: str, symbol: str, expect: object) -> None:
        sim, runner, _ = await rig()
        try:
            st = sim.books[symbol]
            sim.accounts[key].balances[st.spec.quote] = 0
            e = st.engine
            r = await runner.place(OrderRequest(symbol, Side.BUY, OrderType.LIMIT, st.spec.min_qty_1e8 * 10,
                                                e.best(BUY) - 50 * e.tick))
            assert not r.accepted and r.error_code == expect
        finally:
            await runner.stop()
            await sim.stop()

    async def run() -> None:
        await one(kr._rig, kr.KEY, "BTC/USD", "EOrder:Insufficient funds")
        await one(cdc._rig, cdc.KEY, "BTC_USDT", 306)
        await one(bg._rig, bg.KEY, "BTCUSDT", "43012")
    asyncio.run(run())
