"""The order engine: admission, routing, parent/child lifecycle, reservations, sandbox fills,
venue events, the kill switch and crash recovery. Every change is journaled before it is
acknowledged or published."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from seqkern.cc.apikeys import ApiKey
from seqkern.cc.balances import Ledger
from seqkern.cc.journal import Journal, now_ns
from seqkern.cc.market import SIDE_ASK, SIDE_BID, MarketState, SymbolSpec
from seqkern.cc.orders import (
    ORDER_TYPES,
    SIDES,
    TERMINAL,
    TIFS,
    Order,
    OrderState,
    check_transition,
    order_id,
)
from seqkern.cc.routing import RoutePlan, RoutingContext, plan_route
from seqkern.cc.venueinfo import VENUE_NAMES, amend_mode, batch_mode, venue_id
from seqkern.errors import (
    BadRequest,
    InsufficientBalance,
    KillSwitchActive,
    NoRoutableVenue,
    NotSupported,
    OrderNotFound,
    OrderNotOpen,
    SeqkernError,
    UnknownSymbol,
    UnknownVenue,
    VenueUnavailable,
)

log = logging.getLogger("seqkern.cc.engine")
S = OrderState
_STABLE = ("USD", "USDT", "USDC", "EUR", "FDUSD")
_MAX_QTY_1E8 = 10**17
_MAX_PX_1E9 = 10**17


class VenueTransport(Protocol):
    """How the CC reaches a venue's edge (CC-LINK ORDER_* frames)."""

    def connected(self, venue: int) -> bool: ...
    def send_new(self, child: Order, spec: SymbolSpec) -> None: ...
    def send_cancel(self, child: Order, spec: SymbolSpec) -> None: ...
    def send_amend(self, child: Order, spec: SymbolSpec, qty_1e8: int, px_1e9: int | None) -> None: ...
    def send_decrease(self, child: Order, spec: SymbolSpec, qty_1e8: int) -> None: ...


def _dec_to_int(v: Any, scale: int, name: str) -> int:
    """A human number (JSON number or decimal string) to a scaled int, exactly or not at all."""
    if isinstance(v, bool) or v is None:
        raise BadRequest(f"{name} must be a number")
    s = repr(v) if isinstance(v, float) else str(v)
    s = s.strip()
    try:
        if "e" in s or "E" in s:
            from decimal import Decimal, InvalidOperation
            try:
                d = Decimal(s)
            except InvalidOperation as exc:
                raise ValueError from exc
            s = format(d, "f")
        neg = s.startswith("-")
        if neg or s.startswith("+"):
            s = s[1:]
        whole, _, frac = s.partition(".")
        if not (whole or frac) or (whole and not whole.isdigit()) or (frac and not frac.isdigit()):
            raise ValueError
        digits = len(str(scale)) - 1
        frac = frac.rstrip("0")
        if len(frac) > digits:
            raise BadRequest(f"{name} has more than {digits} decimals")
        n = int(whole or "0") * scale + int((frac or "0").ljust(digits, "0"))
    except ValueError:
        raise BadRequest(f"{name} is not a number: {str(v)[:40]!r}") from None
    return -n if neg else n


def _scaled(body: dict, human: str, scaled: str, scale: int, *, required: bool = False) -> int | None:
    if body.get(scaled) is not None:
        v = body[scaled]
        if isinstance(v, bool) or not isinstance(v, int):
            raise BadRequest(f"{scaled} must be an integer")
        return v
    if body.get(human) is not None:
        return _dec_to_int(body[human], scale, human)
    if required:
        raise BadRequest(f"{human} (or {scaled}) is required")
    return None


