"""Kalshi: signed REST + websocket, YES/NO books from one feed, V2 orders, lifecycle discovery."""
