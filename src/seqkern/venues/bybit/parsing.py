"""Bybit message parsing: REST orderbook/instruments, trades, acks, private order/execution pushes.

orderbook.{depth} messages do not pass through here: they go bytes -> book in seqkern._wire
(FORMAT_BYBIT). Prices and sizes arrive as strings and are parsed with seqkern._fixed.
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
from seqkern.venues.rest_levels import book_levels, opt_px, opt_qty

_MS = 1_000_000

_STATUS = {
    "New": OrderStatus.NEW,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELED,
    "PartiallyFilledCanceled": OrderStatus.CANCELED,
    "Rejected": OrderStatus.REJECTED,
    "Untriggered": OrderStatus.NEW,
    "Triggered": OrderStatus.NEW,
    "Deactivated": OrderStatus.CANCELED,
}


_SIDE = {"Buy": Side.BUY, "Sell": Side.SELL}


def order_status(text: str) -> OrderStatus:
    return enum_from(_STATUS, text, "Bybit order status")


def side(text: str) -> Side:
    return enum_from(_SIDE, text, "Bybit side")


def parse_orderbook_snapshot(body: bytes | str) -> BookSnapshot:
    """GET /v5/market/orderbook to a BookSnapshot (update_id = u)."""
    try:
        obj = orjson.loads(body)
        if obj.get("retCode") != 0:
            raise VenueMessageError(f"Bybit orderbook error {obj.get('retCode')}: {obj.get('retMsg')}")
        r = obj["result"]
        levels = book_levels(r["b"], r["a"])
        return BookSnapshot(int(r["u"]), *levels, int(r.get("ts", 0)) * _MS)
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError, ValueError, AttributeError,
            FixedPointError) as exc:
        raise VenueMessageError(f"unreadable Bybit orderbook snapshot: {exc}") from None


def parse_instruments(body: bytes | str) -> dict[str, InstrumentInfo]:
    """GET /v5/market/instruments-info?category=spot|linear to trading rules by symbol.

    Spot steps by ``basePrecision`` and has ``minOrderAmt``; linear steps by ``qtyStep`` and has
    ``minNotionalValue``.
    """
    try:
        obj = orjson.loads(body)
        if obj.get("retCode") != 0:
            raise VenueMessageError(f"Bybit instruments error {obj.get('retCode')}: {obj.get('retMsg')}")
        out: dict[str, InstrumentInfo] = {}
        for d in obj["result"]["list"]:
            lot = d["lotSizeFilter"]
            step = lot.get("qtyStep") or lot.get("basePrecision") or "0"
            min_notional = lot.get("minOrderAmt") or lot.get("minNotionalValue") or "0"
            out[d["symbol"]] = InstrumentInfo(d["symbol"], d["baseCoin"], d["quoteCoin"],
                                              parse_px(d["priceFilter"]["tickSize"]), parse_qty(step),
                                              parse_qty(lot.get("minOrderQty", "0")), parse_px(min_notional))
        return out
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError, ValueError, AttributeError,
            FixedPointError) as exc:
        raise VenueMessageError(f"unreadable Bybit instruments: {exc}") from None


def parse_market_message(obj: Any, ts_recv_ns: int) -> TradeEvent | BboEvent | ControlEvent | None:
    """A decoded public message (publicTrade, linear tickers, acks, pongs) to a kernel record."""
    if not isinstance(obj, dict):
        raise VenueMessageError("Bybit market message is not a JSON object")
    try:
        if "op" in obj:
            if obj["op"] in ("ping", "pong"):
                return None
            if obj.get("success") is False:
                return ControlEvent("error", f"{obj['op']}: {obj.get('ret_msg', '')}")
            return ControlEvent("ack", f"{obj['op']} {obj.get('req_id', '')}")
        topic = obj.get("topic", "")
        if topic.startswith("publicTrade."):
            t = obj["data"][0]
            tid = t["i"]
            trade_id = int(tid) if tid.isdigit() else int(t.get("seq", 0))
            return TradeEvent(t["s"], parse_px(t["p"]), parse_qty(t["v"]), side(t["S"]), trade_id,
                              int(t["T"]) * _MS, ts_recv_ns)
        if topic.startswith("tickers.") and "bid1Price" in obj.get("data", {}):
            d = obj["data"]
            return BboEvent(d["symbol"], opt_px(d["bid1Price"]), opt_qty(d["bid1Size"]),
                            opt_px(d["ask1Price"]), opt_qty(d["ask1Size"]), int(obj.get("cs", 0)),
                            int(obj["ts"]) * _MS, ts_recv_ns)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, FixedPointError) as exc:
        raise VenueMessageError(f"unreadable Bybit market message: {exc}") from None
    return None


def parse_private_push(obj: Any, ts_recv_ns: int) -> list[FillEvent | OrderUpdate | BalanceEvent]:
    """``order*``, ``execution*`` and ``wallet`` pushes of the private stream to kernel records."""
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise VenueMessageError("Bybit private push has no data list")
    topic = str(obj.get("topic", ""))
    out: list[FillEvent | OrderUpdate | BalanceEvent] = []
    try:
        if topic.startswith("execution"):
            for d in obj["data"]:
                if d.get("execType", "Trade") != "Trade":
                    continue
                leaves = d.get("leavesQty")
                cum = parse_qty(d["orderQty"]) - parse_qty(leaves) if leaves and d.get("orderQty") else 0
                out.append(FillEvent(
                    d["symbol"], d["orderId"], d.get("orderLinkId", ""), side(d["side"]), parse_px(d["execPrice"]),
                    parse_qty(d["execQty"]), cum, str(d.get("execFee") or "0"), str(d.get("feeCurrency") or ""),
                    bool(d.get("isMaker")), exec_id(d["execId"], d.get("seq", 0)),
                    int(d["execTime"]) * _MS, ts_recv_ns))
        elif topic.startswith("order"):
            for d in obj["data"]:
                st = d["orderStatus"]
                ts = int(d.get("updatedTime") or d.get("createdTime") or 0) * _MS
                out.append(OrderUpdate(
                    d["symbol"], d["orderId"], d.get("orderLinkId", ""), side(d["side"]), order_status(st),
                    st.upper(), opt_px(d.get("price", "")), opt_qty(d.get("qty", "")),
                    opt_qty(d.get("cumExecQty", "")), ts, ts_recv_ns))
        elif topic == "wallet":
            ts = int(obj.get("creationTime", 0)) * _MS
            for acct in obj["data"]:
                for c in acct.get("coin", []):
                    out.append(BalanceEvent(c["coin"], str(c.get("walletBalance", "0")),
                                            str(c.get("locked", "0")), ts, ts_recv_ns))
    except (KeyError, TypeError, ValueError, FixedPointError) as exc:
        raise VenueMessageError(f"unreadable Bybit private push: {exc}") from None
    return out


def exec_id(exec_id: str, seq: Any) -> int:
    """Bybit execIds are UUIDs: the fill's integer id is the execution ``seq`` (else UUID bits)."""
    if isinstance(seq, int) and seq > 0:
        return seq
    if exec_id.isdigit():
        return int(exec_id)
    return int(exec_id.replace("-", "")[:15], 16)
