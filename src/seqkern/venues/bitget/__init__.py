"""Bitget v2 spot: venue declaration, books checksum rules, signing, order entry."""

from seqkern.venues.bitget.venue import BitgetSpot, bitget_symbol

__all__ = ["BitgetSpot", "bitget_symbol"]
