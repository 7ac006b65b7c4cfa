"""Hyperliquid order entry over the websocket post channel: L1-signed order/cancel/modify/batchModify."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson

from seqkern._fixed import parse_px, parse_qty
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
    OrderUpdate,
    Side,
    TimeInForce,
    UserEventHandler,
    VenueMessageError,
    VenueRejected,
    VenueUnavailable,
)
from seqkern.venues.catalog import venue_by_name
from seqkern.venues.hyperliquid.signing import L1Signer, fixed_to_wire, keccak256
from seqkern.venues.hyperliquid.venue import CONNECTIONS, coin_of
from seqkern.venues.pred_ws import ConnectionBudget, HeaderWs

log = logging.getLogger("seqkern.venues.hyperliquid")

_TIF = {TimeInForce.GTC: "Gtc", TimeInForce.POST_ONLY: "Alo", TimeInForce.IOC: "Ioc"}
_CAPS = venue_by_name("hyperliquid").capabilities
MAX_INFLIGHT_POSTS = 100


def cloid_for(client_order_id: str) -> str:
    """A 16-byte cloid: the id itself when it already is one, else the first 16 bytes of its keccak."""
    cid = client_order_id.lower()
    if cid.startswith("0x") and len(cid) == 34:
        int(cid, 16)
        return cid
    return "0x" + keccak256(client_order_id.encode())[:16].hex()


class HyperliquidTransport(OrderTransport):
    """Orders over the WS post channel; modify/batchModify are native; ``order`` takes a list."""

    amend_mode = AmendMode.NATIVE_ATOMIC
    batch_mode = BatchMode.NATIVE_BEST_EFFORT
    max_batch = 40                 # one action of n orders weighs 1 + floor(n/40): 40 keeps weight 2
    graph_amend_mode = _CAPS.amend_graph if _CAPS else "native_atomic"
    graph_batch_mode = _CAPS.batch_graph if _CAPS else "serial"

    def __init__(self, ws_url: str, signer: L1Signer, *, vault_address: str | None = None,
                 account_address: str | None = None, timeout_s: float = 10.0,
                 budget: ConnectionBudget | None = CONNECTIONS) -> None:
        self.ws_url = ws_url
        self.signer = signer
        self.vault = vault_address.lower() if vault_address else None
        # user streams are keyed by the master (or vault) address, never the agent's (pred-hl.md 3.4)
        self.user = self.vault or (account_address.lower() if account_address else signer.address)
        self.timeout_s = timeout_s
        self.budget = budget
        self.assets: dict[str, int] = {}
        self.sz_decimals: dict[str, int] = {}
        self._coins: dict[int, str] = {}
        self._ws: HeaderWs | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._sem = asyncio.Semaphore(MAX_INFLIGHT_POSTS)
        self._last_nonce = 0
        self._cid_by_cloid: dict[str, str] = {}
        self._sym_by_coin: dict[str, str] = {}
        self._on_event: UserEventHandler | None = None
        self._orders: dict[int, tuple[str, bool, int, int, str]] = {}   # oid -> (symbol, buy, px, qty, tif)
        self._cum: dict[int, int] = {}
        self._closing = False
        self._supervisor: asyncio.Task | None = None

    # ---- connection ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._ws.connected

    async def _open(self) -> None:
        ws = HeaderWs(self.ws_url, self._on_message, lambda: [], idle_ping_s=30.0, budget=self.budget)
        self._ws = ws
        await ws.connect()
        if self._on_event is not None:
            self._send_user_subs()

    async def _supervise(self) -> None:
        """Reconnect the trading socket when it drops (in-flight posts fail as unavailable)."""
        delay = 0.1
        while not self._closing:
            ws = self._ws
            if ws is not None:
                await ws.wait_closed()
            for f in self._pending.values():
                if not f.done():
                    f.set_exception(VenueUnavailable("Hyperliquid trading socket closed"))
            if self._closing:
                return
            await asyncio.sleep(delay)
            try:
                await self._open()
                delay = 0.1
            except WsConnectError as exc:
                log.warning("hyperliquid trading socket: %s", exc)
                delay = min(delay * 2, 10.0)

    async def connect(self) -> None:
        await self._open()
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())
        meta = await self._post("info", {"type": "meta"})
        for i, a in enumerate(meta.get("universe", [])):
            self.assets[a["name"]] = i
            self._coins[i] = a["name"]
            self.sz_decimals[a["name"]] = int(a["szDecimals"])

    async def close(self) -> None:
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        for f in self._pending.values():
            if not f.done():
                f.set_exception(VenueUnavailable("Hyperliquid connection closed"))
        if self._ws is not None:
            await self._ws.close()

    def _nonce(self) -> int:
        """ms timestamps made strictly increasing (the venue keeps the 100 highest per signer)."""
        n = max(int(time.time() * 1000), self._last_nonce + 1)
        self._last_nonce = n
        return n

    async def _post(self, kind: str, payload: dict[str, Any]) -> Any:
        ws = self._ws
        if ws is None or not ws.connected:
            raise VenueUnavailable("Hyperliquid websocket is not connected")
        async with self._sem:
            rid = next(self._ids)
            fut = asyncio.get_running_loop().create_future()
            self._pending[rid] = fut
            try:
                ws.send_text(orjson.dumps({"method": "post", "id": rid, "request": {"type": kind, "payload": payload}}))
                resp = await asyncio.wait_for(fut, self.timeout_s)
            except (TimeoutError, WsConnectError) as exc:
                raise VenueUnavailable(f"Hyperliquid post {kind}: {type(exc).__name__}") from None
            finally:
                self._pending.pop(rid, None)
        if resp.get("type") == "error":
            raise VenueRejected(f"Hyperliquid: {resp.get('payload')}", venue_code="error")
        return resp.get("payload")

    async def _action(self, action: dict[str, Any]) -> Any:
        nonce = self._nonce()
        sig = self.signer.sign_action(action, nonce, self.vault)
        payload = {"action": action, "nonce": nonce, "signature": sig, "vaultAddress": self.vault}
        out = await self._post("action", payload)
        if not isinstance(out, dict) or out.get("status") != "ok":
            raise VenueRejected(f"Hyperliquid: {out.get('response') if isinstance(out, dict) else out}",
                                venue_code="err")
        return out["response"]["data"]

    def _on_message(self, payload: memoryview, ts_recv: int) -> None:
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("hyperliquid: malformed JSON on the trading socket dropped")
            return
        if not isinstance(obj, dict):
            return
        ch = obj.get("channel")
        data = obj.get("data")
        try:
            if ch == "post" and isinstance(data, dict):
                fut = self._pending.get(data.get("id"))
                if fut is not None and not fut.done():
                    fut.set_result(data.get("response") or {})
            elif ch == "userFills" and isinstance(data, dict) and not data.get("isSnapshot"):
                for f in data.get("fills", []):
                    self._fill(f, ts_recv)
            elif ch == "orderUpdates" and isinstance(data, list):
                for u in data:
                    self._order_update(u, ts_recv)
        except (KeyError, TypeError, ValueError, SeqkernError) as exc:
            log.warning("hyperliquid %s message unreadable: %s", ch, exc)

    # ---- wire ------------------------------------------------------------------------------

    def _asset(self, venue_symbol: str) -> tuple[str, int]:
        coin = coin_of(venue_symbol)
        if coin not in self.assets:
            raise VenueRejected(f"{coin} is not in Hyperliquid's meta universe", venue_code="unknown_asset")
        self._sym_by_coin[coin] = venue_symbol
        return coin, self.assets[coin]

    def order_wire(self, req: OrderRequest) -> dict[str, Any]:
        coin, asset = self._asset(req.venue_symbol)
        if req.order_type is not OrderType.LIMIT:
            raise VenueRejected("market orders are IOC limits at a slippage price: send a limit IOC",
                                venue_code="invalid_order")
        tif = _TIF.get(req.tif)
        if tif is None:
            raise VenueRejected(f"Hyperliquid has no {req.tif.value} time in force", venue_code="invalid_order")
        step = 10 ** (8 - self.sz_decimals[coin])
        if req.qty_1e8 <= 0 or req.qty_1e8 % step:
            raise VenueRejected(f"size must be a positive multiple of 10^-{self.sz_decimals[coin]}",
                                venue_code="invalid_size")
        wire: dict[str, Any] = {"a": asset, "b": req.side is Side.BUY, "p": fixed_to_wire(req.px_1e9, 9),
                                "s": fixed_to_wire(req.qty_1e8, 8), "r": req.reduce_only,
                                "t": {"limit": {"tif": tif}}}
        if req.client_order_id:
            c = cloid_for(req.client_order_id)
            self._cid_by_cloid[c] = req.client_order_id
            wire["c"] = c
        return wire

    def _status(self, req: OrderRequest, st: Any) -> OrderResult:
        if isinstance(st, dict) and "resting" in st:
            oid = int(st["resting"]["oid"])
            self._orders[oid] = (req.venue_symbol, req.side is Side.BUY, req.px_1e9, req.qty_1e8, req.tif.value)
            return OrderResult(True, req.venue_symbol, req.client_order_id, oid, OrderStatus.NEW)
        if isinstance(st, dict) and "filled" in st:
            # "filled" (not "resting"): the order is done. An IOC that matched only part of its
            # size had the rest cancelled by the venue: it ends EXPIRED with what it filled.
            f = st["filled"]
            filled = parse_qty(str(f["totalSz"]))
            status = OrderStatus.FILLED if filled >= req.qty_1e8 else OrderStatus.EXPIRED
            return OrderResult(True, req.venue_symbol, req.client_order_id, int(f["oid"]), status, filled)
        msg = st.get("error") if isinstance(st, dict) else str(st)
        return OrderResult(False, req.venue_symbol, req.client_order_id, None, OrderStatus.REJECTED, 0, "error",
                           str(msg))

    def _reject(self, req: OrderRequest, exc: SeqkernError) -> OrderResult:
        return OrderResult(False, req.venue_symbol, req.client_order_id, None, OrderStatus.REJECTED, 0,
                           getattr(exc, "venue_code", exc.code), str(exc))

    def open_order(self, *, venue_order_id: int | str | None = None,
                   client_order_id: str = "") -> OrderRequest | None:
        if venue_order_id is None:
            return None
        k = self._orders.get(int(venue_order_id))
        if k is None:
            return None
        sym, buy, px, qty, _ = k
        return OrderRequest(sym, Side.BUY if buy else Side.SELL, OrderType.LIMIT, qty, px)

    # ---- verbs -----------------------------------------------------------------------------

    async def place(self, req: OrderRequest) -> OrderResult:
        return (await self.batch([req])).results[0]

    async def batch(self, reqs: Sequence[OrderRequest]) -> BatchResult:
        """One ``order`` action per chunk of up to 40; the venue answers a status per order."""
        results: list[OrderResult] = []
        for start in range(0, len(reqs), self.max_batch):
            chunk = list(reqs[start:start + self.max_batch])
            wires: list[dict[str, Any]] = []
            sent: list[OrderRequest] = []
            early: dict[int, OrderResult] = {}
            for i, r in enumerate(chunk):
                try:
                    wires.append(self.order_wire(r))
                    sent.append(r)
                except (VenueRejected, ValueError) as exc:
                    early[i] = self._reject(r, exc if isinstance(exc, SeqkernError) else
                                            VenueRejected(str(exc), venue_code="invalid_price"))
            statuses: list[Any] = []
            if wires:
                try:
                    data = await self._action({"type": "order", "orders": wires, "grouping": "na"})
                    statuses = list(data.get("statuses", []))
                except (VenueRejected, VenueUnavailable) as exc:
                    statuses = [{"error": str(exc)}] * len(wires)
            it = iter(zip(sent, statuses, strict=False))
            for i, r in enumerate(chunk):
                if i in early:
                    results.append(early[i])
                else:
                    req, st = next(it, (r, {"error": "no status returned"}))
                    results.append(self._status(req, st))
        return BatchResult(self.batch_mode, tuple(results), self.max_batch)

    async def cancel(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                     client_order_id: str = "") -> OrderResult:
        try:
            _, asset = self._asset(venue_symbol)
            if venue_order_id is not None:
                action = {"type": "cancel", "cancels": [{"a": asset, "o": int(venue_order_id)}]}
            else:
                action = {"type": "cancelByCloid", "cancels": [{"asset": asset, "cloid": cloid_for(client_order_id)}]}
            data = await self._action(action)
        except (VenueRejected, VenueUnavailable) as exc:
            return OrderResult(False, venue_symbol, client_order_id, venue_order_id, OrderStatus.REJECTED, 0,
                               getattr(exc, "venue_code", None), str(exc))
        st = (data.get("statuses") or [None])[0]
        if st == "success":
            if venue_order_id is not None:
                self._orders.pop(int(venue_order_id), None)
            return OrderResult(True, venue_symbol, client_order_id, venue_order_id, OrderStatus.CANCELED)
        return OrderResult(False, venue_symbol, client_order_id, venue_order_id, OrderStatus.REJECTED, 0, "error",
                           str(st.get("error") if isinstance(st, dict) else st))

    async def _modify(self, venue_symbol: str, venue_order_id: int | str | None, client_order_id: str,
                      new_qty_1e8: int | None, new_px_1e9: int | None, side: Side | None) -> AmendResult:
        oid = int(venue_order_id) if venue_order_id is not None else None
        known = self._orders.get(oid) if oid is not None else None
        if known is None and (side is None or new_qty_1e8 is None or new_px_1e9 is None):
            r = OrderResult(False, venue_symbol, client_order_id, venue_order_id, OrderStatus.REJECTED, 0,
                            "unknown_order", "modify needs side, price and size of an order this edge did not place")
            return AmendResult(AmendMode.NATIVE_ATOMIC, r)
        buy = known[1] if known else side is Side.BUY
        px = new_px_1e9 if new_px_1e9 is not None else known[2]       # type: ignore[index]
        qty = new_qty_1e8 if new_qty_1e8 is not None else known[3]    # type: ignore[index]
        tif = TimeInForce(known[4]) if known else TimeInForce.GTC
        req = OrderRequest(venue_symbol, Side.BUY if buy else Side.SELL, OrderType.LIMIT, qty, px, tif,
                           client_order_id)
        try:
            wire = self.order_wire(req)
            ident: int | str = oid if oid is not None else cloid_for(client_order_id)
            data = await self._action({"type": "batchModify", "modifies": [{"oid": ident, "order": wire}]})
        except (VenueRejected, VenueUnavailable, ValueError) as exc:
            r = OrderResult(False, venue_symbol, client_order_id, venue_order_id, OrderStatus.REJECTED, 0,
                            getattr(exc, "venue_code", None), str(exc))
            return AmendResult(AmendMode.NATIVE_ATOMIC, r)
        st = (data.get("statuses") or [{"error": "no status"}])[0]
        if oid is not None:
            self._orders.pop(oid, None)
        res = self._status(req, st)
        return AmendResult(AmendMode.NATIVE_ATOMIC, res, keeps_priority=False, replaced_order_id=oid)

    async def amend(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                    client_order_id: str = "", new_qty_1e8: int | None = None,
                    new_px_1e9: int | None = None, side: Side | None = None) -> AmendResult:
        """Native modify (sent as a one-element batchModify, as the official SDK does)."""
        return await self._modify(venue_symbol, venue_order_id, client_order_id, new_qty_1e8, new_px_1e9, side)

    async def decrease(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                       client_order_id: str = "", new_qty_1e8: int) -> AmendResult:
        return await self._modify(venue_symbol, venue_order_id, client_order_id, new_qty_1e8, None, None)

    async def batch_modify(self, modifies: Sequence[tuple[int, OrderRequest]]) -> BatchResult:
        """Several modifies in one signed ``batchModify`` action (per-order statuses)."""
        mods = [{"oid": oid, "order": self.order_wire(r)} for oid, r in modifies]
        data = await self._action({"type": "batchModify", "modifies": mods})
        sts = data.get("statuses", [])
        return BatchResult(self.batch_mode, tuple(self._status(r, st) for (_, r), st in
                                                  zip(modifies, sts, strict=False)), self.max_batch)

    # ---- private stream --------------------------------------------------------------------

    async def subscribe_user_stream(self, on_event: UserEventHandler) -> None:
        self._on_event = on_event
        if not self.connected:
            raise VenueUnavailable("Hyperliquid websocket is not connected")
        self._send_user_subs()

    def _send_user_subs(self) -> None:
        ws = self._ws
        for kind in ("orderUpdates", "userFills"):
            ws.send_text(  # type: ignore[union-attr]
                orjson.dumps({"method": "subscribe", "subscription": {"type": kind, "user": self.user}}))

    def _fill(self, f: dict[str, Any], ts_recv: int) -> None:
        oid = int(f["oid"])
        qty = parse_qty(str(f["sz"]))
        self._cum[oid] = self._cum.get(oid, 0) + qty
        coin = f["coin"]
        ev = FillEvent(self._sym_by_coin.get(coin, coin), oid, "", Side.BUY if f["side"] == "B" else Side.SELL,
                       parse_px(str(f["px"])), qty, self._cum[oid], str(f.get("fee", "0")),
                       str(f.get("feeToken", "USDC")), not bool(f.get("crossed")), int(f["tid"]),
                       int(f["time"]) * 1_000_000, ts_recv)
        if self._on_event is not None:
            self._on_event(ev)

    def _order_update(self, u: dict[str, Any], ts_recv: int) -> None:
        o = u["order"]
        status = {"open": OrderStatus.NEW, "filled": OrderStatus.FILLED, "canceled": OrderStatus.CANCELED,
                  "rejected": OrderStatus.REJECTED}.get(u["status"], OrderStatus.CANCELED)
        orig, left = parse_qty(str(o["origSz"])), parse_qty(str(o["sz"]))
        if status is OrderStatus.NEW and left < orig:
            status = OrderStatus.PARTIALLY_FILLED
        cid = self._cid_by_cloid.get(str(o.get("cloid") or ""), str(o.get("cloid") or ""))
        ev = OrderUpdate(self._sym_by_coin.get(o["coin"], o["coin"]), int(o["oid"]), cid,
                         Side.BUY if o["side"] == "B" else Side.SELL, status, str(u["status"]),
                         parse_px(str(o["limitPx"])), orig, orig - left, int(u["statusTimestamp"]) * 1_000_000,
                         ts_recv)
        if self._on_event is not None:
            self._on_event(ev)


def parse_post_response(body: bytes) -> dict[str, Any]:
    """A ``{"channel":"post",...}`` frame to its ``data`` (docs examples; tools)."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise VenueMessageError("malformed Hyperliquid post response") from None
    if not isinstance(obj, dict) or obj.get("channel") != "post":
        raise VenueMessageError("not a Hyperliquid post response")
    return obj["data"]

