"""The smart order router's Python face: typed parents, venue candidates and route plans."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from seqkern._book import L2Book
from seqkern._sor import (
    BUY,
    FOK,
    GTC,
    IOC,
    N_SLOTS,
    SELL,
    UNFILLED_REASON,
    VENUE_STATUS,
    MidVolatility,
    Router,
)
from seqkern.errors import RouteError

__all__ = [
    "ChildOrder",
    "CostBreakdown",
    "ExcludedVenue",
    "MidVolatility",
    "Parent",
    "RoutePlan",
    "Router",
    "Side",
    "TimeInForce",
    "UnfilledReason",
    "VenueCandidate",
    "VenueQuote",
    "VenueStatus",
    "route",
]

_I64_MAX = (1 << 63) - 1
_E16 = 10**16


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class TimeInForce(StrEnum):
    IOC = "ioc"    # take what the books offer now; the rest is reported unfilled
    FOK = "fok"    # all or nothing: no children unless the whole parent fills
    GTC = "gtc"    # same split as IOC; the CC decides where an unfilled remainder rests


class VenueStatus(StrEnum):
    """Why a candidate venue took no part (codes shared with the compiled router)."""

    OK = "OK"
    NOT_LISTED = "NOT_LISTED"
    WRONG_INSTRUMENT = "WRONG_INSTRUMENT"
    NO_CREDENTIALS = "NO_CREDENTIALS"
    DISCONNECTED = "DISCONNECTED"
    STALE = "STALE"
    EXCLUDED = "EXCLUDED"
    NOT_PINNED = "NOT_PINNED"
    BOOK_INVALID = "BOOK_INVALID"
    EMPTY_SIDE = "EMPTY_SIDE"
    TOO_COSTLY = "TOO_COSTLY"
    BEYOND_LIMIT = "BEYOND_LIMIT"
    BALANCE = "BALANCE"
    BELOW_LOT = "BELOW_LOT"
    DEPTH = "DEPTH"
    MIN_QTY = "MIN_QTY"
    MIN_NOTIONAL = "MIN_NOTIONAL"


class UnfilledReason(StrEnum):
    NONE = "NONE"
    NO_VENUE = "NO_VENUE"
    LIMIT = "LIMIT"
    BALANCE = "BALANCE"
    MIN_SIZE = "MIN_SIZE"
    LOT = "LOT"
    DEPTH = "DEPTH"
    FOK = "FOK"


_STATUS_CODE = {name: code for code, name in VENUE_STATUS.items()}
_NOT_LISTED = _STATUS_CODE["NOT_LISTED"]
_STATUS = {code: VenueStatus(name) for code, name in VENUE_STATUS.items()}
_REASON = {code: UnfilledReason(name) for code, name in UNFILLED_REASON.items()}
_TIF_CODE = {TimeInForce.IOC: IOC, TimeInForce.FOK: FOK, TimeInForce.GTC: GTC}


@dataclass(frozen=True, slots=True)
class Parent:
    """The order to split: exact symbol, side, quantity x 1e8, optional limit price x 1e9."""

    symbol: str
    side: Side
    qty_1e8: int
    limit_px_1e9: int | None = None
    tif: TimeInForce = TimeInForce.IOC
    venue: int | None = None                 # pin: route only to this venue slot
    exclude: frozenset[int] = frozenset()    # venue slots never to use
    instrument_type: str | None = None       # "spot" / "perp" / "binary"; None: as listed
    symbol_slot: int = 0                     # the symbol's slot in MidVolatility / BboMatrix


@dataclass(frozen=True, slots=True)
class VenueCandidate:
    """One venue's listing of a symbol (PairSpec fields) plus its routing state.

    ``balance`` is what is available after reservations: for a buy, quote currency x 1e9 (the
    venue reserves qty x limit price x (1 + taker fee) of it); for a sell, base quantity x 1e8.
    None means no cap. ``max_qty_1e8`` is an extra base-quantity cap for either side.
    """

    venue_id: int
    symbol: str
    instrument_type: str
    tick_1e9: int
    lot_1e8: int
    min_qty_1e8: int
    min_notional_1e9: int
    maker_fee_bps: float
    taker_fee_bps: float
    book: L2Book | None = None
    edge_rtt_ns: int = 0          # CC <-> edge <-> venue round trip, ns
    peer_rtt_ns: int = 0          # peer-link RTT when another region's CC owns the venue, ns
    balance: int | None = None
    max_qty_1e8: int | None = None
    connected: bool = True
    stale: bool = False
    has_credentials: bool = True

    @property
    def latency_ns(self) -> int:
        return self.edge_rtt_ns + self.peer_rtt_ns

    @classmethod
    def from_pair_spec(cls, spec: Any, *, symbol: str | None = None, **state: Any) -> VenueCandidate:
        """Build from any object with PairSpec's field names (venue_id, instrument_type, ...).

        A prediction-market PairSpec lists the market; for a leg's book pass ``symbol=`` the
        leg (``"KXBTCZ-26DEC31-T99000:NO"``), since the router matches symbols exactly.
        """
        sym = symbol if symbol is not None else spec.symbol
        return cls(venue_id=spec.venue_id, symbol=sym, instrument_type=spec.instrument_type,
                   tick_1e9=spec.tick_1e9, lot_1e8=spec.lot_1e8, min_qty_1e8=spec.min_qty_1e8,
                   min_notional_1e9=spec.min_notional_1e9, maker_fee_bps=spec.maker_fee_bps,
                   taker_fee_bps=spec.taker_fee_bps, **state)


@dataclass(frozen=True, slots=True)
class ChildOrder:
    venue_id: int
    qty_1e8: int
    limit_px_1e9: int            # worst level taken at this venue
    notional_1e9: int            # sum of level px x qty, rounded against the taker
    fee_1e9: int                 # expected taker fee (quote x 1e9, rounded up)
    latency_penalty_1e9: int     # expected adverse move before arrival (quote x 1e9, rounded up)
    taker_fee_bps: float
    latency_ns: int
    tif: TimeInForce


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    notional_1e9: int
    fees_1e9: int
    latency_penalty_1e9: int
    fees_bps: float              # relative to the notional
    latency_bps: float
    total_bps: float


@dataclass(frozen=True, slots=True)
class ExcludedVenue:
    venue_id: int
    reason: VenueStatus


@dataclass(frozen=True, slots=True)
class VenueQuote:
    """A venue's touch and its landed cost: touch x (1 + fee + latency penalty) for a buy,
    touch x (1 - fee - latency penalty) for a sell, rounded against the taker."""

    venue_id: int
    touch_px_1e9: int
    landed_px_1e9: int


@dataclass(frozen=True, slots=True)
class RoutePlan:
    symbol: str
    side: Side
    qty_1e8: int
    filled_qty_1e8: int
    unfilled_qty_1e8: int
    unfilled_reason: UnfilledReason
    children: tuple[ChildOrder, ...]
    avg_px_1e9: int | None       # expected average price, rounded against the taker
    all_in_px_1e9: int | None    # including fees and latency penalties
    costs: CostBreakdown
    excluded: tuple[ExcludedVenue, ...] = field(default=())
    ranking: tuple[VenueQuote, ...] = field(default=())   # venues that took part, best first
    sigma_bps_sqrt_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict for the CC's quote endpoint."""
        return asdict(self)


