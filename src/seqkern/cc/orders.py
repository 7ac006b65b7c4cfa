"""Orders: the explicit state machine, parent (graph node) and child (per-venue leg) orders, their
ids ``graph:<graph_id>:<node_id>:<seq>`` and their wire shape."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from seqkern.cc.venueinfo import VENUE_NAMES, redeem_mode
from seqkern.errors import InvalidTransition


class OrderState(enum.StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


S = OrderState
TERMINAL = frozenset({S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED})
# A fill or a cancel may overtake the venue's acknowledgement on the wire, hence NEW -> fills.
TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    S.NEW: frozenset({S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}),
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}

SIDES = ("buy", "sell")
ORDER_TYPES = ("market", "limit")
TIFS = ("gtc", "ioc", "fok")


def check_transition(order_id: str, old: OrderState, new: OrderState) -> None:
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(f"order {order_id}: {old.value} -> {new.value} is not allowed")


def order_id(graph_id: str, node_id: str, seq: int) -> str:
    return f"graph:{graph_id}:{node_id}:{seq}"


@dataclass(slots=True)
class Order:
    """A parent (seq 0: the graph node the user submitted) or a child (seq >= 1: one venue leg)."""

    order_id: str
    graph_id: str
    node_id: str
    seq: int
    parent_id: str | None
    key_id: str
    client_request_id: str | None
    symbol: str
    side: str
    order_type: str
    tif: str
    venue: int
    price_1e9: int | None
    qty_1e8: int
    filled_1e8: int = 0
    notional_1e17: int = 0
    state: OrderState = S.NEW
    sandbox: bool = False
    reason: str | None = None
    amend_mode: str | None = None
    created_ns: int = 0
    updated_ns: int = 0
    request_id: int = 0                  # CC-LINK request id of a live child (0 = none)
    venue_order_id: str | None = None    # the venue's id, once acknowledged
    children: list[str] = field(default_factory=list)
    cancel_requested: bool = False
    pending: list[str] = field(default_factory=list)   # ops sent to the venue, not yet answered
    old_venue_ids: set[str] = field(default_factory=set)  # ids a cancel-replace amend retired
    decrease_to: int = 0                 # the quantity a pending decrease asked for (absolute)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def remaining_1e8(self) -> int:
        return self.qty_1e8 - self.filled_1e8

    @property
    def avg_px_1e9(self) -> int:
        return self.notional_1e17 // self.filled_1e8 if self.filled_1e8 else 0

    def row(self) -> tuple:
        return (self.order_id, self.graph_id, self.node_id, self.seq, self.parent_id, self.key_id,
                self.client_request_id, self.symbol, self.side, self.order_type, self.tif,
                self.venue, self.price_1e9, self.qty_1e8, self.filled_1e8, str(self.notional_1e17),
                self.state.value, int(self.sandbox), self.reason, self.amend_mode,
                self.created_ns, self.updated_ns, self.request_id, self.venue_order_id)

    @classmethod
    def from_row(cls, r: tuple) -> Order:
        return cls(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
                   r[13], r[14], int(r[15]), OrderState(r[16]), bool(r[17]), r[18], r[19], r[20],
                   r[21], r[22], r[23])

    def wire(self) -> dict:
        """The API shape: human floats beside the scaled integers, status, fill %, terminal."""
        d = {
            "order_id": self.order_id, "graph_id": self.graph_id, "node_id": self.node_id,
            "parent_id": self.parent_id, "client_request_id": self.client_request_id,
            "symbol": self.symbol, "side": self.side, "order_type": self.order_type,
            "time_in_force": self.tif,
            "venue": VENUE_NAMES.get(self.venue) if self.venue else None,
            "price": self.price_1e9 / 1e9 if self.price_1e9 else None, "price_1e9": self.price_1e9,
            "qty": self.qty_1e8 / 1e8, "qty_1e8": self.qty_1e8,
            "filled_qty": self.filled_1e8 / 1e8, "filled_qty_1e8": self.filled_1e8,
            "fill_pct": round(100.0 * self.filled_1e8 / self.qty_1e8, 6) if self.qty_1e8 else 0.0,
            "avg_price": self.avg_px_1e9 / 1e9 if self.filled_1e8 else None,
            "avg_price_1e9": self.avg_px_1e9 if self.filled_1e8 else None,
            "status": self.state.value, "terminal": self.terminal,
            "failure_reason": self.reason if self.state in (S.REJECTED, S.EXPIRED, S.CANCELLED) else None,
            "sandbox": self.sandbox, "amend_mode": self.amend_mode,
            "created_ns": self.created_ns, "updated_ns": self.updated_ns,
        }
        if self.venue:
            rm = redeem_mode(self.venue)
            if rm:
                d["redeem_mode"] = rm
        if self.cancel_requested and not self.terminal:
            d["cancel_requested"] = True
        return d
