"""HTTP API v1 (aiohttp): routes, bearer-key auth and scopes, JSON errors with their status."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from seqkern.cc.apikeys import ApiKey
from seqkern.cc.venueinfo import VENUE_NAMES, venue_id
from seqkern.errors import (
    BadRequest,
    CredentialError,
    FixedPointError,
    Forbidden,
    InsufficientBalance,
    KillSwitchActive,
    NoRoutableVenue,
    NotSupported,
    OrderNotFound,
    OrderNotOpen,
    SeqkernError,
    Unauthorized,
    UnknownSymbol,
    UnknownVenue,
    VenueUnavailable,
)

if TYPE_CHECKING:
    from seqkern.cc.server import CommandCenter

log = logging.getLogger("seqkern.cc.api")

_STATUS: tuple[tuple[type[SeqkernError], int], ...] = (
    (Unauthorized, 401), (Forbidden, 403), (OrderNotFound, 404), (UnknownSymbol, 404),
    (UnknownVenue, 404), (OrderNotOpen, 409), (NoRoutableVenue, 422),
    (InsufficientBalance, 422), (KillSwitchActive, 423), (NotSupported, 501),
    (VenueUnavailable, 503), (CredentialError, 400), (BadRequest, 400), (FixedPointError, 400),
)  # fmt: skip
_CODE_STATUS = {"NO_CREDENTIALS": 404}
TICKET_TTL_NS = 30 * 10**9
KEY = web.AppKey("cc", object)


def status_of(exc: SeqkernError) -> int:
    if exc.code in _CODE_STATUS:
        return _CODE_STATUS[exc.code]
    for cls, st in _STATUS:
        if isinstance(exc, cls):
            return st
    return 500


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def error_response(code: str, message: str, status: int) -> web.Response:
    return _json({"error": {"code": code, "message": message}}, status)


@web.middleware
async def _errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                  ) -> web.StreamResponse:
    try:
        resp = await handler(request)
        # journal before acknowledgement: the commit(s) this request made must be on disk
        await request.app[KEY].journal.durable()
        return resp
    except SeqkernError as exc:
        return error_response(exc.code, exc.message, status_of(exc))
    except web.HTTPException as exc:
        if exc.status == 404:
            return error_response("NOT_FOUND", f"no route {request.method} {request.path}", 404)
        if exc.status == 405:
            return error_response("METHOD_NOT_ALLOWED", f"{request.method} not allowed on {request.path}", 405)
        raise
    except Exception:
        # never log the request body: it may hold credentials
        log.exception("internal error on %s %s", request.method, request.path)
        return error_response("INTERNAL", "internal error", 500)


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("malformed JSON body", code="BAD_JSON") from None


class Api:
    """Request handlers over one CommandCenter."""

    def __init__(self, cc: CommandCenter) -> None:
        self.cc = cc
        self.tickets: dict[str, tuple[ApiKey, int]] = {}

    def auth(self, request: web.Request, scope: str) -> ApiKey:
        h = request.headers.get("Authorization", "")
        token = h[7:].strip() if h[:7].lower() == "bearer " else None
        key = self.cc.keys.verify(token)
        key.require(scope)
        return key

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_errors], client_max_size=1 << 20)
        app[KEY] = self.cc
        r = app.router
        r.add_get("/v1/health", self.health)
        r.add_get("/v1/edges", self.edges)
        r.add_get("/v1/peers", self.peers)
        r.add_get("/v1/pairs", self.pairs)
        r.add_get("/v1/pairs/{symbol}/venues", self.pair_venues)
        r.add_get("/v1/quotes/{symbol}", self.quote)
        r.add_get("/v1/book/{symbol}", self.book)
        r.add_post("/v1/preview", self.preview)
        r.add_get("/v1/credentials", self.creds_list)
        r.add_post("/v1/credentials/{venue}", self.creds_put)
        r.add_delete("/v1/credentials/{venue}", self.creds_delete)
        r.add_post("/v1/orders", self.order_submit)
        r.add_post("/v1/orders/batch", self.order_batch)
        r.add_get("/v1/orders", self.orders_open)
        r.add_get("/v1/orders/{order_id}", self.order_get)
        r.add_delete("/v1/orders/{order_id}", self.order_cancel)
        r.add_post("/v1/orders/{order_id}/cancel", self.order_cancel)
        r.add_post("/v1/orders/{order_id}/amend", self.order_amend)
        r.add_post("/v1/orders/{order_id}/decrease", self.order_decrease)
        r.add_get("/v1/fills", self.fills)
        r.add_get("/v1/balances", self.balances)
        r.add_get("/v1/kill", self.kill_state)
        r.add_post("/v1/kill", self.kill)
        r.add_delete("/v1/kill", self.resume)
        r.add_get("/v1/keys", self.keys_list)
        r.add_post("/v1/keys", self.keys_create)
        r.add_get("/v1/ws/ticket", self.ticket)
        r.add_get("/v1/stream", self.stream)
        return app

    # --- state -----------------------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        cc = self.cc
        return _json({"status": "ok", "region": cc.region, "version": cc.version,
                      "edges": sum(1 for e in cc.market.edges.values() if e.connected),
                      "symbols": len(cc.market.names), "kill_switch": cc.engine.killed,
                      "journal": {"path": cc.journal.path, "sync": cc.journal.sync},
                      "uptime_s": round(time.monotonic() - cc.started, 3)})

    async def edges(self, request: web.Request) -> web.Response:
        self.auth(request, "read")
        with_symbols = request.query.get("symbols", "") in ("1", "true", "yes")
        return _json(self.cc.market.edges_view(with_symbols))

    async def peers(self, request: web.Request) -> web.Response:
        """The peer-link mesh (docs/peerlink.md): one row per peer region."""
        self.auth(request, "read")
        pl = self.cc.peer_link
        return _json({"region": self.cc.region, "peers": pl.status() if pl is not None else []})

    async def pairs(self, request: web.Request) -> web.Response:
        self.auth(request, "read")
        m = self.cc.market
        out = []
        for sym in m.names:
            vs = m.venues_for(sym)
            sp = m.specs[(sym, vs[0])] if vs else None
            out.append({"symbol": sym, "base": sp.base if sp else None, "quote": sp.quote if sp else None,
                        "venues": [VENUE_NAMES.get(v) for v in vs]})
        return _json(out)

    async def pair_venues(self, request: web.Request) -> web.Response:
        self.auth(request, "read")
        sym = request.match_info["symbol"]
        m = self.cc.market
        m.slot(sym)
        out = []
        for v in m.venues_for(sym):
            sp = m.specs[(sym, v)]
            out.append({"venue": VENUE_NAMES.get(v), "venue_id": v, "instrument_type": sp.instrument_type,
                        "venue_symbol": sp.venue_symbol, "tick_1e9": sp.tick_1e9, "lot_1e8": sp.lot_1e8,
                        "credentials": self.cc.engine.has_credentials(v),   # incl. a peer owner's
                        "connected": self.cc.venue_connected(v)})
        return _json({"symbol": sym, "venues": out})

    async def quote(self, request: web.Request) -> web.Response:
        self.auth(request, "read")
        return _json(self.cc.market.quote(request.match_info["symbol"]))

    async def book(self, request: web.Request) -> web.Response:
        self.auth(request, "read")
        try:
            depth = int(request.query.get("depth", "10"))
        except ValueError:
            raise BadRequest("depth must be an integer") from None
        if not 1 <= depth <= 500:
            raise BadRequest("depth must be between 1 and 500")
        return _json(self.cc.market.depth(request.match_info["symbol"], depth))

    async def preview(self, request: web.Request) -> web.Response:
        key = self.auth(request, "read")
        return _json(self.cc.engine.preview(key, await _body(request)))

    async def balances(self, request: web.Request) -> web.Response:
        key = self.auth(request, "read")
        return _json(self.cc.ledger.snapshot("sandbox" if key.sandbox else None))

    # --- credentials -----------------------------------------------------------------------
    async def creds_list(self, request: web.Request) -> web.Response:
        self.auth(request, "credentials")
        return _json(self.cc.vault.listing())

    async def creds_put(self, request: web.Request) -> web.Response:
        self.auth(request, "credentials")
        venue = request.match_info["venue"]
        body = await _body(request)
        info = self.cc.vault.put(venue, body)
        self.cc.on_credentials(venue_id(venue))
        log.info("credentials stored for %s (class %s)", info["venue"], info.get("class"))
        return _json({"ok": True, **info}, 201)

    async def creds_delete(self, request: web.Request) -> web.Response:
        self.auth(request, "credentials")
        venue = request.match_info["venue"]
        if not self.cc.vault.delete(venue):
            raise CredentialError(f"no credentials stored for {venue}", code="NO_CREDENTIALS")
        return _json({"ok": True, "venue": venue})

    # --- orders ----------------------------------------------------------------------------
    async def order_submit(self, request: web.Request) -> web.Response:
        key = self.auth(request, "trade")
        res = self.cc.engine.submit(key, await _body(request))
        return _json(res, 200 if res.get("duplicate") else 201)

    async def order_batch(self, request: web.Request) -> web.Response:
        key = self.auth(request, "trade")
        return _json(self.cc.engine.batch(key, await _body(request)))

    async def orders_open(self, request: web.Request) -> web.Response:
        key = self.auth(request, "read")
        return _json(self.cc.engine.list_open(key))

    async def order_get(self, request: web.Request) -> web.Response:
        key = self.auth(request, "read")
        return _json(self.cc.engine.get(request.match_info["order_id"], key))

    async def order_cancel(self, request: web.Request) -> web.Response:
        key = self.auth(request, "trade")
        return _json(self.cc.engine.cancel(request.match_info["order_id"], key))

    async def order_amend(self, request: web.Request) -> web.Response:
        key = self.auth(request, "trade")
        return _json(self.cc.engine.amend(request.match_info["order_id"], key, await _body(request)))

    async def order_decrease(self, request: web.Request) -> web.Response:
        key = self.auth(request, "trade")
        return _json(self.cc.engine.decrease(request.match_info["order_id"], key, await _body(request)))

    async def fills(self, request: web.Request) -> web.Response:
        key = self.auth(request, "read")
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            raise BadRequest("limit must be an integer") from None
        return _json(self.cc.engine.fills(key, request.query.get("order_id"), limit))

    async def kill_state(self, request: web.Request) -> web.Response:
        self.auth(request, "read")
        return _json({"kill_switch": self.cc.engine.killed})

    async def kill(self, request: web.Request) -> web.Response:
        key = self.auth(request, "trade")
        return _json(self.cc.engine.kill(key))

    async def resume(self, request: web.Request) -> web.Response:
        self.auth(request, "admin")
        return _json(self.cc.engine.resume())

    # --- keys ------------------------------------------------------------------------------
    async def keys_list(self, request: web.Request) -> web.Response:
        self.auth(request, "admin")
        return _json(self.cc.keys.listing())

    async def keys_create(self, request: web.Request) -> web.Response:
        self.auth(request, "admin")
        body = await _body(request)
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        scopes = body.get("scopes", ["read", "trade"])
        if not isinstance(scopes, list):
            raise BadRequest("scopes must be a list")
        sandbox = body.get("sandbox", False)
        if not isinstance(sandbox, bool):
            raise BadRequest("sandbox must be true or false")
        key, info = self.cc.keys.create(scopes, sandbox=sandbox, label=str(body.get("label", ""))[:64])
        return _json({"key": key, "key_id": info.key_id, "scopes": sorted(info.scopes),
                      "sandbox": info.sandbox}, 201)

    # --- streaming -------------------------------------------------------------------------
    async def ticket(self, request: web.Request) -> web.Response:
        key = self.auth(request, "read")
        now = time.time_ns()
        self.tickets = {t: v for t, v in self.tickets.items() if v[1] > now}
        t = secrets.token_urlsafe(24)
        self.tickets[t] = (key, now + TICKET_TTL_NS)
        return _json({"ticket": t, "expires_in_ms": TICKET_TTL_NS // 10**6})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket")
        if ticket is not None:
            hit = self.tickets.pop(ticket, None)   # single use
            if hit is None or hit[1] < time.time_ns():
                raise Unauthorized("unknown, used or expired ticket")
            key = hit[0]
        else:
            key = self.auth(request, "read")
        return await self.cc.hub.serve(request, key.key_id, "admin" in key.scopes)