def _ratio_bps(part: int, whole: int) -> float:
    return part * 10_000 / whole if whole else 0.0


def route(parent: Parent, candidates: Iterable[VenueCandidate], *,
          volatility: MidVolatility | float | None = None, risk_mult: float = 1.0,
          router: Router | None = None) -> RoutePlan:
    """Split a parent across the candidates' venue slots; see docs/sor.md for the model."""
    if not isinstance(parent.symbol, str) or not parent.symbol:
        raise RouteError("parent symbol must be a non-empty string")
    try:
        side = Side(parent.side)
        tif = TimeInForce(parent.tif)
    except ValueError as exc:
        raise RouteError(f"bad parent: {exc}") from None
    if parent.qty_1e8 <= 0 or parent.qty_1e8 > _I64_MAX:
        raise RouteError("parent quantity must be within 1..2^63-1 (qty_1e8)")
    if parent.limit_px_1e9 is not None and not 0 < parent.limit_px_1e9 <= _I64_MAX:
        raise RouteError("parent limit price must be positive (px_1e9)")
    if parent.venue is not None and not 0 <= parent.venue < N_SLOTS:
        raise RouteError(f"pinned venue {parent.venue} outside 0..{N_SLOTS - 1}")
    exclude_mask = 0
    for v in parent.exclude:
        if not 0 <= v < N_SLOTS:
            raise RouteError(f"excluded venue {v} outside 0..{N_SLOTS - 1}")
        exclude_mask |= 1 << v

    books: list[L2Book | None] = [None] * N_SLOTS
    status = [_NOT_LISTED] * N_SLOTS
    fee = [0.0] * N_SLOTS
    latency = [0] * N_SLOTS
    cap_notional = [_I64_MAX] * N_SLOTS
    cap_qty = [_I64_MAX] * N_SLOTS
    lot = [1] * N_SLOTS
    min_qty = [0] * N_SLOTS
    min_notional = [0] * N_SLOTS
    given: dict[int, VenueCandidate] = {}
    for c in candidates:
        v = c.venue_id
        if not isinstance(v, int) or not 0 <= v < N_SLOTS:
            raise RouteError(f"candidate venue_id {v!r} outside 0..{N_SLOTS - 1}")
        if v in given:
            raise RouteError(f"two candidates for venue slot {v}")
        if c.lot_1e8 <= 0 or c.min_qty_1e8 < 0 or c.min_notional_1e9 < 0:
            raise RouteError(f"venue slot {v}: lot must be > 0 and minimums >= 0")
        if c.balance is not None and c.balance < 0:
            raise RouteError(f"venue slot {v}: balance must be >= 0")
        if c.edge_rtt_ns < 0 or c.peer_rtt_ns < 0:
            raise RouteError(f"venue slot {v}: round-trip times must be >= 0 ns")
        given[v] = c
        if c.symbol != parent.symbol:
            st = "NOT_LISTED"
        elif parent.instrument_type is not None and c.instrument_type != parent.instrument_type:
            st = "WRONG_INSTRUMENT"
        elif not c.has_credentials:
            st = "NO_CREDENTIALS"
        elif not c.connected:
            st = "DISCONNECTED"
        elif c.stale:
            st = "STALE"
        else:
            st = "OK"
        status[v] = _STATUS_CODE[st]
        books[v] = c.book
        fee[v] = c.taker_fee_bps
        latency[v] = c.latency_ns
        lot[v] = c.lot_1e8
        min_qty[v] = c.min_qty_1e8
        min_notional[v] = c.min_notional_1e9
        qcap = _I64_MAX if c.max_qty_1e8 is None else c.max_qty_1e8
        if c.balance is not None:
            if side is Side.BUY:
                cap_notional[v] = min(c.balance, _I64_MAX)
            else:
                qcap = min(qcap, c.balance)
        cap_qty[v] = qcap

    if isinstance(volatility, MidVolatility):
        sigma = volatility.sigma_bps_sqrt_s(parent.symbol_slot)
    else:
        sigma = float(volatility or 0.0)
    r = router if router is not None else Router()
    try:
        r.status[:] = status
        r.taker_fee_bps[:] = fee
        r.latency_ns[:] = latency
        r.cap_notional_1e9[:] = cap_notional
        r.cap_qty_1e8[:] = cap_qty
        r.lot_1e8[:] = lot
        r.min_qty_1e8[:] = min_qty
        r.min_notional_1e9[:] = min_notional
    except (OverflowError, TypeError, ValueError) as exc:
        raise RouteError(f"bad venue candidate field: {exc}") from None
    r.route_table(books, BUY if side is Side.BUY else SELL, parent.qty_1e8,
                  parent.limit_px_1e9 or 0, _TIF_CODE[tif], sigma, risk_mult,
                  -1 if parent.venue is None else parent.venue, exclude_mask)
    filled, notional, avg, allin, fees, lat = r.result()

    buy_side = side is Side.BUY
    children = tuple(
        ChildOrder(venue_id=v, qty_1e8=q, limit_px_1e9=lim,
                   notional_1e9=-(-n // 10**8) if buy_side else n // 10**8,
                   fee_1e9=-(-n * fe // _E16), latency_penalty_1e9=-(-n * le // _E16),
                   taker_fee_bps=given[v].taker_fee_bps, latency_ns=given[v].latency_ns, tif=tif)
        for v, q, lim, n, fe, le in r.children())
    vs = r.venue_status.tolist()
    excluded = tuple(ExcludedVenue(v, _STATUS[vs[v]]) for v in sorted(given) if vs[v] != 0)
    ranking = tuple(VenueQuote(v, touch, landed) for v, touch, landed in r.ranking())
    notional_1e9 = -(-notional // 10**8) if side is Side.BUY else notional // 10**8
    costs = CostBreakdown(
        notional_1e9=notional_1e9, fees_1e9=fees, latency_penalty_1e9=lat,
        fees_bps=_ratio_bps(fees, notional_1e9), latency_bps=_ratio_bps(lat, notional_1e9),
        total_bps=_ratio_bps(fees + lat, notional_1e9))
    return RoutePlan(
        symbol=parent.symbol, side=side, qty_1e8=parent.qty_1e8, filled_qty_1e8=filled,
        unfilled_qty_1e8=parent.qty_1e8 - filled,
        unfilled_reason=_REASON[r.unfilled_reason],
        children=children, avg_px_1e9=avg if filled else None,
        all_in_px_1e9=allin if filled else None, costs=costs, excluded=excluded,
        ranking=ranking, sigma_bps_sqrt_s=sigma)
