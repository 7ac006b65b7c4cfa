"""Bybit v5 simulator (spot or linear) on 127.0.0.1: orderbook.{depth} with u/seq, private streams, WS trade.

Paths as on the real venue: /v5/public/{spot,linear} (orderbook.{1,50,200,1000}.{symbol} snapshot +
deltas with ``u`` + 1 per push and cross sequence ``seq``, publicTrade, op ping/pong, spot's 10-args
limit), /v5/private (auth with signature check; order/execution/wallet topics), /v5/trade (auth;
order.create / order.amend / order.cancel / order.create-batch with the category's batch limit and
the X-BAPI-TIMESTAMP header window), REST GET /v5/market/orderbook and /v5/market/instruments-info.
``restart_service()`` emulates a service restart: every depth topic restarts at u = 1 with a snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
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
from seqkern.venues.bybit import constants as C
from seqkern.venues.bybit.auth import rest_prehash, verify_hex, ws_auth_prehash

DEPTHS = (1, 50, 200, 1000)


class BybitOpError(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def default_symbols(linear: bool = False) -> list[StreamSymbol]:
    if linear:
        return [spec("BTCUSDT", "BTC", "USDT", "0.10", "0.001", "0.001", "60000")]
    return [spec("BTCUSDT", "BTC", "USDT", "0.01", "0.000001", "0.000048", "60000")]


class BybitSim(StreamVenueSim):
    def __init__(self, *, linear: bool = False, symbols: list[StreamSymbol] | None = None,
                 recv_window_ms: int = 5000, **kw: Any) -> None:
        self.linear = linear
        self.category = "linear" if linear else "spot"
        self.batch_max = C.LINEAR_BATCH_MAX if linear else C.SPOT_BATCH_MAX
        self.recv_window_ms = recv_window_ms
        self.ignore_subscribes = 0     # one-shot: drop this many public subscribe requests
        self._cross_seq: dict[str, int] = {}
        self._private: dict[str, list[tuple[web.WebSocketResponse, set[str]]]] = {}
        self._exec_seq = itertools.count(5_000_000)
        self._execs: dict[tuple[int, int], tuple[str, int]] = {}   # (trade id, order id) -> (execId, seq)
        super().__init__(symbols or default_symbols(linear), **kw)
        for i, sym in enumerate(self._symbols):
            self._cross_seq[sym] = 7_000_000 + 1000 * i

    def build_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(f"/v5/public/{'linear' if self.linear else 'spot'}", self._public_ws)
        router.add_get("/v5/private", self._private_ws)
        router.add_get("/v5/trade", self._trade_ws)
        router.add_get("/v5/market/orderbook", self._rest_orderbook)
        router.add_get("/v5/market/instruments-info", self._rest_instruments)
        router.add_get("/v5/order/realtime", self._rest_order_realtime)
        router.add_get("/v5/execution/list", self._rest_execution_list)

    def last_u(self, symbol: str, depth: int = C.DEPTH) -> int:
        return self._symbols[symbol].views[depth].update_id

    # ---- market data ---------------------------------------------------------------------------------

    def _rows(self, st: SimBook, rows: list[tuple[int, int]]) -> list[list[str]]:
        s = st.spec
        return [[s.px(p), s.qty(q)] for p, q in rows]

    def _book_msg(self, st: SimBook, depth: int, kind: str, bids: list[tuple[int, int]],
                  asks: list[tuple[int, int]], u: int) -> dict[str, Any]:
        now = ms()
        return {"topic": f"orderbook.{depth}.{st.spec.symbol}", "type": kind, "ts": now,
                "data": {"s": st.spec.symbol, "b": self._rows(st, bids), "a": self._rows(st, asks), "u": u,
                         "seq": self._cross_seq[st.spec.symbol]}, "cts": now - 2}

    def _snapshot_msg(self, st: SimBook, depth: int) -> dict[str, Any]:
        v = self.view(st, depth, start_id=1000)
        bids, asks = self.sorted_view(v)
        return self._book_msg(st, depth, "snapshot", bids, asks, v.update_id)

    async def publish_views(self, st: SimBook) -> None:
        sym = st.spec.symbol
        for depth, v in st.views.items():
            bids, asks = self.diff_view(st, v)
            if not bids and not asks:
                continue
            self._cross_seq[sym] += len(bids) + len(asks)
            v.update_id += 1
            if depth == 1:    # orderbook.1 is snapshot-only
                b, a = self.sorted_view(v)
                msg = self._book_msg(st, depth, "snapshot", b, a, v.update_id)
            else:
                msg = self._book_msg(st, depth, "delta", bids, asks, v.update_id)
            if self.faults.take("skip_sequence"):
                self.events_skipped += 1
                continue
            text = orjson.dumps(msg).decode()
            if self.faults.take("malformed_json"):
                text = text[: len(text) // 2]
            for c in self.subscribers(f"orderbook.{depth}.{sym}"):
                await self.send_text(c.ws, text)
            self.events_sent += 1

    async def restart_service(self) -> None:
        """Every depth topic restarts at u = 1 and subscribers get a snapshot (overwrite the book)."""
        for st in self._symbols.values():
            for depth, v in st.views.items():
                self._fill_view(st, v)
                v.update_id = 1
                text = orjson.dumps(self._snapshot_msg(st, depth)).decode()
                for c in self.subscribers(f"orderbook.{depth}.{st.spec.symbol}"):
                    await self.send_text(c.ws, text)

    async def publish_trade(self, st: SimBook, f: SimFill) -> None:
        s = st.spec
        self._cross_seq[s.symbol] += 1
        now = ms()
        msg = {"topic": f"publicTrade.{s.symbol}", "type": "snapshot", "ts": now,
               "data": [{"T": now, "s": s.symbol, "S": "Buy" if f.taker.side == BUY else "Sell", "v": s.qty(f.qty),
                         "p": s.px(f.px), "L": "ZeroPlusTick", "i": str(uuid.uuid5(uuid.NAMESPACE_OID, str(f.trade_id))),
                         "BT": False, "RPI": False, "seq": self._cross_seq[s.symbol]}]}
        text = orjson.dumps(msg).decode()
        for c in self.subscribers(f"publicTrade.{s.symbol}"):
            await self.send_text(c.ws, text)

    # ---- public websocket ----------------------------------------------------------------------------

    async def _public_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        client = SimClient(ws, "market", conn_id=str(uuid.uuid4()))
        self.clients.append(client)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._public_control(client, msg.data)
        finally:
            with contextlib.suppress(ValueError):
                self.clients.remove(client)
        return ws

    def _ack(self, c: SimClient, op: str, rid: Any, ok: bool = True, msg: str = "") -> str:
        out: dict[str, Any] = {"success": ok, "ret_msg": msg, "conn_id": c.conn_id}
        if self.linear:
            out["req_id"] = rid or ""
        elif rid:
            out["req_id"] = rid
        out["op"] = op
        return orjson.dumps(out).decode()

    def _valid_topic(self, t: Any) -> tuple[str, int] | None:
        if not isinstance(t, str):
            return None
        parts = t.split(".")
        if len(parts) == 3 and parts[0] == "orderbook" and parts[1].isdigit() and int(parts[1]) in DEPTHS \
                and parts[2] in self._symbols:
            return parts[2], int(parts[1])
        if len(parts) == 2 and parts[0] == "publicTrade" and parts[1] in self._symbols:
            return parts[1], 0
        return None

    async def _public_control(self, c: SimClient, text: str) -> None:
        try:
            req = orjson.loads(text)
            op = req["op"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await self.send_text(c.ws, self._ack(c, "", None, False, f"Invalid request: {text[:100]}"))
            return
        rid = req.get("req_id")
        if op == "ping":
            await self.send_text(c.ws, self._ack(c, "ping", rid, True, "pong"))
            return
        args = req.get("args")
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list):
            await self.send_text(c.ws, self._ack(c, str(op), rid, False, f"Invalid op: {op}"))
            return
        if not self.linear and len(args) > C.SPOT_LIMITS.args_per_request:
            await self.send_text(c.ws, self._ack(c, op, rid, False, f"args size >{C.SPOT_LIMITS.args_per_request}"))
            return
        bad = [t for t in args if self._valid_topic(t) is None]
        if bad:
            await self.send_text(c.ws, self._ack(c, op, rid, False, f"Invalid topic: {bad[0]}"))
            return
        if op == "unsubscribe":
            c.subs.difference_update(args)
            await self.send_text(c.ws, self._ack(c, op, rid))
            return
        if self.ignore_subscribes > 0:
            self.ignore_subscribes -= 1      # a lost subscribe request: no ack, no snapshot
            return
        snaps = []
        for t in args:
            c.subs.add(t)
            sym, depth = self._valid_topic(t)  # type: ignore[misc]
            if depth:
                snaps.append(orjson.dumps(self._snapshot_msg(self._symbols[sym], depth)).decode())
        await self.send_text(c.ws, self._ack(c, op, rid))
        for s in snaps:
            await self.send_text(c.ws, s)

    # ---- REST ----------------------------------------------------------------------------------------

    @staticmethod
    def _rest_error(status: int) -> dict[str, Any]:
        if status in (418, 429):
            return {"retCode": C.ERR_TOO_MANY, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {},
                    "time": ms()}
        return {"retCode": C.ERR_SERVER, "retMsg": "Server error.", "result": {}, "retExtInfo": {}, "time": ms()}

    def _rest(self, result: Any, code: int = 0, msg: str = "OK") -> web.Response:
        return web.json_response({"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": ms()})

    async def _rest_orderbook(self, request: web.Request) -> web.Response:
        gated = await self.rest_fault(request, self._rest_error)
        if gated is not None:
            return gated
        q = request.query
        if q.get("category") != self.category:
            return self._rest({}, C.ERR_PARAMS, "Illegal category")
        st = self._symbols.get(q.get("symbol", ""))
        if st is None:
            return self._rest({}, C.ERR_PARAMS, "params error: symbol invalid")
        try:
            limit = max(1, min(int(q.get("limit", "1" if not self.linear else "25")), 200 if not self.linear else 500))
        except ValueError:
            return self._rest({}, C.ERR_PARAMS, "params error: limit invalid")
        v = self.view(st, 1000, start_id=1000)
        bids, asks = self.sorted_view(v)
        now = ms()
        return self._rest({"s": st.spec.symbol, "b": self._rows(st, bids[:limit]), "a": self._rows(st, asks[:limit]),
                           "ts": now, "u": v.update_id, "seq": self._cross_seq[st.spec.symbol], "cts": now - 2})

    async def _rest_instruments(self, request: web.Request) -> web.Response:
        gated = await self.rest_fault(request, self._rest_error)
        if gated is not None:
            return gated
        if request.query.get("category") != self.category:
            return self._rest({}, C.ERR_PARAMS, "Illegal category")
        out = []
        for st in self._symbols.values():
            s = st.spec
            lot: dict[str, str] = {"minOrderQty": s.qty(s.min_qty_1e8), "maxOrderQty": "1000"}
            if self.linear:
                lot.update(qtyStep=s.qty(s.lot_1e8), minNotionalValue="5")
            else:
                lot.update(basePrecision=s.qty(s.lot_1e8), quotePrecision="0.00000001", minOrderAmt="1",
                           maxOrderAmt="4000000")
            out.append({"symbol": s.symbol, "baseCoin": s.base, "quoteCoin": s.quote, "status": "Trading",
                        "lotSizeFilter": lot, "priceFilter": {"tickSize": s.px(s.tick_1e9)}})
        return self._rest({"category": self.category, "list": out, "nextPageCursor": ""})

    # ---- auth ----------------------------------------------------------------------------------------

    def _auth(self, args: Any) -> tuple[str | None, int, str]:
        """(api key, retCode, retMsg) of an auth op."""
        if not isinstance(args, list) or len(args) != 3:
            return None, C.ERR_PARAMS, "Params Error"
        key, expires, sig = args
        acct = self.accounts.get(str(key))
        if acct is None:
            return None, C.ERR_API_KEY, "Invalid apikey"
        try:
            exp = int(expires)
        except (TypeError, ValueError):
            return None, C.ERR_PARAMS, "Params Error"
        if exp <= ms():
            return None, C.ERR_TIMESTAMP, "Request expired"
        if not verify_hex(acct.secret, ws_auth_prehash(exp), str(sig)):
            return None, C.ERR_SIGN, "Error sign, please check your signature generation algorithm."
        return acct.api_key, 0, ""

    # ---- private stream ------------------------------------------------------------------------------

    async def _private_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = str(uuid.uuid4())
        key: str | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    req = orjson.loads(msg.data)
                    op = req["op"]
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    await self.send_text(ws, orjson.dumps({"success": False, "ret_msg": "Invalid request",
                                                      "conn_id": conn}).decode())
                    continue
                rid = req.get("req_id", "")
                if op == "ping":
                    await self.send_text(ws, orjson.dumps({"req_id": rid, "op": "pong", "args": [str(ms())],
                                                      "conn_id": conn}).decode())
                elif op == "auth":
                    k, code, text = self._auth(req.get("args"))
                    if k is None:
                        await self.send_text(ws, orjson.dumps({"op": "auth", "success": False, "retCode": code,
                                                          "retMsg": text, "connId": conn}).decode())
                    else:
                        key = k
                        self._private.setdefault(key, []).append((ws, set()))
                        await self.send_text(ws, orjson.dumps({"success": True, "ret_msg": "", "op": "auth",
                                                          "conn_id": conn, "req_id": rid}).decode())
                elif op == "subscribe":
                    topics = req.get("args")
                    ok_topics = {"order", "execution", "wallet", "position", f"order.{self.category}",
                                 f"execution.{self.category}"}
                    if key is None:
                        await self.send_text(ws, orjson.dumps({"success": False, "ret_msg": "Request not authorized",
                                                          "conn_id": conn, "req_id": rid, "op": op}).decode())
                    elif not isinstance(topics, list) or any(t not in ok_topics for t in topics):
                        await self.send_text(ws, orjson.dumps({"success": False, "ret_msg": f"Invalid topic: {topics}",
                                                          "conn_id": conn, "req_id": rid, "op": op}).decode())
                    else:
                        for sock, subs in self._private[key]:
                            if sock is ws:
                                subs.update(topics)
                        await self.send_text(ws, orjson.dumps({"success": True, "ret_msg": "", "conn_id": conn,
                                                          "req_id": rid, "op": op}).decode())
        finally:
            if key:
                self._private[key] = [p for p in self._private.get(key, []) if p[0] is not ws]
        return ws

    def _push(self, owner: str, family: str, data: list[dict[str, Any]]) -> None:
        for ws, subs in self._private.get(owner, []):
            topic = next((t for t in (f"{family}.{self.category}", family) if t in subs), None)
            if topic is None:
                continue
            text = orjson.dumps({"id": uuid.uuid4().hex, "topic": topic, "creationTime": ms(), "data": data}).decode()
            self.spawn_send(ws, text)

    def _order_json(self, st: SimBook, o: SimOrder, reject: str = "EC_NoError") -> dict[str, Any]:
        s = st.spec
        status = {"NEW": "New", "PARTIALLY_FILLED": "PartiallyFilled", "FILLED": "Filled",
                  "CANCELED": "PartiallyFilledCanceled" if o.filled and not self.linear else "Cancelled",
                  "EXPIRED": "Cancelled"}.get(o.status, "New")
        avg = o.quote_filled * 1_000_000_000 // o.filled if o.filled else 0
        return {"category": self.category, "symbol": s.symbol, "orderId": o.extra["uuid"],
                "orderLinkId": o.client_order_id, "side": "Buy" if o.side == BUY else "Sell",
                "orderType": "Market" if o.order_type == "MARKET" else "Limit", "price": s.px(o.px) if o.px else "0",
                "qty": s.qty(o.qty), "timeInForce": o.extra.get("tif", "GTC"), "orderStatus": status,
                "cumExecQty": s.qty(o.filled), "cumExecValue": format_fixed(o.quote_filled, 8),
                "avgPrice": format_fixed(avg, 9) if avg else "", "leavesQty": s.qty(max(o.remaining, 0)),
                "cumExecFee": "0", "rejectReason": reject, "createdTime": str(o.ts_ns // 1_000_000),
                "updatedTime": str(ms()), "positionIdx": 0, "reduceOnly": bool(o.extra.get("reduceOnly"))}

    async def order_event(self, st: SimBook, o: SimOrder, kind: str) -> None:
        self._push(str(o.owner), "order", [self._order_json(st, o)])

    async def fill_event(self, st: SimBook, o: SimOrder, f: SimFill, maker: bool) -> None:
        s = st.spec
        owner = str(o.owner)
        self._push(owner, "execution", [{
            "category": self.category, "symbol": s.symbol, "orderId": o.extra["uuid"],
            "orderLinkId": o.client_order_id, "side": "Buy" if o.side == BUY else "Sell",
            "execId": self._exec_of(f, o)[0], "execPrice": s.px(f.px), "execQty": s.qty(f.qty), "execType": "Trade",
            "execValue": format_fixed(f.px * f.qty // 1_000_000_000, 8), "execFee": "0", "feeRate": "0",
            "feeCurrency": s.quote, "isMaker": maker, "orderQty": s.qty(o.qty), "orderPrice": s.px(o.px),
            "leavesQty": s.qty(o.remaining), "orderType": "Market" if o.order_type == "MARKET" else "Limit",
            "execTime": str(f.ts_ns // 1_000_000), "seq": self._exec_of(f, o)[1]}])
        await self.order_event(st, o, "fill")

    def _exec_of(self, f: SimFill, o: SimOrder) -> tuple[str, int]:
        """One execution's (execId, seq), the same on the stream and in /v5/execution/list."""
        k = (f.trade_id, o.order_id)
        e = self._execs.get(k)
        if e is None:
            e = self._execs[k] = (str(uuid.uuid4()), next(self._exec_seq))
        return e

    # ---- signed REST queries (answered from the matching engine, done orders included) ----------------

    def rest_auth(self, request: web.Request) -> tuple[str | None, web.Response | None]:
        """Bybit REST signature: hex HMAC-SHA256 of timestamp + api key + recv_window + query string."""
        h = request.headers
        key = h.get("X-BAPI-API-KEY", "")
        acct = self.accounts.get(key)
        if acct is None:
            return None, self._rest({}, C.ERR_API_KEY, "API key is invalid.")
        try:
            ts, recv = int(h.get("X-BAPI-TIMESTAMP", "")), int(h.get("X-BAPI-RECV-WINDOW", "5000"))
        except ValueError:
            return None, self._rest({}, C.ERR_PARAMS, "Params Error")
        now = ms()
        if not (now - recv <= ts < now + 1000):
            return None, self._rest({}, C.ERR_TIMESTAMP, "invalid request, please check your server timestamp "
                                                         "or recv_window param")
        payload = rest_prehash(ts, key, h.get("X-BAPI-RECV-WINDOW", "5000"),
                               request.rel_url.raw_query_string)
        if not verify_hex(acct.secret, payload, h.get("X-BAPI-SIGN", "")):
            return None, self._rest({}, C.ERR_SIGN, "error sign! origin_string[" + payload + "]")
        return acct.api_key, None

    async def _signed_symbol(self, request: web.Request) -> tuple[str, SimBook] | web.Response:
        """The fault gate, the signature, then the query's category and symbol: (owner, book) or the answer."""
        owner, answer = await self.signed_rest(request, self._rest_error)
        if answer is not None:
            return answer
        q = request.query
        if q.get("category") != self.category:
            return self._rest({}, C.ERR_PARAMS, "Illegal category")
        st = self._symbols.get(q.get("symbol", ""))
        if st is None:
            return self._rest({}, C.ERR_PARAMS, "params error: symbol invalid")
        return owner, st

    def _owned(self, st: SimBook, owner: str, q: Any) -> list[SimOrder]:
        oid, cid = q.get("orderId", ""), q.get("orderLinkId", "")
        return [o for o in reversed(st.engine.history.values()) if o.owner == owner
                and (not oid or o.extra.get("uuid") == oid) and (not cid or o.client_order_id == cid)]

    async def _rest_order_realtime(self, request: web.Request) -> web.Response:
        """GET /v5/order/realtime: open orders, and closed ones when asked by orderId/orderLinkId."""
        signed = await self._signed_symbol(request)
        if isinstance(signed, web.Response):
            return signed
        owner, st = signed
        q = request.query
        orders = self._owned(st, str(owner), q)
        if not (q.get("orderId") or q.get("orderLinkId")):
            orders = [o for o in orders if o.status in ("NEW", "PARTIALLY_FILLED")]
        return self._rest({"category": self.category, "list": [self._order_json(st, o) for o in orders[:50]],
                           "nextPageCursor": ""})

    async def _rest_execution_list(self, request: web.Request) -> web.Response:
        """GET /v5/execution/list: the account's executions, newest first."""
        signed = await self._signed_symbol(request)
        if isinstance(signed, web.Response):
            return signed
        owner, st = signed
        try:
            limit = max(1, min(int(request.query.get("limit", "50")), 100))
        except ValueError:
            return self._rest({}, C.ERR_PARAMS, "Params Error")
        s = st.spec
        rows: list[dict[str, Any]] = []
        for o in self._owned(st, str(owner), request.query):
            for f in st.engine.fills_of.get(o.order_id, []):
                eid, seq = self._exec_of(f, o)
                rows.append({"symbol": s.symbol, "orderId": o.extra["uuid"], "orderLinkId": o.client_order_id,
                             "side": "Buy" if o.side == BUY else "Sell", "orderPrice": s.px(o.px),
                             "orderQty": s.qty(o.qty), "leavesQty": s.qty(o.remaining), "createType": "CreateByUser",
                             "orderType": "Market" if o.order_type == "MARKET" else "Limit", "stopOrderType": "",
                             "execFee": "0", "execId": eid, "execPrice": s.px(f.px), "execQty": s.qty(f.qty),
                             "execType": "Trade", "execValue": format_fixed(f.px * f.qty // 1_000_000_000, 8),
                             "execTime": str(f.ts_ns // 1_000_000), "feeCurrency": s.quote,
                             "isMaker": f.maker is o, "feeRate": "0", "markPrice": "", "closedSize": "",
                             "seq": seq})
        rows.sort(key=lambda r: r["seq"], reverse=True)
        cursor = request.query.get("cursor", "")
        start = 0
        if cursor:   # the simulator's cursor: "<seq>:next", the first row after that seq
            try:
                last = int(cursor.split(":")[0])
            except ValueError:
                return self._rest({}, C.ERR_PARAMS, "Params Error: cursor")
            start = next((i for i, r in enumerate(rows) if r["seq"] < last), len(rows))
        page = rows[start:start + limit]
        more = start + limit < len(rows)
        return self._rest({"category": self.category, "list": page,
                           "nextPageCursor": f"{page[-1]['seq']}:next" if more and page else ""})

    # ---- trade websocket -----------------------------------------------------------------------------

    async def _trade_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = str(uuid.uuid4())
        key: str | None = None
        async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                if self.faults.ws_api_delay_s:
                    await asyncio.sleep(self.faults.ws_api_delay_s)
                try:
                    req = orjson.loads(msg.data)
                    op = req["op"]
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    await self.send_text(ws, orjson.dumps({"retCode": C.ERR_PARAMS, "retMsg": "Invalid request",
                                                      "connId": conn}).decode())
                    continue
                if op == "ping":
                    await self.send_text(ws, orjson.dumps({"op": "pong", "retCode": 0, "retMsg": "OK",
                                                      "connId": conn}).decode())
                    continue
                if op == "auth":
                    k, code, text = self._auth(req.get("args"))
                    if k is not None:
                        key = k
                    await self.send_text(ws, orjson.dumps({"retCode": code, "retMsg": text or "OK", "op": "auth",
                                                      "connId": conn}).decode())
                    continue
                out = await self._trade_op(key, req, conn)
                await self.send_text(ws, orjson.dumps(out).decode())
        return ws

    async def _trade_op(self, key: str | None, req: dict[str, Any], conn: str) -> dict[str, Any]:
        op = req["op"]
        rid = req.get("reqId", "")
        out: dict[str, Any] = {"reqId": rid, "op": op, "connId": conn, "retExtInfo": {},
                               "header": {"X-Bapi-Limit": "10", "X-Bapi-Limit-Status": "9",
                                          "Timenow": str(ms())}}
        try:
            if key is None:
                raise BybitOpError(C.ERR_NOT_AUTHORIZED, "Request not authorized")
            hdr = req.get("header")
            if not isinstance(hdr, dict) or not hdr.get("X-BAPI-TIMESTAMP"):
                raise BybitOpError(C.ERR_PARAMS, "Params Error: header X-BAPI-TIMESTAMP is required")
            try:
                ts = int(hdr["X-BAPI-TIMESTAMP"])
                recv = int(hdr.get("X-BAPI-RECV-WINDOW", self.recv_window_ms))
            except (TypeError, ValueError):
                raise BybitOpError(C.ERR_PARAMS, "Params Error: invalid header") from None
            now = ms()
            if not (now - recv <= ts < now + 1000):
                raise BybitOpError(C.ERR_TIMESTAMP, "invalid request, please check your server timestamp or recv_window param")
            args = req.get("args")
            if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
                raise BybitOpError(C.ERR_PARAMS, "Params Error: args takes exactly one object")
            a = args[0]
            if op == "order.create":
                out["data"] = await self._create(key, a)
            elif op == "order.amend":
                out["data"] = await self._amend(key, a)
            elif op == "order.cancel":
                out["data"] = await self._cancel(key, a)
            elif op == "order.create-batch":
                data, ext = await self._create_batch(key, a)
                out["data"] = data
                out["retExtInfo"] = ext
            else:
                raise BybitOpError(C.ERR_PARAMS, f"Invalid op: {op}")
            out.update(retCode=0, retMsg="OK")
        except BybitOpError as e:
            out.update(retCode=e.code, retMsg=e.msg, data={})
        return out

    # ---- orders --------------------------------------------------------------------------------------

    def _symbol(self, a: dict[str, Any]) -> SimBook:
        if a.get("category") != self.category:
            raise BybitOpError(C.ERR_PARAMS, "Illegal category" if a.get("category") else "Params Error: category is required")
        sym = a.get("symbol")
        if not sym:
            raise BybitOpError(C.ERR_PARAMS, "Params Error: symbol is required")
        st = self._symbols.get(str(sym))
        if st is None:
            raise BybitOpError(C.ERR_PARAMS if self.linear else 170121, "Invalid symbol.")
        return st

    @staticmethod
    def _num(a: dict[str, Any], name: str, parse: Any) -> int:
        return positive_field(a, name, parse, lambda n: BybitOpError(C.ERR_PARAMS, f"Params Error: {n} is required"),
                              lambda n: BybitOpError(C.ERR_PARAMS, f"Params Error: {n} invalid"))

    def _find(self, owner: str, st: SimBook, a: dict[str, Any]) -> SimOrder:
        oid, cid = a.get("orderId"), a.get("orderLinkId")
        if not oid and not cid:
            raise BybitOpError(C.ERR_PARAMS, "Params Error: orderId or orderLinkId is required")
        for o in st.engine.orders.values():
            if o.owner == owner and ((oid and o.extra.get("uuid") == oid) or (not oid and o.client_order_id == cid)):
                return o
        if self.linear:
            raise BybitOpError(C.ERR_ORDER_NOT_EXIST, "order not exists or too late to cancel")
        raise BybitOpError(C.ERR_SPOT_ORDER_NOT_EXIST, "Order does not exist.")

    async def _create(self, owner: str, a: dict[str, Any], *, st: SimBook | None = None) -> dict[str, Any]:
        st = st or self._symbol(a)
        side = a.get("side")
        if side not in ("Buy", "Sell"):
            raise BybitOpError(C.ERR_PARAMS, "Params Error: side invalid" if side else "Params Error: side is required")
        ot = a.get("orderType")
        if ot not in ("Market", "Limit"):
            raise BybitOpError(C.ERR_PARAMS, "Params Error: orderType invalid" if ot else "Params Error: orderType is required")
        qty = self._num(a, "qty", parse_qty)
        s = st.spec
        if qty % s.lot_1e8 or qty < s.min_qty_1e8:
            raise BybitOpError(C.ERR_PARAMS if self.linear else 170136, "Order quantity has too many decimals or is too small.")
        px = 0
        tif = "IOC"
        if ot == "Limit":
            px = self._num(a, "price", parse_px)
            if px % s.tick_1e9:
                raise BybitOpError(C.ERR_PARAMS if self.linear else 170134, "Order price has too many decimals.")
            tif = a.get("timeInForce", "GTC")
            if tif not in ("GTC", "IOC", "FOK", "PostOnly"):
                raise BybitOpError(C.ERR_PARAMS, "Params Error: timeInForce invalid")
        elif not self.linear and a.get("marketUnit", "quoteCoin") != "baseCoin":
            qty = qty * 100_000_000 // max(st.engine.best(SELL if side == "Buy" else BUY), 1) * 10
        cid = str(a.get("orderLinkId", ""))
        if cid and (len(cid) > C.ORDER_LINK_ID_MAX or not all(c.isalnum() or c in "_-" for c in cid)):
            raise BybitOpError(C.ERR_PARAMS, "Params Error: orderLinkId invalid")
        if cid and st.engine.find_client(owner, cid):
            raise BybitOpError(C.ERR_DUP_LINK_ID if self.linear else 170141, "Duplicate clientOrderId.")
        o = self.user_order(st, owner, BUY if side == "Buy" else SELL, px, qty,
                            tif={"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "PostOnly": "GTX"}[tif],
                            order_type="MARKET" if ot == "Market" else "LIMIT", client_order_id=cid)
        o.extra.update(uuid=str(uuid.uuid4()), tif=tif, reduceOnly=bool(a.get("reduceOnly")))
        try:
            fills = st.engine.submit(o)
        except MatchReject:
            # Bybit acknowledges, then cancels the post-only order that would take (rejectReason)
            o.status = "CANCELED"
            self._push(owner, "order", [self._order_json(st, o, "EC_PostOnlyWillTakeLiquidity")])
            return {"orderId": o.extra["uuid"], "orderLinkId": cid}
        await self.entered(st, o, fills)
        return {"orderId": o.extra["uuid"], "orderLinkId": cid}

    async def _amend(self, owner: str, a: dict[str, Any]) -> dict[str, Any]:
        st = self._symbol(a)
        o = self._find(owner, st, a)
        if not a.get("qty") and not a.get("price"):
            raise BybitOpError(C.ERR_PARAMS, "Params Error: qty or price is required")
        qty = self._num(a, "qty", parse_qty) if a.get("qty") else o.qty
        px = self._num(a, "price", parse_px) if a.get("price") else o.px
        if qty % st.spec.lot_1e8 or px % st.spec.tick_1e9:
            raise BybitOpError(C.ERR_PARAMS, "Params Error: qty or price invalid")
        if qty <= o.filled:
            raise BybitOpError(C.ERR_PARAMS, "Params Error: the new quantity must exceed the filled quantity")
        o, fills = self.amend_book(st, o, qty, px)
        await self.order_event(st, o, "amended")
        await self.after_match(st, fills)
        return {"orderId": o.extra["uuid"], "orderLinkId": o.client_order_id}

    async def _cancel(self, owner: str, a: dict[str, Any]) -> dict[str, Any]:
        st = self._symbol(a)
        o = self._find(owner, st, a)
        await self.cancel_order(st, o)
        return {"orderId": o.extra["uuid"], "orderLinkId": o.client_order_id}

    async def _create_batch(self, owner: str, a: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        if a.get("category") != self.category:
            raise BybitOpError(C.ERR_PARAMS, "Illegal category")
        reqs = a.get("request")
        if not isinstance(reqs, list) or not reqs:
            raise BybitOpError(C.ERR_PARAMS, "Params Error: request is required")
        if len(reqs) > self.batch_max:
            raise BybitOpError(C.ERR_PARAMS, f"Params Error: the number of orders exceeds {self.batch_max}")
        rows, codes = [], []
        for r in reqs:
            try:
                if not isinstance(r, dict):
                    raise BybitOpError(C.ERR_PARAMS, "Params Error")
                st = self._symbol({"category": self.category, "symbol": r.get("symbol")})
                d = await self._create(owner, r, st=st)
                rows.append({"category": self.category, "symbol": st.spec.symbol, **d, "createAt": str(ms())})
                codes.append({"code": 0, "msg": "OK"})
            except BybitOpError as e:
                rows.append({"category": self.category, "symbol": str(r.get("symbol", "")) if isinstance(r, dict) else "",
                             "orderId": "", "orderLinkId": "", "createAt": ""})
                codes.append({"code": e.code, "msg": e.msg})
        return {"list": rows}, {"list": codes}

