"""Coinbase Advanced Trade (spot): venue declaration, CDP JWT signing, order entry."""

from seqkern.venues.coinbase.venue import CoinbaseSpot, coinbase_symbol

__all__ = ["CoinbaseSpot", "coinbase_symbol"]
