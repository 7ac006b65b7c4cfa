"""/v1/stream: subscribe ack with rejected topics, snapshot first, envelopes, tickets, slow
consumers."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import numpy as np

from tests.cc.harness import ThreadedCC, http


async def _recv(ws, n, timeout=5.0):
    out = []
    for _ in range(n):
        msg = await asyncio.wait_for(ws.receive(), timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        out.append(json.loads(msg.data))
    return out


def test_subscribe_snapshot_then_updates(cc):
    key = cc.key(["read", "trade"], sandbox=True)

    async def run():
        async with aiohttp.ClientSession() as s, s.ws_connect(
                cc.url.replace("http", "ws") + "/v1/stream",
                headers={"Authorization": f"Bearer {key}"}) as ws:
            await ws.send_str(json.dumps({"subscribe": ["prices:BTC-USDT", "orders", "fills",
                                                        "routing", "prices:NOPE", "bogus"]}))
            ack, *snaps = await _recv(ws, 5)
            assert ack == {"subscribed": ["prices:BTC-USDT", "orders", "fills", "routing"],
                           "rejected": ["prices:NOPE", "bogus"]}
            assert [m["channel"] for m in snaps] == ["prices:BTC-USDT", "orders", "fills", "routing"]
            assert all(m.get("snapshot") for m in snaps)
            assert snaps[0]["data"]["bid"] == 100000.5 and "spread_bps" in snaps[0]["data"]
            # an order: routing, orders and fills events arrive as {"channel", "data"}
            st, o = await asyncio.to_thread(http, "POST", cc.url + "/v1/orders",
                                            {"symbol": "BTC-USDT", "side": "buy", "qty": "0.1"}, key)
            assert st == 201
            seen = {}
            while "fills" not in seen or "routing" not in seen or \
                    seen.get("orders", {}).get("order_id") != o["order_id"]:
                (m,) = await _recv(ws, 1)
                seen[m["channel"]] = m["data"]
            assert seen["fills"]["order_id"] == o["children"][0]["order_id"]
            assert seen["routing"]["legs"][0]["venue"] == "okx"
            assert seen["orders"]["status"] == "filled"
            # a book change: a prices update
            cc.call(lambda: cc.cc.market.apply_book(
                "BTC-USDT", 3, np.array([100000_500000000]), np.array([10**8]),
                np.array([100000_600000000]), np.array([10**8]), snapshot=True))
            (m,) = await _recv(ws, 1)
            assert m["channel"] == "prices:BTC-USDT" and m["data"]["ask"] == 100000.6
            await ws.send_str(json.dumps({"unsubscribe": ["prices:BTC-USDT"]}))
            (m,) = await _recv(ws, 1)
            assert m == {"unsubscribed": ["prices:BTC-USDT"]}
            await ws.send_str("not json")
            (m,) = await _recv(ws, 1)
            assert m["error"]["code"] == "BAD_JSON"

    asyncio.run(run())


def test_book_topic_snapshot_and_update(cc):
    key = cc.key(["read"])

    async def run():
        async with aiohttp.ClientSession() as s, s.ws_connect(
                cc.url.replace("http", "ws") + "/v1/stream",
                headers={"Authorization": f"Bearer {key}"}) as ws:
            await ws.send_str(json.dumps({"subscribe": ["book:ETH-USDT"]}))
            ack, snap = await _recv(ws, 2)
            assert ack["subscribed"] == ["book:ETH-USDT"] and snap["snapshot"]
            assert snap["data"]["venues"]["binance"]["bids"] == [[3000.0, 10.0]]
            cc.call(lambda: cc.cc.market.apply_book(
                "ETH-USDT", 3, np.array([3000_100000000, 3000_000000000]), np.array([10**8, 10**9]),
                np.array([3000_400000000]), np.array([10**8]), snapshot=True))
            (m,) = await _recv(ws, 1)
            assert m["channel"] == "book:ETH-USDT" and not m.get("snapshot")
            assert m["data"]["venues"]["binance"]["bids"] == [[3000.1, 1.0], [3000.0, 10.0]]
            assert m["data"]["venues"]["binance"]["asks"] == [[3000.4, 1.0]]

    asyncio.run(run())


def test_other_keys_do_not_see_my_orders(cc):
    a = cc.key(["read", "trade"], sandbox=True)
    b = cc.key(["read", "trade"], sandbox=True)

    async def run():
        async with aiohttp.ClientSession() as s, s.ws_connect(
                cc.url.replace("http", "ws") + "/v1/stream",
                headers={"Authorization": f"Bearer {b}"}) as ws:
            await ws.send_str(json.dumps({"subscribe": ["orders"]}))
            await _recv(ws, 2)
            await asyncio.to_thread(http, "POST", cc.url + "/v1/orders",
                                    {"symbol": "ETH-USDT", "side": "buy", "qty": "1"}, a)
            try:
                msg = await asyncio.wait_for(ws.receive(), 0.5)
                raise AssertionError(f"b saw a's event: {msg}")
            except TimeoutError:
                pass

    asyncio.run(run())


def test_ticket_single_use_and_auth(cc):
    key = cc.key(["read"])

    async def run():
        async with aiohttp.ClientSession() as s:
            r = await s.get(cc.url + "/v1/stream")
            assert r.status == 401
            st, t = await asyncio.to_thread(http, "GET", cc.url + "/v1/ws/ticket", None, key)
            assert st == 200 and t["expires_in_ms"] == 30000
            async with s.ws_connect(cc.url.replace("http", "ws") + "/v1/stream?ticket=" + t["ticket"]) as ws:
                await ws.send_str(json.dumps({"subscribe": ["routing"]}))
                ack, _snap = await _recv(ws, 2)
                assert ack["subscribed"] == ["routing"]
            r = await s.get(cc.url + "/v1/stream?ticket=" + t["ticket"])
            assert r.status == 401 and (await r.json())["error"]["code"] == "UNAUTHORIZED"

    asyncio.run(run())


def test_slow_consumer_is_dropped_with_a_notice(tmp_path):
    from tests.cc.harness import BOOKS

    c = ThreadedCC(str(tmp_path / "cc"), books=BOOKS, stream_max_queue=50)
    try:
        key = c.key(["read", "trade"], sandbox=True)

        async def run():
            async with aiohttp.ClientSession() as s, s.ws_connect(
                    c.url.replace("http", "ws") + "/v1/stream",
                    headers={"Authorization": f"Bearer {key}"}) as ws:
                await ws.send_str(json.dumps({"subscribe": ["orders", "prices:ETH-USDT"]}))
                await _recv(ws, 3)
                # the client stops reading; the CC publishes 500 events in one go
                def burst():
                    hub = c.cc.hub
                    for i in range(500):
                        hub.publish("orders", {"i": i}, None)
                        hub.publish("prices:ETH-USDT", {"i": i})
                c.call(burst)
                msgs = []
                while True:
                    m = await asyncio.wait_for(ws.receive(), 5)
                    if m.type != aiohttp.WSMsgType.TEXT:
                        break
                    msgs.append(json.loads(m.data))
                assert msgs[-1]["channel"] == "notice"
                assert msgs[-1]["data"]["code"] == "SLOW_CONSUMER"
                assert len(msgs) <= 51
            assert c.cc.hub.dropped == 1
            # the CC keeps serving
            st, _ = await asyncio.to_thread(http, "GET", c.url + "/v1/health")
            assert st == 200

        asyncio.run(run())
    finally:
        c.close()


def test_market_topics_are_conflated(cc):
    key = cc.key(["read"])

    async def run():
        async with aiohttp.ClientSession() as s, s.ws_connect(
                cc.url.replace("http", "ws") + "/v1/stream",
                headers={"Authorization": f"Bearer {key}"}) as ws:
            await ws.send_str(json.dumps({"subscribe": ["prices:ETH-USDT"]}))
            await _recv(ws, 2)

            def burst():
                for i in range(1000):
                    cc.cc.hub.publish("prices:ETH-USDT", {"i": i})
            cc.call(burst)
            got = []
            while not got or got[-1]["data"]["i"] != 999:
                (m,) = await _recv(ws, 1)
                got.append(m)
            assert len(got) < 1000   # conflated: intermediate values were replaced, in order
            assert [g["data"]["i"] for g in got] == sorted(g["data"]["i"] for g in got)

    asyncio.run(run())
