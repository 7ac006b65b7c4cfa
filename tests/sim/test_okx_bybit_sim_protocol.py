"""The OKX and Bybit simulators speak the venues' protocols: acks, error codes, limits, signatures, replay."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import orjson
import pytest

from seqkern.sim.bybit import BybitSim
from seqkern.sim.okx import OkxSim
from seqkern.venues.bybit.auth import BybitSigner
from seqkern.venues.okx.auth import OkxSigner
from tests.edge.okxbybit_rig import (
    BYBIT_KEY,
    BYBIT_SECRET,
    OKX_KEY,
    OKX_PASSPHRASE,
    OKX_SECRET,
    run,
)


async def _recv(ws: aiohttp.ClientWebSocketResponse) -> object:
    msg = await ws.receive(timeout=5)
    if msg.data == "pong":
        return "pong"
    return orjson.loads(msg.data)


def test_okx_public_protocol() -> None:
    async def go() -> None:
        async with OkxSim() as sim, aiohttp.ClientSession() as http:
            async with http.ws_connect(sim.base_ws + "/ws/v5/public") as ws:
                await ws.send_str("ping")
                assert await _recv(ws) == "pong"
                await ws.send_str('{"id":"1512","op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}')
                ack = await _recv(ws)
                assert ack["id"] == "1512" and ack["event"] == "subscribe"
                assert ack["arg"] == {"channel": "books", "instId": "BTC-USDT"} and ack["connId"]
                snap = await _recv(ws)
                d = snap["data"][0]
                assert snap["action"] == "snapshot" and d["prevSeqId"] == -1 and d["checksum"] == 0
                assert all(len(row) == 4 for row in d["asks"] + d["bids"]) and isinstance(d["ts"], str)
                upd = await _recv(ws)
                assert upd["action"] == "update" and upd["data"][0]["prevSeqId"] == d["seqId"]
                await ws.send_str('{"op":"subscribe","args":[{"channel":"books","instId":"NOPE-USDT"}]}')
                while (m := await _recv(ws)).get("event") != "error":
                    pass
                assert m["code"] == "60018"
                await ws.send_str("{not json")
                while (m := await _recv(ws)).get("event") != "error":
                    pass
                assert m["code"] == "60012"
            async with http.get(sim.base_http + "/api/v5/market/books", params={"instId": "BTC-USDT", "sz": "5"}) as r:
                body = await r.json()
                assert body["code"] == "0" and len(body["data"][0]["bids"]) == 5
            async with http.get(sim.base_http + "/api/v5/market/books", params={"instId": "X-Y"}) as r:
                assert (await r.json())["code"] == "51001"
            sim.faults.rest_errors = [(429, 1)]
            async with http.get(sim.base_http + "/api/v5/public/instruments", params={"instType": "SPOT"}) as r:
                assert r.status == 429 and r.headers["Retry-After"] == "1"
                assert (await r.json())["code"] == "50011"
    run(go())


def test_okx_private_protocol() -> None:
    async def go() -> None:
        async with OkxSim(swap=True) as sim, aiohttp.ClientSession() as http:
            sim.add_account(OKX_KEY, OKX_SECRET, OKX_PASSPHRASE)
            signer = OkxSigner(OKX_KEY, OKX_SECRET, OKX_PASSPHRASE)
            async with http.ws_connect(sim.base_ws + "/ws/v5/private") as ws:
                await ws.send_str('{"id":"1","op":"order","args":[{}]}')
                assert (await _recv(ws))["code"] == "60011"          # please log in
                stale = signer.login_args(int(time.time()) - 120)
                await ws.send_str(orjson.dumps({"op": "login", "args": [stale]}).decode())
                assert (await _recv(ws))["code"] == "60006"          # timestamp expired
                await ws.send_str(orjson.dumps({"op": "login", "args": [signer.login_args()]}).decode())
                ok = await _recv(ws)
                assert (ok["event"], ok["code"], ok["msg"]) == ("login", "0", "") and ok["connId"]
                await ws.send_str('{"op":"subscribe","args":[{"channel":"orders","instType":"SWAP"}]}')
                sub = await _recv(ws)
                assert sub["event"] == "subscribe" and sub["arg"] == {"channel": "orders", "instType": "SWAP"}
    run(go())


def test_okx_trading_ops_fields_and_limits() -> None:
    async def go() -> None:
        async with OkxSim() as sim, aiohttp.ClientSession() as http:
            sim.add_account(OKX_KEY, OKX_SECRET, OKX_PASSPHRASE)
            signer = OkxSigner(OKX_KEY, OKX_SECRET, OKX_PASSPHRASE)
            code = sim.symbol_state("BTC-USDT").spec.code
            async with http.ws_connect(sim.base_ws + "/ws/v5/private") as ws:
                await ws.send_str(orjson.dumps({"op": "login", "args": [signer.login_args()]}).decode())
                assert (await _recv(ws))["event"] == "login"
                # instId instead of instIdCode (the 2026 change): refused per order
                await ws.send_str(orjson.dumps({"id": "2", "op": "order", "args": [
                    {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "1000",
                     "sz": "0.01"}]}).decode())
                r = await _recv(ws)
                assert r["id"] == "2" and r["code"] == "1" and r["data"][0]["sCode"] == "50014"
                await ws.send_str(orjson.dumps({"id": "3", "op": "order", "args": [
                    {"instIdCode": code, "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.01"}]}).decode())
                r = await _recv(ws)
                assert r["data"][0]["sCode"] == "50014" and "px" in r["data"][0]["sMsg"]
                order = {"instIdCode": code, "tdMode": "cash", "side": "buy", "ordType": "limit", "px": "1000",
                         "sz": "0.01"}
                await ws.send_str(orjson.dumps({"id": "4", "op": "batch-orders", "args": [order] * 21}).decode())
                r = await _recv(ws)
                assert r["code"] != "0" and r["data"] == []
                await ws.send_str(orjson.dumps({"id": "5", "op": "batch-orders", "args": [order] * 20}).decode())
                r = await _recv(ws)
                assert r["code"] == "0" and len(r["data"]) == 20 and all(d["sCode"] == "0" for d in r["data"])
    run(go())


def test_bybit_public_protocol() -> None:
    async def go() -> None:
        async with BybitSim() as sim, aiohttp.ClientSession() as http:
            async with http.ws_connect(sim.base_ws + "/v5/public/spot") as ws:
                await ws.send_str('{"req_id":"100001","op":"ping"}')
                pong = await _recv(ws)
                assert pong["op"] == "ping" and pong["ret_msg"] == "pong" and pong["success"] is True
                many = [f"orderbook.50.BTCUSDT{i}" for i in range(11)]
                await ws.send_str(orjson.dumps({"req_id": "x", "op": "subscribe", "args": many}).decode())
                r = await _recv(ws)
                assert r["success"] is False and "10" in r["ret_msg"]
                await ws.send_str('{"req_id":"t","op":"subscribe","args":["invalid.topic.BTCUSDT"]}')
                r = await _recv(ws)
                assert r["success"] is False and r["ret_msg"].startswith("Invalid topic")
                await ws.send_str('{"req_id":"t","op":"subscribe","args":["orderbook.50.BTCUSDT"]}')
                assert (await _recv(ws))["success"] is True
                snap = await _recv(ws)
                assert snap["type"] == "snapshot" and snap["topic"] == "orderbook.50.BTCUSDT"
                assert len(snap["data"]["b"]) <= 50 and set(snap["data"]) >= {"s", "b", "a", "u", "seq"}
                d = await _recv(ws)
                assert d["type"] == "delta" and d["data"]["u"] == snap["data"]["u"] + 1
                assert d["data"]["seq"] > snap["data"]["seq"]
            async with http.get(sim.base_http + "/v5/market/orderbook",
                                params={"category": "spot", "symbol": "BTCUSDT", "limit": "3"}) as r:
                body = await r.json()
                assert body["retCode"] == 0 and len(body["result"]["a"]) == 3 and "u" in body["result"]
            sim.faults.rest_errors = [(500, 0)]
            async with http.get(sim.base_http + "/v5/market/instruments-info", params={"category": "spot"}) as r:
                assert r.status == 500 and (await r.json())["retCode"] == 10016
    run(go())


def test_bybit_trade_protocol() -> None:
    async def go() -> None:
        async with BybitSim(linear=True) as sim, aiohttp.ClientSession() as http:
            sim.add_account(BYBIT_KEY, BYBIT_SECRET)
            signer = BybitSigner(BYBIT_KEY, BYBIT_SECRET)
            async with http.ws_connect(sim.base_ws + "/v5/trade") as ws:
                await ws.send_str(orjson.dumps({"op": "auth", "args": signer.ws_auth_args(int(time.time() * 1000) - 1)}).decode())
                assert (await _recv(ws))["retCode"] == 10002          # expired
                await ws.send_str(orjson.dumps({"op": "auth", "args": signer.ws_auth_args()}).decode())
                assert (await _recv(ws))["retCode"] == 0
                now = str(int(time.time() * 1000))
                order = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
                         "qty": "0.001", "price": "1000"}
                old = {"X-BAPI-TIMESTAMP": str(int(now) - 60_000), "X-BAPI-RECV-WINDOW": "5000"}
                await ws.send_str(orjson.dumps({"reqId": "a", "header": old, "op": "order.create",
                                                "args": [order]}).decode())
                assert (await _recv(ws))["retCode"] == 10002
                hdr = {"X-BAPI-TIMESTAMP": now, "X-BAPI-RECV-WINDOW": "5000"}
                await ws.send_str(orjson.dumps({"reqId": "b", "header": hdr, "op": "order.create",
                                                "args": [{k: v for k, v in order.items() if k != "qty"}]}).decode())
                r = await _recv(ws)
                assert r["reqId"] == "b" and r["retCode"] == 10001 and "qty" in r["retMsg"]
                batch = {"category": "linear", "request": [dict(order, price=str(1000 + k)) for k in range(21)]}
                await ws.send_str(orjson.dumps({"reqId": "c", "header": hdr, "op": "order.create-batch",
                                                "args": [batch]}).decode())
                assert (await _recv(ws))["retCode"] == 10001
                batch["request"] = batch["request"][:20]
                await ws.send_str(orjson.dumps({"reqId": "d", "header": hdr, "op": "order.create-batch",
                                                "args": [batch]}).decode())
                r = await _recv(ws)
                assert r["retCode"] == 0 and len(r["data"]["list"]) == 20
                assert [x["code"] for x in r["retExtInfo"]["list"]] == [0] * 20
    run(go())


@pytest.mark.parametrize("venue", ["okx", "bybit"])
def test_replay_of_venue_format_recordings(tmp_path: Path, venue: str) -> None:
    """Replay mode: a file of the venue's own depth messages drives the simulated book."""
    if venue == "okx":
        lines = [{"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "snapshot", "data": [
            {"asks": [["60000.1", "1.5", "0", "2"], ["60000.2", "2", "0", "1"]],
             "bids": [["59999.9", "0.5", "0", "1"], ["59999.8", "3", "0", "4"]], "ts": "1", "checksum": 0,
             "prevSeqId": -1, "seqId": 10}]},
                 {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update", "data": [
                     {"asks": [["60000.1", "0", "0", "0"]], "bids": [["59999.9", "0.7", "0", "2"]], "ts": "2",
                      "checksum": 0, "prevSeqId": 10, "seqId": 11}]}]
    else:
        lines = [{"topic": "orderbook.50.BTCUSDT", "type": "snapshot", "ts": 1, "data": {
            "s": "BTCUSDT", "b": [["59999.90", "0.5"], ["59999.80", "3"]], "a": [["60000.10", "1.5"], ["60000.20", "2"]],
            "u": 5, "seq": 1}}, {"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 2, "data": {
                "s": "BTCUSDT", "b": [["59999.90", "0.7"]], "a": [["60000.10", "0"]], "u": 6, "seq": 2}}]
    path = tmp_path / "depth.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines))

    async def go() -> None:
        from seqkern._fixed import parse_px, parse_qty
        sim = OkxSim(replay_path=str(path)) if venue == "okx" else BybitSim(replay_path=str(path))
        sim.paused = True
        sym = "BTC-USDT" if venue == "okx" else "BTCUSDT"
        await sim.tick()         # the second recorded message
        bids, asks = sim.true_depth(sym, 5)
        assert bids == [(parse_px("59999.9"), parse_qty("0.7")), (parse_px("59999.8"), parse_qty("3"))]
        assert asks == [(parse_px("60000.2"), parse_qty("2"))]
    run(go())
