"""Binance message parsing: REST snapshots, trades, BBO and user-data events to kernel records.

Depth diffs do not pass through here: they go bytes -> book in seqkern._wire.
"""

from __future__ import annotations

from typing import Any

import orjson

from seqkern._fixed import parse_px, parse_qty
from seqkern.errors import FixedPointError
from seqkern.venues.base import (
    BalanceEvent,
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
)
from seqkern.venues.order_entry import enum_from
from seqkern.venues.rest_levels import book_levels

_MS = 1_000_000

_STATUS = {
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
    "PENDING_CANCEL": OrderStatus.NEW,
}


def order_status(text: str) -> OrderStatus:
    return enum_from(_STATUS, text, "Binance order status")


def parse_depth_snapshot(body: bytes | str) -> BookSnapshot:
    """GET /api/v3/depth or /fapi/v1/depth response to a BookSnapshot."""
    try:
        obj = orjson.loads(body)
        levels = book_levels(obj["bids"], obj["asks"])
        ts = int(obj.get("E", 0)) * _MS
        return BookSnapshot(int(obj["lastUpdateId"]), *levels, ts)
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError, ValueError, FixedPointError) as exc:
        raise VenueMessageError(f"unreadable Binance depth snapshot: {exc}") from None


def parse_market_message(obj: Any, ts_recv_ns: int) -> TradeEvent | BboEvent | ControlEvent | None:
    """A decoded public message (raw or combined-stream) to a kernel record."""
    if not isinstance(obj, dict):
        raise VenueMessageError("Binance market message is not a JSON object")
    if "data" in obj and "stream" in obj:
        obj = obj["data"]
        if not isinstance(obj, dict):
            raise VenueMessageError("combined-stream data is not a JSON object")
    try:
        e = obj.get("e")
        if e == "trade" or e == "aggTrade":
            return TradeEvent(
                obj["s"], parse_px(obj["p"]), parse_qty(obj["q"]),
                Side.SELL if obj["m"] else Side.BUY,
                int(obj["t"] if e == "trade" else obj["a"]),
                int(obj["T"]) * _MS, ts_recv_ns)
        if e == "bookTicker" or (e is None and "b" in obj and "A" in obj and "u" in obj):
            return BboEvent(
                obj["s"], parse_px(obj["b"]), parse_qty(obj["B"]), parse_px(obj["a"]),
                parse_qty(obj["A"]), int(obj["u"]), int(obj.get("E", 0)) * _MS, ts_recv_ns)
        if e == "serverShutdown":
            return ControlEvent("reconnect", "serverShutdown")
        if "result" in obj and "id" in obj:
            return ControlEvent("ack", str(obj["id"]))
        if "error" in obj and "id" in obj:
            return ControlEvent("error", str(obj["error"]))
    except (KeyError, TypeError, ValueError, FixedPointError) as exc:
        raise VenueMessageError(f"unreadable Binance market message: {exc}") from None
    return None


def parse_user_event(obj: Any, ts_recv_ns: int) -> list[FillEvent | OrderUpdate | BalanceEvent]:
    """Spot (WS API, wrapped in {"subscriptionId","event"}) or USD-M (/private) user-data event."""
    if isinstance(obj, dict) and "event" in obj and "subscriptionId" in obj:
        obj = obj["event"]
    if not isinstance(obj, dict):
        raise VenueMessageError("Binance user-data event is not a JSON object")
    try:
        e = obj.get("e")
        if e == "executionReport":
            return _execution_report(obj, ts_recv_ns)
        if e == "ORDER_TRADE_UPDATE":
            return _order_trade_update(obj, ts_recv_ns)
        if e == "outboundAccountPosition":
            ts = int(obj["E"]) * _MS
            return [BalanceEvent(b["a"], b["f"], b["l"], ts, ts_recv_ns) for b in obj["B"]]
        if e == "balanceUpdate":
            return []   # a deposit/withdrawal delta; the following outboundAccountPosition has totals
        if e == "ACCOUNT_UPDATE":
            ts = int(obj["E"]) * _MS
            return [BalanceEvent(b["a"], b["cw"], "0", ts, ts_recv_ns) for b in obj["a"]["B"]]
    except (KeyError, TypeError, ValueError, FixedPointError) as exc:
        raise VenueMessageError(f"unreadable Binance user-data event: {exc}") from None
    return []


def _execution_report(o: dict[str, Any], ts_recv_ns: int) -> list[FillEvent | OrderUpdate | BalanceEvent]:
    ts = int(o["E"]) * _MS
    side = Side(o["S"])
    cid = o["c"]
    out: list[FillEvent | OrderUpdate | BalanceEvent] = [OrderUpdate(
        o["s"], int(o["i"]), cid, side, order_status(o["X"]), o["x"], parse_px(o["p"]),
        parse_qty(o["q"]), parse_qty(o["z"]), ts, ts_recv_ns, o.get("C") or "")]
    if o["x"] == "TRADE":
        out.insert(0, FillEvent(
            o["s"], int(o["i"]), cid, side, parse_px(o["L"]), parse_qty(o["l"]), parse_qty(o["z"]),
            str(o.get("n") or "0"), str(o.get("N") or ""), bool(o["m"]), int(o["t"]),
            int(o.get("T", o["E"])) * _MS, ts_recv_ns))
    return out


def _order_trade_update(evt: dict[str, Any], ts_recv_ns: int) -> list[FillEvent | OrderUpdate | BalanceEvent]:
    o = evt["o"]
    ts = int(evt["E"]) * _MS
    side = Side(o["S"])
    out: list[FillEvent | OrderUpdate | BalanceEvent] = [OrderUpdate(
        o["s"], int(o["i"]), o["c"], side, order_status(o["X"]), o["x"], parse_px(o["p"]),
        parse_qty(o["q"]), parse_qty(o["z"]), ts, ts_recv_ns)]
    if o["x"] == "TRADE":
        out.insert(0, FillEvent(
            o["s"], int(o["i"]), o["c"], side, parse_px(o["L"]), parse_qty(o["l"]), parse_qty(o["z"]),
            str(o.get("n", "0")), str(o.get("N", "")), bool(o["m"]), int(o["t"]),
            int(o["T"]) * _MS, ts_recv_ns))
    return out


def parse_exchange_info(body: bytes | str) -> dict[str, InstrumentInfo]:
    """GET /api/v3/exchangeInfo or /fapi/v1/exchangeInfo to trading rules by symbol."""
    try:
        obj = orjson.loads(body)
        out: dict[str, InstrumentInfo] = {}
        for s in obj["symbols"]:
            f = {x["filterType"]: x for x in s.get("filters", [])}
            tick = parse_px(f["PRICE_FILTER"]["tickSize"]) if "PRICE_FILTER" in f else 0
            lot = f.get("LOT_SIZE", {})
            notional = f.get("NOTIONAL", f.get("MIN_NOTIONAL", {}))
            min_notional = notional.get("minNotional", notional.get("notional", "0"))
            out[s["symbol"]] = InstrumentInfo(
                s["symbol"], s["baseAsset"], s["quoteAsset"], tick,
                parse_qty(lot.get("stepSize", "0")), parse_qty(lot.get("minQty", "0")), parse_px(min_notional))
        return out
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, FixedPointError) as exc:
        raise VenueMessageError(f"unreadable Binance exchangeInfo: {exc}") from None