class OrderEngine:
    def __init__(self, journal: Journal, market: MarketState, ledger: Ledger, *,
                 has_credentials: Callable[[int], bool],
                 sandbox_seed: dict[str, int] | None = None) -> None:
        self.journal = journal
        self.market = market
        self.ledger = ledger
        self.has_credentials = has_credentials
        self.transport: VenueTransport | None = None
        self.sandbox_seed = sandbox_seed or {}
        self.routing = RoutingContext(market)
        self.orders: dict[str, Order] = {}
        self.resting: dict[tuple[str, int], set[str]] = {}   # sandbox children by (symbol, venue)
        self.by_request: dict[int, str] = {}                  # CC-LINK request id -> live child
        self._created: list[str] = []                         # orders made by the open submit
        # child -> (final state, reason, filled qty the venue reported): applied once the FILLs
        # that make up that quantity have arrived
        self.done_pending: dict[str, tuple[OrderState, str | None, int]] = {}
        self.publish: Callable[[str, dict, str | None], None] = lambda topic, data, key_id: None
        self._events: list[tuple[str, dict, str | None]] = []
        self.killed = journal.get_meta("kill_switch", "0") == "1"
        market.listeners.append(self._on_book)

    # --- recovery --------------------------------------------------------------------------
    def recover(self) -> dict[str, int]:
        """Reload open orders (and their parents) and reservations from the journal."""
        self.ledger.load()
        db = self.journal.db
        cols = ("order_id, graph_id, node_id, seq, parent_id, key_id, client_request_id, symbol, side, "
                "order_type, tif, venue, price_1e9, qty_1e8, filled_1e8, notional_1e17, state, sandbox, "
                "reason, amend_mode, created_ns, updated_ns, request_id, venue_order_id")
        open_states = tuple(s.value for s in OrderState if s not in TERMINAL)
        q = ",".join("?" * len(open_states))
        rows = db.execute(f"SELECT {cols} FROM orders WHERE state IN ({q})", open_states).fetchall()
        parents: set[str] = set()
        for r in rows:
            o = Order.from_row(r)
            self.orders[o.order_id] = o
            if o.parent_id:
                parents.add(o.parent_id)
        for pid in parents - set(self.orders):
            r = db.execute(f"SELECT {cols} FROM orders WHERE order_id=?", (pid,)).fetchone()
            if r:
                self.orders[pid] = Order.from_row(r)
        for o in list(self.orders.values()):
            if o.seq == 0:
                o.children = [r[0] for r in db.execute(
                    "SELECT order_id FROM orders WHERE parent_id=? ORDER BY seq", (o.order_id,))]
                for c in o.children:
                    if c not in self.orders:
                        r = db.execute(f"SELECT {cols} FROM orders WHERE order_id=?", (c,)).fetchone()
                        self.orders[c] = Order.from_row(r)
            elif o.sandbox and not o.terminal and o.order_type == "limit":
                self.resting.setdefault((o.symbol, o.venue), set()).add(o.order_id)
        for o in self.orders.values():
            if o.request_id:
                self.by_request[o.request_id] = o.order_id
        n_open = sum(1 for o in self.orders.values() if not o.terminal and o.seq > 0)
        return {"open_children": n_open, "reservations": len(self.ledger.reservations)}

    # --- journal helpers -------------------------------------------------------------------
    def _save(self, o: Order) -> None:
        self.journal.db.execute(
            "INSERT OR REPLACE INTO orders VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", o.row())

    def _transition(self, o: Order, new: OrderState, reason: str | None = None) -> None:
        old = o.state
        if old == new and new != S.PARTIALLY_FILLED:
            return
        check_transition(o.order_id, old, new)
        o.state = new
        o.updated_ns = now_ns()
        if reason is not None:
            o.reason = reason
        self.journal.db.execute(
            "INSERT INTO transitions(order_id, ts_ns, from_state, to_state, reason) VALUES(?,?,?,?,?)",
            (o.order_id, o.updated_ns, old.value, new.value, reason))
        self._save(o)
        if o.terminal:
            self.ledger.release(o.order_id)
            if o.sandbox:
                self.resting.get((o.symbol, o.venue), set()).discard(o.order_id)
        self._events.append(("orders", o.wire(), o.key_id))

    def _flush(self) -> None:
        """Publish this operation's events once its commit is durable (journal before ack)."""
        events, self._events = self._events, []
        if not events:
            return

        def publish() -> None:
            for topic, data, key_id in events:
                self.publish(topic, data, key_id)
        self.journal.after_durable(publish)

    def _parent_state(self, p: Order) -> None:
        kids = [self.orders[c] for c in p.children]
        p.filled_1e8 = sum(k.filled_1e8 for k in kids)
        p.notional_1e17 = sum(k.notional_1e17 for k in kids)
        live = [k for k in kids if not k.terminal]
        if p.qty_1e8 and p.filled_1e8 >= p.qty_1e8:
            new = S.FILLED
        elif live:
            if p.filled_1e8:
                new = S.PARTIALLY_FILLED
            else:
                new = S.ACCEPTED if any(k.state != S.NEW for k in live) or p.state != S.NEW else S.NEW
        elif kids and all(k.state == S.REJECTED for k in kids):
            new = S.REJECTED
        elif any(k.state == S.CANCELLED and k.reason in _USER_CANCEL for k in kids):
            new = S.CANCELLED
        elif p.tif in ("ioc", "fok") or any(k.state == S.EXPIRED for k in kids):
            new = S.EXPIRED
        else:
            new = S.CANCELLED
        reason = next((k.reason for k in kids if k.reason), None) if new in (
            S.REJECTED, S.EXPIRED, S.CANCELLED) else None
        if new == p.state:
            if new == S.PARTIALLY_FILLED:
                self._transition(p, new)
            else:
                p.updated_ns = now_ns()
                self._save(p)
            return
        if new not in (S.NEW,) and new not in _allowed(p.state):
            new = S.CANCELLED
        self._transition(p, new, reason)

    # --- admission -------------------------------------------------------------------------
    def parse_order(self, body: Any) -> dict:
        """A simple order, or a one-node graph, into the fields of a node; more is NOT_SUPPORTED."""
        if not isinstance(body, dict):
            raise BadRequest("the order body must be a JSON object")
        node_id = "n1"
        if "nodes" in body:
            nodes = body["nodes"]
            if not isinstance(nodes, list) or not nodes:
                raise BadRequest("nodes must be a non-empty list")
            if len(nodes) > 1 or body.get("edges") or body.get("risk"):
                raise NotSupported(
                    "execution graphs with more than one node, edges (triggers) or risk layers are "
                    "not supported yet; submit one node (or a simple order)")
            n = nodes[0]
            if not isinstance(n, dict):
                raise BadRequest("a node must be a JSON object")
            inst = n.get("instrument") or {}
            ex = n.get("execution") or {}
            if ex.get("pacing"):
                raise NotSupported("paced execution (TWAP) is not supported yet")
            if ex.get("policy") not in (None, "sor"):
                raise NotSupported(f"execution policy {ex.get('policy')!r} is not supported yet; use sor")
            fixed = (n.get("quantity") or {}).get("fixed") or {}
            node_id = str(n.get("node_id") or "n1")
            body = {"symbol": inst.get("symbol"), "instrument_type": inst.get("type"),
                    "side": n.get("side"), "venue": inst.get("venue"),
                    "order_type": n.get("order_type"), "qty_1e8": fixed.get("qty_1e8"),
                    "price_1e9": n.get("price_1e9") or (n.get("limit") or {}).get("price_1e9"),
                    "time_in_force": n.get("time_in_force"),
                    "client_request_id": body.get("client_request_id"),
                    "sandbox": body.get("sandbox", False)}
        if not node_id.replace("-", "").replace("_", "").isalnum() or len(node_id) > 64:
            raise BadRequest("node_id must be alphanumeric (with - or _), at most 64 characters")
        symbol = body.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise BadRequest("symbol is required")
        itype = body.get("instrument_type")
        if itype not in (None, "spot", "perp", "binary"):
            raise BadRequest("instrument_type must be spot, perp or binary")
        if itype == "perp" and not symbol.endswith(PERP_SUFFIX):
            symbol += PERP_SUFFIX
        side = str(body.get("side", "")).lower()
        if side not in SIDES:
            raise BadRequest("side must be buy or sell")
        price = _scaled(body, "price", "price_1e9", 10**9)
        constraints = body.get("constraints") or {}
        if price is None and constraints.get("max_price_1e9") is not None:
            price = _scaled(constraints, "max_price", "max_price_1e9", 10**9)
        if price is not None and not 0 < price < _MAX_PX_1E9:
            raise BadRequest("price must be positive")
        qty = _scaled(body, "qty", "qty_1e8", 10**8)
        notional = _scaled(body, "notional", "notional_1e8", 10**8)
        if (qty is None) == (notional is None):
            raise BadRequest("give exactly one of qty (qty_1e8) or notional (notional_1e8)")
        if qty is not None and not 0 < qty < _MAX_QTY_1E8:
            raise BadRequest("qty must be positive")
        if notional is not None and not 0 < notional < _MAX_QTY_1E8 * 10**4:
            raise BadRequest("notional must be positive")
        otype = str(body.get("order_type") or ("limit" if price else "market")).lower()
        if otype not in ORDER_TYPES:
            raise BadRequest("order_type must be market or limit")
        if otype == "limit" and price is None:
            raise BadRequest("a limit order needs a price")
        tif = str(body.get("time_in_force") or body.get("tif") or ("gtc" if otype == "limit" else "ioc")).lower()
        if tif not in TIFS:
            raise BadRequest("time_in_force must be gtc, ioc or fok")
        if otype == "market":
            tif = "ioc" if tif == "gtc" else tif
        venue = body.get("venue")
        vid = None
        if venue not in (None, ""):
            try:
                vid = venue_id(venue if isinstance(venue, int) else str(venue))
            except UnknownVenue as exc:
                raise BadRequest(str(exc), code="UNKNOWN_VENUE") from None
        crid = body.get("client_request_id") or body.get("client_order_id")
        if crid is not None and (not isinstance(crid, str) or not 0 < len(crid) <= 64):
            raise BadRequest("client_request_id must be a string of 1..64 characters")
        sandbox = body.get("sandbox", False)
        if not isinstance(sandbox, bool):
            raise BadRequest("sandbox must be true or false")
        return {"symbol": symbol, "side": side, "price": price, "qty": qty, "notional": notional,
                "order_type": otype, "tif": tif, "venue": vid, "crid": crid, "sandbox": sandbox,
                "node_id": node_id}

    def eligible_venues(self, symbol: str, sandbox: bool, venue: int | None) -> list[int]:
        listed = self.market.venues_for(symbol)
        if not listed:
            raise NoRoutableVenue(f"no connected venue lists {symbol}{_catalog_hint(symbol)}")
        if venue is not None:
            if venue not in listed:
                raise NoRoutableVenue(f"{VENUE_NAMES.get(venue)} does not list {symbol}; "
                                      f"venues for {symbol}: {', '.join(VENUE_NAMES[v] for v in listed)}")
            listed = [venue]
        if sandbox:
            return listed
        with_creds = [v for v in listed if self.has_credentials(v)]
        if not with_creds:
            raise NoRoutableVenue(
                f"no venue with credentials lists {symbol} (listed on "
                f"{', '.join(VENUE_NAMES[v] for v in listed)}); add credentials with "
                "POST /v1/credentials/{venue}")
        up = [v for v in with_creds if self.transport is not None and self.transport.connected(v)]
        if not up:
            raise VenueUnavailable(f"the edges of {', '.join(VENUE_NAMES[v] for v in with_creds)} "
                                   "are not connected")
        return up

    def preview(self, key: ApiKey, body: Any) -> dict:
        req = self.parse_order(body)
        sandbox = key.sandbox or req["sandbox"]
        venues = self.eligible_venues(req["symbol"], sandbox, req["venue"])
        qty = req["qty"] or self._qty_from_notional(req, venues)
        plan = self._plan(req, qty, venues, sandbox)
        return {"plan": plan.wire(), "sandbox": sandbox, "nbbo": self.market.nbbo(req["symbol"])}

    def _plan(self, req: dict, qty: int, venues: list[int], sandbox: bool) -> RoutePlan:
        specs = {v: self.market.spec(req["symbol"], v) for v in venues}
        if sandbox:
            for v, sp in specs.items():
                self._seed_sandbox(account_of(True, sp.instrument_type), v, sp.base)
                self._seed_sandbox(account_of(True, sp.instrument_type), v, sp.quote)
        rtt = getattr(self.transport, "rtt_ns", None)
        ledger = self.ledger

        def available(v: int, asset: str) -> int | None:
            # a venue whose edge reports no balances is not capped here (the venue decides);
            # perps are margined: the reservation checks the margin, the router is not capped
            acct = account_of(sandbox, specs[v].instrument_type)
            if specs[v].instrument_type == "perp" or not ledger.knows(acct, v):
                return None
            return ledger.available(acct, v, asset)

        return plan_route(self.routing, req["symbol"], req["side"], qty, req["price"], req["tif"],
                          venues, pinned=req["venue"], available=available,
                          rtt_ns=rtt if rtt is not None else (lambda v: 0))

    def _qty_from_notional(self, req: dict, venues: list[int]) -> int:
        n = self.market.nbbo(req["symbol"])
        px = req["price"] or (n["ask_1e9"] if req["side"] == "buy" else n["bid_1e9"])
        if not px:
            raise NoRoutableVenue(f"no price for {req['symbol']} to size a notional order")
        qty = req["notional"] * 10**9 // px
        spec = self.market.spec(req["symbol"], venues[0])
        if spec.lot_1e8 > 1:
            qty -= qty % spec.lot_1e8
        if qty <= 0:
            raise BadRequest("notional is below one lot")
        return qty

    def submit(self, key: ApiKey, body: Any) -> dict:
        req = self.parse_order(body)
        crid = req["crid"]
        if crid is not None:
            row = self.journal.db.execute(
                "SELECT order_id FROM idempotency WHERE key_id=? AND client_request_id=?",
                (key.key_id, crid)).fetchone()
            if row is not None:
                res = self.get(row[0], key)
                res["duplicate"] = True
                return res
        if self.killed:
            raise KillSwitchActive("the kill switch is on: routing is stopped (DELETE /v1/kill resumes)")
        sandbox = key.sandbox or req["sandbox"]
        symbol = req["symbol"]
        if symbol not in self.market.slots:
            raise NoRoutableVenue(f"no connected venue lists {symbol}{_catalog_hint(symbol)}")
        venues = self.eligible_venues(symbol, sandbox, req["venue"])
        qty = req["qty"] or self._qty_from_notional(req, venues)
        plan = self._plan(req, qty, venues, sandbox)
        for leg in plan.legs:
            lot = self.market.spec(symbol, leg.venue).lot_1e8
            if lot > 1 and leg.qty_1e8 % lot:
                raise BadRequest(f"qty must be a multiple of the lot size {lot / 1e8:g} on "
                                 f"{VENUE_NAMES[leg.venue]}", code="BAD_QUANTITY")
            tick = self.market.spec(symbol, leg.venue).tick_1e9
            if req["price"] and tick > 1 and req["price"] % tick:
                raise BadRequest(f"price must be a multiple of the tick size {tick / 1e9:g} on "
                                 f"{VENUE_NAMES[leg.venue]}", code="BAD_PRICE")
        self._created = []
        try:
            with self.journal.tx():
                parent = self._create(key, req, qty, plan, sandbox)
                if crid is not None:
                    self.journal.db.execute(
                        "INSERT INTO idempotency(key_id, client_request_id, order_id) VALUES(?,?,?)",
                        (key.key_id, crid, parent.order_id))
                self._events.append(("routing", {"order_id": parent.order_id, **plan.wire()}, key.key_id))
                if sandbox:
                    for cid in parent.children:
                        self._sandbox_match(self.orders[cid], fresh=True)
                    self._parent_state(parent)
        except BaseException:
            self._rolled_back()
            raise
        if not sandbox:
            self._send_new(parent)
        self._flush()
        res = self._result(parent)
        res["routing"] = plan.wire()
        return res

    def _rolled_back(self) -> None:
        """The journal transaction of a submit rolled back: forget what it created in memory and
        reload balances and reservations from the journal (the source of truth)."""
        self._events.clear()
        for oid in self._created:
            o = self.orders.pop(oid, None)
            if o is not None and o.request_id:
                self.by_request.pop(o.request_id, None)
            for s in self.resting.values():
                s.discard(oid)
        self._created = []
        self.ledger.load()

    def _create(self, key: ApiKey, req: dict, qty: int, plan: RoutePlan, sandbox: bool) -> Order:
        gid = str(self.journal.next_counter("graph"))
        t = now_ns()
        node = req["node_id"]
        parent = Order(order_id(gid, node, 0), gid, node, 0, None, key.key_id, req["crid"],
                       req["symbol"], req["side"], req["order_type"], req["tif"], 0, req["price"],
                       qty, sandbox=sandbox, created_ns=t, updated_ns=t)
        self.orders[parent.order_id] = parent
        self._created.append(parent.order_id)
        self._save(parent)
        self.journal.db.execute(
            "INSERT INTO transitions(order_id, ts_ns, from_state, to_state, reason) VALUES(?,?,?,?,?)",
            (parent.order_id, t, None, "new", None))
        for i, leg in enumerate(plan.legs, 1):
            child = Order(order_id(gid, node, i), gid, node, i, parent.order_id, key.key_id, None,
                          req["symbol"], req["side"], req["order_type"], req["tif"], leg.venue,
                          req["price"], leg.qty_1e8, sandbox=sandbox, created_ns=t, updated_ns=t)
            if not sandbox:
                child.request_id = self.journal.next_counter("request")
                self.by_request[child.request_id] = child.order_id
            self.orders[child.order_id] = child
            self._created.append(child.order_id)
            parent.children.append(child.order_id)
            self._save(child)
            self.journal.db.execute(
                "INSERT INTO transitions(order_id, ts_ns, from_state, to_state, reason) VALUES(?,?,?,?,?)",
                (child.order_id, t, None, "new", None))
            self._reserve(child, leg.worst_px_1e9)
        return parent

    def _reserve(self, child: Order, worst_px_1e9: int, *, enforce: bool = True) -> None:
        """Spot: a buy reserves quote (qty x price), a sell its base quantity. Perp: either side
        reserves the notional in the quote (margin) currency, at 1x."""
        spec = self.market.spec(child.symbol, child.venue)
        account = account_of(child.sandbox, spec.instrument_type)
        px = child.price_1e9 or (worst_px_1e9 * (101 if child.side == "buy" else 100) // 100)
        if child.side == "buy" or spec.instrument_type == "perp":
            asset = spec.quote
            amount = -((-child.remaining_1e8 * px) // 10**9)
        else:
            asset = spec.base
            amount = child.remaining_1e8
        if child.sandbox:
            self._seed_sandbox(account, child.venue, spec.base)
            self._seed_sandbox(account, child.venue, spec.quote)
        self.ledger.reserve(child.order_id, account, child.venue, asset, amount,
                            enforce=enforce and self.ledger.knows(account, child.venue))

    def _seed_sandbox(self, account: str, venue: int, asset: str) -> None:
        if (account, venue, asset) not in self.ledger.balances:
            default = 1_000_000 if asset.upper() in _STABLE else 100
            self.ledger.set_balance(account, venue, asset,
                                    self.sandbox_seed.get(asset, default * 10**8))

    def _send_new(self, parent: Order) -> None:
        assert self.transport is not None
        for cid in parent.children:
            c = self.orders[cid]
            c.pending.append("new")
            self.transport.send_new(c, self.market.spec(c.symbol, c.venue))

    # --- sandbox fills ---------------------------------------------------------------------
    def _sandbox_match(self, c: Order, *, fresh: bool) -> None:
        """Fill a sandbox child against the book the CC holds (the book is not consumed: the next
        venue update replaces it). Market / IOC remainders expire; FOK fills fully or expires."""
        book = self.market.books.get((self.market.slot(c.symbol), c.venue))
        side = SIDE_ASK if c.side == "buy" else SIDE_BID
        take = 0
        if book is not None and book.valid:
            limit = c.price_1e9 if c.price_1e9 else ((1 << 62) if c.side == "buy" else 1)
            take = min(c.remaining_1e8, book.depth_qty(side, limit))
            if c.tif == "fok" and take < c.remaining_1e8:
                take = 0
        if fresh:
            self._transition(c, S.ACCEPTED)
        if take:
            filled, notional, avg, _worst = book.fill_cost(side, take)
            self._apply_fill(c, f"sbx:{c.order_id}:{c.filled_1e8 + filled}", avg, filled, notional,
                             0, "taker", now_ns())
        if not c.terminal and (c.order_type == "market" or c.tif in ("ioc", "fok")):
            self._transition(c, S.EXPIRED, "no more liquidity at the limit" if c.price_1e9
                             else "market order remainder: no more liquidity")
        if not c.terminal and fresh:
            self.resting.setdefault((c.symbol, c.venue), set()).add(c.order_id)

    def _on_book(self, symbol: str, venue: int) -> None:
        ids = self.resting.get((symbol, venue))
        if not ids:
            return
        book = self.market.books[(self.market.slots[symbol], venue)]
        if not book.valid:
            return
        bid = book.best_bid_px
        ask = book.best_ask_px
        crossing = [oid for oid in ids if (o := self.orders[oid]).price_1e9 and (
            (o.side == "buy" and ask and ask <= o.price_1e9)
            or (o.side == "sell" and bid and bid >= o.price_1e9))]
        if not crossing:
            return
        with self.journal.tx():
            parents = set()
            for oid in crossing:
                c = self.orders[oid]
                self._sandbox_match(c, fresh=False)
                parents.add(c.parent_id)
            for pid in parents:
                self._parent_state(self.orders[pid])
        self._flush()

    def _apply_fill(self, c: Order, fill_id: str, px_1e9: int, qty_1e8: int, notional_1e17: int,
                    fee_bps: int, liquidity: str, ts_ns: int) -> bool:
        """Record one fill of a child (inside a transaction); a known fill_id is ignored."""
        cur = self.journal.db.execute(
            "INSERT OR IGNORE INTO fills(fill_id, order_id, parent_id, venue, symbol, side, px_1e9, "
            "qty_1e8, fee_bps, liquidity, sandbox, ts_ns) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
            (fill_id, c.order_id, c.parent_id, c.venue, c.symbol, c.side, px_1e9, qty_1e8, fee_bps,
             liquidity, int(c.sandbox), ts_ns))
        if cur.rowcount == 0:
            return False
        qty_1e8 = min(qty_1e8, c.remaining_1e8)
        c.filled_1e8 += qty_1e8
        c.notional_1e17 += notional_1e17
        spec = self.market.specs.get((c.symbol, c.venue))
        quote_amt = notional_1e17 // 10**9
        if c.side == "buy":
            self.ledger.consume(c.order_id, -((-notional_1e17) // 10**9))
        else:
            self.ledger.consume(c.order_id, qty_1e8)
        if c.sandbox and spec is not None and spec.instrument_type != "perp":
            sign = 1 if c.side == "buy" else -1
            self.ledger.adjust("sandbox", c.venue, spec.base, sign * qty_1e8)
            self.ledger.adjust("sandbox", c.venue, spec.quote,
                               -sign * (-((-notional_1e17) // 10**9) if c.side == "buy" else quote_amt))
        if c.terminal:
            # a fill that reached the CC after the order ended (venue race): recorded, state kept
            c.updated_ns = now_ns()
            self._save(c)
            self._events.append(("orders", c.wire(), c.key_id))
        else:
            self._transition(c, S.FILLED if c.remaining_1e8 <= 0 else S.PARTIALLY_FILLED)
        fill = {"fill_id": fill_id, "order_id": c.order_id, "parent_id": c.parent_id,
                "venue": VENUE_NAMES.get(c.venue), "symbol": c.symbol, "side": c.side,
                "price": px_1e9 / 1e9, "price_1e9": px_1e9, "qty": qty_1e8 / 1e8, "qty_1e8": qty_1e8,
                "fee_bps": fee_bps, "liquidity": liquidity, "sandbox": c.sandbox, "ts_ns": ts_ns}
        self._events.append(("fills", fill, c.key_id))
        return True

    # --- venue events (from the edges) -----------------------------------------------------
    def child_for(self, request_id: int, client_order_id: str | None) -> Order | None:
        """The live child a venue message is about: by CC-LINK request id, else by the client
        order id the CC gave the venue (``client_order_id(child)``)."""
        oid = self.by_request.get(request_id) if request_id else None
        if oid is None and client_order_id:
            rid = parse_client_order_id(client_order_id)
            oid = self.by_request.get(rid) if rid else None
        return self.orders.get(oid) if oid else None

    def set_venue_order_id(self, c: Order, venue_order_id: str | None, *, replace: bool = False) -> None:
        """Record the venue's order id (first seen), or a cancel-replace amend's new id."""
        if not venue_order_id or venue_order_id in c.old_venue_ids:
            return
        if c.venue_order_id and not replace:
            return
        if c.venue_order_id and c.venue_order_id != venue_order_id:
            c.old_venue_ids.add(c.venue_order_id)
        if c.venue_order_id != venue_order_id:
            c.venue_order_id = venue_order_id
            with self.journal.tx():
                self._save(c)

    def on_venue_ack(self, oid: str) -> None:
        c = self.orders.get(oid)
        if c is None or c.terminal:
            return
        with self.journal.tx():
            if c.state == S.NEW:
                self._transition(c, S.ACCEPTED)
            self._parent_state(self.orders[c.parent_id])
        self._flush()

    def on_venue_reject(self, oid: str, reason: str) -> None:
        """A venue refused an operation. The order itself is rejected only when the refused
        operation was its placement; a refused cancel / amend / decrease leaves it as it was."""
        c = self.orders.get(oid)
        if c is None or c.terminal:
            return
        placement = "new" in c.pending and c.state == S.NEW
        op = "new" if placement else next((p for p in c.pending if p != "new"), None)
        if op is not None:
            c.pending.remove(op)
        with self.journal.tx():
            if placement or (op is None and c.state == S.NEW):
                self._transition(c, S.REJECTED, reason)
            else:
                if op == "cancel":
                    c.cancel_requested = False
                self.journal.db.execute(
                    "INSERT INTO transitions(order_id, ts_ns, from_state, to_state, reason) "
                    "VALUES(?,?,?,?,?)", (c.order_id, now_ns(), c.state.value, c.state.value,
                                          f"{op or 'operation'} rejected: {reason}"))
                self._events.append(("orders", {**c.wire(), "last_reject": reason}, c.key_id))
            self._parent_state(self.orders[c.parent_id])
        self._flush()

    def answered(self, c: Order, op: str) -> None:
        """The venue answered one operation of this child (an ACK)."""
        if op in c.pending:
            c.pending.remove(op)

    def on_venue_fill(self, oid: str, fill_id: str, px_1e9: int, qty_1e8: int, fee_bps: int,
                      liquidity: str, ts_ns: int) -> bool:
        c = self.orders.get(oid)
        if c is None:
            return False
        if qty_1e8 <= 0 or px_1e9 <= 0:
            return False
        with self.journal.tx():
            new = self._apply_fill(c, fill_id, px_1e9, qty_1e8, qty_1e8 * px_1e9, fee_bps,
                                   liquidity, ts_ns)
            done = self.done_pending.get(c.order_id)
            if done is not None and c.filled_1e8 >= done[2]:
                del self.done_pending[c.order_id]
                if not c.terminal:
                    self._transition(c, done[0], done[1])
            self._parent_state(self.orders[c.parent_id])
        self._flush()
        return new

    def on_venue_done(self, oid: str, state: OrderState, reason: str | None = None,
                      venue_filled_1e8: int = 0) -> None:
        """The venue says the order is over (cancelled / expired). When the venue reports more
        filled than the CC has seen, the end waits for those FILLs (they travel separately)."""
        c = self.orders.get(oid)
        if c is None or c.terminal:
            return
        if c.cancel_requested and state == S.CANCELLED:
            reason = "cancelled by user"
        if venue_filled_1e8 > c.filled_1e8:
            self.done_pending[c.order_id] = (state, reason, venue_filled_1e8)
            return
        with self.journal.tx():
            self._transition(c, state, reason)
            self._parent_state(self.orders[c.parent_id])
        self._flush()

    def on_venue_amended(self, oid: str, qty_1e8: int, px_1e9: int | None,
                         mode: str | None = None) -> None:
        """The venue changed a live child's quantity and/or price; the reservation follows."""
        c = self.orders.get(oid)
        if c is None or c.terminal:
            return
        with self.journal.tx():
            p = self.orders[c.parent_id]
            p.qty_1e8 += qty_1e8 - c.qty_1e8
            c.qty_1e8 = qty_1e8
            if px_1e9:
                c.price_1e9 = px_1e9
                p.price_1e9 = px_1e9
            if mode:
                c.amend_mode = p.amend_mode = mode
            self._save(c)
            if c.remaining_1e8 <= 0:
                self._transition(c, S.FILLED if c.filled_1e8 else S.CANCELLED, "decreased")
            else:
                self.ledger.release(c.order_id)
                self._reserve(c, c.price_1e9 or 0, enforce=False)
                self._events.append(("orders", c.wire(), c.key_id))
            self._save(p)
            self._parent_state(p)
        self._flush()

    # --- user verbs ------------------------------------------------------------------------
    def _lookup(self, oid: str, key: ApiKey | None) -> Order:
        o = self.orders.get(oid)
        if o is None:
            r = self.journal.db.execute("SELECT * FROM orders WHERE order_id=?", (oid,)).fetchone()
            if r is None:
                raise OrderNotFound(f"no order {oid}")
            o = Order.from_row(r)
            if o.seq == 0:
                o.children = [x[0] for x in self.journal.db.execute(
                    "SELECT order_id FROM orders WHERE parent_id=? ORDER BY seq", (oid,))]
        if key is not None and o.key_id != key.key_id and "admin" not in key.scopes:
            raise OrderNotFound(f"no order {oid}")
        return o

    def _child(self, cid: str) -> Order:
        return self._lookup(cid, None)

    def _result(self, parent: Order) -> dict:
        d = parent.wire()
        d["children"] = [self._child(c).wire() for c in parent.children]
        venues = sorted({self._child(c).venue for c in parent.children})
        d["venues"] = [VENUE_NAMES.get(v) for v in venues]
        return d

    def get(self, oid: str, key: ApiKey | None) -> dict:
        o = self._lookup(oid, key)
        if o.seq != 0:
            return o.wire()
        return self._result(o)

    def list_open(self, key: ApiKey) -> list[dict]:
        return [self._result(o) for o in self.orders.values()
                if o.seq == 0 and not o.terminal and (o.key_id == key.key_id or "admin" in key.scopes)]

    def fills(self, key: ApiKey, oid: str | None = None, limit: int = 100) -> list[dict]:
        q = ("SELECT f.fill_id, f.order_id, f.parent_id, f.venue, f.symbol, f.side, f.px_1e9, f.qty_1e8, "
             "f.fee_bps, f.liquidity, f.sandbox, f.ts_ns FROM fills f JOIN orders o ON o.order_id=f.order_id")
        args: list = []
        where = []
        if "admin" not in key.scopes:
            where.append("o.key_id=?")
            args.append(key.key_id)
        if oid:
            where.append("(f.order_id=? OR f.parent_id=?)")
            args += [oid, oid]
        if where:
            q += " WHERE " + " AND ".join(where)
        q += " ORDER BY f.ts_ns DESC LIMIT ?"
        args.append(max(1, min(int(limit), 1000)))
        return [{"fill_id": r[0], "order_id": r[1], "parent_id": r[2], "venue": VENUE_NAMES.get(r[3]),
                 "symbol": r[4], "side": r[5], "price": r[6] / 1e9, "price_1e9": r[6],
                 "qty": r[7] / 1e8, "qty_1e8": r[7], "fee_bps": r[8], "liquidity": r[9],
                 "sandbox": bool(r[10]), "ts_ns": r[11]}
                for r in self.journal.db.execute(q, args)]

    def _open_children(self, o: Order) -> list[Order]:
        kids = [o] if o.seq else [self.orders[c] for c in o.children]
        return [k for k in kids if not k.terminal]

    def cancel(self, oid: str, key: ApiKey | None, reason: str = "cancelled by user") -> dict:
        o = self._lookup(oid, key)
        if o.terminal:
            raise OrderNotOpen(f"order {oid} is already {o.state.value}")
        with self.journal.tx():
            for c in self._open_children(o):
                if c.sandbox:
                    self._transition(c, S.CANCELLED, reason)
                else:
                    c.cancel_requested = True
                    self.journal.db.execute(
                        "INSERT INTO transitions(order_id, ts_ns, from_state, to_state, reason) "
                        "VALUES(?,?,?,?,?)", (c.order_id, now_ns(), c.state.value, c.state.value,
                                              "cancel_requested"))
            parent = o if o.seq == 0 else self.orders[o.parent_id]
            self._parent_state(parent)
        for c in self._open_children(o):
            if not c.sandbox and self.transport is not None:
                c.pending.append("cancel")
                self.transport.send_cancel(c, self.market.spec(c.symbol, c.venue))
        self._flush()
        return self.get(oid, key)

    def amend(self, oid: str, key: ApiKey, body: Any) -> dict:
        if not isinstance(body, dict):
            raise BadRequest("the amend body must be a JSON object")
        o = self._lookup(oid, key)
        if o.terminal:
            raise OrderNotOpen(f"order {oid} is already {o.state.value}")
        new_qty = _scaled(body, "qty", "qty_1e8", 10**8)
        new_px = _scaled(body, "price", "price_1e9", 10**9)
        if new_qty is None and new_px is None:
            raise BadRequest("amend needs qty (qty_1e8) and/or price (price_1e9)")
        kids = self._open_children(o)
        if len(kids) != 1:
            raise NotSupported("amend of an order with several open venue legs is not supported; "
                               "amend each child order")
        c = kids[0]
        if new_px is not None and (new_px <= 0 or c.order_type != "limit"):
            raise BadRequest("only a limit order's price can be amended, to a positive price")
        if new_qty is not None and new_qty <= c.filled_1e8:
            raise BadRequest("the new quantity must be above the filled quantity; use cancel")
        parent = self.orders[c.parent_id]
        mode = amend_mode(c.venue, c.sandbox)
        qty = new_qty if new_qty is not None else c.qty_1e8
        px = new_px if new_px is not None else c.price_1e9
        if c.sandbox:
            with self.journal.tx():
                # cancel + replace: the old leg ends, a new leg (next seq) takes its place
                self._transition(c, S.CANCELLED, "replaced by amend")
                n = Order(order_id(c.graph_id, c.node_id, len(parent.children) + 1), c.graph_id,
                          c.node_id, len(parent.children) + 1, parent.order_id, c.key_id, None,
                          c.symbol, c.side, c.order_type, c.tif, c.venue, px, qty - c.filled_1e8,
                          sandbox=True, amend_mode=mode, created_ns=now_ns(), updated_ns=now_ns())
                self.orders[n.order_id] = n
                parent.children.append(n.order_id)
                parent.qty_1e8 += (qty - c.qty_1e8)
                parent.price_1e9 = px
                parent.amend_mode = mode
                self._save(n)
                self.journal.db.execute(
                    "INSERT INTO transitions(order_id, ts_ns, from_state, to_state, reason) VALUES(?,?,?,?,?)",
                    (n.order_id, n.created_ns, None, "new", f"replaces {c.order_id}"))
                self._reserve(n, px or 0)
                self._sandbox_match(n, fresh=True)
                self._parent_state(parent)
            self._flush()
        else:
            with self.journal.tx():
                parent.amend_mode = mode
                self._save(parent)
            assert self.transport is not None
            c.pending.append("amend")
            self.transport.send_amend(c, self.market.spec(c.symbol, c.venue), qty, new_px)
        res = self.get(parent.order_id, key)
        res["amend_mode"] = mode
        return res

    def decrease(self, oid: str, key: ApiKey, body: Any) -> dict:
        if not isinstance(body, dict):
            raise BadRequest("the decrease body must be a JSON object")
        o = self._lookup(oid, key)
        if o.terminal:
            raise OrderNotOpen(f"order {oid} is already {o.state.value}")
        by = _scaled(body, "qty", "qty_1e8", 10**8, required=True)
        if by is None or by <= 0:
            raise BadRequest("decrease qty must be positive")
        kids = sorted(self._open_children(o), key=lambda k: -k.seq)
        if by > sum(k.remaining_1e8 for k in kids):
            raise BadRequest("cannot decrease by more than the open quantity; use cancel")
        parent = o if o.seq == 0 else self.orders[o.parent_id]
        left = by
        with self.journal.tx():
            for c in kids:
                if not left:
                    break
                d = min(left, c.remaining_1e8)
                left -= d
                if c.sandbox:
                    c.qty_1e8 -= d
                    parent.qty_1e8 -= d
                    r = self.ledger.reservations.get(c.order_id)
                    if r is not None:
                        self.ledger.consume(c.order_id, d if c.side == "sell" else
                                            -((-d * (c.price_1e9 or 0)) // 10**9))
                    self._save(c)
                    if c.remaining_1e8 == 0:
                        self._transition(c, S.FILLED if c.filled_1e8 else S.CANCELLED, "decreased")
                    else:
                        self._events.append(("orders", c.wire(), c.key_id))
                else:
                    assert self.transport is not None
                    c.pending.append("decrease")
                    c.decrease_to = c.qty_1e8 - d
                    self.transport.send_decrease(c, self.market.spec(c.symbol, c.venue), d)
            self._parent_state(parent)
        self._flush()
        return self.get(parent.order_id, key)

    def batch(self, key: ApiKey, body: Any) -> dict:
        items = body.get("orders") if isinstance(body, dict) else body
        if not isinstance(items, list) or not items:
            raise BadRequest("batch needs a non-empty list of orders")
        if len(items) > 100:
            raise BadRequest("at most 100 orders per batch")
        results = []
        for it in items:
            try:
                results.append({"ok": True, "order": self.submit(key, it)})
            except SeqkernError as exc:
                results.append({"ok": False, "error": {"code": exc.code, "message": exc.message}})
        return {"batch_mode": batch_mode(None), "results": results}

    def kill(self, key: ApiKey | None) -> dict:
        with self.journal.tx():
            self.journal.set_meta("kill_switch", "1")
        self.killed = True
        n = 0
        for o in list(self.orders.values()):
            if o.seq == 0 and not o.terminal:
                try:
                    self.cancel(o.order_id, None, "kill switch")
                    n += 1
                except OrderNotOpen:
                    pass
        self.publish("routing", {"kill_switch": True, "cancelled": n}, None)
        return {"kill_switch": True, "cancelled_orders": n}

    def resume(self) -> dict:
        with self.journal.tx():
            self.journal.set_meta("kill_switch", "0")
        self.killed = False
        self.publish("routing", {"kill_switch": False}, None)
        return {"kill_switch": False}


def account_of(sandbox: bool, instrument_type: str) -> str:
    """Ledger account: live / sandbox, with perps apart (a venue's futures wallet is not its spot
    wallet, though both share the venue id)."""
    base = "sandbox" if sandbox else "live"
    return base + ":perp" if instrument_type == "perp" else base


def _catalog_hint(symbol: str) -> str:
    """Where the venue catalog lists a symbol (so an error can say which venues would serve it)."""
    from seqkern.venues import DEFAULT_PAIRSPECS

    venues = sorted({VENUE_NAMES.get(s.venue_id, str(s.venue_id)) for s in DEFAULT_PAIRSPECS
                     if s.symbol == symbol})
    return f" (the catalog lists {symbol} on {', '.join(venues)})" if venues else ""


_USER_CANCEL = frozenset({"cancelled by user", "kill switch"})
PERP_SUFFIX = "-PERP"   # the CC's market name of a perpetual: BTC-USDT-PERP (docs/api.md)
CLIENT_ID_PREFIX = "sk"


def client_order_id(child: Order) -> str:
    """The client order id the venue sees: short and within every venue's charset."""
    return f"{CLIENT_ID_PREFIX}{child.request_id}"


def parse_client_order_id(text: str) -> int:
    if text.startswith(CLIENT_ID_PREFIX) and text[len(CLIENT_ID_PREFIX):].isdigit():
        return int(text[len(CLIENT_ID_PREFIX):])
    return 0


def _allowed(state: OrderState) -> frozenset[OrderState]:
    from seqkern.cc.orders import TRANSITIONS
    return TRANSITIONS[state]


__all__ = ["InsufficientBalance", "OrderEngine", "UnknownSymbol", "VenueTransport"]
