"""OKX v5 spot and SWAP: venue declarations, signing, parsing, book rules, WS order entry."""

from seqkern.venues.okx.venue import OkxSpot, OkxSwap

__all__ = ["OkxSpot", "OkxSwap"]
