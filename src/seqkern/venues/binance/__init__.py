"""Binance spot and USD-M futures: venue declarations, signing, parsing, book rules, order entry."""

from seqkern.venues.binance.venue import BinanceSpot, BinanceUsdm

__all__ = ["BinanceSpot", "BinanceUsdm"]
