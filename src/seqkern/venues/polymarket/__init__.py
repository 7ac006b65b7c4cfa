"""Polymarket: CLOB V2 books per outcome token, EIP-712 V2 orders, L1/L2 API auth, CTF redemption."""
