"""OKX message parsing: REST books/instruments, trades, BBO, events and the private orders channel.

Depth channel messages do not pass through here: they go bytes -> book in seqkern._wire
(FORMAT_OKX). All OKX numbers arrive as strings and are parsed with seqkern._fixed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from seqkern._fixed import parse_px, parse_qty
from seqkern.errors import FixedPointError
from seqkern.venues.base import (
    BboEvent,
    BookSnapshot,
    ControlEvent,
    FillEvent,
    InstrumentInfo,
    OrderStatus,
    OrderUpdate,
    Side,
    TradeEvent,
    VenueMessageError,
    contracts_to_base,
)
from seqkern.venues.okx import constants as C
from seqkern.venues.order_entry import enum_from
from seqkern.venues.rest_levels import book_levels, opt_px, opt_qty

_MS = 1_000_000

_STATE = {
    "live": OrderStatus.NEW,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "mmp_canceled": OrderStatus.CANCELED,
}


_SIDE = {"buy": Side.BUY, "sell": Side.SELL}


def order_state(text: str) -> OrderStatus:
    return enum_from(_STATE, text, "OKX order state")


def _side(text: str) -> Side:
    return enum_from(_SIDE, text, "OKX side")


def parse_books_snapshot(body: bytes | str) -> BookSnapshot:
    """GET /api/v5/market/books response to a BookSnapshot (update_id = seqId when present, else -1)."""
    try:
        obj = orjson.loads(body)
        if obj.get("code") != C.ERR_OK:
            raise VenueMessageError(f"OKX books snapshot error {obj.get('code')}: {obj.get('msg')}")
        d = obj["data"][0]
        levels = book_levels(d["bids"], d["asks"])
        return BookSnapshot(int(d.get("seqId", -1)), *levels, int(d.get("ts", 0)) * _MS)
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError, ValueError, AttributeError,
            FixedPointError) as exc:
        raise VenueMessageError(f"unreadable OKX books snapshot: {exc}") from None


def parse_instruments(body: bytes | str) -> dict[str, InstrumentInfo]:
    """GET /api/v5/public/instruments?instType=SPOT|SWAP to trading rules by instId.

    SWAP quantities are in contracts (``ctVal`` of ``ctValCcy`` each): the lot and the minimum come
    back in base units (``lotSz x ctVal``) with ``contract_1e8`` = ctVal, which the edge uses to
    convert sizes both ways. The base/quote of a linear SWAP come from its ``ctValCcy`` and
    ``settleCcy``. OKX has no explicit minimum notional.
    """
    try:
        obj = orjson.loads(body)
        if obj.get("code") != C.ERR_OK:
            raise VenueMessageError(f"OKX instruments error {obj.get('code')}: {obj.get('msg')}")
        out: dict[str, InstrumentInfo] = {}
        for d in obj["data"]:
            inst = d["instId"]
            base = d.get("baseCcy") or d.get("ctValCcy") or inst.split("-")[0]
            quote = d.get("quoteCcy") or d.get("settleCcy") or inst.split("-")[1]
            ct = parse_qty(d["ctVal"]) if d.get("ctVal") else 0
            out[inst] = InstrumentInfo(inst, base, quote, parse_px(d["tickSz"]),
                                       contracts_to_base(parse_qty(d["lotSz"]), ct),
                                       contracts_to_base(parse_qty(d["minSz"]), ct), 0, ct)
        return out
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError, ValueError, AttributeError,
            FixedPointError) as exc:
        raise VenueMessageError(f"unreadable OKX instruments: {exc}") from None


def parse_inst_id_codes(body: bytes | str) -> dict[str, int]:
    """instId -> instIdCode (WS trading ops take the integer code since 2026)."""
    try:
        obj = orjson.loads(body)
        return {d["instId"]: int(d["instIdCode"]) for d in obj["data"] if "instIdCode" in d}
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise VenueMessageError(f"unreadable OKX instruments: {exc}") from None


def parse_market_message(obj: Any, ts_recv_ns: int) -> TradeEvent | BboEvent | ControlEvent | None:
    """A decoded public message (trades, bbo-tbt/tickers, books5 top, events) to a kernel record."""
    if not isinstance(obj, dict):
        raise VenueMessageError("OKX market message is not a JSON object")
    try:
        ev = obj.get("event")
        if ev is not None:
            if ev in ("subscribe", "unsubscribe", "login", "channel-conn-count"):
                return ControlEvent("ack", f"{ev} {obj.get('arg', '')}")
            if ev == "notice" or str(obj.get("code")) == C.WS_ERR_SERVICE_UPGRADE:
                return ControlEvent("reconnect", f"{obj.get('code')} {obj.get('msg', '')}")
            if ev == "error":
                return ControlEvent("error", f"{obj.get('code')} {obj.get('msg', '')}")
            return None
        arg = obj.get("arg")
        data = obj.get("data")
        if not isinstance(arg, dict) or not isinstance(data, list) or not data:
            return None
        ch = arg.get("channel")
        d = data[0]
        if ch == "trades":
            return TradeEvent(d["instId"], parse_px(d["px"]), parse_qty(d["sz"]), _side(d["side"]),
                              int(d["tradeId"]), int(d["ts"]) * _MS, ts_recv_ns)
        if ch == "tickers":
            return BboEvent(d["instId"], opt_px(d["bidPx"]), opt_qty(d["bidSz"]), opt_px(d["askPx"]),
                            opt_qty(d["askSz"]), int(d["ts"]), int(d["ts"]) * _MS, ts_recv_ns)
        if ch in ("bbo-tbt", "books5"):
            b = d["bids"][0] if d["bids"] else ("0", "0")
            a = d["asks"][0] if d["asks"] else ("0", "0")
            return BboEvent(arg["instId"], opt_px(b[0]), parse_qty(b[1]), opt_px(a[0]), parse_qty(a[1]),
                            int(d.get("seqId", 0)), int(d["ts"]) * _MS, ts_recv_ns)
    except (KeyError, TypeError, ValueError, IndexError, FixedPointError) as exc:
        raise VenueMessageError(f"unreadable OKX market message: {exc}") from None
    return None


def parse_orders_push(obj: Any, ts_recv_ns: int) -> list[FillEvent | OrderUpdate]:
    """An ``orders`` channel push: an OrderUpdate per order, preceded by a FillEvent when it filled."""
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise VenueMessageError("OKX orders push has no data list")
    out: list[FillEvent | OrderUpdate] = []
    try:
        for d in obj["data"]:
            side = _side(d["side"])
            ts = int(d.get("uTime") or d.get("cTime") or 0) * _MS
            cum = opt_qty(d.get("accFillSz", ""))
            if d.get("tradeId") and d.get("fillSz") and d["fillSz"] != "0":
                out.append(FillEvent(
                    d["instId"], d["ordId"], d.get("clOrdId", ""), side, parse_px(d["fillPx"]),
                    parse_qty(d["fillSz"]), cum, str(d.get("fillFee") or d.get("fee") or "0"),
                    str(d.get("fillFeeCcy") or d.get("feeCcy") or ""), d.get("execType") == "M",
                    int(d["tradeId"]), int(d.get("fillTime") or 0) * _MS or ts, ts_recv_ns))
            exec_type = "TRADE" if d.get("tradeId") else ("AMENDMENT" if d.get("amendResult") == "0" else
                                                         d["state"].upper())
            out.append(OrderUpdate(
                d["instId"], d["ordId"], d.get("clOrdId", ""), side, order_state(d["state"]), exec_type,
                opt_px(d.get("px", "")), opt_qty(d.get("sz", "")), cum, ts, ts_recv_ns))
    except (KeyError, TypeError, ValueError, FixedPointError) as exc:
        raise VenueMessageError(f"unreadable OKX orders push: {exc}") from None
    return out


def events_in_base(events: Any, contract_1e8: int) -> Any:
    """Kernel records of a contract-sized instrument with their sizes in base units (trades, BBOs,
    fills and order updates; a list stays a list, None stays None)."""
    if not contract_1e8 or events is None:
        return events
    if isinstance(events, list):
        return [events_in_base(e, contract_1e8) for e in events]
    b = contracts_to_base
    if isinstance(events, TradeEvent):
        return replace(events, qty_1e8=b(events.qty_1e8, contract_1e8))
    if isinstance(events, BboEvent):
        return replace(events, bid_qty_1e8=b(events.bid_qty_1e8, contract_1e8),
                       ask_qty_1e8=b(events.ask_qty_1e8, contract_1e8))
    if isinstance(events, (FillEvent, OrderUpdate)):
        return replace(events, qty_1e8=b(events.qty_1e8, contract_1e8),
                       cum_qty_1e8=b(events.cum_qty_1e8, contract_1e8))
    return events
