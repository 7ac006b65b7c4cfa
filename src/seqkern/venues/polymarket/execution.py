"""Polymarket order entry: CLOB V2 signed orders over L2-authenticated REST, user channel, CTF redemption."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import Sequence
from typing import Any

import orjson

from seqkern._evmhash import keccak256
from seqkern._fixed import parse_px, parse_qty
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
    OrderUpdate,
    RateLimitPool,
    RestRequest,
    Side,
    TimeInForce,
    UserEventHandler,
    VenueMessageError,
    VenueRejected,
    VenueUnavailable,
)
from seqkern.venues.catalog import venue_by_name
from seqkern.venues.polymarket.signing import (
    BUY,
    SELL,
    SIG_EOA,
    SIG_POLY_GNOSIS_SAFE,
    ZERO32,
    ApiCreds,
    OrderV2,
    PolySigner,
    _sig_hex,
    to_checksum,
)
from seqkern.venues.polymarket.venue import PolyMarket, PolymarketVenue
from seqkern.venues.pred_ws import HeaderWs

log = logging.getLogger("seqkern.venues.polymarket")

MAX_BATCH = 15                       # POST /orders (pred-hl.md 2.4, P-POSTS)
_CAPS = venue_by_name("polymarket").capabilities
PUSD = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
CTF_COLLATERAL_ADAPTER = "0xAdA100Db00Ca00073811820692005400218FcE1f"
NEG_RISK_CTF_COLLATERAL_ADAPTER = "0xadA2005600Dec949baf300f4C6120000bDB6eAab"
REDEEM_SELECTOR = keccak256(b"redeemPositions(address,bytes32,bytes32,uint256[])")[:4]
_ORDER_TYPE = {TimeInForce.GTC: "GTC", TimeInForce.POST_ONLY: "GTC", TimeInForce.IOC: "FAK", TimeInForce.FOK: "FOK"}


def order_amounts(side: Side, px_1e9: int, qty_1e8: int) -> tuple[int, int]:
    """(makerAmount, takerAmount) in 6-decimal units: BUY pays size x price for size shares."""
    if qty_1e8 % 100:
        raise VenueRejected("size has more than 6 decimals", venue_code="invalid_size")
    shares = qty_1e8 // 100
    collateral = qty_1e8 * px_1e9 // 10**11
    return (collateral, shares) if side is Side.BUY else (shares, collateral)


def redeem_calldata(condition_id: str, collateral: str = PUSD, index_sets: Sequence[int] = (1, 2)) -> bytes:
    """ABI-encoded ``redeemPositions(collateral, 0x0, conditionId, indexSets)``."""
    head = (bytes(12) + bytes.fromhex(collateral.removeprefix("0x")) + bytes(32)
            + bytes.fromhex(condition_id.removeprefix("0x")) + (4 * 32).to_bytes(32, "big"))
    tail = len(index_sets).to_bytes(32, "big") + b"".join(int(i).to_bytes(32, "big") for i in index_sets)
    return REDEEM_SELECTOR + head + tail


class PolymarketTransport(OrderTransport):
    """CLOB V2: no native amend (cancel + new, reported so), native best-effort batch of 15."""

    amend_mode = AmendMode.CANCEL_REPLACE
    batch_mode = BatchMode.NATIVE_BEST_EFFORT
    max_batch = MAX_BATCH
    graph_amend_mode = _CAPS.amend_graph if _CAPS else "cancel_replace"
    graph_batch_mode = _CAPS.batch_graph if _CAPS else "serial"
    redeem_mode = "relayer_submitted"

    def __init__(self, clob_url: str, user_ws_url: str, venue: PolymarketVenue, signer: PolySigner, *,
                 creds: ApiCreds | None = None, funder: str | None = None, builder: str | None = None,
                 relayer_url: str = "") -> None:
        self.clob_url = clob_url.rstrip("/")
        self.user_ws_url = user_ws_url
        self.venue = venue
        self.signer = signer
        self.creds = creds
        self.derived = False
        self.maker = to_checksum(funder) if funder else signer.address
        self.signature_type = SIG_POLY_GNOSIS_SAFE if funder else SIG_EOA
        self.builder = builder or ZERO32
        self.relayer_url = relayer_url.rstrip("/")
        self.rest = RestClient(self.clob_url, RateLimiter((RateLimitPool("order", 3500, 10.0),
                                                          RateLimitPool("cancel", 3000, 10.0),
                                                          RateLimitPool("auth", 100, 10.0))), max_retries=2)
        self._orders: dict[str, tuple[str, Side, int, int, str]] = {}   # id -> (symbol, side, px, qty, cid)
        self._by_cid: dict[str, str] = {}
        self._cum: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._ws: HeaderWs | None = None
        self._ws_task: asyncio.Task | None = None
        self._on_event: UserEventHandler | None = None
        self._closing = False

    # ---- credentials -----------------------------------------------------------------------

    async def ensure_creds(self) -> ApiCreds:
        """L2 credentials: given ones, else derived from the signer (create them when none exist)."""
        if self.creds is not None:
            return self.creds
        try:
            raw = await self.rest.request(RestRequest("GET", "/auth/derive-api-key", {}, (("auth", 1),)),
                                          headers=self.signer.l1_headers())
        except VenueRejected:
            raw = await self.rest.request(RestRequest("POST", "/auth/api-key", {}, (("auth", 1),)),
                                          headers=self.signer.l1_headers())
        try:
            d = orjson.loads(raw)
            self.creds = ApiCreds(d["apiKey"], d["secret"], d["passphrase"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise VenueMessageError("Polymarket /auth/derive-api-key answer unreadable") from None
        self.derived = True
        return self.creds

    async def _l2(self, method: str, path: str, body: Any = None, *, pool: str = "order", weight: int = 1) -> Any:
        creds = await self.ensure_creds()
        data = orjson.dumps(body).decode() if body is not None else ""
        headers = creds.l2_headers(self.signer.address, method, path, data)
        if data:
            headers["Content-Type"] = "application/json"
        raw = await self.rest.request(RestRequest(method, path, {}, ((pool, weight),), signed=True),
                                      body=data or None, headers=headers)
        try:
            return orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            raise VenueMessageError(f"Polymarket {method} {path}: unreadable response") from None

    async def connect(self) -> None:
        await self.ensure_creds()

    async def close(self) -> None:
        self._closing = True
        if self._ws_task is not None:
            self._ws_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ws_task
        if self._ws is not None:
            await self._ws.close()
        await self.rest.close()

    # ---- orders ----------------------------------------------------------------------------

    def _leg(self, venue_symbol: str) -> tuple[PolyMarket, str]:
        slug, _, leg = venue_symbol.partition(":")
        m = self.venue.markets.get(slug)
        if m is None:
            raise VenueRejected(f"unknown Polymarket market {slug!r}", venue_code="unknown_market")
        if leg and leg.lower() != "no":
            raise VenueRejected(f"unknown leg {leg!r}", venue_code="unknown_market")
        return m, (m.no_token if leg else m.yes_token)

    def signed_order(self, req: OrderRequest) -> tuple[dict[str, Any], PolyMarket]:
        """The POST /order body of one request (V2 struct signed for the market's exchange)."""
        if req.order_type is not OrderType.LIMIT:
            raise VenueRejected("send marketable limits (FOK/FAK) with a price", venue_code="invalid_order")
        m, token = self._leg(req.venue_symbol)
        if not (m.tick_1e9 <= req.px_1e9 <= 1_000_000_000 - m.tick_1e9) or req.px_1e9 % m.tick_1e9:
            raise VenueRejected(f"price must be on the {m.tick_1e9 / 1e9:g} tick within [tick, 1 - tick]",
                                venue_code="invalid_price")
        maker_amt, taker_amt = order_amounts(req.side, req.px_1e9, req.qty_1e8)
        o = OrderV2(secrets.randbits(53), self.maker, self.signer.address, int(token), maker_amt, taker_amt,
                    BUY if req.side is Side.BUY else SELL, self.signature_type, int(time.time() * 1000),
                    builder=self.builder)
        sig = self.signer.sign_order(o, neg_risk=m.neg_risk)
        body = {"order": o.wire(sig), "owner": self.creds.api_key if self.creds else "",
                "orderType": _ORDER_TYPE[req.tif], "deferExec": False, "postOnly": req.tif is TimeInForce.POST_ONLY}
        return body, m

    def _result(self, req: OrderRequest, cid: str, resp: dict[str, Any]) -> OrderResult:
        if not resp.get("success", False) or resp.get("errorMsg"):
            return OrderResult(False, req.venue_symbol, cid, resp.get("orderID") or None, OrderStatus.REJECTED, 0,
                               "error", str(resp.get("errorMsg") or resp.get("error") or "rejected"))
        oid = str(resp["orderID"])
        status = str(resp.get("status", "live"))
        taking = int(resp.get("takingAmount") or 0) if req.side is Side.BUY else \
            int(resp.get("makingAmount") or 0)
        filled = taking * 100 if status == "matched" else 0
        st = {"live": OrderStatus.NEW, "matched": OrderStatus.FILLED, "delayed": OrderStatus.NEW,
              "unmatched": OrderStatus.CANCELED}.get(status, OrderStatus.NEW)
        if st is OrderStatus.NEW:
            self._orders[oid] = (req.venue_symbol, req.side, req.px_1e9, req.qty_1e8, cid)
            self._by_cid[cid] = oid
        return OrderResult(True, req.venue_symbol, cid, oid, st, filled)

    def open_order(self, *, venue_order_id: int | str | None = None,
                   client_order_id: str = "") -> OrderRequest | None:
        oid = str(venue_order_id) if venue_order_id else self._by_cid.get(client_order_id, "")
        k = self._orders.get(oid)
        if k is None:
            return None
        sym, side, px, qty, cid = k
        return OrderRequest(sym, side, OrderType.LIMIT, qty - self._cum.get(oid, 0), px, client_order_id=cid)

    def _cid(self, req: OrderRequest) -> str:
        return req.client_order_id or f"pm-{int(time.time() * 1000)}-{next(self._ids)}"

    async def place(self, req: OrderRequest) -> OrderResult:
        cid = self._cid(req)
        try:
            await self.ensure_creds()
            body, _ = self.signed_order(req)
            resp = await self._l2("POST", "/order", body)
        except (VenueRejected, VenueUnavailable) as exc:
            return OrderResult(False, req.venue_symbol, cid, None, OrderStatus.REJECTED, 0,
                               getattr(exc, "venue_code", None), str(exc))
        return self._result(req, cid, resp)

    async def batch(self, reqs: Sequence[OrderRequest]) -> BatchResult:
        """POST /orders, 15 per request, processed in parallel by the venue: one result per order."""
        await self.ensure_creds()
        results: list[OrderResult] = []
        for start in range(0, len(reqs), MAX_BATCH):
            chunk = list(reqs[start:start + MAX_BATCH])
            bodies, sent, early = [], [], {}
            for i, r in enumerate(chunk):
                try:
                    bodies.append(self.signed_order(r)[0])
                    sent.append(r)
                except VenueRejected as exc:
                    early[i] = OrderResult(False, r.venue_symbol, r.client_order_id, None, OrderStatus.REJECTED, 0,
                                           exc.venue_code, str(exc))
            resp: list[Any] = []
            if bodies:
                try:
                    out = await self._l2("POST", "/orders", bodies, weight=len(bodies))
                    resp = out if isinstance(out, list) else []
                except (VenueRejected, VenueUnavailable) as exc:
                    resp = [{"success": False, "errorMsg": str(exc)}] * len(bodies)
            it = iter(zip(sent, resp, strict=False))
            for i, r in enumerate(chunk):
                if i in early:
                    results.append(early[i])
                else:
                    req, item = next(it, (r, {"success": False, "errorMsg": "no result returned"}))
                    results.append(self._result(req, self._cid(req), item if isinstance(item, dict) else {}))
        return BatchResult(self.batch_mode, tuple(results), MAX_BATCH)

    async def cancel(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                     client_order_id: str = "") -> OrderResult:
        oid = str(venue_order_id) if venue_order_id else self._by_cid.get(client_order_id, "")
        try:
            if not oid:
                raise VenueRejected(f"unknown order {client_order_id!r}", venue_code="not_found")
            out = await self._l2("DELETE", "/order", {"orderID": oid}, pool="cancel")
        except (VenueRejected, VenueUnavailable) as exc:
            return OrderResult(False, venue_symbol, client_order_id, oid or None, OrderStatus.REJECTED, 0,
                               getattr(exc, "venue_code", None), str(exc))
        if oid in (out.get("canceled") or []):
            known = self._orders.pop(oid, None)
            if known:
                self._by_cid.pop(known[4], None)
            return OrderResult(True, venue_symbol, client_order_id or (known[4] if known else ""), oid,
                               OrderStatus.CANCELED)
        why = (out.get("not_canceled") or {}).get(oid, "not canceled")
        return OrderResult(False, venue_symbol, client_order_id, oid, OrderStatus.REJECTED, 0, "not_canceled", str(why))

    async def amend(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                    client_order_id: str = "", new_qty_1e8: int | None = None,
                    new_px_1e9: int | None = None, side: Side | None = None) -> AmendResult:
        """Cancel + new order (the venue has no amend): mode CANCEL_REPLACE, priority lost."""
        oid = str(venue_order_id) if venue_order_id else self._by_cid.get(client_order_id, "")
        known = self._orders.get(oid)
        if known is None:
            r = OrderResult(False, venue_symbol, client_order_id, oid or None, OrderStatus.REJECTED, 0, "not_found",
                            "unknown order")
            return AmendResult(AmendMode.CANCEL_REPLACE, r)
        c = await self.cancel(venue_symbol, venue_order_id=oid)
        if not c.accepted:
            return AmendResult(AmendMode.CANCEL_REPLACE, c)
        sym, sd, px, qty, cid = known
        req = OrderRequest(sym, sd, OrderType.LIMIT, new_qty_1e8 if new_qty_1e8 is not None else qty,
                           new_px_1e9 if new_px_1e9 is not None else px, TimeInForce.GTC, f"{cid}-r")
        return AmendResult(AmendMode.CANCEL_REPLACE, await self.place(req), keeps_priority=False,
                           replaced_order_id=oid)

    async def decrease(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                       client_order_id: str = "", new_qty_1e8: int) -> AmendResult:
        return await self.amend(venue_symbol, venue_order_id=venue_order_id, client_order_id=client_order_id,
                                new_qty_1e8=new_qty_1e8)

    # ---- user channel ----------------------------------------------------------------------

    async def subscribe_user_stream(self, on_event: UserEventHandler) -> None:
        self._on_event = on_event
        await self.ensure_creds()
        self._ws_task = asyncio.get_running_loop().create_task(self._run_ws())

    async def _run_ws(self) -> None:
        delay = 0.2
        while not self._closing:
            ws = HeaderWs(self.user_ws_url, self._on_ws, lambda: [])
            self._ws = ws
            try:
                await ws.connect()
                c = self.creds
                assert c is not None
                ws.send_text(orjson.dumps({"auth": {"apiKey": c.api_key, "secret": c.secret, "passphrase": c.passphrase},
                                           "markets": [m.condition_id for m in self.venue.markets.values()],
                                           "type": "user"}))
                delay = 0.2
                await ws.wait_closed()
            except WsConnectError as exc:
                log.warning("polymarket user channel: %s", exc)
            if self._closing:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _symbol_of(self, asset_id: str) -> str:
        hit = self.venue.by_token.get(asset_id)
        if hit is None:
            return asset_id
        m, no = hit
        return f"{m.slug}:no" if no else m.slug

    def _on_ws(self, payload: memoryview, ts_recv: int) -> None:
        if bytes(payload) in (b"PONG", b"PING"):
            return
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("polymarket user channel: malformed JSON dropped")
            return
        for ev in obj if isinstance(obj, list) else [obj]:
            try:
                if isinstance(ev, dict) and ev.get("event_type") == "trade":
                    self._trade(ev, ts_recv)
                elif isinstance(ev, dict) and ev.get("event_type") == "order":
                    self._order(ev, ts_recv)
            except (KeyError, TypeError, ValueError, SeqkernError) as exc:
                log.warning("polymarket user event unreadable: %s", exc)

    def _trade(self, ev: dict[str, Any], ts_recv: int) -> None:
        if ev.get("status") != "MATCHED":
            return                                  # MINED / CONFIRMED repeat a fill already reported
        ts = int(ev.get("match_time") or 0) * 1_000_000_000
        tid = int(keccak256(str(ev["id"]).encode())[:7].hex(), 16)
        fills: list[tuple[str, str, Side, int, int, bool]] = []
        me = self.creds.api_key if self.creds else ""
        # the user channel carries only this key's trades: the taker side when trader_side says so,
        # and the maker_orders that are ours (the REST answer may come after the event)
        if ev.get("trader_side") == "TAKER" or ev.get("taker_order_id") in self._orders:
            fills.append((str(ev["taker_order_id"]), str(ev["asset_id"]), Side(ev["side"]),
                          parse_px(str(ev["price"])), parse_qty(str(ev["size"])), False))
        for mo in ev.get("maker_orders") or []:
            if mo.get("order_id") in self._orders or (me and mo.get("owner") == me):
                fills.append((str(mo["order_id"]), str(mo["asset_id"]), Side(mo["side"]), parse_px(str(mo["price"])),
                              parse_qty(str(mo["matched_amount"])), True))
        for oid, asset, side, px, qty, maker in fills:
            self._cum[oid] = self._cum.get(oid, 0) + qty
            known = self._orders.get(oid)
            cid = known[4] if known else ""
            if self._on_event is not None:
                self._on_event(FillEvent(self._symbol_of(asset), oid, cid, side, px, qty, self._cum[oid],
                                         str(ev.get("fee_rate_bps", "0")), "pUSD", maker, tid, ts, ts_recv))

    def _order(self, ev: dict[str, Any], ts_recv: int) -> None:
        oid = str(ev["id"])
        st = {"PLACEMENT": OrderStatus.NEW, "UPDATE": OrderStatus.PARTIALLY_FILLED,
              "CANCELLATION": OrderStatus.CANCELED}.get(str(ev.get("type")), OrderStatus.NEW)
        orig = parse_qty(str(ev["original_size"]))
        matched = parse_qty(str(ev.get("size_matched") or "0"))
        if st is OrderStatus.PARTIALLY_FILLED and matched >= orig:
            st = OrderStatus.FILLED
        known = self._orders.get(oid)
        if self._on_event is not None:
            self._on_event(OrderUpdate(self._symbol_of(str(ev["asset_id"])), oid, known[4] if known else "",
                                       Side(ev["side"]), st, str(ev.get("type")), parse_px(str(ev["price"])), orig,
                                       matched, int(ev.get("timestamp") or 0) * 1_000_000, ts_recv))

    # ---- settlement ------------------------------------------------------------------------

    def build_redemption(self, slug: str, nonce: int) -> dict[str, Any]:
        """A signed redemption of a resolved market through the current CTF collateral adapter.

        ``data`` is ``redeemPositions(pUSD, 0x0, conditionId, [1, 2])``; neg-risk markets go to the
        NegRisk adapter. The request is signed (EIP-191 over keccak(to || data || nonce)) for the relayer.
        """
        m = self.venue.markets.get(slug)
        if m is None:
            raise VenueRejected(f"unknown Polymarket market {slug!r}", venue_code="unknown_market")
        to = NEG_RISK_CTF_COLLATERAL_ADAPTER if m.neg_risk else CTF_COLLATERAL_ADAPTER
        data = redeem_calldata(m.condition_id)
        digest = relay_digest(to, data, nonce)
        sig = _sig_hex(self.signer._key.sign_recoverable(digest, hasher=None))
        return {"from": self.signer.address, "to": to, "data": "0x" + data.hex(), "nonce": str(nonce),
                "proxyWallet": self.maker, "signature": sig, "type": "SAFE" if self.signature_type else "EOA"}

    async def redeem(self, slug: str) -> dict[str, Any]:
        """Submit the redemption to the relayer: the result mode is ``relayer_submitted``."""
        if not self.relayer_url:
            raise SeqkernError("no relayer configured for Polymarket redemptions", code="NO_RELAYER")
        req = self.build_redemption(slug, int(time.time() * 1000))
        client = RestClient(self.relayer_url, RateLimiter((RateLimitPool("relay", 10, 1.0),)), max_retries=0)
        try:
            raw = await client.request(RestRequest("POST", "/submit", {}, (("relay", 1),)),
                                       body=orjson.dumps(req).decode(), headers={"Content-Type": "application/json"})
        finally:
            await client.close()
        out = orjson.loads(raw)
        return {"mode": self.redeem_mode, **out}


def relay_digest(to: str, data: bytes, nonce: int) -> bytes:
    """EIP-191 personal-sign digest of keccak(to || data || nonce) (the relayer request hash)."""
    inner = keccak256(bytes.fromhex(to.removeprefix("0x")) + data + int(nonce).to_bytes(32, "big"))
    return keccak256(b"\x19Ethereum Signed Message:\n32" + inner)
