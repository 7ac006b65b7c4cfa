"""REST book levels and optional decimal fields: venue strings to kernel fixed-point units.

Used for REST snapshots and order/fill records (cold paths); market-data deltas go through the
compiled parsers in ``seqkern._wire``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seqkern._fixed import parse_px, parse_qty


def opt_px(text: str) -> int:
    """A price field a venue may leave empty ("" -> 0)."""
    return parse_px(text) if text else 0


def opt_qty(text: str) -> int:
    """A quantity field a venue may leave empty ("" -> 0)."""
    return parse_qty(text) if text else 0


def level_arrays(rows: Any, px_key: int | str = 0, qty_key: int | str = 1) -> tuple[np.ndarray, np.ndarray]:
    """[[price, size, ...], ...] decimal strings (or objects with ``px_key`` / ``qty_key`` fields)
    -> (px_1e9, qty_1e8) int64 arrays."""
    px = np.empty(len(rows), dtype=np.int64)
    qty = np.empty(len(rows), dtype=np.int64)
    for i, row in enumerate(rows):
        px[i] = parse_px(row[px_key])
        qty[i] = parse_qty(row[qty_key])
    return px, qty


def book_levels(bids: Any, asks: Any, px_key: int | str = 0,
                qty_key: int | str = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Both sides of a REST book -> (bid px, bid qty, ask px, ask qty), the BookSnapshot order."""
    bp, bq = level_arrays(bids, px_key, qty_key)
    ap, aq = level_arrays(asks, px_key, qty_key)
    return bp, bq, ap, aq
