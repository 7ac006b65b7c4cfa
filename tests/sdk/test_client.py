"""The SDK against a real CC on 127.0.0.1: typed results, mode fields, ApiError codes, stream."""

from __future__ import annotations

import asyncio

import pytest

from seqkern.sdk import ApiError, BatchResult, Client, Order, Preview, Quote, SyncClient


def test_sync_client_verbs(cc):
    key = cc.key(["read", "trade"], sandbox=True)
    with SyncClient(cc.url, key) as c:
        q = c.nbbo("BTC-USDT")
        assert isinstance(q, Quote) and q.bid == 100000.5 and q.venues["binance"].ask == 100001.0
        p = c.quote("BTC-USDT", "buy", "0.5")
        assert isinstance(p, Preview) and p.legs[0].venue == "binance" and p.expected_cost_bps > 0
        assert [x.venue for x in c.venues_for("BTC-USDT")] == ["binance", "okx"]
        assert {x.symbol for x in c.pairs()} == {"BTC-USDT", "BTC-USD", "ETH-USDT"}
        o = c.buy("ETH-USDT", 1, price="2990", client_request_id="sdk-1")
        assert isinstance(o, Order) and o.status == "accepted" and not o.terminal
        assert o.children[0].venue == "binance"
        again = c.buy("ETH-USDT", 1, price="2990", client_request_id="sdk-1")
        assert again.duplicate and again.order_id == o.order_id
        a = c.amend(o.order_id, price=2995)
        assert a.amend_mode == "cancel_replace" and a.price == 2995.0
        d = c.decrease(o.order_id, "0.25")
        assert d.qty == 0.75
        x = c.cancel(o.order_id)
        assert x.status == "cancelled" and x.terminal
        s = c.sell("ETH-USDT", 0.5)
        assert s.status == "filled" and s.avg_price == 3000.0 and s.fill_pct == 100.0
        f = c.fills(s.order_id)
        assert len(f) == 1 and f[0].qty_1e8 == 50_000_000
        b = c.batch([{"symbol": "ETH-USDT", "side": "buy", "qty": "0.1"},
                     {"symbol": "BTC-USD", "side": "buy", "qty": "0"}])
        assert isinstance(b, BatchResult) and b.batch_mode == "serial"
        assert isinstance(b.results[0], Order) and isinstance(b.results[1], ApiError)
        assert b.results[1].code == "BAD_REQUEST"
        with pytest.raises(ApiError) as ei:
            c.buy("NOPE-USD", 1)
        assert ei.value.code == "NO_ROUTABLE_VENUE" and ei.value.status == 422
        assert c.open_orders() == []


def test_errors_carry_codes(cc):
    with SyncClient(cc.url, "") as c, pytest.raises(ApiError) as ei:
        c.edges()
    assert (ei.value.code, ei.value.status) == ("UNAUTHORIZED", 401)
    with SyncClient(cc.url, cc.key(["read"])) as c:
        with pytest.raises(ApiError) as ei:
            c.buy("ETH-USDT", 1)
        assert ei.value.code == "FORBIDDEN"
        with pytest.raises(ApiError) as ei:
            c.set_credentials("binance", api_key="k", api_secret="s")
        assert ei.value.code == "FORBIDDEN"
    with SyncClient(cc.url, cc.admin) as c:
        with pytest.raises(ApiError) as ei:
            c.set_credentials("binance", api_key="k")
        assert ei.value.code == "MISSING_CREDENTIAL" and "api_secret" in ei.value.message
        assert c.set_credentials("bybit", api_key="k", api_secret="s")["venue"] == "bybit"
        assert [x["venue"] for x in c.credentials()] == ["bybit"]


def test_async_client_and_stream(cc):
    key = cc.key(["read", "trade"], sandbox=True)

    async def run():
        async with Client(cc.url, key) as c:
            events = []

            async def consume():
                async for ev in c.stream("orders", "fills"):
                    events.append(ev)
                    if ev.channel == "fills" and not ev.snapshot:
                        return

            task = asyncio.create_task(consume())
            while len(events) < 2:      # the two snapshots come first
                await asyncio.sleep(0.01)
            assert [e.snapshot for e in events[:2]] == [True, True]
            o = await c.buy("BTC-USDT", "0.1")
            await asyncio.wait_for(task, 5)
            assert events[-1].data["parent_id"] == o.order_id
            with pytest.raises(ApiError) as ei:
                async for _ in c.stream("prices:NOPE"):
                    pass
            assert ei.value.code == "STREAM_REJECTED"

    asyncio.run(run())


def test_sync_stream(cc):
    key = cc.key(["read"])
    with SyncClient(cc.url, key) as c:
        it = c.stream("prices:ETH-USDT")
        ev = next(it)
        assert ev.channel == "prices:ETH-USDT" and ev.snapshot and ev.data["bid"] == 3000.0
        it.close()


def test_venue_constants_from_the_sdk():
    from seqkern import sdk

    assert (sdk.VENUE_KRAKEN, sdk.VENUE_BINANCE, sdk.VENUE_KALSHI) == (1, 3, 19)
    assert sdk.is_cex(sdk.VENUE_BINANCE) and not sdk.is_dex(sdk.VENUE_BINANCE)
    assert sdk.is_dex(sdk.VENUE_DEX_SOL) and not sdk.is_cex(sdk.VENUE_POLYMARKET)


def test_wait_returns_terminal_orders(cc):
    key = cc.key(["read", "trade"], sandbox=True)
    with SyncClient(cc.url, key) as c:
        o = c.buy("ETH-USDT", "0.1")
        assert c.wait(o.order_id).status == "filled"
        r = c.buy("ETH-USDT", "0.1", price="2000")
        w = c.wait(r.order_id, 0.2)          # rests: not terminal, returned after the timeout
        assert w.status == "accepted" and not w.terminal
        assert c.wait(r.order_id, 1.0, until="acked").status == "accepted"
