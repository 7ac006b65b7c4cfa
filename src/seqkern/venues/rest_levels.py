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


def level_arrays(rows: Any) -> tuple[np.ndarray, np.ndarray]:
    """[[price, size, ...], ...] decimal strings -> (px_1e9, qty_1e8) int64 arrays."""
    px = np.empty(len(rows), dtype=np.int64)
    qty = np.empty(len(rows), dtype=np.int64)
    for i, row in enumerate(rows):
        px[i] = parse_px(row[0])
        qty[i] = parse_qty(row[1])
    return px, qty
