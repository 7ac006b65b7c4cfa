"""Kalshi order entry: signed REST V2 (/portfolio/events/orders, amend, decrease, batched) and fills over WS."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from seqkern._fixed import format_px, format_qty, parse_px, parse_qty
from seqkern.edge.rest import RateLimiter, RestClient
from seqkern.edge.ws import WsConnectError
from seqkern.errors import SeqkernError
from seqkern.venues.base import (
    AmendMode,
    AmendResult,
    BatchMode,
    BatchResult,
    FillEvent,
    OrderRequest,
    OrderResult,
    OrderStatus,
    OrderTransport,
    OrderType,
    RateLimitPool,
    RestRequest,
    Side,
    TimeInForce,
    UserEventHandler,
    VenueMessageError,
    VenueRejected,
)
from seqkern.venues.catalog import venue_by_name
from seqkern.venues.kalshi.auth import KalshiSigner
from seqkern.venues.kalshi.venue import trade_number
from seqkern.venues.pred_ws import HeaderWs

log = logging.getLogger("seqkern.venues.kalshi")

ORDERS = "/portfolio/events/orders"
LIMITS = "/account/limits"
ONE = 1_000_000_000
TOKENS_PER_ORDER = 10          # write tokens one order costs (batch items count individually)
LEGACY_MAX_BATCH = 20          # the old fixed batch size, used when the tier cannot be read
_TIF = {TimeInForce.GTC: "good_till_canceled", TimeInForce.IOC: "immediate_or_cancel",
        TimeInForce.FOK: "fill_or_kill", TimeInForce.POST_ONLY: "good_till_canceled"}

_CAPS = venue_by_name("kalshi").capabilities


def _limiter(read_cap: int, read_refill: float, write_cap: int, write_refill: float) -> RateLimiter:
    """Kalshi's read/write token buckets (capacity, refill per second) as sliding-window pools."""
    return RateLimiter((RateLimitPool("write", write_cap, write_cap / write_refill),
                        RateLimitPool("read", read_cap, read_cap / read_refill)))


def yes_book_order(venue_symbol: str, side: Side, px_1e9: int) -> tuple[str, str, int]:
    """(ticker, "bid"|"ask", YES price) of an order on either leg.

    Buy YES @p = bid @p; sell YES @p = ask @p; buy NO @q = ask @(1-q); sell NO @q = bid @(1-q).
    """
    ticker, _, leg = venue_symbol.partition(":")
    if leg and leg.upper() != "NO":
        raise VenueRejected(f"unknown Kalshi leg {leg!r}", venue_code="bad_symbol")
    if not leg:
        return ticker, "bid" if side is Side.BUY else "ask", px_1e9
    return ticker, "ask" if side is Side.BUY else "bid", ONE - px_1e9 if px_1e9 else 0


def dollars(px_1e9: int) -> str:
    """A YES price as Kalshi's dollar string (4 dp, more only when the tick needs it)."""
    text = format_px(px_1e9)
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(4, '0')}"


@dataclass
class _Order:
    order_id: str
    client_order_id: str
    venue_symbol: str
    ticker: str
    book_side: str      # bid | ask (YES book)
    yes_px: int
    count: int          # qty_1e8: filled + resting
    filled: int = 0


