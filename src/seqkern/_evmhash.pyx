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


from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from libc.stdint cimport uint64_t, int64_t


cpdef bytes eip712_digest(const unsigned char[::1] domain_separator, const unsigned char[::1] struct_hash):
    """keccak256(0x19 0x01 || domainSeparator || hashStruct)."""
    cdef unsigned char buf[66]
    cdef unsigned char out[32]
    if domain_separator.shape[0] != 32 or struct_hash.shape[0] != 32:
        raise ValueError("domain separator and struct hash must be 32 bytes")
    buf[0] = 0x19
    buf[1] = 0x01
    memcpy(&buf[2], &domain_separator[0], 32)
    memcpy(&buf[34], &struct_hash[0], 32)
    sk_keccak256(buf, 66, out)
    return out[:32]


cpdef bytes hl_agent_digest(const unsigned char[::1] packed_action, uint64_t nonce, object vault,
                            int64_t expires_after, const unsigned char[::1] agent_prefix,
                            const unsigned char[::1] domain_separator):
    """The EIP-712 digest a Hyperliquid L1 action is signed over, in one call.

    connectionId = keccak(msgpack(action) || nonce u64 BE || 0x00 | 0x01 || vault [|| 0x00 || expiresAfter
    u64 BE when >= 0]); struct = keccak(agent_prefix || connectionId) with agent_prefix =
    keccak("Agent(string source,bytes32 connectionId)") || keccak(source); digest =
    keccak(0x1901 || domain || struct).
    """
    cdef const unsigned char[::1] v
    cdef Py_ssize_t n = packed_action.shape[0]
    cdef Py_ssize_t total = n + 8 + 1 + 20 + 9
    cdef unsigned char stackbuf[2048]
    cdef unsigned char* buf = stackbuf
    cdef unsigned char conn[96]
    cdef unsigned char head[66]
    cdef unsigned char out[32]
    cdef Py_ssize_t w = 0
    cdef int i
    if agent_prefix.shape[0] != 64 or domain_separator.shape[0] != 32:
        raise ValueError("agent prefix must be 64 bytes and the domain separator 32")
    if vault is not None:
        v = vault
        if v.shape[0] != 20:
            raise ValueError("vault address must be 20 bytes")
    if total > 2048:
        buf = <unsigned char*>malloc(total)
        if buf == NULL:
            raise MemoryError()
    try:
        if n:
            memcpy(buf, &packed_action[0], n)
        w = n
        for i in range(8):
            buf[w + i] = <unsigned char>((nonce >> (8 * (7 - i))) & 0xFF)
        w += 8
        if vault is None:
            buf[w] = 0
            w += 1
        else:
            buf[w] = 1
            memcpy(&buf[w + 1], &v[0], 20)
            w += 21
        if expires_after >= 0:
            buf[w] = 0
            for i in range(8):
                buf[w + 1 + i] = <unsigned char>((<uint64_t>expires_after >> (8 * (7 - i))) & 0xFF)
            w += 9
        memcpy(conn, &agent_prefix[0], 64)
        sk_keccak256(buf, w, &conn[64])
    finally:
        if buf != stackbuf:
            free(buf)
    head[0] = 0x19
    head[1] = 0x01
    memcpy(&head[2], &domain_separator[0], 32)
    sk_keccak256(conn, 96, &head[34])
    sk_keccak256(head, 66, out)
    return out[:32]
