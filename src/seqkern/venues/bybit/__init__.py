"""Bybit v5 spot and linear: venue declarations, signing, parsing, book rules, WS order entry."""

from seqkern.venues.bybit.venue import BybitLinear, BybitSpot

__all__ = ["BybitLinear", "BybitSpot"]
