"""Typed SDK results: orders with their mode fields, fills, quotes, route previews, edges, pairs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seqkern.errors import SeqkernError


class ApiError(SeqkernError):
    """An error answered by the CC: ``code`` is the API's code, ``status`` the HTTP status."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message, code=code)
        self.status = status

    def __repr__(self) -> str:
        return f"ApiError(code={self.code!r}, status={self.status}, message={self.message!r})"


@dataclass(frozen=True, slots=True)
class Fill:
    fill_id: str
    order_id: str
    venue: str | None
    symbol: str
    side: str
    price: float
    price_1e9: int
    qty: float
    qty_1e8: int
    fee_bps: int
    liquidity: str
    sandbox: bool
    ts_ns: int

    @classmethod
    def from_wire(cls, d: dict) -> Fill:
        return cls(d["fill_id"], d["order_id"], d.get("venue"), d["symbol"], d["side"], d["price"],
                   d["price_1e9"], d["qty"], d["qty_1e8"], d.get("fee_bps", 0),
                   d.get("liquidity", ""), d.get("sandbox", False), d["ts_ns"])


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the CC reports it. ``amend_mode`` ("native_atomic" | "cancel_replace") and
    ``redeem_mode`` ("auto_settled" | "relayer_submitted") say which path really ran."""

    order_id: str
    symbol: str
    side: str
    status: str
    terminal: bool
    qty: float
    qty_1e8: int
    filled_qty: float
    filled_qty_1e8: int
    fill_pct: float
    avg_price: float | None
    price: float | None
    venue: str | None
    venues: tuple[str, ...]
    sandbox: bool
    failure_reason: str | None
    amend_mode: str | None
    redeem_mode: str | None
    client_request_id: str | None
    duplicate: bool
    children: tuple[Order, ...] = ()
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: dict) -> Order:
        return cls(d["order_id"], d["symbol"], d["side"], d["status"], d["terminal"], d["qty"],
                   d["qty_1e8"], d["filled_qty"], d["filled_qty_1e8"], d["fill_pct"],
                   d.get("avg_price"), d.get("price"), d.get("venue"), tuple(d.get("venues") or ()),
                   d.get("sandbox", False), d.get("failure_reason"), d.get("amend_mode"),
                   d.get("redeem_mode"), d.get("client_request_id"), d.get("duplicate", False),
                   tuple(cls.from_wire(c) for c in d.get("children") or ()), d)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """``batch_mode`` is "serial" or "native_atomic"; one entry per submitted order, in order:
    an Order, or the ApiError that order got."""

    batch_mode: str
    results: tuple[Order | ApiError, ...]

    @classmethod
    def from_wire(cls, d: dict) -> BatchResult:
        out: list[Order | ApiError] = []
        for r in d["results"]:
            if r["ok"]:
                out.append(Order.from_wire(r["order"]))
            else:
                out.append(ApiError(r["error"]["code"], r["error"]["message"], 0))
        return cls(d["batch_mode"], tuple(out))


@dataclass(frozen=True, slots=True)
class VenueQuote:
    bid: float | None
    ask: float | None
    bid_size: float
    ask_size: float


@dataclass(frozen=True, slots=True)
class Quote:
    """GET /v1/quotes/{symbol}: the NBBO and each venue's best."""

    symbol: str
    bid: float | None
    ask: float | None
    mid: float | None
    spread_bps: float | None
    venues: dict[str, VenueQuote]
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: dict) -> Quote:
        n = d["nbbo"]
        return cls(d["symbol"], n["bid"], n["ask"], n["mid"], n["spread_bps"],
                   {k: VenueQuote(v["bid"], v["ask"], v["bid_size"], v["ask_size"])
                    for k, v in d["venues"].items()}, d)


@dataclass(frozen=True, slots=True)
class RouteLeg:
    venue: str
    qty: float
    qty_1e8: int
    expected_price: float | None


@dataclass(frozen=True, slots=True)
class Preview:
    """The SOR's plan for an order, nothing sent: legs and the expected cost vs. the mid."""

    symbol: str
    side: str
    qty: float
    expected_cost_bps: float | None
    legs: tuple[RouteLeg, ...]
    sandbox: bool
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: dict) -> Preview:
        p = d["plan"]
        return cls(p["symbol"], p["side"], p["qty"], p.get("expected_cost_bps"),
                   tuple(RouteLeg(g["venue"], g["qty"], g["qty_1e8"], g.get("expected_price"))
                         for g in p["legs"]), d.get("sandbox", False), d)


@dataclass(frozen=True, slots=True)
class Edge:
    edge_id: str
    region: str
    syms: int
    bbo: int
    age_ms: int | None
    connected: bool
    last_seen_ms: int
    remote: bool
    symbols: tuple[str, ...] | None

    @classmethod
    def from_wire(cls, d: dict) -> Edge:
        return cls(d["edge_id"], d["region"], d["syms"], d["bbo"], d.get("age_ms"),
                   d.get("connected", True), d.get("last_seen_ms", 0), d.get("remote", False),
                   tuple(d["symbols"]) if "symbols" in d else None)


@dataclass(frozen=True, slots=True)
class Pair:
    symbol: str
    base: str | None
    quote: str | None
    venues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VenueListing:
    venue: str
    venue_id: int
    instrument_type: str
    credentials: bool
    connected: bool


@dataclass(frozen=True, slots=True)
class StreamEvent:
    channel: str
    data: Any
    snapshot: bool = False
