"""Kraken spot (WebSocket v2): venue declaration, book checksum rules, signing, order entry."""

from seqkern.venues.kraken.venue import KrakenSpot, kraken_symbol

__all__ = ["KrakenSpot", "kraken_symbol"]
