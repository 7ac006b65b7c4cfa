"""Hyperliquid: l2Book/bbo/trades over its websocket, L1-signed actions over the WS post channel."""
