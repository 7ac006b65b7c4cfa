"""The Binance simulator speaks Binance's protocol: paths, frames, acks, error codes, signatures."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import orjson
import pytest

from seqkern.sim.binance import BinanceSim
from seqkern.venues.binance.auth import BinanceSigner

KEY, SECRET = "sim-key", "sim-secret"


def run(coro, timeout: float = 20.0):
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


async def _started(**kw) -> BinanceSim:
    sim = BinanceSim(**kw)
    sim.add_account(KEY, SECRET, balances={"USDT": "1000", "BTC": "1"})
    return await sim.start()


async def _ws_api(ws, method: str, params: dict | None = None, rid: str = "1") -> dict:
    frame = {"id": rid, "method": method}
    if params is not None:
        frame["params"] = params
    await ws.send_str(orjson.dumps(frame).decode())
    return orjson.loads((await ws.receive()).data)


def test_market_streams_subscribe_ack_and_formats() -> None:
    async def go() -> None:
        sim = await _started()
        try:
            async with aiohttp.ClientSession() as s:
                async with s.ws_connect(f"{sim.base_ws}/stream") as ws:
                    await ws.send_str('{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms"],"id":1}')
                    assert orjson.loads((await ws.receive()).data) == {"result": None, "id": 1}
                    msg = orjson.loads((await ws.receive(timeout=2)).data)
                    assert msg["stream"] == "btcusdt@depth@100ms" and msg["data"]["e"] == "depthUpdate"
                    assert set(msg["data"]) == {"e", "E", "s", "U", "u", "b", "a"}
                    await ws.send_str('{"method":"UNSUBSCRIBE","params":["btcusdt@depth@100ms"],"id":3}')
                    await ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":4}')
                    seen = {}
                    while 4 not in seen:
                        m = orjson.loads((await ws.receive(timeout=2)).data)
                        if "id" in m:
                            seen[m["id"]] = m
                    assert seen[3] == {"result": None, "id": 3} and seen[4]["result"] == []
                    await ws.send_str('{"method":"NOPE","id":2}')
                    while True:
                        m = orjson.loads((await ws.receive(timeout=2)).data)
                        if m.get("id") == 2:
                            assert m["error"]["code"] == 2
                            break
                async with s.ws_connect(f"{sim.base_ws}/ws/btcusdt@depth@100ms") as ws:
                    raw = orjson.loads((await ws.receive(timeout=2)).data)
                    assert raw["e"] == "depthUpdate" and "stream" not in raw
                async with s.get(f"{sim.base_http}/api/v3/depth", params={"symbol": "NOPE"}) as r:
                    assert r.status == 400 and (await r.json()) == {"code": -1121, "msg": "Invalid symbol."}
                async with s.get(f"{sim.base_http}/api/v3/depth", params={"symbol": "BTCUSDT", "limit": "5"}) as r:
                    body = await r.json()
                    assert len(body["bids"]) == 5 and body["lastUpdateId"] == sim.last_update_id("BTCUSDT")
        finally:
            await sim.stop()
    run(go())


def test_usdm_paths_and_pu_chain() -> None:
    async def go() -> None:
        sim = await _started(futures=True)
        try:
            async with aiohttp.ClientSession() as s, s.ws_connect(f"{sim.base_ws}/public/ws/btcusdt@depth@100ms") as ws:
                prev = None
                for _ in range(3):
                    m = orjson.loads((await ws.receive(timeout=2)).data)
                    if prev is not None:
                        assert m["pu"] == prev["u"] and m["U"] == prev["u"] + 1
                    prev = m
        finally:
            await sim.stop()
    run(go())


def test_ws_api_errors_as_binance_returns_them() -> None:
    async def go() -> None:
        sim = await _started()
        signer = BinanceSigner(KEY, SECRET)
        now = int(time.time() * 1000)
        try:
            async with aiohttp.ClientSession() as s, s.ws_connect(f"{sim.base_ws}/ws-api/v3") as ws:
                ok = signer.sign_wsapi({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                        "quantity": "0.001", "price": "50000", "timestamp": now})
                r = await _ws_api(ws, "order.place", ok)
                assert r["status"] == 200 and r["result"]["status"] == "NEW"
                tampered = dict(ok, price="50000.01")
                r = await _ws_api(ws, "order.place", tampered)
                assert r["status"] == 400 and r["error"]["code"] == -1022
                missing = signer.sign_wsapi({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                             "timeInForce": "GTC", "quantity": "0.001", "timestamp": now})
                r = await _ws_api(ws, "order.place", missing)
                assert r["error"] == {"code": -1102, "msg": "Mandatory parameter 'price' was not sent, was empty/null, or malformed."}
                stale = signer.sign_wsapi({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001",
                                           "timestamp": now - 60_000})
                assert (await _ws_api(ws, "order.place", stale))["error"]["code"] == -1021
                other = BinanceSigner("who", "x").sign_wsapi({"symbol": "BTCUSDT", "timestamp": now})
                assert (await _ws_api(ws, "order.cancel", other))["error"]["code"] == -2015
                oid = (await _ws_api(ws, "order.place", signer.sign_wsapi(dict(ok.items() - {("signature", ok["signature"]), ("apiKey", KEY)}, newClientOrderId="a1"))))["result"]["orderId"]
                up = await _ws_api(ws, "order.amend.keepPriority", signer.sign_wsapi(
                    {"symbol": "BTCUSDT", "orderId": oid, "newQty": "0.002", "timestamp": now}))
                assert up["error"]["code"] == -1130   # newQty must be below the current quantity
                down = await _ws_api(ws, "order.amend.keepPriority", signer.sign_wsapi(
                    {"symbol": "BTCUSDT", "orderId": oid, "newQty": "0.0005", "timestamp": now}))
                assert down["result"]["amendedOrder"]["qty"] == "0.00050000"
                assert (await _ws_api(ws, "userDataStream.start", {}))["error"]["code"] == -1020
                assert (await _ws_api(ws, "userDataStream.subscribe"))["status"] == 401   # needs session.logon
                r = await _ws_api(ws, "session.logon", signer.sign_wsapi({"timestamp": now}))
                assert r["status"] == 400   # HMAC keys cannot log a session on
                await ws.send_str("{not json")
                assert orjson.loads((await ws.receive()).data)["status"] == 400
        finally:
            await sim.stop()
    run(go())


def test_usdm_batch_limit_and_listen_key() -> None:
    async def go() -> None:
        sim = await _started(futures=True)
        signer = BinanceSigner(KEY, SECRET)
        try:
            async with aiohttp.ClientSession() as s:
                orders = [{"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                           "quantity": "0.001", "price": "50000"}] * 6
                q = signer.sign_rest({"batchOrders": orjson.dumps(orders).decode(), "timestamp": int(time.time() * 1000)})
                from yarl import URL
                async with s.post(URL(f"{sim.base_http}/fapi/v1/batchOrders?{q}", encoded=True),
                                  headers={"X-MBX-APIKEY": KEY}) as r:
                    assert r.status == 400 and (await r.json())["code"] == -1130
                async with s.post(f"{sim.base_http}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": KEY}) as r:
                    key = (await r.json())["listenKey"]
                async with s.ws_connect(f"{sim.base_ws}/private/ws?listenKey={key}"):
                    pass
                async with s.get(f"{sim.base_ws.replace('ws://', 'http://')}/private/ws?listenKey=nope") as r:
                    assert (await r.json())["code"] == -1125
        finally:
            await sim.stop()
    run(go())


def test_replay_feed_from_recorded_format_file(tmp_path: Path) -> None:
    lines = [
        {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": 1, "u": 2, "b": [["60000.00", "1.5"], ["59999.99", "2"]],
         "a": [["60000.01", "0.5"]]},
        {"stream": "btcusdt@depth@100ms", "data": {"e": "depthUpdate", "E": 2, "s": "BTCUSDT", "U": 3, "u": 3,
                                                   "b": [["60000.00", "0"]], "a": [["60000.02", "3"]]}},
    ]
    path = tmp_path / "depth.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines))

    async def go() -> None:
        sim = BinanceSim(replay_path=str(path))
        sim.paused = True
        await sim.start()
        try:
            bids, asks = sim.true_depth("BTCUSDT", 5)
            assert bids == [(60000_000_000_000, 150_000_000), (59999_990_000_000, 200_000_000)]
            await sim.tick()
            bids, asks = sim.true_depth("BTCUSDT", 5)
            assert bids == [(59999_990_000_000, 200_000_000)]
            assert asks == [(60000_010_000_000, 50_000_000), (60000_020_000_000, 300_000_000)]
        finally:
            await sim.stop()
    run(go())


@pytest.mark.parametrize("status", [429, 418, 503])
def test_rest_fault_answers(status: int) -> None:
    async def go() -> None:
        sim = await _started()
        sim.faults.rest_errors = [(status, 3.0)]
        try:
            async with aiohttp.ClientSession() as s:
                async with s.get(f"{sim.base_http}/api/v3/depth", params={"symbol": "BTCUSDT"}) as r:
                    assert r.status == status
                    if status != 503:
                        assert r.headers["Retry-After"] == "3" and (await r.json())["code"] == -1003
                async with s.get(f"{sim.base_http}/api/v3/depth", params={"symbol": "BTCUSDT"}) as r:
                    assert r.status == 200
        finally:
            await sim.stop()
    run(go())


def test_spot_balances_follow_fills() -> None:
    """Funds lock at placement and settle at the fill prices; nothing stays locked after."""
    async def go() -> None:
        sim = await _started()
        sim.paused = True
        signer = BinanceSigner(KEY, SECRET)
        acct = sim.accounts[KEY]
        usdt0, btc0 = acct.balances["USDT"], acct.balances.get("BTC", 0)
        try:
            async with aiohttp.ClientSession() as s, s.ws_connect(f"{sim.base_ws}/ws-api/v3") as ws:
                r = await _ws_api(ws, "order.place", signer.sign_wsapi(
                    {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001",
                     "timestamp": int(time.time() * 1000)}))
                res = r["result"]
                assert res["status"] == "FILLED"
                from seqkern._fixed import parse_px, parse_qty
                spent = sum(parse_px(f["price"]) * parse_qty(f["qty"]) // 10**9 for f in res["fills"])
                assert acct.locked.get("USDT", 0) == 0
                assert usdt0 - acct.balances["USDT"] == spent
                assert acct.balances["BTC"] - btc0 == 100_000
        finally:
            await sim.stop()
    run(go())