class KalshiTransport(OrderTransport):
    """Kalshi V2 orders. Transport modes are the venue's (native amend, native atomic batch);
    ``graph_amend_mode`` / ``graph_batch_mode`` are what the kernel's graph API reports (spec)."""

    amend_mode = AmendMode.NATIVE_ATOMIC
    batch_mode = BatchMode.NATIVE_ATOMIC
    graph_amend_mode = _CAPS.amend_graph if _CAPS else "cancel_replace"   # catalog: "cancel_replace"
    graph_batch_mode = _CAPS.batch_graph if _CAPS else "serial"           # catalog: "serial"
    settlement = _CAPS.settlement if _CAPS else "auto_settled"

    def __init__(self, rest_url: str, ws_url: str, signer: KalshiSigner, *, subaccount: int | None = None,
                 stp: str = "taker_at_cross") -> None:
        self.rest_url = rest_url.rstrip("/")
        self._prefix = urlsplit(self.rest_url).path
        self.ws_url = ws_url
        self.signer = signer
        self.subaccount = subaccount
        self.stp = stp
        # token buckets as sliding windows in token units: capacity tokens per capacity/refill seconds
        # (Basic tier until the account's limits are read: 200 read / 100 write tokens a second)
        self.rest = RestClient(self.rest_url, _limiter(400, 200.0, LEGACY_MAX_BATCH * TOKENS_PER_ORDER, 100.0),
                               max_retries=2)
        self.max_batch = LEGACY_MAX_BATCH
        self.usage_tier = "unknown"
        self._orders: dict[str, _Order] = {}        # by venue order id
        self._by_client: dict[str, str] = {}
        self._leg_by_cid: dict[str, str] = {}      # client order id -> the leg it was placed on
        self._ids = itertools.count(1)
        self._ws: HeaderWs | None = None
        self._ws_task: asyncio.Task | None = None
        self._on_event: UserEventHandler | None = None
        self._closing = False

    # ---- plumbing --------------------------------------------------------------------------

    async def _call(self, method: str, path: str, body: Any = None, *, weight: int = TOKENS_PER_ORDER,
                    pool: str = "write") -> Any:
        data = orjson.dumps(body).decode() if body is not None else None
        headers = self.signer.headers(method, self._prefix + path)
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = RestRequest(method, path, {}, ((pool, weight),), signed=True)
        raw = await self.rest.request(req, body=data, headers=headers)
        try:
            return orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            raise VenueMessageError(f"Kalshi {method} {path}: unreadable response") from None

    async def connect(self) -> None:
        """Read the account's tier: the batch size scales with its write budget."""
        try:
            lim = await self._call("GET", LIMITS, pool="read", weight=TOKENS_PER_ORDER)
        except VenueRejected as exc:
            log.warning("kalshi: cannot read account limits (%s); batch size stays %d", exc, self.max_batch)
            return
        self.usage_tier = str(lim.get("usage_tier", "unknown"))
        write, read = lim.get("write"), lim.get("read")
        try:
            if isinstance(write, dict):
                wcap, wrate = int(float(write["bucket_capacity"])), float(write["refill_rate"])
            elif "write_limit" in lim:      # the pre-2026-06 flat shape: requests per second
                wcap = int(lim["write_limit"]) * TOKENS_PER_ORDER
                wrate = float(wcap)
            else:
                return
            if isinstance(read, dict):
                rcap, rrate = int(float(read["bucket_capacity"])), float(read["refill_rate"])
            else:
                rcap = int(lim.get("read_limit", 20)) * TOKENS_PER_ORDER
                rrate = float(rcap)
        except (KeyError, TypeError, ValueError):
            log.warning("kalshi: account limits unreadable; batch size stays %d", self.max_batch)
            return
        if wcap >= TOKENS_PER_ORDER and wrate > 0 and rcap >= TOKENS_PER_ORDER and rrate > 0:
            # a batch is admitted only if all its tokens are available: at most capacity / 10 orders
            self.max_batch = wcap // TOKENS_PER_ORDER
            self.rest.limiter = _limiter(rcap, rrate, wcap, wrate)

    async def close(self) -> None:
        self._closing = True
        if self._ws_task is not None:
            self._ws_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ws_task
        if self._ws is not None:
            await self._ws.close()
        await self.rest.close()

    def _client_id(self, given: str) -> str:
        return given or f"sk-{int(time.time() * 1000)}-{next(self._ids)}"

    def _order_body(self, req: OrderRequest) -> tuple[dict[str, Any], _Order]:
        if req.order_type is not OrderType.LIMIT or req.px_1e9 <= 0:
            raise VenueRejected("Kalshi V2 orders are limit orders with a price", venue_code="invalid_order")
        if req.qty_1e8 <= 0:
            raise VenueRejected("order count must be positive", venue_code="invalid_order")
        ticker, book_side, yes_px = yes_book_order(req.venue_symbol, req.side, req.px_1e9)
        if not 0 < yes_px < ONE:
            raise VenueRejected("price must lie strictly between $0 and $1", venue_code="invalid_price")
        cid = self._client_id(req.client_order_id)
        if len(self._leg_by_cid) > 100_000:
            self._leg_by_cid.clear()
        self._leg_by_cid[cid] = req.venue_symbol
        body: dict[str, Any] = {"ticker": ticker, "client_order_id": cid, "side": book_side,
                                "count": format_qty(req.qty_1e8, 2), "price": dollars(yes_px),
                                "time_in_force": _TIF[req.tif], "self_trade_prevention_type": self.stp}
        if req.tif is TimeInForce.POST_ONLY:
            body["post_only"] = True
        if req.reduce_only:
            body["reduce_only"] = True
        if self.subaccount is not None:
            body["subaccount"] = self.subaccount
        return body, _Order("", cid, req.venue_symbol, ticker, book_side, yes_px, req.qty_1e8)

    def _result(self, o: _Order, resp: dict[str, Any]) -> OrderResult:
        o.order_id = str(resp.get("order_id") or o.order_id)
        filled = parse_qty(str(resp.get("fill_count", "0")))
        remaining = parse_qty(str(resp.get("remaining_count", "0")))
        o.filled = filled
        o.count = filled + remaining
        if remaining == 0:
            status = OrderStatus.FILLED if filled else OrderStatus.CANCELED
        else:
            status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.NEW
        if remaining:
            self._orders[o.order_id] = o
            self._by_client[o.client_order_id] = o.order_id
        return OrderResult(True, o.venue_symbol, o.client_order_id, o.order_id, status, filled)

    @staticmethod
    def _rejected(venue_symbol: str, cid: str, exc: VenueRejected) -> OrderResult:
        return OrderResult(False, venue_symbol, cid, None, OrderStatus.REJECTED, 0, exc.venue_code or exc.http_status,
                           str(exc))

    def _find(self, venue_order_id: int | str | None, client_order_id: str) -> _Order:
        oid = str(venue_order_id) if venue_order_id else self._by_client.get(client_order_id, "")
        o = self._orders.get(oid)
        if o is None:
            raise VenueRejected(f"unknown Kalshi order {venue_order_id or client_order_id!r}", venue_code="not_found")
        return o

    def open_order(self, *, venue_order_id: int | str | None = None,
                   client_order_id: str = "") -> OrderRequest | None:
        """The resting order as this edge knows it (quantity = what still rests), in its leg's terms."""
        oid = str(venue_order_id) if venue_order_id else self._by_client.get(client_order_id, "")
        o = self._orders.get(oid)
        if o is None:
            return None
        no_leg = ":" in o.venue_symbol
        buy_yes = o.book_side == "bid"
        side = (Side.SELL if buy_yes else Side.BUY) if no_leg else (Side.BUY if buy_yes else Side.SELL)
        return OrderRequest(o.venue_symbol, side, OrderType.LIMIT, o.count - o.filled,
                            ONE - o.yes_px if no_leg else o.yes_px, client_order_id=o.client_order_id)

    # ---- verbs -----------------------------------------------------------------------------

    async def place(self, req: OrderRequest) -> OrderResult:
        try:
            body, o = self._order_body(req)
            resp = await self._call("POST", ORDERS, body)
        except VenueRejected as exc:
            return self._rejected(req.venue_symbol, req.client_order_id, exc)
        return self._result(o, resp)

    async def cancel(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                     client_order_id: str = "") -> OrderResult:
        try:
            o = self._find(venue_order_id, client_order_id)
            resp = await self._call("DELETE", f"{ORDERS}/{o.order_id}")
        except VenueRejected as exc:
            return self._rejected(venue_symbol, client_order_id, exc)
        self._orders.pop(o.order_id, None)
        self._by_client.pop(o.client_order_id, None)
        cid = str(resp.get("client_order_id") or o.client_order_id)
        return OrderResult(True, o.venue_symbol, cid, o.order_id, OrderStatus.CANCELED, o.filled)

    async def amend(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                    client_order_id: str = "", new_qty_1e8: int | None = None,
                    new_px_1e9: int | None = None, side: Side | None = None) -> AmendResult:
        """Native amend: price and/or size in place; ``count`` sent = filled + desired resting."""
        try:
            o = self._find(venue_order_id, client_order_id)
            yes_px = o.yes_px
            if new_px_1e9 is not None:
                yes_px = new_px_1e9 if ":" not in o.venue_symbol else ONE - new_px_1e9
            resting = (o.count - o.filled) if new_qty_1e8 is None else new_qty_1e8
            new_cid = self._client_id("")
            self._leg_by_cid[new_cid] = o.venue_symbol
            body = {"ticker": o.ticker, "side": o.book_side, "price": dollars(yes_px),
                    "count": format_qty(o.filled + resting, 2), "client_order_id": o.client_order_id,
                    "updated_client_order_id": new_cid}
            resp = await self._call("POST", f"{ORDERS}/{o.order_id}/amend", body)
        except VenueRejected as exc:
            return AmendResult(AmendMode.NATIVE_ATOMIC, self._rejected(venue_symbol, client_order_id, exc))
        keeps = yes_px == o.yes_px and resting <= (o.count - o.filled)
        self._by_client.pop(o.client_order_id, None)
        o.client_order_id = str(resp.get("client_order_id") or new_cid)
        o.yes_px = yes_px
        return AmendResult(AmendMode.NATIVE_ATOMIC, self._result(o, resp), keeps_priority=keeps)

    async def decrease(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                       client_order_id: str = "", new_qty_1e8: int) -> AmendResult:
        try:
            o = self._find(venue_order_id, client_order_id)
            body = {"reduce_to": format_qty(new_qty_1e8, 2), "market_ticker": o.ticker}
            resp = await self._call("POST", f"{ORDERS}/{o.order_id}/decrease", body)
        except VenueRejected as exc:
            return AmendResult(AmendMode.NATIVE_ATOMIC, self._rejected(venue_symbol, client_order_id, exc))
        if "remaining_count" not in resp:
            resp = {**resp, "remaining_count": format_qty(new_qty_1e8, 2), "fill_count": format_qty(o.filled, 2)}
        return AmendResult(AmendMode.NATIVE_ATOMIC, self._result(o, resp), keeps_priority=True)

    async def batch(self, reqs: Sequence[OrderRequest]) -> BatchResult:
        """POST /portfolio/events/orders/batched in chunks of the tier's batch size."""
        results: list[OrderResult] = []
        for start in range(0, len(reqs), self.max_batch):
            chunk = reqs[start:start + self.max_batch]
            bodies: list[dict[str, Any]] = []
            orders: list[_Order | OrderResult] = []
            for r in chunk:
                try:
                    b, o = self._order_body(r)
                    bodies.append(b)
                    orders.append(o)
                except VenueRejected as exc:
                    orders.append(self._rejected(r.venue_symbol, r.client_order_id, exc))
            try:
                resp = await self._call("POST", f"{ORDERS}/batched", {"orders": bodies},
                                        weight=TOKENS_PER_ORDER * len(bodies)) if bodies else {"orders": []}
            except VenueRejected as exc:
                results.extend(x if isinstance(x, OrderResult) else self._rejected(x.venue_symbol, x.client_order_id,
                                                                                   exc) for x in orders)
                continue
            items = iter(resp.get("orders") or [])
            for x in orders:
                if isinstance(x, OrderResult):
                    results.append(x)
                    continue
                item = next(items, None)
                if not isinstance(item, dict):
                    results.append(OrderResult(False, x.venue_symbol, x.client_order_id, None, OrderStatus.REJECTED,
                                               error_msg="missing batch result"))
                elif item.get("error"):
                    err = item["error"] if isinstance(item["error"], dict) else {"message": str(item["error"])}
                    results.append(OrderResult(False, x.venue_symbol, x.client_order_id, None, OrderStatus.REJECTED,
                                               0, err.get("code"), str(err.get("message", err))))
                else:
                    results.append(self._result(x, item))
        return BatchResult(self.batch_mode, tuple(results), self.max_batch)

    # ---- private stream --------------------------------------------------------------------

    async def subscribe_user_stream(self, on_event: UserEventHandler) -> None:
        self._on_event = on_event
        self._ws_task = asyncio.get_running_loop().create_task(self._run_ws())

    async def _run_ws(self) -> None:
        delay = 0.2
        while not self._closing:
            ws = HeaderWs(self.ws_url, self._on_ws, lambda: list(self.signer.headers("GET", self.ws_url).items()))
            self._ws = ws
            try:
                await ws.connect()
                ws.send_text(orjson.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["fill"]}}))
                delay = 0.2
                await ws.wait_closed()
            except WsConnectError as exc:
                log.warning("kalshi private stream: %s", exc)
            if self._closing:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _on_ws(self, payload: memoryview, ts_recv: int) -> None:
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("kalshi private stream: malformed JSON dropped")
            return
        if not isinstance(obj, dict) or obj.get("type") != "fill" or not isinstance(obj.get("msg"), dict):
            return
        try:
            ev = self.parse_fill(obj["msg"], ts_recv)
        except (KeyError, ValueError, SeqkernError) as exc:
            log.warning("kalshi fill unreadable: %s", exc)
            return
        if self._on_event is not None:
            self._on_event(ev)

    def parse_fill(self, m: dict[str, Any], ts_recv: int) -> FillEvent:
        """A ``fill`` message in the leg the order was placed on (YES-book side otherwise)."""
        oid = str(m["order_id"])
        o = self._orders.get(oid)
        yes_px = parse_px(str(m["yes_price_dollars"]))
        qty = parse_qty(str(m["count_fp"]))
        book_side = m.get("book_side") or ("bid" if (m.get("purchased_side") or m.get("side")) == "yes" else "ask")
        cid = str(m.get("client_order_id") or "")
        vs = o.venue_symbol if o is not None else self._leg_by_cid.get(cid, str(m["market_ticker"]))
        no_leg = ":" in vs
        buy_yes = book_side == "bid"
        side = (Side.SELL if buy_yes else Side.BUY) if no_leg else (Side.BUY if buy_yes else Side.SELL)
        px = ONE - yes_px if no_leg else yes_px
        cum = qty
        if o is not None:
            o.filled += qty
            cum = o.filled
            if o.filled >= o.count:
                self._orders.pop(oid, None)
                self._by_client.pop(o.client_order_id, None)
        ts = int(m.get("ts_ms") or int(m.get("ts", 0)) * 1000) * 1_000_000
        return FillEvent(vs, oid, str(m.get("client_order_id") or (o.client_order_id if o else "")), side, px, qty,
                         cum, str(m.get("fee_cost", "0")), "USD", not bool(m.get("is_taker")),
                         trade_number(str(m.get("trade_id", ""))), ts, ts_recv)
