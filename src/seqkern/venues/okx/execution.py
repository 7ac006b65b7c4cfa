"""OKX order entry over WS trading on the private socket, and the private ``orders`` channel.

One /ws/v5/private session per edge: ``login`` (HMAC of ts+GET+/users/self/verify), then the
``orders`` channel for fills and order states, and the trading ops ``order``, ``cancel-order``,
``amend-order`` (native, same ordId: NATIVE_ATOMIC) and ``batch-orders`` (at most 20 per request,
placed in turn with a per-order sCode: NATIVE_BEST_EFFORT). Since 2026 the WS trading ops take
``instIdCode`` (integer, from GET /api/v5/public/instruments) instead of ``instId``.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import orjson

from seqkern._fixed import format_px, format_qty, parse_px, parse_qty
from seqkern.edge.rest import RestClient
from seqkern.errors import UnknownSymbol
from seqkern.venues.base import (
    AmendMode,
    BatchMode,
    FillEvent,
    OrderQuery,
    OrderRequest,
    OrderResult,
    OrderStatus,
    OrderType,
    RestRequest,
    Side,
    TimeInForce,
    UserEventHandler,
    VenueMessageError,
    VenueRejected,
    base_to_contracts,
    contracts_to_base,
)
from seqkern.venues.credentials import CexPassphraseCredentials
from seqkern.venues.okx import constants as C
from seqkern.venues.okx.auth import OkxSigner
from seqkern.venues.okx.parsing import (
    events_in_base,
    order_state,
    parse_inst_id_codes,
    parse_instruments,
    parse_orders_push,
)
from seqkern.venues.order_entry import answer_object, order_fills, order_ident
from seqkern.venues.ws_session import WsOrderTransport, WsSession

log = logging.getLogger("seqkern.venues.okx")



def ord_type(req: OrderRequest) -> str:
    """OKX encodes time in force in ordType."""
    if req.order_type is OrderType.MARKET:
        return "market"
    return {TimeInForce.GTC: "limit", TimeInForce.IOC: "ioc", TimeInForce.FOK: "fok",
            TimeInForce.POST_ONLY: "post_only"}[req.tif]


def check_cl_ord_id(cid: str) -> None:
    if cid and not (cid.isascii() and cid.isalnum() and len(cid) <= C.CLORDID_MAX):
        raise VenueRejected(f"OKX clOrdId must be 1-{C.CLORDID_MAX} alphanumerics: {cid!r}",
                            venue_code=C.ERR_PARAM)


class OkxWsTransport(WsOrderTransport):
    push_name = "OKX orders push"
    amend_mode = AmendMode.NATIVE_ATOMIC
    batch_mode = BatchMode.NATIVE_BEST_EFFORT
    max_batch = C.BATCH_MAX
    place_op, cancel_op, amend_op = "order", "cancel-order", "amend-order"
    amend_qty_key, amend_px_key = "newSz", "newPx"
    missing_param_code = C.ERR_EMPTY_PARAM

    def __init__(self, *, inst_type: str, private_ws_url: str, credentials: CexPassphraseCredentials, rest: RestClient,
                 td_mode: str | None = None, request_timeout_s: float = 10.0) -> None:
        self.inst_type = inst_type
        self.td_mode = td_mode or ("cash" if inst_type == "SPOT" else "cross")
        self.signer = OkxSigner(credentials.api_key, credentials.api_secret, credentials.passphrase)
        self.rest = rest
        self._ids = itertools.count(1)
        self._codes: dict[str, int] = {}
        self._contracts: dict[str, int] = {}   # SWAP instId -> ctVal (x 1e8): sizes go out in contracts
        super().__init__()
        self.session = WsSession(private_ws_url, name=f"okx {inst_type} private", login=self._login_frame,
                                 classify=self._classify, on_push=self._on_push, ping_frame=b"ping",
                                 ping_interval_s=C.PING.client_ping_s or 20.0, request_timeout_s=request_timeout_s)

    def __repr__(self) -> str:
        return f"OkxWsTransport(inst_type={self.inst_type}, signer={self.signer!r})"

    # ---- session ---------------------------------------------------------------------------------

    def _login_frame(self) -> bytes:
        return orjson.dumps({"op": "login", "args": [self.signer.login_args()]})

    @staticmethod
    def _classify(obj: Any) -> tuple[str, str | None]:
        ev = obj.get("event")
        if ev == "login":
            return "login", None if str(obj.get("code", "0")) == "0" else str(obj.get("code"))
        if ev == "error":
            code = str(obj.get("code"))
            if code in (C.WS_ERR_LOGIN, C.WS_ERR_BAD_SIGN, C.WS_ERR_TIMESTAMP, C.WS_ERR_API_KEY,
                        C.WS_ERR_PASSPHRASE):
                return "login", code
            log.warning("OKX private error event: %s %s", code, obj.get("msg"))
            return "ignore", None
        if ev is not None:
            return "ignore", None
        if "op" in obj and "id" in obj:
            return "response", str(obj["id"])
        arg = obj.get("arg")
        if isinstance(arg, dict) and arg.get("channel") == "orders":
            return "push", None
        return "ignore", None

    def _parse_push(self, obj: Any, ts_recv_ns: int) -> list[Any]:
        return [events_in_base(ev, self._contracts.get(ev.venue_symbol, 0))
                for ev in parse_orders_push(obj, ts_recv_ns)]

    async def load_codes(self) -> None:
        """instIdCode of every instrument (WS trading ops name it) and, for SWAP, its contract size."""
        body = await self.rest.request(RestRequest("GET", "/api/v5/public/instruments", {"instType": self.inst_type},
                                                   (("PUBLIC", 1),)))
        self._codes.update(parse_inst_id_codes(body))
        self._contracts.update({vs: i.contract_1e8 for vs, i in parse_instruments(body).items() if i.contract_1e8})

    def contract_size_1e8(self, inst_id: str) -> int:
        """Base units per contract (x 1e8); 0 on SPOT. A SWAP without a known ctVal is refused, never
        sent in the wrong unit."""
        if self.inst_type == "SPOT":
            return 0
        try:
            return self._contracts[inst_id]
        except KeyError:
            raise VenueRejected(f"{inst_id}: OKX contract size unknown", venue_code=C.ERR_PARAM) from None

    def _venue_qty(self, venue_symbol: str, qty_1e8: int) -> str:
        return format_qty(base_to_contracts(qty_1e8, self.contract_size_1e8(venue_symbol)))

    async def connect(self) -> None:
        if not self._codes:
            await self.load_codes()
        await self.session.connect()

    async def close(self) -> None:
        await self.session.close()

    async def subscribe_user_stream(self, on_event: UserEventHandler) -> None:
        self._on_user = on_event
        await self.connect()
        self.session.add_after_login(orjson.dumps({"op": "subscribe",
                                                   "args": [{"channel": "orders", "instType": self.inst_type}]}))

    def inst_id_code(self, inst_id: str) -> int:
        try:
            return self._codes[inst_id]
        except KeyError:
            raise UnknownSymbol(f"{inst_id} has no instIdCode on OKX {self.inst_type}") from None

    async def _op(self, op: str, args: list[dict[str, Any]]) -> dict[str, Any]:
        rid = f"sk{next(self._ids)}"
        resp = await self.session.request(rid, orjson.dumps({"id": rid, "op": op, "args": args}))
        if str(resp.get("code")) not in (C.ERR_OK, C.ERR_ALL_FAILED, C.ERR_BATCH_PARTIAL) or not resp.get("data"):
            raise VenueRejected(f"OKX {op}: {resp.get('msg', '')}", venue_code=str(resp.get("code")))
        return resp

    async def _order_op(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        return await self._op(op, [args])

    # ---- orders ----------------------------------------------------------------------------------

    def _order_args(self, req: OrderRequest) -> dict[str, Any]:
        check_cl_ord_id(req.client_order_id)
        a: dict[str, Any] = {"instIdCode": self.inst_id_code(req.venue_symbol), "tdMode": self.td_mode,
                             "side": "buy" if req.side is Side.BUY else "sell", "ordType": ord_type(req),
                             "sz": self._venue_qty(req.venue_symbol, req.qty_1e8)}
        if req.order_type is OrderType.LIMIT:
            a["px"] = format_px(req.px_1e9)
        if req.client_order_id:
            a["clOrdId"] = req.client_order_id
        if req.reduce_only and self.inst_type != "SPOT":
            a["reduceOnly"] = True
        return a

    def _ident(self, venue_symbol: str, venue_order_id: int | str | None, client_order_id: str) -> dict[str, Any]:
        a: dict[str, Any] = {"instIdCode": self.inst_id_code(venue_symbol)}
        a.update(order_ident(venue_order_id, client_order_id, id_key="ordId", cid_key="clOrdId",
                             venue_code=C.ERR_EMPTY_PARAM))
        return a

    @staticmethod
    def _item(venue_symbol: str, d: dict[str, Any], status: OrderStatus, cid: str = "") -> OrderResult:
        if str(d.get("sCode", "0")) != "0":
            return OrderResult(False, venue_symbol, d.get("clOrdId") or cid, d.get("ordId") or None, None, 0,
                               str(d.get("sCode")), str(d.get("sMsg", "")))
        return OrderResult(True, venue_symbol, d.get("clOrdId") or cid, d.get("ordId"), status)

    def _op_result(self, venue_symbol: str, resp: Any, status: OrderStatus, cid: str) -> OrderResult:
        return self._item(venue_symbol, resp["data"][0], status, cid)

    async def _batch_op(self, chunk: Sequence[OrderRequest]) -> Any:
        """batch-orders, 20 per request, placed in turn with a per-order sCode."""
        return await self._op("batch-orders", [self._order_args(r) for r in chunk])

    def _batch_result(self, resp: Any, k: int, req: OrderRequest) -> OrderResult:
        rows = resp["data"]
        d = rows[k] if k < len(rows) else {"sCode": C.ERR_PARAM, "sMsg": "no result for this order"}
        return self._item(req.venue_symbol, d, OrderStatus.NEW, req.client_order_id)

    # ---- queries (reconciliation) ----------------------------------------------------------------

    async def _signed_get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        q = urlencode(params)
        headers = self.signer.rest_headers("GET", f"{path}?{q}")
        body = await self.rest.request(RestRequest("GET", path, params, C.WEIGHTS[path], True),
                                       query=q, headers=headers)
        return answer_object(body, f"OKX {path}")

    async def query_order(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                          client_order_id: str | None = None) -> OrderQuery:
        """GET /api/v5/trade/order (state, accFillSz, avgPx) then GET /api/v5/trade/fills?ordId=
        (the order's trades), both signed; 51603 = the venue does not know the order."""
        params = {"instId": venue_symbol, **order_ident(venue_order_id, client_order_id or "", id_key="ordId",
                                                        cid_key="clOrdId", venue_code=C.ERR_EMPTY_PARAM)}
        obj = await self._signed_get("/api/v5/trade/order", params)
        code = str(obj.get("code"))
        if code == C.ERR_ORDER_NOT_EXIST:
            return OrderQuery(venue_symbol, False, venue_order_id, client_order_id or "",
                              error_code=code, error_msg=str(obj.get("msg", "")))
        if code != C.ERR_OK or not obj.get("data"):
            raise VenueRejected(f"OKX order query: {obj.get('msg', '')}", venue_code=code)
        now = time.time_ns()
        try:
            d = obj["data"][0]
            oid = str(d["ordId"])
            side = Side.BUY if d["side"] == "buy" else Side.SELL
            status = order_state(d["state"])
            ct = self.contract_size_1e8(venue_symbol)
            qty = contracts_to_base(parse_qty(d["sz"]), ct)
            filled = contracts_to_base(parse_qty(d.get("accFillSz") or "0"), ct)
            px = parse_px(d["px"]) if d.get("px") else 0
            avg = parse_px(d["avgPx"]) if d.get("avgPx") else 0
            last = parse_px(d["fillPx"]) if d.get("fillPx") else 0
            cid = str(d.get("clOrdId", ""))
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise VenueMessageError(f"OKX order query: unreadable answer ({exc})") from None
        fills: list[FillEvent] = []
        if filled:
            page_rows: list[dict[str, Any]] = []
            after = ""
            while True:   # newest first, 100 a page; "after" = the last billId seen pages back
                fp = {"instType": self.inst_type, "instId": venue_symbol, "ordId": oid, "limit": "100"}
                if after:
                    fp["after"] = after
                fo = await self._signed_get("/api/v5/trade/fills", fp)
                if str(fo.get("code")) != C.ERR_OK:
                    raise VenueRejected(f"OKX fills query: {fo.get('msg', '')}", venue_code=str(fo.get("code")))
                page = fo.get("data") or []
                page_rows.extend(page)
                if len(page) < 100:
                    break
                after = str(page[-1].get("billId", ""))
                if not after:
                    raise VenueMessageError("OKX fills query: a full page without billId")
            fills = order_fills(
                page_rows, order=(venue_symbol, oid, cid, side), sort_key=lambda r: int(r["tradeId"]),
                is_mine=lambda r: str(r["ordId"]) == oid,
                read=lambda r: (contracts_to_base(parse_qty(r["fillSz"]), ct), parse_px(r["fillPx"]),
                                str(r.get("fee", "0")),
                                str(r.get("feeCcy", "")), r.get("execType") == "M", int(r["tradeId"]),
                                int(r.get("fillTime") or r.get("ts") or 0) * 1_000_000),
                what="OKX fills query", now_ns=now)
        return OrderQuery(venue_symbol, True, oid, cid, side, status, px, qty, filled, avg, last, tuple(fills))
