"""Crypto.com Exchange v1 spot: venue declaration, u/pu book chaining, signing, order entry."""

from seqkern.venues.cryptocom.venue import CryptocomSpot, cryptocom_symbol

__all__ = ["CryptocomSpot", "cryptocom_symbol"]
