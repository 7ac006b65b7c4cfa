"""OKX v5 simulator (SPOT or SWAP) on 127.0.0.1: public books/trades, login, orders channel, WS trading.

Paths as on the real venue: /ws/v5/public (books snapshot + updates with seqId/prevSeqId, trades,
text ping/pong), /ws/v5/private (login with signature check, ``orders`` channel, ops ``order``,
``cancel-order``, ``amend-order``, ``batch-orders`` (max 20) with instIdCode), REST
GET /api/v5/market/books and GET /api/v5/public/instruments. ``legacy_checksum`` sends the
pre-2026-06-23 CRC32 checksum over the top 25 levels (otherwise 0, as today).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from seqkern._fixed import format_fixed, parse_px, parse_qty
from seqkern.sim.instream import (
    SimBook,
    SimClient,
    StreamSymbol,
    StreamVenueSim,
    ms,
    positive_field,
    spec,
)
from seqkern.sim.matching import BUY, SELL, MatchReject, SimFill, SimOrder
from seqkern.venues.okx import constants as C
from seqkern.venues.okx.auth import prehash, verify_b64
from seqkern.venues.okx.book import checksum

BOOK_DEPTH = 400
CHANNELS = ("books", "trades", "bbo-tbt", "books5")


class OkxOpError(Exception):
    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def default_symbols(swap: bool = False) -> list[StreamSymbol]:
    if swap:
        return [spec("BTC-USDT-SWAP", "BTC", "USDT", "0.1", "0.01", "0.01", "60000", code=10459)]
    return [spec("BTC-USDT", "BTC", "USDT", "0.1", "0.00001", "0.00001", "60000", code=10001)]


class OkxSim(StreamVenueSim):
    def __init__(self, *, swap: bool = False, symbols: list[StreamSymbol] | None = None,
                 legacy_checksum: bool = False, heartbeat_s: float = 1.0, login_window_s: float = 30.0,
                 **kw: Any) -> None:
        self.swap = swap
        self.inst_type = "SWAP" if swap else "SPOT"
        self.legacy_checksum = legacy_checksum
        self.heartbeat_s = heartbeat_s
        self.login_window_s = login_window_s
        self.seq_resets = 0            # one-shot: next update resets seqId lower (maintenance)
        self.ignore_subscribes = 0     # one-shot: drop this many public subscribe requests
        self._seq: dict[str, int] = {}
        self._private: dict[str, list[tuple[web.WebSocketResponse, set[str]]]] = {}
        self._trade_ids = itertools.count(100000)
        super().__init__(symbols or default_symbols(swap), **kw)
        for i, sym in enumerate(self._symbols):
            self._seq[sym] = 1000 + 100 * i
            self.view(self._symbols[sym], BOOK_DEPTH)

    def last_seq_id(self, symbol: str) -> int:
        return self._seq[symbol]

    def build_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(C.PUBLIC_PATH, self._public_ws)
        router.add_get(C.PRIVATE_PATH, self._private_ws)
        router.add_get("/api/v5/market/books", self._rest_books)
        router.add_get("/api/v5/public/instruments", self._rest_instruments)
        router.add_get("/api/v5/trade/order", self._rest_order)
        router.add_get("/api/v5/trade/fills", self._rest_fills)

    # ---- market data ---------------------------------------------------------------------------------

    def _levels(self, st: SimBook, rows: list[tuple[int, int]]) -> list[list[str]]:
        s = st.spec
        return [[s.px(p), s.qty(q), "0", "0" if q == 0 else str(1 + (p // s.tick_1e9) % 5)] for p, q in rows]

    def _checksum(self, st: SimBook) -> int:
        if not self.legacy_checksum:
            return 0
        bids, asks = self.sorted_view(st.views[BOOK_DEPTH])
        s = st.spec
        return checksum([(s.px(p), s.qty(q)) for p, q in bids[:25]], [(s.px(p), s.qty(q)) for p, q in asks[:25]])

    def _book_msg(self, st: SimBook, action: str, bids: list[tuple[int, int]], asks: list[tuple[int, int]],
                  prev: int, seq: int, cks: int) -> dict[str, Any]:
        return {"arg": {"channel": "books", "instId": st.spec.symbol}, "action": action,
                "data": [{"asks": self._levels(st, asks), "bids": self._levels(st, bids), "ts": str(ms()),
                          "checksum": cks, "prevSeqId": prev, "seqId": seq}]}

    def _snapshot(self, st: SimBook) -> dict[str, Any]:
        bids, asks = self.sorted_view(st.views[BOOK_DEPTH])
        return self._book_msg(st, "snapshot", bids, asks, -1, self._seq[st.spec.symbol], self._checksum(st))

    async def publish_views(self, st: SimBook) -> None:
        v = st.views[BOOK_DEPTH]
        bids, asks = self.diff_view(st, v)
        if not bids and not asks:
            return
        await self._send_update(st, bids, asks)

    async def _send_update(self, st: SimBook, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
        sym = st.spec.symbol
        prev = self._seq[sym]
        if self.seq_resets > 0:
            self.seq_resets -= 1
            new = max(1, prev // 2)      # maintenance reset: seqId lower than prevSeqId, chain holds
        else:
            new = prev + len(bids) + len(asks) if (bids or asks) else prev
        self._seq[sym] = new
        cks = self._checksum(st)
        if self.faults.take("corrupt_checksum"):
            cks = (cks or 12345) ^ 0x5A5A
        msg = self._book_msg(st, "update", bids, asks, prev, new, cks)
        if self.faults.take("skip_sequence"):
            self.events_skipped += 1
            return
        text = orjson.dumps(msg).decode()
        if self.faults.take("malformed_json"):
            text = text[: len(text) // 2]
        for c in self.subscribers(f"books:{sym}"):
            await self.send_text(c.ws, text)
        self.events_sent += 1

    async def idle(self, st: SimBook) -> None:
        if time.monotonic() - st.last_publish_s >= self.heartbeat_s:
            st.last_publish_s = time.monotonic()
            await self._send_update(st, [], [])   # empty update, seqId == prevSeqId

    async def publish_trade(self, st: SimBook, f: SimFill) -> None:
        s = st.spec
        msg = {"arg": {"channel": "trades", "instId": s.symbol},
               "data": [{"instId": s.symbol, "tradeId": str(f.trade_id), "px": s.px(f.px), "sz": s.qty(f.qty),
                         "side": "buy" if f.taker.side == BUY else "sell", "ts": str(ms()), "count": "1"}]}
        text = orjson.dumps(msg).decode()
        for c in self.subscribers(f"trades:{s.symbol}"):
            await self.send_text(c.ws, text)

    # ---- public websocket ----------------------------------------------------------------------------

    @staticmethod
    async def _frames(ws: web.WebSocketResponse) -> AsyncIterator[str]:
        """The text frames of a connection; OKX's text "ping" is answered "pong" here."""
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            if msg.data == "ping":
                await ws.send_str("pong")
                continue
            yield msg.data

    async def _public_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        client = SimClient(ws, "market", conn_id=self.new_conn_id())
        self.clients.append(client)
        try:
            async for text in self._frames(ws):
                await self._public_control(client, text)
        finally:
            with contextlib.suppress(ValueError):
                self.clients.remove(client)
        return ws

    def _error(self, code: str, msg: str, conn_id: str, rid: Any = None) -> str:
        out: dict[str, Any] = {"event": "error", "code": code, "msg": msg, "connId": conn_id}
        if rid is not None:
            out["id"] = rid
        return orjson.dumps(out).decode()

    async def _public_control(self, c: SimClient, text: str) -> None:
        try:
            req = orjson.loads(text)
            op = req["op"]
            args = req["args"]
            rid = req.get("id")
            if not isinstance(args, list):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await self.send_text(c.ws, self._error(C.WS_ERR_BAD_REQUEST, f"Invalid request: {text[:100]}", c.conn_id))
            return
        if op not in ("subscribe", "unsubscribe"):
            await self.send_text(c.ws, self._error("60019", f"Invalid op: {op}", c.conn_id, rid))
            return
        if op == "subscribe" and self.ignore_subscribes > 0:
            self.ignore_subscribes -= 1      # a lost subscribe request: no ack, no snapshot
            return
        for a in args:
            ch = a.get("channel") if isinstance(a, dict) else None
            inst = a.get("instId") if isinstance(a, dict) else None
            if ch not in CHANNELS or inst not in self._symbols:
                await self.send_text(c.ws, self._error(
                    C.WS_ERR_BAD_ARGS, f"Wrong URL or channel:{ch},instId:{inst} doesn't exist. Please use the "
                    "correct URL, channel and parameters referring to API document.", c.conn_id, rid))
                continue
            topic = f"{ch}:{inst}"
            ack: dict[str, Any] = {"event": op, "arg": {"channel": ch, "instId": inst}, "connId": c.conn_id}
            if rid is not None:
                ack = {"id": rid, **ack}
            if op == "unsubscribe":
                c.subs.discard(topic)
                await self.send_text(c.ws, orjson.dumps(ack).decode())
                continue
            c.subs.add(topic)
            snap = self._snapshot(self._symbols[inst]) if ch == "books" else None
            await self.send_text(c.ws, orjson.dumps(ack).decode())
            if snap is not None:
                await self.send_text(c.ws, orjson.dumps(snap).decode())

    # ---- REST ----------------------------------------------------------------------------------------

    @staticmethod
    def _rest_error(status: int) -> dict[str, Any]:
        if status in (418, 429):
            return {"code": C.ERR_TOO_FREQUENT, "msg": "Too Many Requests", "data": []}
        return {"code": C.ERR_SYSTEM_BUSY, "msg": "Service temporarily unavailable. Please try again later.",
                "data": []}

    async def _rest_books(self, request: web.Request) -> web.Response:
        gated = await self.rest_fault(request, self._rest_error)
        if gated is not None:
            return gated
        inst = request.query.get("instId", "")
        if not inst:
            return web.json_response({"code": C.ERR_EMPTY_PARAM, "msg": "Parameter instId can not be empty", "data": []},
                                     status=400)
        st = self._symbols.get(inst)
        if st is None:
            return web.json_response({"code": C.ERR_INSTRUMENT, "msg": "Instrument ID does not exist", "data": []},
                                     status=400)
        try:
            sz = max(1, min(int(request.query.get("sz", "1")), 400))
        except ValueError:
            return web.json_response({"code": C.ERR_PARAM, "msg": "Parameter sz error", "data": []}, status=400)
        bids, asks = self.sorted_view(st.views[BOOK_DEPTH])
        return web.json_response({"code": "0", "msg": "", "data": [
            {"asks": self._levels(st, asks[:sz]), "bids": self._levels(st, bids[:sz]), "ts": str(ms())}]})

    async def _rest_instruments(self, request: web.Request) -> web.Response:
        gated = await self.rest_fault(request, self._rest_error)
        if gated is not None:
            return gated
        it = request.query.get("instType", "")
        if not it:
            return web.json_response({"code": C.ERR_EMPTY_PARAM, "msg": "Parameter instType can not be empty",
                                      "data": []}, status=400)
        data = []
        if it == self.inst_type:
            for st in self._symbols.values():
                s = st.spec
                d = {"instType": it, "instId": s.symbol, "instIdCode": s.code, "tickSz": s.px(s.tick_1e9),
                     "lotSz": s.qty(s.lot_1e8), "minSz": s.qty(s.min_qty_1e8), "state": "live"}
                if self.swap:
                    d.update(baseCcy="", quoteCcy="", ctVal="0.01", ctValCcy=s.base, settleCcy=s.quote,
                             ctType="linear")
                else:
                    d.update(baseCcy=s.base, quoteCcy=s.quote, ctVal="", ctValCcy="", settleCcy="")
                data.append(d)
        return web.json_response({"code": "0", "msg": "", "data": data})

    # ---- private websocket ---------------------------------------------------------------------------

    async def _private_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        sess: dict[str, Any] = {"key": None, "conn": self.new_conn_id(), "channels": set()}
        try:
            async for text in self._frames(ws):
                if self.faults.ws_api_delay_s:
                    await asyncio.sleep(self.faults.ws_api_delay_s)
                out = await self._private_request(ws, sess, text)
                if out is not None:
                    await self.send_text(ws, orjson.dumps(out).decode())
        finally:
            key = sess["key"]
            if key:
                self._private[key] = [p for p in self._private.get(key, []) if p[0] is not ws]
        return ws

    def _login(self, sess: dict[str, Any], args: Any) -> dict[str, Any]:
        conn = sess["conn"]

        def err(code: str, msg: str) -> dict[str, Any]:
            return {"event": "error", "code": code, "msg": msg, "connId": conn}
        if not isinstance(args, list) or not args or not isinstance(args[0], dict):
            return err("60013", "Invalid args")
        a = args[0]
        for f in ("apiKey", "passphrase", "timestamp", "sign"):
            if not a.get(f):
                return err("60027", f"Parameter {f} can not be empty.")
        acct = self.accounts.get(a["apiKey"])
        if acct is None:
            return err(C.WS_ERR_API_KEY, "Invalid apiKey")
        try:
            ts = int(a["timestamp"])
        except ValueError:
            return err("60004", "Invalid timestamp")
        if abs(time.time() - ts) > self.login_window_s:
            return err(C.WS_ERR_TIMESTAMP, "Timestamp request expired")
        if a["passphrase"] != acct.passphrase:
            return err(C.WS_ERR_PASSPHRASE, "Wrong passphrase")
        if not verify_b64(acct.secret, prehash(a["timestamp"], "GET", C.LOGIN_PATH), str(a["sign"])):
            return err(C.WS_ERR_BAD_SIGN, "Invalid sign")
        sess["key"] = acct.api_key
        return {"event": "login", "code": "0", "msg": "", "connId": conn}

    async def _private_request(self, ws: web.WebSocketResponse, sess: dict[str, Any], text: str) -> dict[str, Any] | None:
        conn = sess["conn"]
        try:
            req = orjson.loads(text)
            op = req["op"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return {"event": "error", "code": C.WS_ERR_BAD_REQUEST, "msg": f"Invalid request: {text[:100]}",
                    "connId": conn}
        rid = req.get("id")
        args = req.get("args")
        if op == "login":
            return self._login(sess, args)
        if not sess["key"]:
            return {"event": "error", "code": C.WS_ERR_NOT_LOGGED_IN, "msg": "Please log in", "connId": conn}
        if op in ("subscribe", "unsubscribe"):
            a = args[0] if isinstance(args, list) and args and isinstance(args[0], dict) else {}
            if a.get("channel") != "orders" or a.get("instType") not in ("SPOT", "SWAP", "ANY"):
                return {"event": "error", "code": C.WS_ERR_BAD_ARGS,
                        "msg": f"Wrong URL or channel:{a.get('channel')} doesn't exist.", "connId": conn}
            subs = self._private.setdefault(sess["key"], [])
            entry = next((p for p in subs if p[0] is ws), None)
            if entry is None:
                entry = (ws, set())
                subs.append(entry)
            if op == "subscribe":
                entry[1].add(a["instType"])
            else:
                entry[1].discard(a["instType"])
            return {"id": rid, "event": op, "arg": a, "connId": conn} if rid else {"event": op, "arg": a, "connId": conn}
        if op not in ("order", "cancel-order", "amend-order", "batch-orders"):
            return {"id": rid, "op": op, "code": "60019", "msg": f"Invalid op: {op}", "data": []}
        in_time = str(time.time_ns() // 1000)
        if not isinstance(args, list) or not args:
            return {"id": rid, "op": op, "code": "60013", "msg": "Invalid args", "data": []}
        if op != "batch-orders" and len(args) != 1:
            return {"id": rid, "op": op, "code": "60013", "msg": "Invalid args", "data": []}
        if op == "batch-orders" and len(args) > C.BATCH_MAX:
            return {"id": rid, "op": op, "code": C.ERR_BATCH_TOO_MANY,
                    "msg": f"The number of orders exceeds the limit of {C.BATCH_MAX}", "data": []}
        data = []
        for a in args:
            try:
                if not isinstance(a, dict):
                    raise OkxOpError(C.ERR_PARAM, "Parameter args error")
                if op in ("order", "batch-orders"):
                    d = await self._place(sess["key"], a)
                elif op == "cancel-order":
                    d = await self._cancel(sess["key"], a)
                else:
                    d = await self._amend(sess["key"], a)
                d.update(sCode="0", sMsg="")
            except OkxOpError as e:
                d = {"ordId": a.get("ordId", "") if isinstance(a, dict) else "",
                     "clOrdId": a.get("clOrdId", "") if isinstance(a, dict) else "", "sCode": e.code, "sMsg": e.msg}
            d.setdefault("tag", "")
            d["ts"] = str(ms())
            data.append(d)
        failed = sum(1 for d in data if d["sCode"] != "0")
        code = "0" if failed == 0 else ("1" if failed == len(data) else "2")
        msg = "" if code == "0" else ("All operations failed" if code == "1" else "Bulk operation partially succeeded")
        return {"id": rid, "op": op, "code": code, "msg": msg, "data": data, "inTime": in_time,
                "outTime": str(time.time_ns() // 1000)}

    # ---- signed REST queries (answered from the matching engine, done orders included) ----------------

    def rest_auth(self, request: web.Request) -> tuple[str | None, web.Response | None]:
        """OKX REST signature check: OK-ACCESS-KEY/-SIGN/-TIMESTAMP/-PASSPHRASE over
        timestamp + METHOD + path?query (as sent) + body."""
        h = request.headers

        def err(code: str, msg: str) -> tuple[None, web.Response]:
            return None, web.json_response({"code": code, "msg": msg, "data": []}, status=401)
        key, sign, ts = h.get("OK-ACCESS-KEY", ""), h.get("OK-ACCESS-SIGN", ""), h.get("OK-ACCESS-TIMESTAMP", "")
        acct = self.accounts.get(key)
        if acct is None:
            return err(C.ERR_REST_API_KEY, "Invalid OK-ACCESS-KEY")
        try:
            t = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        except ValueError:
            return err(C.ERR_REST_TIMESTAMP, "Timestamp request expired")
        if abs(time.time() - t) > 30:
            return err(C.ERR_REST_TIMESTAMP, "Timestamp request expired")
        if h.get("OK-ACCESS-PASSPHRASE", "") != acct.passphrase:
            return err(C.ERR_REST_PASSPHRASE, "OK-ACCESS-PASSPHRASE incorrect.")
        if not sign or not verify_b64(acct.secret, prehash(ts, request.method, request.raw_path), sign):
            return err(C.ERR_REST_BAD_SIGN, "Invalid Sign")
        return acct.api_key, None

    def _queried(self, owner: str, q: Any) -> tuple[SimBook | None, SimOrder | None, dict[str, Any] | None]:
        inst = q.get("instId", "")
        if not inst:
            return None, None, {"code": C.ERR_EMPTY_PARAM, "msg": "Parameter instId can not be empty", "data": []}
        st = self._symbols.get(inst)
        if st is None:
            return None, None, {"code": C.ERR_INSTRUMENT, "msg": "Instrument ID does not exist", "data": []}
        oid, cid = q.get("ordId", ""), q.get("clOrdId", "")
        o = None
        if oid:
            with contextlib.suppress(ValueError):
                o = st.engine.lookup(owner, order_id=int(oid))
        elif cid:
            o = st.engine.lookup(owner, client_order_id=cid)
        return st, o, None

    def _order_row(self, st: SimBook, o: SimOrder) -> dict[str, Any]:
        s = st.spec
        fills = st.engine.fills_of.get(o.order_id, [])
        last = fills[-1] if fills else None
        avg = o.quote_filled * 1_000_000_000 // o.filled if o.filled else 0
        return {"instType": self.inst_type, "instId": s.symbol, "ccy": "", "ordId": str(o.order_id),
                "clOrdId": o.client_order_id, "tag": "", "px": s.px(o.px) if o.px else "", "sz": s.qty(o.qty),
                "pnl": "0", "ordType": o.extra.get("ordType", "limit"), "side": "buy" if o.side == BUY else "sell",
                "posSide": "net" if self.swap else "", "tdMode": o.extra.get("tdMode", "cash"),
                "accFillSz": s.qty(o.filled), "fillPx": s.px(last.px) if last else "",
                "tradeId": str(last.trade_id) if last else "", "fillSz": s.qty(last.qty) if last else "0",
                "fillTime": str(last.ts_ns // 1_000_000) if last else "", "state": self._state(o),
                "avgPx": format_fixed(avg, 9) if avg else "", "lever": "", "feeCcy": s.quote, "fee": "0",
                "rebateCcy": s.quote, "rebate": "0", "category": "normal", "reduceOnly": "false",
                "cancelSource": "", "uTime": str(ms()), "cTime": str(o.ts_ns // 1_000_000)}

    async def _rest_order(self, request: web.Request) -> web.Response:
        """GET /api/v5/trade/order: one order's details, open or done (51603 when unknown)."""
        owner, answer = await self.signed_rest(request, self._rest_error)
        if answer is not None:
            return answer
        q = request.query
        if not q.get("ordId") and not q.get("clOrdId"):
            return web.json_response({"code": C.ERR_EMPTY_PARAM,
                                      "msg": "Either parameter ordId or clOrdId is required", "data": []})
        st, o, bad = self._queried(str(owner), q)
        if bad is not None:
            return web.json_response(bad)
        if o is None or st is None:
            return web.json_response({"code": C.ERR_ORDER_NOT_EXIST, "msg": "Order does not exist", "data": []})
        return web.json_response({"code": "0", "msg": "", "data": [self._order_row(st, o)]})

    async def _rest_fills(self, request: web.Request) -> web.Response:
        """GET /api/v5/trade/fills: the account's recent trades (instType required), newest first."""
        owner, answer = await self.signed_rest(request, self._rest_error)
        if answer is not None:
            return answer
        q = request.query
        if not q.get("instType"):
            return web.json_response({"code": C.ERR_EMPTY_PARAM, "msg": "Parameter instType can not be empty",
                                      "data": []})
        try:
            limit = max(1, min(int(q.get("limit", "100")), 100))
        except ValueError:
            return web.json_response({"code": C.ERR_PARAM, "msg": "Parameter limit error", "data": []})
        rows: list[dict[str, Any]] = []
        for st in self._symbols.values():
            if q.get("instId") and st.spec.symbol != q["instId"]:
                continue
            s = st.spec
            for o in st.engine.history.values():
                if o.owner != owner or (q.get("ordId") and str(o.order_id) != q["ordId"]):
                    continue
                for f in st.engine.fills_of.get(o.order_id, []):
                    t = str(f.ts_ns // 1_000_000)
                    rows.append({"instType": self.inst_type, "instId": s.symbol, "tradeId": str(f.trade_id),
                                 "ordId": str(o.order_id), "clOrdId": o.client_order_id, "billId": str(f.trade_id),
                                 "subType": "1", "tag": "", "fillPx": s.px(f.px), "fillSz": s.qty(f.qty),
                                 "fillIdxPx": "", "fillPnl": "0", "side": "buy" if o.side == BUY else "sell",
                                 "posSide": "net" if self.swap else "", "execType": "M" if f.maker is o else "T",
                                 "feeCcy": s.quote, "fee": "0", "ts": t, "fillTime": t})
        rows.sort(key=lambda r: int(r["billId"]), reverse=True)
        if q.get("after"):   # records earlier than that billId
            try:
                after = int(q["after"])
            except ValueError:
                return web.json_response({"code": C.ERR_PARAM, "msg": "Parameter after error", "data": []})
            rows = [r for r in rows if int(r["billId"]) < after]
        return web.json_response({"code": "0", "msg": "", "data": rows[:limit]})

    # ---- orders --------------------------------------------------------------------------------------

    def _symbol(self, a: dict[str, Any]) -> SimBook:
        code = a.get("instIdCode")
        if code is None or code == "":
            raise OkxOpError(C.ERR_EMPTY_PARAM, "Parameter instIdCode can not be empty")
        for st in self._symbols.values():
            if st.spec.code == code:
                return st
        raise OkxOpError(C.ERR_INSTRUMENT, "Instrument ID or Spread ID doesn't exist.")

    @staticmethod
    def _num(a: dict[str, Any], name: str, parse: Any) -> int:
        return positive_field(a, name, parse, lambda n: OkxOpError(C.ERR_EMPTY_PARAM, f"Parameter {n} can not be empty"),
                              lambda n: OkxOpError(C.ERR_PARAM, f"Parameter {n} error"))

    def _find(self, owner: str, st: SimBook, a: dict[str, Any]) -> SimOrder:
        oid, cid = a.get("ordId"), a.get("clOrdId")
        if not oid and not cid:
            raise OkxOpError(C.ERR_EMPTY_PARAM, "Either parameter ordId or clOrdId is required")
        o = None
        if oid:
            with contextlib.suppress(ValueError):
                o = st.engine.orders.get(int(oid))
        else:
            o = st.engine.find_client(owner, str(cid))
        if o is None or o.owner != owner:
            raise OkxOpError(C.ERR_ORDER_NOT_EXIST, "Order does not exist")
        return o

    async def _place(self, owner: str, a: dict[str, Any]) -> dict[str, Any]:
        st = self._symbol(a)
        td = a.get("tdMode")
        if not td:
            raise OkxOpError(C.ERR_EMPTY_PARAM, "Parameter tdMode can not be empty")
        if (td == "cash") == self.swap or td not in ("cash", "cross", "isolated"):
            raise OkxOpError(C.ERR_PARAM, "Parameter tdMode error")
        side = a.get("side")
        if side not in ("buy", "sell"):
            raise OkxOpError(C.ERR_EMPTY_PARAM if not side else C.ERR_PARAM,
                             "Parameter side can not be empty" if not side else "Parameter side error")
        ot = a.get("ordType")
        if ot not in ("market", "limit", "post_only", "fok", "ioc"):
            raise OkxOpError(C.ERR_EMPTY_PARAM if not ot else C.ERR_PARAM,
                             "Parameter ordType can not be empty" if not ot else "Parameter ordType error")
        sz = self._num(a, "sz", parse_qty)
        s = st.spec
        if sz % s.lot_1e8 or sz < s.min_qty_1e8:
            raise OkxOpError(C.ERR_LOT, "The order quantity should be a multiple of the lot size.")
        px = 0
        if ot != "market":
            px = self._num(a, "px", parse_px)
            if px % s.tick_1e9:
                raise OkxOpError(C.ERR_TICK, "Order price is not a multiple of the tick size.")
        cid = str(a.get("clOrdId", ""))
        if cid and (not cid.isalnum() or len(cid) > C.CLORDID_MAX):
            raise OkxOpError(C.ERR_PARAM, "Parameter clOrdId error")
        if cid and st.engine.find_client(owner, cid):
            raise OkxOpError(C.ERR_DUPLICATE_CLORDID, "Duplicated clOrdId")
        tif = {"market": "IOC", "limit": "GTC", "post_only": "GTX", "fok": "FOK", "ioc": "IOC"}[ot]
        o = self.user_order(st, owner, BUY if side == "buy" else SELL, px, sz, tif=tif,
                            order_type="MARKET" if ot == "market" else "LIMIT", client_order_id=cid)
        o.extra.update(ordType=ot, tdMode=td)
        try:
            fills = st.engine.submit(o)
        except MatchReject:
            raise OkxOpError("51019" if self.swap else "51020",
                             "Order failed. The post_only order would have taken liquidity.") from None
        await self.entered(st, o, fills)
        return {"ordId": str(o.order_id), "clOrdId": cid}

    async def _cancel(self, owner: str, a: dict[str, Any]) -> dict[str, Any]:
        st = self._symbol(a)
        o = self._find(owner, st, a)
        await self.cancel_order(st, o)
        return {"ordId": str(o.order_id), "clOrdId": o.client_order_id}

    async def _amend(self, owner: str, a: dict[str, Any]) -> dict[str, Any]:
        st = self._symbol(a)
        o = self._find(owner, st, a)
        if not a.get("newSz") and not a.get("newPx"):
            raise OkxOpError(C.ERR_EMPTY_PARAM, "Either parameter newSz or newPx is required")
        new_sz = self._num(a, "newSz", parse_qty) if a.get("newSz") else o.qty
        new_px = self._num(a, "newPx", parse_px) if a.get("newPx") else o.px
        if new_sz % st.spec.lot_1e8 or new_px % st.spec.tick_1e9:
            raise OkxOpError(C.ERR_PARAM, "Parameter newSz or newPx error")
        if new_sz <= o.filled:
            raise OkxOpError("51512", "Failed to amend order: the new size is not greater than the filled size.")
        o, fills = self.amend_book(st, o, new_sz, new_px)
        self._push_order(owner, st, o, amend=str(a.get("reqId", "")))
        await self.after_match(st, fills)
        return {"ordId": str(o.order_id), "clOrdId": o.client_order_id, "reqId": str(a.get("reqId", ""))}

    # ---- private pushes ------------------------------------------------------------------------------

    def _state(self, o: SimOrder) -> str:
        return {"NEW": "live", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled",
                "CANCELED": "canceled", "EXPIRED": "canceled"}.get(o.status, "live")

    def _push_order(self, owner: str, st: SimBook, o: SimOrder, *, fill: SimFill | None = None,
                    maker: bool = False, amend: str | None = None) -> None:
        s = st.spec
        now = str(ms())
        avg = o.quote_filled * 1_000_000_000 // o.filled if o.filled else 0
        d = {"instType": self.inst_type, "instId": s.symbol, "ordId": str(o.order_id), "clOrdId": o.client_order_id,
             "px": s.px(o.px) if o.px else "", "sz": s.qty(o.qty), "ordType": o.extra.get("ordType", "limit"),
             "side": "buy" if o.side == BUY else "sell", "tdMode": o.extra.get("tdMode", "cash"),
             "state": self._state(o), "accFillSz": s.qty(o.filled), "avgPx": format_fixed(avg, 9) if avg else "",
             "fillPx": s.px(fill.px) if fill else "", "fillSz": s.qty(fill.qty) if fill else "0",
             "tradeId": str(fill.trade_id) if fill else "", "fillTime": now if fill else "",
             "fillFee": "0", "fillFeeCcy": s.quote if fill else "", "execType": ("M" if maker else "T") if fill else "",
             "fee": "0", "feeCcy": s.quote, "amendResult": "0" if amend is not None else "",
             "reqId": amend or "", "code": "0", "msg": "", "cTime": str(o.ts_ns // 1_000_000), "uTime": now}
        text = orjson.dumps({"arg": {"channel": "orders", "instType": self.inst_type}, "data": [d]}).decode()
        for ws, chans in self._private.get(owner, []):
            if self.inst_type in chans or "ANY" in chans:
                self.spawn_send(ws, text)

    async def order_event(self, st: SimBook, o: SimOrder, kind: str) -> None:
        self._push_order(str(o.owner), st, o)

    async def fill_event(self, st: SimBook, o: SimOrder, f: SimFill, maker: bool) -> None:
        self._push_order(str(o.owner), st, o, fill=f, maker=maker)
