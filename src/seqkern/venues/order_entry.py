"""Order-entry pieces the CEX adapters share: venue codes to kernel enums, order identifiers,
refusals, venue answers, and an order's queried trades as fills.

Each venue passes its own spellings (field names, code tables, error codes) as data; the rules
here are the ones the venues have in common.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import orjson

from seqkern.venues.base import FillEvent, OrderResult, Side, VenueMessageError, VenueRejected

T = TypeVar("T")


def enum_from(table: Mapping[str, T], text: str, what: str) -> T:
    """A venue code (order status, side) to its kernel value; an unknown code is a bad message."""
    try:
        return table[text]
    except KeyError:
        raise VenueMessageError(f"unknown {what} {text!r}") from None


def order_ident(venue_order_id: int | str | None, client_order_id: str, *, id_key: str, cid_key: str,
                venue_code: int | str | None = None, id_as_text: bool = True) -> dict[str, Any]:
    """The request field naming an order: the venue order id when known, else the client order id;
    neither is a refusal (``venue_code``: the venue's own code for a missing parameter)."""
    if venue_order_id is not None:
        return {id_key: str(venue_order_id) if id_as_text else venue_order_id}
    if client_order_id:
        return {cid_key: client_order_id}
    raise VenueRejected("an order id or a client order id is required", venue_code=venue_code)


def rejected(venue_symbol: str, client_order_id: str, exc: VenueRejected) -> OrderResult:
    """The result of a request the venue (or the adapter, before sending) refused."""
    return OrderResult(False, venue_symbol, client_order_id, None, None, 0, exc.venue_code, exc.message)


def answer_object(body: bytes | str, what: str) -> dict[str, Any]:
    """A venue's JSON answer that must be an object; anything else is a bad message (``what``: whose)."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise VenueMessageError(f"{what}: unreadable answer") from None
    if not isinstance(obj, dict):
        raise VenueMessageError(f"{what}: unexpected answer")
    return obj


FillFields = tuple[int, int, str, str, bool, int, int]
"""One trade row read by a venue: (qty_1e8, px_1e9, fee, fee asset, maker, trade id, ts_event_ns)."""


def order_fills(rows: Sequence[Any], *, order: tuple[str, int | str, str, Side], sort_key: Callable[[Any], Any],
                is_mine: Callable[[Any], bool], read: Callable[[Any], FillFields], what: str,
                now_ns: int) -> list[FillEvent]:
    """An order's trades as the venue lists them (queried for reconciliation), oldest first by
    ``sort_key``, with the cumulative quantity: ``order`` = (venue symbol, venue order id, client
    order id, side); ``is_mine`` keeps the order's own trades; a row the venue wrote wrongly is
    VenueMessageError(``what``: unreadable answer)."""
    venue_symbol, oid, cid, side = order
    fills: list[FillEvent] = []
    cum = 0
    try:
        for r in sorted(rows, key=sort_key):
            if not is_mine(r):
                continue
            qty, px, fee, fee_asset, maker, trade_id, ts_ns = read(r)
            cum += qty
            fills.append(FillEvent(venue_symbol, oid, cid, side, px, qty, cum, fee, fee_asset, maker, trade_id,
                                   ts_ns, now_ns))
    except (KeyError, TypeError, ValueError) as exc:
        raise VenueMessageError(f"{what}: unreadable answer ({exc})") from None
    return fills
