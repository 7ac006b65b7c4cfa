# cython: boundscheck=False, wraparound=False
"""Compiled Keccak-256 for the EVM signers (Hyperliquid L1 actions, Polymarket EIP-712 orders)."""

cdef extern from "_keccak.h" nogil:
    void sk_keccak256(const unsigned char* data, size_t length, unsigned char* out)


cpdef bytes keccak256(const unsigned char[::1] data):
    """Keccak-256 digest (Ethereum's, original padding) of ``data``."""
    cdef unsigned char out[32]
    cdef size_t n = data.shape[0]
    cdef const unsigned char* p = &data[0] if n else <const unsigned char*>b""
    with nogil:
        sk_keccak256(p, n, out)
    return out[:32]
