"""Hypothesis strategies that build valid CC-LINK frames of every kind (shared by the tests)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from seqkern import _cclink as C

I64 = st.integers(-(2**63), 2**63 - 1)
U64 = st.integers(0, 2**64 - 1)
U32 = st.integers(0, 2**32 - 1)
TS = st.integers(0, 2**63 - 1)
SIDE = st.integers(0, 2)


def text(max_bytes: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Unicode strings whose UTF-8 encoding fits max_bytes."""
    return st.text(min_size=min_size, max_size=max_bytes).filter(
        lambda s: len(s.encode()) <= max_bytes
    ).filter(lambda s: len(s) >= min_size)


@st.composite
def levels(draw: Any, max_levels: int = 40) -> np.ndarray:
    n = draw(st.integers(0, max_levels))
    vals = draw(st.lists(I64, min_size=2 * n, max_size=2 * n))
    return np.array(vals, dtype=np.int64).reshape(n, 2)


def order_field_strategies(in_batch: bool = False) -> dict[str, st.SearchStrategy]:
    d: dict[str, st.SearchStrategy] = {
        "symbol_id": U32,
        "side": SIDE,
        "order_type": st.integers(0, 2),
        "tif": st.integers(0, 3),
        "order_flags": st.integers(0, 3),
        "px_1e9": I64,
        "qty_1e8": I64,
        "request_id": U64,
        "client_order_id": text(64),
        "venue_order_id": text(128),
        "filled_qty_1e8": I64,
        "avg_px_1e9": I64,
        "status": st.integers(0, 8),
        "amend_mode": st.integers(0, 2),
        "batch_mode": st.integers(0, 3),
        "redeem_mode": st.integers(0, 2),
        "reason_code": st.integers(0, 65535),
        "text": text(255),
    }
    if in_batch:
        d["op"] = st.sampled_from(
            [C.ORDER_NEW, C.ORDER_CANCEL, C.ORDER_AMEND, C.ORDER_DECREASE]
        )
    return d


HEADER = {"ts_venue_ns": TS, "ts_local_ns": TS, "flags": st.integers(0, 7)}

# kind -> (encoder method, strategy of its keyword arguments)
KIND_ARGS: dict[int, tuple[str, st.SearchStrategy[dict]]] = {
    C.HELLO: ("hello", st.fixed_dictionaries({
        "edge_id": text(64, 1), "region": st.integers(0, 3),
        "instrument_type": st.integers(0, 3), "role": st.integers(1, 3),
        "heartbeat_ms": st.integers(0, 65535), "session_id": U64, **HEADER})),
    C.PAIR_SPEC: ("pair_spec", st.fixed_dictionaries({
        "symbol_id": U32, "symbol": text(255, 1), "venue_symbol": text(255, 1),
        "venue_id": st.integers(0, 255), "instrument_type": st.integers(1, 3),
        "tick_1e9": st.integers(1, 2**63 - 1), "lot_1e8": st.integers(1, 2**63 - 1),
        "min_qty_1e8": st.integers(0, 2**63 - 1), "min_notional_1e9": st.integers(0, 2**63 - 1),
        "maker_fee_bps_e4": st.integers(-(2**31), 2**31 - 1),
        "taker_fee_bps_e4": st.integers(-(2**31), 2**31 - 1), **HEADER})),
    C.BBO: ("bbo", st.fixed_dictionaries({
        "symbol_id": U32, "bid_px_1e9": I64, "bid_qty_1e8": I64, "ask_px_1e9": I64,
        "ask_qty_1e8": I64, **HEADER})),
    C.L2_SNAPSHOT: ("l2_snapshot", st.fixed_dictionaries({
        "symbol_id": U32, "update_id": U64, "bids": levels(), "asks": levels(), **HEADER})),
    C.L2_DELTA: ("l2_delta", st.fixed_dictionaries({
        "symbol_id": U32, "update_id": U64, "bids": levels(), "asks": levels(), **HEADER})),
    C.TRADE: ("trade", st.fixed_dictionaries({
        "symbol_id": U32, "side": SIDE, "px_1e9": I64, "qty_1e8": I64, "trade_id": U64,
        **HEADER})),
    C.FILL: ("fill", st.fixed_dictionaries({
        "symbol_id": U32, "side": SIDE, "px_1e9": I64, "qty_1e8": I64, "fee_1e9": I64,
        "fill_id": U64, "request_id": U64, "liquidity": st.integers(0, 2),
        "client_order_id": text(64), "venue_order_id": text(128), **HEADER})),
    C.ORDER_BATCH: ("order_batch", st.fixed_dictionaries({
        "orders": st.lists(st.fixed_dictionaries(order_field_strategies(True)), max_size=6), "request_id": U64,
        "batch_mode": st.integers(0, 3), **HEADER})),
    C.BALANCE: ("balance", st.fixed_dictionaries({
        "asset": text(32, 1), "total_1e8": I64, "available_1e8": I64, "locked_1e8": I64,
        **HEADER})),
    C.HEARTBEAT: ("heartbeat", st.fixed_dictionaries({"last_rx_seq": U64, "ts_local_ns": TS})),
    C.PING: ("ping", st.fixed_dictionaries({"ping_id": U64, "t_send_ns": TS})),
    C.PONG: ("pong", st.fixed_dictionaries({"ping_id": U64, "t_ping_ns": I64, "t_pong_ns": TS})),
    C.RESYNC: ("resync", st.fixed_dictionaries({
        "last_rx_seq": U64, "symbol_id": U32, "ts_local_ns": TS})),
    C.ERROR: ("error", st.fixed_dictionaries({
        "code": st.integers(0, 65535), "text": text(255), "ref_kind": st.integers(0, 255),
        "ref_seq": U64, "ts_local_ns": TS})),
}
for _k in (C.ORDER_NEW, C.ORDER_CANCEL, C.ORDER_AMEND, C.ORDER_DECREASE, C.ORDER_ACK,
           C.ORDER_REJECT, C.ORDER_UPDATE):
    KIND_ARGS[_k] = ("order", st.fixed_dictionaries({**order_field_strategies(), **HEADER}))

ALL_KINDS = sorted(KIND_ARGS)


def encode(enc: C.Encoder, kind: int, args: dict) -> None:
    method, _ = KIND_ARGS[kind]
    if method == "order":
        enc.order(kind, **args)
    else:
        getattr(enc, method)(**args)


@st.composite
def frame_specs(draw: Any, kinds: list[int] | None = None) -> tuple[int, dict]:
    kind = draw(st.sampled_from(kinds or ALL_KINDS))
    return kind, draw(KIND_ARGS[kind][1])


@st.composite
def streams(draw: Any, max_frames: int = 30) -> tuple[bytes, list[tuple[int, dict]]]:
    """A valid byte stream of random frames and the specs that made it."""
    specs = draw(st.lists(frame_specs(), min_size=1, max_size=max_frames))
    enc = C.Encoder()
    for kind, args in specs:
        encode(enc, kind, args)
    return enc.take(), specs


def expected_fields(kind: int, args: dict) -> dict:
    """The decoded payload fields a frame built from `args` must have."""
    out = {k: v for k, v in args.items() if k not in ("ts_venue_ns", "ts_local_ns", "flags")}
    if kind in (C.L2_SNAPSHOT, C.L2_DELTA):
        out["bids"] = args["bids"].tolist()
        out["asks"] = args["asks"].tolist()
    if kind == C.PING:
        out.pop("t_send_ns")
    if kind == C.PONG:
        out.pop("t_pong_ns")
    if kind == C.ORDER_BATCH:
        out["orders"] = [dict(o) for o in args["orders"]]
    return out
