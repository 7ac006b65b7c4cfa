"""Polymarket order entry: CLOB V2 signed orders over L2-authenticated REST, user channel, CTF redemption."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from seqkern._evmhash import keccak256
from seqkern._fixed import parse_px, parse_qty
from seqkern.edge.rest import RateLimiter, RestClient
from seqkern.edge.ws import WsConnectError
from seqkern.errors import CredentialError, SeqkernError
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
    PROXY_FACTORY,
    RELAY_HUB,
    SELL,
    SIG_EOA,
    SIG_POLY_1271,
    SIG_POLY_GNOSIS_SAFE,
    SIG_POLY_PROXY,
    ZERO32,
    ZERO_ADDRESS,
    ApiCreds,
    Eip1559Tx,
    OrderV2,
    PolySigner,
    derive_proxy,
    derive_safe,
    l2_signature,
    proxy_relay_hash,
    safe_tx_digest,
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
PROXY_SELECTOR = keccak256(b"proxy((uint8,address,uint256,bytes)[])")[:4]
CALL_TYPE_CALL = 1                   # ProxyWalletFactory CallType: 0 invalid, 1 call, 2 delegatecall
DEFAULT_PROXY_GAS_LIMIT = 10_000_000  # builder-relayer-client's limit when it cannot estimate
GTD_MIN_LEAD_S = 180                 # a GTD expiration must be at least 3 minutes ahead (docs: place-orders)
GTD_SECURITY_THRESHOLD_S = 60        # the venue expires a GTD order one minute before its expiration
_ORDER_TYPE = {TimeInForce.GTC: "GTC", TimeInForce.POST_ONLY: "GTC", TimeInForce.IOC: "FAK", TimeInForce.FOK: "FOK"}
_SIG_NAMES = {SIG_EOA: "EOA", SIG_POLY_PROXY: "POLY_PROXY", SIG_POLY_GNOSIS_SAFE: "POLY_GNOSIS_SAFE",
              SIG_POLY_1271: "POLY_1271"}


class OrderExpiryError(VenueRejected):
    """A good-till-date expiration the venue would refuse (past, too near, or on an immediate order)."""

    code = "BAD_EXPIRATION"


class RedemptionRejected(VenueRejected):
    """The relayer or the chain refused a redemption (bad signature, nonce, target, or a revert)."""

    code = "REDEMPTION_REJECTED"


@dataclass(frozen=True)
class RelayerAuth:
    """Relayer credentials: a Builder API key (``POLY_BUILDER_*`` HMAC headers) or, with ``address``,
    a Relayer API key (``RELAYER_API_KEY`` / ``RELAYER_API_KEY_ADDRESS``). ``repr`` hides the secrets."""

    key: str
    secret: str = ""
    passphrase: str = ""
    address: str = ""

    def __repr__(self) -> str:
        kind = "relayer-api-key" if self.address else "builder"
        return f"RelayerAuth({kind}, key={self.key[:8]}..., secret=<hidden>)"

    def headers(self, method: str, path: str, body: str, timestamp: int | None = None) -> dict[str, str]:
        if self.address:
            return {"RELAYER_API_KEY": self.key, "RELAYER_API_KEY_ADDRESS": self.address}
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return {"POLY_BUILDER_API_KEY": self.key, "POLY_BUILDER_PASSPHRASE": self.passphrase,
                "POLY_BUILDER_TIMESTAMP": ts, "POLY_BUILDER_SIGNATURE": l2_signature(self.secret, ts, method, path,
                                                                                     body)}


def check_expiration(expire_ts_s: int, now_s: float | None = None) -> None:
    """Raise OrderExpiryError unless ``expire_ts_s`` is at least GTD_MIN_LEAD_S seconds ahead."""
    now = time.time() if now_s is None else now_s
    if expire_ts_s < now + GTD_MIN_LEAD_S:
        what = "in the past" if expire_ts_s <= now else f"{expire_ts_s - now:.0f} s ahead"
        raise OrderExpiryError(f"GTD expiration {expire_ts_s} is {what}: it must be at least {GTD_MIN_LEAD_S} s "
                               "in the future (the venue expires it 60 s early)", venue_code="invalid_expiration")


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


def decode_redeem_calldata(data: bytes) -> tuple[str, str, str, list[int]]:
    """(collateral, parentCollectionId, conditionId, indexSets) of ``redeemPositions`` calldata."""
    if data[:4] != REDEEM_SELECTOR or len(data) < 4 + 5 * 32:
        raise ValueError("not redeemPositions(address,bytes32,bytes32,uint256[]) calldata")
    w = [data[4 + 32 * i:4 + 32 * (i + 1)] for i in range((len(data) - 4) // 32)]
    if w[0][:12] != bytes(12) or int.from_bytes(w[3], "big") != 128:
        raise ValueError("malformed redeemPositions arguments")
    n = int.from_bytes(w[4], "big")
    if len(data) != 4 + 32 * (5 + n):
        raise ValueError("redeemPositions indexSets length mismatch")
    return (to_checksum("0x" + w[0][12:].hex()), "0x" + w[1].hex(), "0x" + w[2].hex(),
            [int.from_bytes(x, "big") for x in w[5:5 + n]])


def _pad32(b: bytes) -> bytes:
    return b + bytes(-len(b) % 32)


def proxy_calldata(calls: Sequence[tuple[int, str, int, bytes]]) -> bytes:
    """ABI-encoded ``ProxyWalletFactory.proxy((uint8 typeCode, address to, uint256 value, bytes data)[])``."""
    heads, tails, off = [], [], 32 * len(calls)
    for type_code, to, value, data in calls:
        t = (int(type_code).to_bytes(32, "big") + bytes(12) + bytes.fromhex(to.removeprefix("0x"))
             + int(value).to_bytes(32, "big") + (128).to_bytes(32, "big") + len(data).to_bytes(32, "big") + _pad32(data))
        heads.append(off.to_bytes(32, "big"))
        tails.append(t)
        off += len(t)
    return PROXY_SELECTOR + (32).to_bytes(32, "big") + len(calls).to_bytes(32, "big") + b"".join(heads) + b"".join(tails)


def decode_proxy_calldata(data: bytes) -> list[tuple[int, str, int, bytes]]:
    """The calls of ``proxy(...)`` calldata (strict: offsets and lengths must be in range)."""
    if data[:4] != PROXY_SELECTOR:
        raise ValueError("not proxy((uint8,address,uint256,bytes)[]) calldata")
    body = data[4:]

    def word(i: int) -> int:
        if i + 32 > len(body):
            raise ValueError("proxy calldata truncated")
        return int.from_bytes(body[i:i + 32], "big")

    arr = word(0)
    n = word(arr)
    out = []
    for k in range(n):
        t = arr + 32 + word(arr + 32 + 32 * k)
        dlen_at = t + word(t + 96)
        dlen = word(dlen_at)
        if dlen_at + 32 + dlen > len(body):
            raise ValueError("proxy call data out of range")
        out.append((word(t), to_checksum("0x" + body[t + 44:t + 64].hex()), word(t + 64),
                    body[dlen_at + 32:dlen_at + 32 + dlen]))
    return out


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
                 relayer_url: str = "", signature_type: int | None = None, rpc_url: str = "",
                 relayer_auth: RelayerAuth | None = None) -> None:
        """``signature_type`` 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271; None keeps the
        historical choice (2 with a ``funder``, else 0). ``funder`` is the proxy / Safe (derived from
        the signer when omitted) or, for 3, the deposit wallet (required). ``rpc_url`` is a Polygon
        JSON-RPC endpoint: with it an EOA redeems on chain itself."""
        self.clob_url = clob_url.rstrip("/")
        self.user_ws_url = user_ws_url
        self.venue = venue
        self.signer = signer
        self.creds = creds
        self.derived = False
        st = (SIG_POLY_GNOSIS_SAFE if funder else SIG_EOA) if signature_type is None else signature_type
        if st not in _SIG_NAMES:
            raise CredentialError(f"Polymarket signature_type must be 0, 1, 2 or 3, not {signature_type!r}",
                                  field="signature_type")
        if st == SIG_EOA and funder and to_checksum(funder) != signer.address:
            raise CredentialError("signature_type 0 (EOA) trades from the signer itself: drop the funder or "
                                  "choose 1 (proxy) / 2 (Safe)", field="signature_type")
        if st == SIG_POLY_1271 and not funder:
            raise CredentialError("signature_type 3 (POLY_1271) needs the deposit wallet address as funder",
                                  field="proxy_address")
        self.signature_type = st
        derived = {SIG_EOA: signer.address, SIG_POLY_PROXY: derive_proxy(signer.address),
                   SIG_POLY_GNOSIS_SAFE: derive_safe(signer.address)}.get(st, "")
        self.maker = to_checksum(funder) if funder else derived
        self.order_signer = self.maker if st == SIG_POLY_1271 else signer.address
        self.builder = builder or ZERO32
        self.relayer_url = relayer_url.rstrip("/")
        self.rpc_url = rpc_url
        self.relayer_auth = relayer_auth
        self.redeem_mode = "on_chain" if st == SIG_EOA and rpc_url else "relayer_submitted"
        self.rest = RestClient(self.clob_url, RateLimiter((RateLimitPool("order", 3500, 10.0),
                                                          RateLimitPool("cancel", 3000, 10.0),
                                                          RateLimitPool("auth", 100, 10.0))), max_retries=2)
        self._orders: dict[str, tuple[str, Side, int, int, str, int]] = {}   # id -> (symbol, side, px, qty, cid, exp)
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
        order_type = _ORDER_TYPE[req.tif]
        if req.expire_ts_s:
            if req.tif not in (TimeInForce.GTC, TimeInForce.POST_ONLY):
                raise OrderExpiryError(f"an expiration needs a resting order (GTC/POST_ONLY), not {req.tif.name}",
                                       venue_code="invalid_expiration")
            check_expiration(req.expire_ts_s)
            order_type = "GTD"
        maker_amt, taker_amt = order_amounts(req.side, req.px_1e9, req.qty_1e8)
        o = OrderV2(secrets.randbits(53), self.maker, self.order_signer, int(token), maker_amt, taker_amt,
                    BUY if req.side is Side.BUY else SELL, self.signature_type, int(time.time() * 1000),
                    builder=self.builder)
        sig = self.signer.sign_order(o, neg_risk=m.neg_risk)
        body = {"order": o.wire(sig, req.expire_ts_s), "owner": self.creds.api_key if self.creds else "",
                "orderType": order_type, "deferExec": False, "postOnly": req.tif is TimeInForce.POST_ONLY}
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
            self._orders[oid] = (req.venue_symbol, req.side, req.px_1e9, req.qty_1e8, cid, req.expire_ts_s)
            self._by_cid[cid] = oid
        return OrderResult(True, req.venue_symbol, cid, oid, st, filled)

    def open_order(self, *, venue_order_id: int | str | None = None,
                   client_order_id: str = "") -> OrderRequest | None:
        oid = str(venue_order_id) if venue_order_id else self._by_cid.get(client_order_id, "")
        k = self._orders.get(oid)
        if k is None:
            return None
        sym, side, px, qty, cid, exp = k
        return OrderRequest(sym, side, OrderType.LIMIT, qty - self._cum.get(oid, 0), px, client_order_id=cid,
                            expire_ts_s=exp)

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
        sym, sd, px, qty, cid, exp = known
        req = OrderRequest(sym, sd, OrderType.LIMIT, new_qty_1e8 if new_qty_1e8 is not None else qty,
                           new_px_1e9 if new_px_1e9 is not None else px, TimeInForce.GTC, f"{cid}-r",
                           expire_ts_s=exp)
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
        exp = int(ev.get("expiration") or 0)
        ts_ms = int(ev.get("timestamp") or 0)
        if st is OrderStatus.CANCELED and ev.get("order_type") == "GTD" and exp and \
                ts_ms >= (exp - GTD_SECURITY_THRESHOLD_S) * 1000:
            st = OrderStatus.EXPIRED                # the venue's own cancel of a GTD order at its time
        known = self._orders.pop(oid, None) if st is OrderStatus.EXPIRED else self._orders.get(oid)
        if known is not None and st is OrderStatus.EXPIRED:
            self._by_cid.pop(known[4], None)
        if self._on_event is not None:
            self._on_event(OrderUpdate(self._symbol_of(str(ev["asset_id"])), oid, known[4] if known else "",
                                       Side(ev["side"]), st, str(ev.get("type")), parse_px(str(ev["price"])), orig,
                                       matched, ts_ms * 1_000_000, ts_recv))

    # ---- settlement ------------------------------------------------------------------------

    def _redemption_target(self, slug: str) -> tuple[PolyMarket, str, bytes]:
        m = self.venue.markets.get(slug)
        if m is None:
            raise VenueRejected(f"unknown Polymarket market {slug!r}", venue_code="unknown_market")
        to = NEG_RISK_CTF_COLLATERAL_ADAPTER if m.neg_risk else CTF_COLLATERAL_ADAPTER
        return m, to, redeem_calldata(m.condition_id)

    def build_safe_redemption(self, slug: str, nonce: int, metadata: str = "") -> dict[str, Any]:
        """The relayer ``POST /submit`` body of a Safe (type SAFE) redemption.

        One call (operation 0) from the signer's Safe to the market's collateral adapter, hashed as a
        Gnosis ``SafeTx`` with zero gas fields and signed ``eth_sign`` style (v + 4), as the
        builder-relayer-client does.
        """
        _, to, data = self._redemption_target(slug)
        safe = self.maker if self.signature_type == SIG_POLY_GNOSIS_SAFE else derive_safe(self.signer.address)
        digest = safe_tx_digest(safe, to, data, nonce, chain_id=self.signer.chain_id)
        sig = self.signer.personal_sign(digest)
        return {"from": self.signer.address, "to": to, "proxyWallet": safe, "data": "0x" + data.hex(),
                "nonce": str(nonce), "signature": "0x" + sig[:64].hex() + format(sig[64] + 4, "02x"),
                "signatureParams": {"gasPrice": "0", "operation": "0", "safeTxnGas": "0", "baseGas": "0",
                                    "gasToken": ZERO_ADDRESS, "refundReceiver": ZERO_ADDRESS},
                "type": "SAFE", "metadata": metadata}

    def build_proxy_redemption(self, slug: str, nonce: int, relay: str, *, gas_limit: int = DEFAULT_PROXY_GAS_LIMIT,
                               metadata: str = "") -> dict[str, Any]:
        """The relayer ``POST /submit`` body of a proxy-wallet (type PROXY) redemption.

        ``data`` is ``ProxyWalletFactory.proxy([(CALL, adapter, 0, redeemPositions(...))])`` sent to the
        proxy factory; the RelayHub hash (``"rlx:" ‖ from ‖ to ‖ data ‖ fee ‖ gasPrice ‖ gasLimit ‖
        nonce ‖ hub ‖ relay``) is signed with ``personal_sign``; ``relay`` and ``nonce`` come from
        ``GET /relay-payload``.
        """
        _, to, data = self._redemption_target(slug)
        pdata = proxy_calldata([(CALL_TYPE_CALL, to, 0, data)])
        h = proxy_relay_hash(self.signer.address, PROXY_FACTORY, pdata, 0, 0, gas_limit, nonce, RELAY_HUB, relay)
        sig = self.signer.personal_sign(h)
        return {"from": self.signer.address, "to": PROXY_FACTORY, "proxyWallet": derive_proxy(self.signer.address),
                "data": "0x" + pdata.hex(), "nonce": str(nonce), "signature": "0x" + sig.hex(),
                "signatureParams": {"gasPrice": "0", "gasLimit": str(gas_limit), "relayerFee": "0",
                                    "relayHub": RELAY_HUB, "relay": relay},
                "type": "PROXY", "metadata": metadata}

    def _relayer_client(self) -> RestClient:
        if not self.relayer_url:
            raise SeqkernError("no relayer configured for Polymarket redemptions", code="NO_RELAYER")
        return RestClient(self.relayer_url, RateLimiter((RateLimitPool("relay", 10, 1.0),)), max_retries=0)

    async def _relayer(self, method: str, path: str, params: dict[str, str] | None = None,
                       body: dict[str, Any] | None = None) -> Any:
        client = self._relayer_client()
        data = orjson.dumps(body).decode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        if self.relayer_auth is not None and method == "POST":
            headers.update(self.relayer_auth.headers(method, path, data or ""))
        try:
            raw = await client.request(RestRequest(method, path, params or {}, (("relay", 1),)), body=data,
                                       headers=headers)
        except VenueRejected as exc:
            raise RedemptionRejected(f"Polymarket relayer refused {method} {path}: {exc}",
                                     venue_code=exc.venue_code, http_status=exc.http_status) from None
        finally:
            await client.close()
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise VenueMessageError(f"Polymarket relayer {path}: unreadable answer") from None

    async def submit_relay(self, request: dict[str, Any]) -> dict[str, Any]:
        """``POST /submit`` one relayer request; the answer is ``{transactionID, state}``."""
        out = await self._relayer("POST", "/submit", body=request)
        if not isinstance(out, dict) or "transactionID" not in out:
            raise VenueMessageError("Polymarket relayer /submit answer has no transactionID")
        return {"mode": "relayer_submitted", "type": request.get("type"), "proxyWallet": request.get("proxyWallet"),
                **out}

    async def relayer_transaction(self, transaction_id: str) -> dict[str, Any]:
        """``GET /transaction?id=``: the relayer's record (state, transactionHash once broadcast)."""
        out = await self._relayer("GET", "/transaction", {"id": transaction_id})
        if not isinstance(out, list) or not out:
            raise VenueMessageError(f"Polymarket relayer has no transaction {transaction_id!r}")
        return out[0]

    async def _rpc(self, client: RestClient, method: str, params: list[Any]) -> Any:
        body = orjson.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}).decode()
        try:
            raw = await client.request(RestRequest("POST", "", {}, (("rpc", 1),)), body=body,
                                       headers={"Content-Type": "application/json"})
            out = orjson.loads(raw)
        except VenueRejected as exc:
            raise RedemptionRejected(f"Polygon RPC {method}: {exc}", http_status=exc.http_status) from None
        except orjson.JSONDecodeError:
            raise VenueMessageError(f"Polygon RPC {method}: unreadable answer") from None
        if not isinstance(out, dict):
            raise VenueMessageError(f"Polygon RPC {method}: not a JSON-RPC answer")
        if out.get("error") is not None:
            err = out["error"] if isinstance(out["error"], dict) else {"message": str(out["error"])}
            raise RedemptionRejected(f"Polygon RPC {method}: {err.get('message')}", venue_code=err.get("code"))
        return out.get("result")

    async def redeem_on_chain(self, slug: str, *, receipt_timeout_s: float = 5.0) -> dict[str, Any]:
        """EOA redemption: sign an EIP-1559 transaction calling the adapter and send it over JSON-RPC.

        Nonce from ``eth_getTransactionCount(pending)``, fees from ``eth_maxPriorityFeePerGas`` and the
        latest block's base fee (max fee = 2 x base + tip), gas from ``eth_estimateGas`` + 20 %; the
        chain id is checked against the signer's before signing. Waits (bounded) for the receipt.
        """
        if not self.rpc_url:
            raise SeqkernError("no Polygon RPC configured for on-chain redemption", code="NO_RPC")
        m, to, data = self._redemption_target(slug)
        me = self.signer.address
        client = RestClient(self.rpc_url, RateLimiter((RateLimitPool("rpc", 50, 1.0),)), max_retries=0)
        try:
            chain = int(await self._rpc(client, "eth_chainId", []), 16)
            if chain != self.signer.chain_id:
                raise RedemptionRejected(f"RPC is on chain {chain}, the signer signs for {self.signer.chain_id}",
                                         venue_code="wrong_chain")
            nonce = int(await self._rpc(client, "eth_getTransactionCount", [me, "pending"]), 16)
            tip = int(await self._rpc(client, "eth_maxPriorityFeePerGas", []), 16)
            block = await self._rpc(client, "eth_getBlockByNumber", ["latest", False])
            base = int(block["baseFeePerGas"], 16)
            call = {"from": me, "to": to, "data": "0x" + data.hex()}
            gas = int(await self._rpc(client, "eth_estimateGas", [call]), 16) * 12 // 10
            tx = Eip1559Tx(chain, nonce, tip, 2 * base + tip, gas, to, 0, data)
            h = await self._rpc(client, "eth_sendRawTransaction", ["0x" + self.signer.sign_transaction(tx).hex()])
            receipt = None
            end = time.monotonic() + receipt_timeout_s
            while receipt is None and time.monotonic() < end:
                receipt = await self._rpc(client, "eth_getTransactionReceipt", [h])
                if receipt is None:
                    await asyncio.sleep(0.05)
        finally:
            await client.close()
        status = "pending" if receipt is None else ("success" if receipt.get("status") == "0x1" else "reverted")
        if status == "reverted":
            raise RedemptionRejected(f"redemption transaction {h} reverted on chain", venue_code="reverted")
        return {"mode": "on_chain", "transactionHash": h, "status": status, "to": to, "nonce": nonce,
                "condition_id": m.condition_id}

    async def redeem(self, slug: str, metadata: str = "") -> dict[str, Any]:
        """Redeem a resolved market's positions; the result's ``mode`` says which path ran.

        EOA (0) with an RPC: ``on_chain``. Proxy (1): relayer PROXY request. Safe (2), or an EOA with
        only a relayer (the relayer client's default wallet, the signer's Safe): relayer SAFE request
        with the nonce from ``GET /nonce``. Both report ``relayer_submitted``.
        """
        st = self.signature_type
        if st == SIG_EOA and self.rpc_url:
            return await self.redeem_on_chain(slug)
        if st == SIG_POLY_1271:
            raise SeqkernError("POLY_1271 deposit wallets redeem through relayer WALLET batches, which this "
                               "transport does not build", code="NOT_SUPPORTED")
        if st == SIG_POLY_PROXY:
            rp = await self._relayer("GET", "/relay-payload", {"address": self.signer.address, "type": "PROXY"})
            try:
                relay, nonce = to_checksum(str(rp["address"])), int(rp["nonce"])
            except (KeyError, TypeError, ValueError):
                raise VenueMessageError("Polymarket relayer /relay-payload answer unreadable") from None
            return await self.submit_relay(self.build_proxy_redemption(slug, nonce, relay, metadata=metadata))
        if st == SIG_EOA:
            log.warning("polymarket redeem: no rpc_url, redeeming the signer's Safe through the relayer "
                        "(positions held by the EOA itself need an RPC)")
        safe = self.maker if st == SIG_POLY_GNOSIS_SAFE else derive_safe(self.signer.address)
        dep = await self._relayer("GET", "/deployed", {"address": safe})
        if not (isinstance(dep, dict) and dep.get("deployed")):
            raise RedemptionRejected(f"Safe {safe} is not deployed", venue_code="safe_not_deployed")
        np = await self._relayer("GET", "/nonce", {"address": self.signer.address, "type": "SAFE"})
        try:
            nonce = int(np["nonce"])
        except (KeyError, TypeError, ValueError):
            raise VenueMessageError("Polymarket relayer /nonce answer unreadable") from None
        return await self.submit_relay(self.build_safe_redemption(slug, nonce, metadata))
