"""The command center: market state, credentials, API keys, balances, orders and their journal,
the HTTP API and the stream."""

from seqkern.cc.server import CommandCenter

__all__ = ["CommandCenter"]
