# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""CC-LINK wire core: frame layouts, the coalescing encoder, the stream decoder and batch decode."""

cimport cython
cimport numpy as cnp
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t
from libc.string cimport memcpy, memset, memmove
from libc.stdlib cimport malloc, realloc, free
from cpython.bytes cimport (PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize,
                            PyBytes_CheckExact)
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeUTF8
from cpython.ref cimport Py_INCREF
from posix.time cimport clock_gettime, timespec, CLOCK_REALTIME

import sys

import numpy as np

from seqkern.errors import CclinkError

cnp.import_array()

if sys.byteorder != "little":  # pragma: no cover - the wire is little-endian and loads are native
    raise ImportError("seqkern._cclink needs a little-endian host")

# ---------------------------------------------------------------------------------------------
# Public constants (mirrored as IntEnums in seqkern.cclink.wire)

MAGIC = CK_MAGIC
VERSION = CK_VERSION
HEADER_SIZE = CK_HEADER_SIZE
CAPTURE_RECORD_SIZE = CK_CAPTURE_RECORD
MAX_PAYLOAD_DEFAULT = CK_MAX_PAYLOAD_DEFAULT
MAX_PAYLOAD_HARD = CK_MAX_PAYLOAD_HARD
MAX_CLIENT_ORDER_ID = 64
MAX_VENUE_ORDER_ID = 128
MAX_TEXT = CK_MAX_STR
MAX_SYMBOL = CK_MAX_STR
MAX_EDGE_ID = CK_MAX_EDGE_ID
MAX_ASSET = CK_MAX_ASSET
MAX_BATCH = CK_MAX_BATCH
ALL_SYMBOLS = 0xFFFFFFFF
STAMP_NOW = -9223372036854775807 - 1   # ts_local_ns default: stamp with CLOCK_REALTIME at encode
cdef int64_t STAMP_NOW_C = -9223372036854775807 - 1

HELLO = K_HELLO
PAIR_SPEC = K_PAIR_SPEC
BBO = K_BBO
L2_SNAPSHOT = K_L2_SNAPSHOT
L2_DELTA = K_L2_DELTA
TRADE = K_TRADE
FILL = K_FILL
ORDER_NEW = K_ORDER_NEW
ORDER_CANCEL = K_ORDER_CANCEL
ORDER_AMEND = K_ORDER_AMEND
ORDER_DECREASE = K_ORDER_DECREASE
ORDER_BATCH = K_ORDER_BATCH
ORDER_ACK = K_ORDER_ACK
ORDER_REJECT = K_ORDER_REJECT
ORDER_UPDATE = K_ORDER_UPDATE
BALANCE = K_BALANCE
HEARTBEAT = K_HEARTBEAT
PING = K_PING
PONG = K_PONG
RESYNC = K_RESYNC
ERROR = K_ERROR

FLAG_RESYNC = F_RESYNC
FLAG_CONFLATED = F_CONFLATED
FLAG_REPLAY = F_REPLAY

KIND_NAMES = {
    K_HELLO: "HELLO", K_PAIR_SPEC: "PAIR_SPEC", K_BBO: "BBO", K_L2_SNAPSHOT: "L2_SNAPSHOT",
    K_L2_DELTA: "L2_DELTA", K_TRADE: "TRADE", K_FILL: "FILL", K_ORDER_NEW: "ORDER_NEW",
    K_ORDER_CANCEL: "ORDER_CANCEL", K_ORDER_AMEND: "ORDER_AMEND",
    K_ORDER_DECREASE: "ORDER_DECREASE", K_ORDER_BATCH: "ORDER_BATCH", K_ORDER_ACK: "ORDER_ACK",
    K_ORDER_REJECT: "ORDER_REJECT", K_ORDER_UPDATE: "ORDER_UPDATE", K_BALANCE: "BALANCE",
    K_HEARTBEAT: "HEARTBEAT", K_PING: "PING", K_PONG: "PONG", K_RESYNC: "RESYNC",
    K_ERROR: "ERROR",
}

# fixed payload part per kind (the whole payload for fixed-size kinds)
FIXED_SIZES = {
    K_HELLO: SZ_HELLO, K_PAIR_SPEC: SZ_PAIR_SPEC, K_BBO: SZ_BBO, K_L2_SNAPSHOT: SZ_L2,
    K_L2_DELTA: SZ_L2, K_TRADE: SZ_TRADE, K_FILL: SZ_FILL, K_ORDER_NEW: SZ_ORDER,
    K_ORDER_CANCEL: SZ_ORDER, K_ORDER_AMEND: SZ_ORDER, K_ORDER_DECREASE: SZ_ORDER,
    K_ORDER_BATCH: SZ_BATCH, K_ORDER_ACK: SZ_ORDER, K_ORDER_REJECT: SZ_ORDER,
    K_ORDER_UPDATE: SZ_ORDER, K_BALANCE: SZ_BALANCE, K_HEARTBEAT: SZ_HEARTBEAT,
    K_PING: SZ_PING, K_PONG: SZ_PONG, K_RESYNC: SZ_RESYNC, K_ERROR: SZ_ERROR,
}

# enum ranges checked by the decoder (a new value needs a version bump)
cdef enum:
    MAX_SIDE = 2           # 0 unset, 1 buy, 2 sell
    MAX_ORDER_TYPE = 2     # 0 unset, 1 limit, 2 market
    MAX_TIF = 3            # 0 venue default, 1 GTC, 2 IOC, 3 FOK
    ORDER_FLAGS_KNOWN = 3  # bit0 reduce-only, bit1 post-only
    MAX_STATUS = 8
    MAX_AMEND_MODE = 2     # 0 n/a, 1 native_atomic, 2 cancel_replace
    MAX_BATCH_MODE = 3     # 0 n/a, 1 serial, 2 native_atomic, 3 native_best_effort
    MAX_REDEEM_MODE = 2    # 0 n/a, 1 auto_settled, 2 relayer_submitted
    MAX_LIQUIDITY = 2      # 0 unknown, 1 maker, 2 taker
    MAX_REGION = 3         # 0 none, 1 ap, 2 na, 3 eu
    MAX_ITYPE = 3          # 0 any, 1 spot, 2 perp, 3 binary
    MAX_ROLE = 3           # 1 edge, 2 cc, 3 peer cc

ERROR_CODES = {
    E_BAD_MAGIC: "CCLINK_BAD_MAGIC",
    E_BAD_VERSION: "CCLINK_BAD_VERSION",
    E_BAD_KIND: "CCLINK_BAD_KIND",
    E_TOO_LARGE: "CCLINK_TOO_LARGE",
    E_BAD_LENGTH: "CCLINK_BAD_LENGTH",
    E_BAD_FLAGS: "CCLINK_BAD_FLAGS",
    E_BAD_RESERVED: "CCLINK_BAD_RESERVED",
    E_BAD_STRING: "CCLINK_BAD_STRING",
    E_BAD_ENUM: "CCLINK_BAD_ENUM",
    E_BAD_COUNT: "CCLINK_BAD_COUNT",
    E_BAD_VALUE: "CCLINK_BAD_VALUE",
}
_ERROR_TEXT = {
    E_BAD_MAGIC: "bad magic (not a CC-LINK frame, or the stream lost framing)",
    E_BAD_VERSION: "unsupported protocol version",
    E_BAD_KIND: "unknown frame kind",
    E_TOO_LARGE: "payload length above the decoder's cap",
    E_BAD_LENGTH: "payload length does not match the kind's layout",
    E_BAD_FLAGS: "unknown header flag bits set",
    E_BAD_RESERVED: "reserved bytes are not zero",
    E_BAD_STRING: "string field too long, empty where required, or not UTF-8",
    E_BAD_ENUM: "enum field out of range",
    E_BAD_COUNT: "level/order count disagrees with the payload length",
    E_BAD_VALUE: "field value out of range (tick/lot must be > 0, minimums >= 0)",
}


cdef object _frame_error(int rc, str detail=None, Py_ssize_t offset=-1):
    text = _ERROR_TEXT.get(rc, "bad frame")
    if detail:
        text = f"{text}: {detail}"
    return CclinkError(f"CC-LINK: {text}", code=ERROR_CODES.get(rc, "CCLINK_BAD_FRAME"),
                       offset=offset)


cdef str _describe(const uint8_t* p, Py_ssize_t avail, uint32_t max_payload):
    """What the decoder saw, for the error message (only bytes that are there)."""
    parts = []
    if avail >= 2:
        parts.append(f"magic=0x{ld_u16(p):04x}")
    if avail >= 3:
        parts.append(f"version={p[2]}")
    if avail >= 4:
        parts.append(f"kind={p[3]}")
    if avail >= 8:
        parts.append(f"payload_len={ld_u32(p + 4)} (cap {max_payload})")
    return ", ".join(parts)


cdef inline int64_t _now_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_REALTIME, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


def now_ns() -> int:
    """CLOCK_REALTIME in ns, the clock that stamps ts_local_ns."""
    return _now_ns()


# ---------------------------------------------------------------------------------------------
# Validation (shared by the stream decoder, batch decode and the encoder's raw append)

cdef inline bint _kind_has_any_version(uint8_t kind) noexcept nogil:
    # HELLO and ERROR keep their layout across versions so a mismatch can be refused readably
    return kind == K_HELLO or kind == K_ERROR


cdef int ck_check_prefix(const uint8_t* p, Py_ssize_t avail, uint32_t max_payload,
                         uint8_t version) noexcept nogil:
    cdef uint8_t kind
    if avail >= 2 and ld_u16(p) != CK_MAGIC:
        return E_BAD_MAGIC
    if avail >= 4:
        kind = p[3]
        if kind == 0 or kind > K_MAX:
            return E_BAD_KIND
        if p[2] == 0 or (p[2] != version and not _kind_has_any_version(kind)):
            return E_BAD_VERSION
    if avail < 8:
        return CK_NEED_MORE
    if ld_u32(p + 4) > max_payload:
        return E_TOO_LARGE
    return CK_OK


cdef inline int _check_order(const uint8_t* q, Py_ssize_t avail, bint in_batch,
                             Py_ssize_t* used) noexcept nogil:
    cdef Py_ssize_t total
    cdef uint8_t op
    if avail < SZ_ORDER:
        return E_BAD_LENGTH
    if q[4] > MAX_SIDE or q[5] > MAX_ORDER_TYPE or q[6] > MAX_TIF or (q[7] & ~ORDER_FLAGS_KNOWN):
        return E_BAD_ENUM
    if q[48] > MAX_STATUS or q[49] > MAX_AMEND_MODE or q[50] > MAX_BATCH_MODE or q[51] > MAX_REDEEM_MODE:
        return E_BAD_ENUM
    if q[54] > 64 or q[55] > 128:
        return E_BAD_STRING
    op = q[57]
    if in_batch:
        if op < K_ORDER_NEW or op > K_ORDER_DECREASE:
            return E_BAD_ENUM
    elif op != 0:
        return E_BAD_ENUM
    if q[58] != 0 or q[59] != 0 or ld_u32(q + 60) != 0:
        return E_BAD_RESERVED
    total = SZ_ORDER + <Py_ssize_t>q[54] + q[55] + q[56]
    if total > avail:
        return E_BAD_LENGTH
    used[0] = total
    return CK_OK


cdef int ck_check_payload(uint8_t kind, const uint8_t* q, uint32_t n) noexcept nogil:
    cdef Py_ssize_t off, used = 0
    cdef uint32_t i, cnt
    cdef int rc
    if kind == K_BBO:
        if n != SZ_BBO:
            return E_BAD_LENGTH
        if ld_u32(q + 4) != 0:
            return E_BAD_RESERVED
        return CK_OK
    elif kind == K_L2_SNAPSHOT or kind == K_L2_DELTA:
        if n < SZ_L2:
            return E_BAD_LENGTH
        if n != SZ_L2 + SZ_LEVEL * (<uint32_t>ld_u16(q + 4) + ld_u16(q + 6)):
            return E_BAD_COUNT
        return CK_OK
    elif kind == K_TRADE:
        if n != SZ_TRADE:
            return E_BAD_LENGTH
        if q[4] > MAX_SIDE:
            return E_BAD_ENUM
        if q[5] != 0 or q[6] != 0 or q[7] != 0:
            return E_BAD_RESERVED
        return CK_OK
    elif kind == K_HEARTBEAT:
        return CK_OK if n == SZ_HEARTBEAT else E_BAD_LENGTH
    elif kind == K_PING:
        return CK_OK if n == SZ_PING else E_BAD_LENGTH
    elif kind == K_PONG:
        return CK_OK if n == SZ_PONG else E_BAD_LENGTH
    elif kind == K_RESYNC:
        if n != SZ_RESYNC:
            return E_BAD_LENGTH
        return E_BAD_RESERVED if ld_u32(q + 12) != 0 else CK_OK
    elif kind == K_FILL:
        if n < SZ_FILL:
            return E_BAD_LENGTH
        if q[4] > MAX_SIDE or q[5] > MAX_LIQUIDITY:
            return E_BAD_ENUM
        if q[6] > 64 or q[7] > 128:
            return E_BAD_STRING
        if n != SZ_FILL + <uint32_t>q[6] + q[7]:
            return E_BAD_LENGTH
        return CK_OK
    elif (kind == K_ORDER_NEW or kind == K_ORDER_CANCEL or kind == K_ORDER_AMEND
          or kind == K_ORDER_DECREASE or kind == K_ORDER_ACK or kind == K_ORDER_REJECT
          or kind == K_ORDER_UPDATE):
        rc = _check_order(q, n, False, &used)
        if rc != CK_OK:
            return rc
        return CK_OK if used == n else E_BAD_LENGTH
    elif kind == K_ORDER_BATCH:
        if n < SZ_BATCH:
            return E_BAD_LENGTH
        cnt = ld_u16(q)
        if q[2] > MAX_BATCH_MODE:
            return E_BAD_ENUM
        if q[3] != 0 or ld_u32(q + 4) != 0:
            return E_BAD_RESERVED
        if cnt > CK_MAX_BATCH:
            return E_BAD_COUNT
        off = SZ_BATCH
        for i in range(cnt):
            rc = _check_order(q + off, <Py_ssize_t>n - off, True, &used)
            if rc != CK_OK:
                return rc
            off += used
        return CK_OK if off == n else E_BAD_COUNT
    elif kind == K_PAIR_SPEC:
        if n < SZ_PAIR_SPEC:
            return E_BAD_LENGTH
        if q[5] == 0 or q[5] > MAX_ITYPE:
            return E_BAD_ENUM
        if q[6] == 0 or q[7] == 0:
            return E_BAD_STRING
        if n != SZ_PAIR_SPEC + <uint32_t>q[6] + q[7]:
            return E_BAD_LENGTH
        if ld_i64(q + 8) <= 0 or ld_i64(q + 16) <= 0 or ld_i64(q + 24) < 0 or ld_i64(q + 32) < 0:
            return E_BAD_VALUE
        return CK_OK
    elif kind == K_BALANCE:
        if n < SZ_BALANCE:
            return E_BAD_LENGTH
        if q[24] == 0 or q[24] > CK_MAX_ASSET:
            return E_BAD_STRING
        if q[25] != 0 or q[26] != 0 or q[27] != 0 or ld_u32(q + 28) != 0:
            return E_BAD_RESERVED
        return CK_OK if n == SZ_BALANCE + <uint32_t>q[24] else E_BAD_LENGTH
    elif kind == K_HELLO:
        if n < SZ_HELLO:
            return E_BAD_LENGTH
        if q[2] > MAX_REGION or q[3] > MAX_ITYPE or q[4] == 0 or q[4] > MAX_ROLE:
            return E_BAD_ENUM
        if q[5] == 0 or q[5] > CK_MAX_EDGE_ID:
            return E_BAD_STRING
        return CK_OK if n == SZ_HELLO + <uint32_t>q[5] else E_BAD_LENGTH
    elif kind == K_ERROR:
        if n < SZ_ERROR:
            return E_BAD_LENGTH
        if ld_u32(q + 4) != 0:
            return E_BAD_RESERVED
        return CK_OK if n == SZ_ERROR + <uint32_t>q[3] else E_BAD_LENGTH
    return E_BAD_KIND


cdef int ck_check_frame(const uint8_t* p, Py_ssize_t avail, uint32_t max_payload,
                        uint8_t version, CkHeader* h) noexcept nogil:
    cdef int rc = ck_check_prefix(p, avail, max_payload, version)
    cdef uint32_t plen
    if rc != CK_OK:
        return rc
    if avail >= CK_HEADER_SIZE:
        if p[8] & ~F_KNOWN:
            return E_BAD_FLAGS
        if ld_u16(p + 10) != 0 or ld_u32(p + 12) != 0:
            return E_BAD_RESERVED
    plen = ld_u32(p + 4)
    if avail < <Py_ssize_t>CK_HEADER_SIZE + plen:
        return CK_NEED_MORE
    memcpy(h, p, CK_HEADER_SIZE)
    return ck_check_payload(h.kind, p + CK_HEADER_SIZE, plen)


cdef Py_ssize_t ck_decode_buffer(const uint8_t* p, Py_ssize_t n, uint32_t max_payload,
                                 uint8_t version, ck_frame_cb cb, void* ctx,
                                 int* err) noexcept nogil:
    """Validate and hand every complete frame in p[0:n] to cb; returns the bytes consumed.

    Stops at an incomplete tail (err = 0), at a bad frame (err > 0, return value = its offset),
    or when cb returns non-zero (return value = offset of the frame cb refused).
    """
    cdef Py_ssize_t pos = 0
    cdef CkHeader h
    cdef int rc
    err[0] = 0
    while pos < n:
        rc = ck_check_frame(p + pos, n - pos, max_payload, version, &h)
        if rc == CK_NEED_MORE:
            break
        if rc != CK_OK:
            err[0] = rc
            break
        if cb(ctx, &h, p + pos) != 0:
            break
        pos += CK_HEADER_SIZE + h.payload_len
    return pos


# ---------------------------------------------------------------------------------------------
# Encoder

cdef const char* _EMPTY = ""


cdef inline const char* _utf8(object s, Py_ssize_t* n, Py_ssize_t cap, str field,
                              bint required) except NULL:
    cdef const char* p
    if s is None:
        p = _EMPTY
        n[0] = 0
    elif isinstance(s, str):
        p = PyUnicode_AsUTF8AndSize(s, n)
    elif isinstance(s, bytes):
        p = PyBytes_AS_STRING(s)
        n[0] = PyBytes_GET_SIZE(s)
    else:
        raise CclinkError(f"CC-LINK: {field} must be str, got {type(s).__name__}",
                          code="CCLINK_BAD_STRING")
    if n[0] > cap:
        raise CclinkError(f"CC-LINK: {field} is {n[0]} bytes, the limit is {cap}",
                          code="CCLINK_BAD_STRING")
    if required and n[0] == 0:
        raise CclinkError(f"CC-LINK: {field} must not be empty", code="CCLINK_BAD_STRING")
    return p


cdef inline int _enum(long v, long lo, long hi, str field) except -1:
    if v < lo or v > hi:
        raise CclinkError(f"CC-LINK: {field}={v} is outside {lo}..{hi}", code="CCLINK_BAD_ENUM")
    return 0


cdef struct OrderArgs:
    uint32_t symbol_id
    uint8_t side
    uint8_t order_type
    uint8_t tif
    uint8_t order_flags
    int64_t px
    int64_t qty
    uint64_t request_id
    int64_t filled_qty
    int64_t avg_px
    uint8_t status
    uint8_t amend_mode
    uint8_t batch_mode
    uint8_t redeem_mode
    uint16_t reason_code
    uint8_t op
    const char* cid
    Py_ssize_t cl
    const char* vid
    Py_ssize_t vl
    const char* txt
    Py_ssize_t tl


cdef int _fill_order(OrderArgs* a, long side, long order_type, long tif, long order_flags,
                     long status, long amend_mode, long batch_mode, long redeem_mode,
                     long op, bint in_batch, object cid, object vid, object text) except -1:
    _enum(side, 0, MAX_SIDE, "side")
    _enum(order_type, 0, MAX_ORDER_TYPE, "order_type")
    _enum(tif, 0, MAX_TIF, "tif")
    _enum(order_flags, 0, ORDER_FLAGS_KNOWN, "order_flags")
    _enum(status, 0, MAX_STATUS, "status")
    _enum(amend_mode, 0, MAX_AMEND_MODE, "amend_mode")
    _enum(batch_mode, 0, MAX_BATCH_MODE, "batch_mode")
    _enum(redeem_mode, 0, MAX_REDEEM_MODE, "redeem_mode")
    if in_batch:
        _enum(op, K_ORDER_NEW, K_ORDER_DECREASE, "op")
    else:
        _enum(op, 0, 0, "op")
    a.side = <uint8_t>side
    a.order_type = <uint8_t>order_type
    a.tif = <uint8_t>tif
    a.order_flags = <uint8_t>order_flags
    a.status = <uint8_t>status
    a.amend_mode = <uint8_t>amend_mode
    a.batch_mode = <uint8_t>batch_mode
    a.redeem_mode = <uint8_t>redeem_mode
    a.op = <uint8_t>op
    a.cid = _utf8(cid, &a.cl, 64, "client_order_id", False)
    a.vid = _utf8(vid, &a.vl, 128, "venue_order_id", False)
    a.txt = _utf8(text, &a.tl, CK_MAX_STR, "text", False)
    return 0


cdef inline Py_ssize_t _order_size(const OrderArgs* a) noexcept nogil:
    return SZ_ORDER + a.cl + a.vl + a.tl


cdef void _write_order(uint8_t* q, const OrderArgs* a) noexcept nogil:
    memset(q, 0, SZ_ORDER)
    memcpy(q, &a.symbol_id, 4)
    q[4] = a.side
    q[5] = a.order_type
    q[6] = a.tif
    q[7] = a.order_flags
    memcpy(q + 8, &a.px, 8)
    memcpy(q + 16, &a.qty, 8)
    memcpy(q + 24, &a.request_id, 8)
    memcpy(q + 32, &a.filled_qty, 8)
    memcpy(q + 40, &a.avg_px, 8)
    q[48] = a.status
    q[49] = a.amend_mode
    q[50] = a.batch_mode
    q[51] = a.redeem_mode
    memcpy(q + 52, &a.reason_code, 2)
    q[54] = <uint8_t>a.cl
    q[55] = <uint8_t>a.vl
    q[56] = <uint8_t>a.tl
    q[57] = a.op
    q += SZ_ORDER
    memcpy(q, a.cid, a.cl)
    memcpy(q + a.cl, a.vid, a.vl)
    memcpy(q + a.cl + a.vl, a.txt, a.tl)


_ORDER_KINDS = frozenset({K_ORDER_NEW, K_ORDER_CANCEL, K_ORDER_AMEND, K_ORDER_DECREASE,
                          K_ORDER_ACK, K_ORDER_REJECT, K_ORDER_UPDATE})
_ORDER_FIELDS = ("symbol_id", "side", "order_type", "tif", "order_flags", "px_1e9", "qty_1e8",
                 "request_id", "filled_qty_1e8", "avg_px_1e9", "status", "amend_mode",
                 "batch_mode", "redeem_mode", "reason_code", "client_order_id",
                 "venue_order_id", "text")


cdef class Encoder:
    """Writes CC-LINK frames back to back into one growable buffer; `take()` hands them to a
    single socket write. Assigns the per-connection sequence number (first frame = 1)."""

    def __cinit__(self, Py_ssize_t capacity=65536, uint8_t venue_slot=0,
                  uint8_t version=CK_VERSION, Py_ssize_t max_buffer=64 * 1024 * 1024):
        if capacity < 256:
            capacity = 256
        self.buf = <uint8_t*>malloc(capacity)
        if self.buf == NULL:
            raise MemoryError()
        self.cap = capacity
        self.len = 0
        self.max_buffer = max(max_buffer, capacity)
        self.seq = 0
        self.version = version
        self.venue_slot = venue_slot
        self.frames = 0

    def __dealloc__(self):
        free(self.buf)

    cdef int _reserve(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t need = self.len + extra, cap = self.cap
        cdef uint8_t* nb
        if need <= cap:
            return 0
        if need > self.max_buffer:
            raise CclinkError(
                f"CC-LINK: encoder buffer would exceed {self.max_buffer} bytes; take() its frames",
                code="CCLINK_BUFFER_FULL")
        while cap < need:
            cap *= 2
        if cap > self.max_buffer:
            cap = self.max_buffer
        nb = <uint8_t*>realloc(self.buf, cap)
        if nb == NULL:
            raise MemoryError()
        self.buf = nb
        self.cap = cap
        return 0

    cdef uint8_t* _begin(self, uint8_t kind, uint32_t payload_len, uint8_t flags,
                         int64_t ts_venue_ns, int64_t ts_local_ns) except NULL:
        cdef uint8_t* p
        cdef uint16_t magic
        if flags & ~F_KNOWN:
            raise CclinkError(f"CC-LINK: unknown flag bits 0x{flags:02x}", code="CCLINK_BAD_FLAGS")
        if payload_len > CK_MAX_PAYLOAD_HARD:
            raise CclinkError(f"CC-LINK: payload of {payload_len} bytes exceeds the hard cap",
                              code="CCLINK_TOO_LARGE")
        self._reserve(CK_HEADER_SIZE + payload_len)
        p = self.buf + self.len
        self.seq += 1
        if ts_local_ns == STAMP_NOW_C:
            ts_local_ns = _now_ns()
        magic = CK_MAGIC
        memcpy(p, &magic, 2)
        p[2] = self.version
        p[3] = kind
        memcpy(p + 4, &payload_len, 4)
        p[8] = flags
        p[9] = self.venue_slot
        memset(p + 10, 0, 6)
        memcpy(p + 16, &self.seq, 8)
        memcpy(p + 24, &ts_venue_ns, 8)
        memcpy(p + 32, &ts_local_ns, 8)
        self.len += CK_HEADER_SIZE + payload_len
        self.frames += 1
        return p + CK_HEADER_SIZE

    # ---- buffer handling

    def take(self) -> bytes:
        """The encoded frames as one bytes object (for one transport.write); empties the buffer."""
        cdef bytes out = PyBytes_FromStringAndSize(<char*>self.buf, self.len)
        self.len = 0
        return out

    def clear(self) -> None:
        self.len = 0

    def __len__(self):
        return self.len

    @property
    def capacity(self) -> int:
        return self.cap

    # ---- C-level publishers

    cdef int bbo_c(self, uint32_t symbol_id, int64_t bid_px, int64_t bid_qty, int64_t ask_px,
                   int64_t ask_qty, int64_t ts_venue_ns, int64_t ts_local_ns,
                   uint8_t flags) except -1:
        cdef uint8_t* q = self._begin(K_BBO, SZ_BBO, flags, ts_venue_ns, ts_local_ns)
        memcpy(q, &symbol_id, 4)
        memset(q + 4, 0, 4)
        memcpy(q + 8, &bid_px, 8)
        memcpy(q + 16, &bid_qty, 8)
        memcpy(q + 24, &ask_px, 8)
        memcpy(q + 32, &ask_qty, 8)
        return 0

    cdef int l2_c(self, uint8_t kind, uint32_t symbol_id, uint64_t update_id,
                  const int64_t* bids, Py_ssize_t n_bids, const int64_t* asks,
                  Py_ssize_t n_asks, int64_t ts_venue_ns, int64_t ts_local_ns,
                  uint8_t flags) except -1:
        cdef uint8_t* q
        cdef uint16_t nb = <uint16_t>n_bids, na = <uint16_t>n_asks
        if kind != K_L2_SNAPSHOT and kind != K_L2_DELTA:
            raise CclinkError(f"CC-LINK: kind {kind} is not an L2 kind", code="CCLINK_BAD_KIND")
        if n_bids < 0 or n_bids > 65535 or n_asks < 0 or n_asks > 65535:
            raise CclinkError("CC-LINK: at most 65535 levels per side", code="CCLINK_BAD_COUNT")
        q = self._begin(kind, SZ_L2 + SZ_LEVEL * (n_bids + n_asks), flags, ts_venue_ns,
                        ts_local_ns)
        memcpy(q, &symbol_id, 4)
        memcpy(q + 4, &nb, 2)
        memcpy(q + 6, &na, 2)
        memcpy(q + 8, &update_id, 8)
        if n_bids:
            memcpy(q + SZ_L2, bids, SZ_LEVEL * n_bids)
        if n_asks:
            memcpy(q + SZ_L2 + SZ_LEVEL * n_bids, asks, SZ_LEVEL * n_asks)
        return 0

    cdef int trade_c(self, uint32_t symbol_id, uint8_t side, int64_t px, int64_t qty,
                     uint64_t trade_id, int64_t ts_venue_ns, int64_t ts_local_ns,
                     uint8_t flags) except -1:
        cdef uint8_t* q
        _enum(side, 0, MAX_SIDE, "side")
        q = self._begin(K_TRADE, SZ_TRADE, flags, ts_venue_ns, ts_local_ns)
        memcpy(q, &symbol_id, 4)
        q[4] = side
        q[5] = 0
        q[6] = 0
        q[7] = 0
        memcpy(q + 8, &px, 8)
        memcpy(q + 16, &qty, 8)
        memcpy(q + 24, &trade_id, 8)
        return 0

    # ---- one Python method per kind

    def hello(self, edge_id, int region, int instrument_type, int role=1,
              int heartbeat_ms=1000, uint64_t session_id=0, int protocol_version=-1,
              uint8_t flags=0, int64_t ts_venue_ns=0, int64_t ts_local_ns=STAMP_NOW) -> None:
        cdef Py_ssize_t il
        cdef const char* ip = _utf8(edge_id, &il, CK_MAX_EDGE_ID, "edge_id", True)
        cdef uint16_t pv = self.version if protocol_version < 0 else <uint16_t>protocol_version
        cdef uint16_t hb
        cdef uint8_t* q
        _enum(region, 0, MAX_REGION, "region")
        _enum(instrument_type, 0, MAX_ITYPE, "instrument_type")
        _enum(role, 1, MAX_ROLE, "role")
        _enum(heartbeat_ms, 0, 65535, "heartbeat_ms")
        hb = <uint16_t>heartbeat_ms
        q = self._begin(K_HELLO, SZ_HELLO + il, flags, ts_venue_ns, ts_local_ns)
        memcpy(q, &pv, 2)
        q[2] = <uint8_t>region
        q[3] = <uint8_t>instrument_type
        q[4] = <uint8_t>role
        q[5] = <uint8_t>il
        memcpy(q + 6, &hb, 2)
        memcpy(q + 8, &session_id, 8)
        memcpy(q + SZ_HELLO, ip, il)

    def pair_spec(self, uint32_t symbol_id, symbol, venue_symbol, int venue_id,
                  int instrument_type, int64_t tick_1e9, int64_t lot_1e8,
                  int64_t min_qty_1e8=0, int64_t min_notional_1e9=0,
                  int32_t maker_fee_bps_e4=0, int32_t taker_fee_bps_e4=0, uint8_t flags=0,
                  int64_t ts_venue_ns=0, int64_t ts_local_ns=STAMP_NOW) -> None:
        cdef Py_ssize_t sl, vl
        cdef const char* sp = _utf8(symbol, &sl, CK_MAX_STR, "symbol", True)
        cdef const char* vp = _utf8(venue_symbol, &vl, CK_MAX_STR, "venue_symbol", True)
        cdef uint8_t* q
        _enum(venue_id, 0, 255, "venue_id")
        _enum(instrument_type, 1, MAX_ITYPE, "instrument_type")
        if tick_1e9 <= 0 or lot_1e8 <= 0 or min_qty_1e8 < 0 or min_notional_1e9 < 0:
            raise CclinkError("CC-LINK: tick and lot must be > 0, minimums >= 0",
                              code="CCLINK_BAD_VALUE")
        q = self._begin(K_PAIR_SPEC, SZ_PAIR_SPEC + sl + vl, flags, ts_venue_ns, ts_local_ns)
        memcpy(q, &symbol_id, 4)
        q[4] = <uint8_t>venue_id
        q[5] = <uint8_t>instrument_type
        q[6] = <uint8_t>sl
        q[7] = <uint8_t>vl
        memcpy(q + 8, &tick_1e9, 8)
        memcpy(q + 16, &lot_1e8, 8)
        memcpy(q + 24, &min_qty_1e8, 8)
        memcpy(q + 32, &min_notional_1e9, 8)
        memcpy(q + 40, &maker_fee_bps_e4, 4)
        memcpy(q + 44, &taker_fee_bps_e4, 4)
        memcpy(q + SZ_PAIR_SPEC, sp, sl)
        memcpy(q + SZ_PAIR_SPEC + sl, vp, vl)

    def bbo(self, uint32_t symbol_id, int64_t bid_px_1e9, int64_t bid_qty_1e8,
            int64_t ask_px_1e9, int64_t ask_qty_1e8, int64_t ts_venue_ns=0,
            int64_t ts_local_ns=STAMP_NOW, uint8_t flags=0) -> None:
        self.bbo_c(symbol_id, bid_px_1e9, bid_qty_1e8, ask_px_1e9, ask_qty_1e8, ts_venue_ns,
                   ts_local_ns, flags)

    def l2(self, uint8_t kind, uint32_t symbol_id, uint64_t update_id, bids, asks,
           int64_t ts_venue_ns=0, int64_t ts_local_ns=STAMP_NOW, uint8_t flags=0) -> None:
        """L2_SNAPSHOT or L2_DELTA; bids/asks are int64 arrays of shape (n, 2): px_1e9, qty_1e8
        (a delta's qty 0 removes the level); None means no levels on that side."""
        cdef const int64_t* bp = NULL
        cdef const int64_t* ap = NULL
        cdef Py_ssize_t nb = 0, na = 0
        if bids is not None:
            bids = _levels(bids, "bids")
            nb = cnp.PyArray_DIM(bids, 0)
            bp = <const int64_t*>cnp.PyArray_DATA(bids)
        if asks is not None:
            asks = _levels(asks, "asks")
            na = cnp.PyArray_DIM(asks, 0)
            ap = <const int64_t*>cnp.PyArray_DATA(asks)
        self.l2_c(kind, symbol_id, update_id, bp, nb, ap, na, ts_venue_ns, ts_local_ns, flags)

    def l2_snapshot(self, uint32_t symbol_id, uint64_t update_id, bids, asks,
                    int64_t ts_venue_ns=0, int64_t ts_local_ns=STAMP_NOW,
                    uint8_t flags=0) -> None:
        self.l2(K_L2_SNAPSHOT, symbol_id, update_id, bids, asks, ts_venue_ns, ts_local_ns, flags)

    def l2_delta(self, uint32_t symbol_id, uint64_t update_id, bids, asks,
                 int64_t ts_venue_ns=0, int64_t ts_local_ns=STAMP_NOW, uint8_t flags=0) -> None:
        self.l2(K_L2_DELTA, symbol_id, update_id, bids, asks, ts_venue_ns, ts_local_ns, flags)

    def trade(self, uint32_t symbol_id, int side, int64_t px_1e9, int64_t qty_1e8,
              uint64_t trade_id=0, int64_t ts_venue_ns=0, int64_t ts_local_ns=STAMP_NOW,
              uint8_t flags=0) -> None:
        _enum(side, 0, MAX_SIDE, "side")
        self.trade_c(symbol_id, <uint8_t>side, px_1e9, qty_1e8, trade_id, ts_venue_ns,
                     ts_local_ns, flags)

    def fill(self, uint32_t symbol_id, int side, int64_t px_1e9, int64_t qty_1e8,
             int64_t fee_1e9=0, uint64_t fill_id=0, uint64_t request_id=0, int liquidity=0,
             client_order_id=None, venue_order_id=None, int64_t ts_venue_ns=0,
             int64_t ts_local_ns=STAMP_NOW, uint8_t flags=0) -> None:
        cdef Py_ssize_t cl, vl
        cdef const char* cp = _utf8(client_order_id, &cl, 64, "client_order_id", False)
        cdef const char* vp = _utf8(venue_order_id, &vl, 128, "venue_order_id", False)
        cdef uint8_t* q
        _enum(side, 0, MAX_SIDE, "side")
        _enum(liquidity, 0, MAX_LIQUIDITY, "liquidity")
        q = self._begin(K_FILL, SZ_FILL + cl + vl, flags, ts_venue_ns, ts_local_ns)
        memcpy(q, &symbol_id, 4)
        q[4] = <uint8_t>side
        q[5] = <uint8_t>liquidity
        q[6] = <uint8_t>cl
        q[7] = <uint8_t>vl
        memcpy(q + 8, &px_1e9, 8)
        memcpy(q + 16, &qty_1e8, 8)
        memcpy(q + 24, &fee_1e9, 8)
        memcpy(q + 32, &fill_id, 8)
        memcpy(q + 40, &request_id, 8)
        memcpy(q + SZ_FILL, cp, cl)
        memcpy(q + SZ_FILL + cl, vp, vl)

    def order(self, int kind, uint32_t symbol_id=0, int side=0, int order_type=0, int tif=0,
              int order_flags=0, int64_t px_1e9=0, int64_t qty_1e8=0, uint64_t request_id=0,
              client_order_id=None, venue_order_id=None, int64_t filled_qty_1e8=0,
              int64_t avg_px_1e9=0, int status=0, int amend_mode=0, int batch_mode=0,
              int redeem_mode=0, uint16_t reason_code=0, text=None, int64_t ts_venue_ns=0,
              int64_t ts_local_ns=STAMP_NOW, uint8_t flags=0) -> None:
        """Any ORDER_* kind but ORDER_BATCH (one layout: docs/cclink.md, "Order body")."""
        cdef OrderArgs a
        cdef uint8_t* q
        if kind not in _ORDER_KINDS:
            raise CclinkError(f"CC-LINK: kind {kind} is not a single-order kind",
                              code="CCLINK_BAD_KIND")
        _fill_order(&a, side, order_type, tif, order_flags, status, amend_mode, batch_mode,
                    redeem_mode, 0, False, client_order_id, venue_order_id, text)
        a.symbol_id = symbol_id
        a.px = px_1e9
        a.qty = qty_1e8
        a.request_id = request_id
        a.filled_qty = filled_qty_1e8
        a.avg_px = avg_px_1e9
        a.reason_code = reason_code
        q = self._begin(<uint8_t>kind, _order_size(&a), flags, ts_venue_ns, ts_local_ns)
        _write_order(q, &a)

    def order_batch(self, orders, uint64_t request_id=0, int batch_mode=0,
                    int64_t ts_venue_ns=0, int64_t ts_local_ns=STAMP_NOW,
                    uint8_t flags=0) -> None:
        """ORDER_BATCH: `orders` is a sequence of mappings with an `op` (ORDER_NEW, ORDER_CANCEL,
        ORDER_AMEND or ORDER_DECREASE) and the order() field names."""
        cdef Py_ssize_t i, n = len(orders), total = SZ_BATCH
        cdef OrderArgs* args
        cdef uint8_t* q
        cdef uint16_t cnt
        _enum(batch_mode, 0, MAX_BATCH_MODE, "batch_mode")
        if n > CK_MAX_BATCH:
            raise CclinkError(f"CC-LINK: a batch holds at most {CK_MAX_BATCH} orders, got {n}",
                              code="CCLINK_BAD_COUNT")
        items = list(orders)
        args = <OrderArgs*>malloc(sizeof(OrderArgs) * (n if n > 0 else 1))
        if args == NULL:
            raise MemoryError()
        try:
            for i in range(n):
                o = items[i]
                unknown = set(o) - set(_ORDER_FIELDS) - {"op"}
                if unknown:
                    raise CclinkError(f"CC-LINK: unknown order field(s) {sorted(unknown)}",
                                      code="CCLINK_BAD_VALUE")
                _fill_order(&args[i], o.get("side", 0), o.get("order_type", 0), o.get("tif", 0),
                            o.get("order_flags", 0), o.get("status", 0), o.get("amend_mode", 0),
                            o.get("batch_mode", 0), o.get("redeem_mode", 0), o.get("op", 0),
                            True, o.get("client_order_id"), o.get("venue_order_id"),
                            o.get("text"))
                args[i].symbol_id = o.get("symbol_id", 0)
                args[i].px = o.get("px_1e9", 0)
                args[i].qty = o.get("qty_1e8", 0)
                args[i].request_id = o.get("request_id", 0)
                args[i].filled_qty = o.get("filled_qty_1e8", 0)
                args[i].avg_px = o.get("avg_px_1e9", 0)
                args[i].reason_code = o.get("reason_code", 0)
                total += _order_size(&args[i])
            q = self._begin(K_ORDER_BATCH, total, flags, ts_venue_ns, ts_local_ns)
            cnt = <uint16_t>n
            memset(q, 0, SZ_BATCH)
            memcpy(q, &cnt, 2)
            q[2] = <uint8_t>batch_mode
            memcpy(q + 8, &request_id, 8)
            q += SZ_BATCH
            for i in range(n):
                _write_order(q, &args[i])
                q += _order_size(&args[i])
        finally:
            free(args)

    def balance(self, asset, int64_t total_1e8, int64_t available_1e8, int64_t locked_1e8=0,
                int64_t ts_venue_ns=0, int64_t ts_local_ns=STAMP_NOW, uint8_t flags=0) -> None:
        cdef Py_ssize_t al
        cdef const char* ap = _utf8(asset, &al, CK_MAX_ASSET, "asset", True)
        cdef uint8_t* q = self._begin(K_BALANCE, SZ_BALANCE + al, flags, ts_venue_ns, ts_local_ns)
        memcpy(q, &total_1e8, 8)
        memcpy(q + 8, &available_1e8, 8)
        memcpy(q + 16, &locked_1e8, 8)
        memset(q + 24, 0, 8)
        q[24] = <uint8_t>al
        memcpy(q + SZ_BALANCE, ap, al)

    def heartbeat(self, uint64_t last_rx_seq=0, int64_t ts_local_ns=STAMP_NOW) -> None:
        cdef uint8_t* q = self._begin(K_HEARTBEAT, SZ_HEARTBEAT, 0, 0, ts_local_ns)
        memcpy(q, &last_rx_seq, 8)

    def ping(self, uint64_t ping_id, int64_t t_send_ns=STAMP_NOW) -> None:
        cdef uint8_t* q
        if t_send_ns == STAMP_NOW_C:
            t_send_ns = _now_ns()
        q = self._begin(K_PING, SZ_PING, 0, 0, t_send_ns)
        memcpy(q, &ping_id, 8)
        memcpy(q + 8, &t_send_ns, 8)

    def pong(self, uint64_t ping_id, int64_t t_ping_ns, int64_t t_pong_ns=STAMP_NOW) -> None:
        cdef uint8_t* q
        if t_pong_ns == STAMP_NOW_C:
            t_pong_ns = _now_ns()
        q = self._begin(K_PONG, SZ_PONG, 0, 0, t_pong_ns)
        memcpy(q, &ping_id, 8)
        memcpy(q + 8, &t_ping_ns, 8)
        memcpy(q + 16, &t_pong_ns, 8)

    def resync(self, uint64_t last_rx_seq=0, uint32_t symbol_id=0xFFFFFFFF,
               int64_t ts_local_ns=STAMP_NOW) -> None:
        cdef uint8_t* q = self._begin(K_RESYNC, SZ_RESYNC, 0, 0, ts_local_ns)
        memcpy(q, &last_rx_seq, 8)
        memcpy(q + 8, &symbol_id, 4)
        memset(q + 12, 0, 4)

    def error(self, uint16_t code, text=None, int ref_kind=0, uint64_t ref_seq=0,
              int64_t ts_local_ns=STAMP_NOW) -> None:
        cdef Py_ssize_t tl
        cdef const char* tp = _utf8(text, &tl, CK_MAX_STR, "text", False)
        cdef uint8_t* q
        _enum(ref_kind, 0, 255, "ref_kind")
        q = self._begin(K_ERROR, SZ_ERROR + tl, 0, 0, ts_local_ns)
        memset(q, 0, SZ_ERROR)
        memcpy(q, &code, 2)
        q[2] = <uint8_t>ref_kind
        q[3] = <uint8_t>tl
        memcpy(q + 8, &ref_seq, 8)
        memcpy(q + SZ_ERROR, tp, tl)

    def append_frame(self, frame, bint renumber=True, uint8_t add_flags=0,
                     uint32_t max_payload=CK_MAX_PAYLOAD_HARD) -> None:
        """Append one already-encoded frame (bytes-like, or a decoded Frame), validated; with
        `renumber` it takes this connection's next sequence number (re-publishing)."""
        cdef const uint8_t[::1] v
        cdef CkHeader h
        cdef int rc
        cdef uint8_t* p
        cdef Py_ssize_t n
        if isinstance(frame, Frame):
            frame = (<Frame>frame).raw
        v = frame
        n = v.shape[0]
        if n == 0:
            rc = E_BAD_LENGTH
        else:
            rc = ck_check_frame(&v[0], n, max_payload, self.version, &h)
        if rc == CK_NEED_MORE or (rc == CK_OK and n != CK_HEADER_SIZE + h.payload_len):
            rc = E_BAD_LENGTH
        if rc != CK_OK:
            raise _frame_error(rc, "append_frame needs exactly one valid frame")
        if add_flags & ~F_KNOWN:
            raise CclinkError(f"CC-LINK: unknown flag bits 0x{add_flags:02x}",
                              code="CCLINK_BAD_FLAGS")
        self._reserve(n)
        p = self.buf + self.len
        memcpy(p, &v[0], n)
        p[8] |= add_flags
        if renumber:
            self.seq += 1
            memcpy(p + 16, &self.seq, 8)
        self.len += n
        self.frames += 1


cdef inline bint _is_levels(object a) noexcept:
    return (cnp.PyArray_Check(a) and cnp.PyArray_TYPE(a) == cnp.NPY_INT64
            and cnp.PyArray_NDIM(a) == 2 and cnp.PyArray_DIM(a, 1) == 2
            and cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISNOTSWAPPED(a))


cdef object _levels(object arr, str name):
    """`arr` as a C-contiguous int64 (n, 2) ndarray (no copy when it already is one)."""
    if _is_levels(arr):
        return arr
    a = np.ascontiguousarray(arr, dtype=np.int64)
    if a.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if not _is_levels(a):
        raise CclinkError(f"CC-LINK: {name} must be an int64 array of shape (n, 2)",
                          code="CCLINK_BAD_VALUE")
    return a


cdef object _level_view(object src, Py_ssize_t off, Py_ssize_t n):
    """A read-only (n, 2) int64 ndarray over src's bytes at off (no copy; src stays alive)."""
    cdef cnp.npy_intp dims[2]
    cdef cnp.ndarray arr
    dims[0] = n
    dims[1] = 2
    arr = cnp.PyArray_SimpleNewFromData(2, dims, cnp.NPY_INT64,
                                        <void*>(PyBytes_AS_STRING(src) + off))
    Py_INCREF(src)
    cnp.PyArray_SetBaseObject(arr, src)
    cnp.PyArray_CLEARFLAGS(arr, cnp.NPY_ARRAY_WRITEABLE)
    return arr


# ---------------------------------------------------------------------------------------------
# Decoded frames

cdef inline str _s(const uint8_t* p, Py_ssize_t n):
    if n == 0:
        return ""
    try:
        return PyUnicode_DecodeUTF8(<const char*>p, n, NULL)
    except UnicodeDecodeError as exc:
        raise CclinkError(f"CC-LINK: {_ERROR_TEXT[E_BAD_STRING]} ({exc.reason})",
                          code="CCLINK_BAD_STRING") from None


@cython.no_gc
cdef class Frame:
    """One decoded CC-LINK frame: the header fields, and a zero-copy view of its bytes.

    Frames are not tracked by the cycle collector (they hold only bytes, str, ints and, for a
    batch, a list of frames), so a burst of frames costs no garbage-collection passes."""

    _fields = ()

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, str(self.kind))

    @property
    def raw(self) -> memoryview:
        """The whole frame as it arrived (header + payload), a view, not a copy."""
        return memoryview(self._src)[self._off:self._off + self._len]

    @property
    def payload(self) -> memoryview:
        return memoryview(self._src)[self._off + CK_HEADER_SIZE:self._off + self._len]

    @property
    def size(self) -> int:
        return self._len

    def header(self) -> dict:
        return {"kind": self.kind, "version": self.version, "flags": self.flags,
                "venue_slot": self.venue_slot, "seq": self.seq,
                "ts_venue_ns": self.ts_venue_ns, "ts_local_ns": self.ts_local_ns}

    def fields(self) -> dict:
        """The kind's payload fields by name (levels as lists of [px_1e9, qty_1e8])."""
        out = {}
        for name in self._fields:
            v = getattr(self, name)
            if isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, list):
                v = [x.fields() for x in v]
            out[name] = v
        return out

    def to_dict(self) -> dict:
        d = self.header()
        d["kind_name"] = self.kind_name
        d.update(self.fields())
        return d

    def __repr__(self):
        body = ", ".join(f"{k}={v!r}" for k, v in self.fields().items())
        return f"<{self.kind_name} seq={self.seq} slot={self.venue_slot} {body}>"


@cython.no_gc
cdef class Hello(Frame):
    cdef readonly uint16_t protocol_version
    cdef readonly uint8_t region
    cdef readonly uint8_t instrument_type
    cdef readonly uint8_t role
    cdef readonly uint16_t heartbeat_ms
    cdef readonly uint64_t session_id
    cdef readonly str edge_id
    _fields = ("protocol_version", "region", "instrument_type", "role", "heartbeat_ms",
               "session_id", "edge_id")


@cython.no_gc
cdef class PairSpecFrame(Frame):
    cdef readonly uint32_t symbol_id
    cdef readonly uint8_t venue_id
    cdef readonly uint8_t instrument_type
    cdef readonly str symbol
    cdef readonly str venue_symbol
    cdef readonly int64_t tick_1e9
    cdef readonly int64_t lot_1e8
    cdef readonly int64_t min_qty_1e8
    cdef readonly int64_t min_notional_1e9
    cdef readonly int32_t maker_fee_bps_e4   # fee in 1e-4 bps (10_000 = 1 bp); negative = rebate
    cdef readonly int32_t taker_fee_bps_e4
    _fields = ("symbol_id", "venue_id", "instrument_type", "symbol", "venue_symbol", "tick_1e9",
               "lot_1e8", "min_qty_1e8", "min_notional_1e9", "maker_fee_bps_e4",
               "taker_fee_bps_e4")


@cython.no_gc
@cython.freelist(32)
cdef class Bbo(Frame):
    cdef readonly uint32_t symbol_id
    cdef readonly int64_t bid_px_1e9
    cdef readonly int64_t bid_qty_1e8
    cdef readonly int64_t ask_px_1e9
    cdef readonly int64_t ask_qty_1e8
    _fields = ("symbol_id", "bid_px_1e9", "bid_qty_1e8", "ask_px_1e9", "ask_qty_1e8")


@cython.no_gc
cdef class L2Frame(Frame):
    cdef readonly uint32_t symbol_id
    cdef readonly uint64_t update_id
    cdef readonly uint16_t n_bids
    cdef readonly uint16_t n_asks
    _fields = ("symbol_id", "update_id", "bids", "asks")

    @property
    def is_snapshot(self) -> bool:
        return self.kind == K_L2_SNAPSHOT

    @property
    def bids(self) -> np.ndarray:
        """int64 (n_bids, 2) [px_1e9, qty_1e8], a read-only view into the received bytes."""
        return _level_view(self._src, self._off + CK_HEADER_SIZE + SZ_L2, self.n_bids)

    @property
    def asks(self) -> np.ndarray:
        return _level_view(self._src, self._off + CK_HEADER_SIZE + SZ_L2 + SZ_LEVEL * self.n_bids,
                           self.n_asks)


@cython.no_gc
cdef class Trade(Frame):
    cdef readonly uint32_t symbol_id
    cdef readonly uint8_t side
    cdef readonly int64_t px_1e9
    cdef readonly int64_t qty_1e8
    cdef readonly uint64_t trade_id
    _fields = ("symbol_id", "side", "px_1e9", "qty_1e8", "trade_id")


@cython.no_gc
cdef class Fill(Frame):
    cdef readonly uint32_t symbol_id
    cdef readonly uint8_t side
    cdef readonly uint8_t liquidity
    cdef readonly int64_t px_1e9
    cdef readonly int64_t qty_1e8
    cdef readonly int64_t fee_1e9
    cdef readonly uint64_t fill_id
    cdef readonly uint64_t request_id
    cdef readonly str client_order_id
    cdef readonly str venue_order_id
    _fields = ("symbol_id", "side", "liquidity", "px_1e9", "qty_1e8", "fee_1e9", "fill_id",
               "request_id", "client_order_id", "venue_order_id")


@cython.no_gc
cdef class OrderFrame(Frame):
    cdef readonly uint32_t symbol_id
    cdef readonly uint8_t side
    cdef readonly uint8_t order_type
    cdef readonly uint8_t tif
    cdef readonly uint8_t order_flags
    cdef readonly int64_t px_1e9
    cdef readonly int64_t qty_1e8
    cdef readonly uint64_t request_id
    cdef readonly int64_t filled_qty_1e8
    cdef readonly int64_t avg_px_1e9
    cdef readonly uint8_t status
    cdef readonly uint8_t amend_mode
    cdef readonly uint8_t batch_mode
    cdef readonly uint8_t redeem_mode
    cdef readonly uint16_t reason_code
    cdef readonly uint8_t op
    cdef readonly str client_order_id
    cdef readonly str venue_order_id
    cdef readonly str text
    _fields = ("op",) + _ORDER_FIELDS

    @property
    def reduce_only(self) -> bool:
        return bool(self.order_flags & 1)

    @property
    def post_only(self) -> bool:
        return bool(self.order_flags & 2)


@cython.no_gc
cdef class OrderBatch(Frame):
    cdef readonly uint64_t request_id
    cdef readonly uint8_t batch_mode
    cdef readonly list orders
    _fields = ("request_id", "batch_mode", "orders")


@cython.no_gc
cdef class Balance(Frame):
    cdef readonly str asset
    cdef readonly int64_t total_1e8
    cdef readonly int64_t available_1e8
    cdef readonly int64_t locked_1e8
    _fields = ("asset", "total_1e8", "available_1e8", "locked_1e8")


@cython.no_gc
cdef class Heartbeat(Frame):
    cdef readonly uint64_t last_rx_seq
    _fields = ("last_rx_seq",)


@cython.no_gc
cdef class Ping(Frame):
    cdef readonly uint64_t ping_id
    cdef readonly int64_t t_send_ns
    _fields = ("ping_id", "t_send_ns")


@cython.no_gc
cdef class Pong(Frame):
    cdef readonly uint64_t ping_id
    cdef readonly int64_t t_ping_ns
    cdef readonly int64_t t_pong_ns
    _fields = ("ping_id", "t_ping_ns", "t_pong_ns")


@cython.no_gc
cdef class Resync(Frame):
    cdef readonly uint64_t last_rx_seq
    cdef readonly uint32_t symbol_id
    _fields = ("last_rx_seq", "symbol_id")


@cython.no_gc
cdef class ErrorFrame(Frame):
    cdef readonly uint16_t code
    cdef readonly uint8_t ref_kind
    cdef readonly uint64_t ref_seq
    cdef readonly str text
    _fields = ("code", "ref_kind", "ref_seq", "text")


cdef OrderFrame _order_frame(const uint8_t* q):
    cdef OrderFrame o = OrderFrame.__new__(OrderFrame)
    cdef Py_ssize_t cl = q[54], vl = q[55], tl = q[56]
    o.symbol_id = ld_u32(q)
    o.side = q[4]
    o.order_type = q[5]
    o.tif = q[6]
    o.order_flags = q[7]
    o.px_1e9 = ld_i64(q + 8)
    o.qty_1e8 = ld_i64(q + 16)
    o.request_id = ld_u64(q + 24)
    o.filled_qty_1e8 = ld_i64(q + 32)
    o.avg_px_1e9 = ld_i64(q + 40)
    o.status = q[48]
    o.amend_mode = q[49]
    o.batch_mode = q[50]
    o.redeem_mode = q[51]
    o.reason_code = ld_u16(q + 52)
    o.op = q[57]
    o.client_order_id = _s(q + SZ_ORDER, cl)
    o.venue_order_id = _s(q + SZ_ORDER + cl, vl)
    o.text = _s(q + SZ_ORDER + cl + vl, tl)
    return o


cdef Frame _build(object src, Py_ssize_t off, const CkHeader* h):
    """The typed frame for a validated frame at src[off:] (src is a bytes object)."""
    cdef const uint8_t* q = <const uint8_t*>PyBytes_AS_STRING(src) + off + CK_HEADER_SIZE
    cdef Frame f
    cdef Bbo b
    cdef L2Frame l2
    cdef Trade t
    cdef Fill fi
    cdef OrderBatch ob
    cdef OrderFrame o
    cdef Hello he
    cdef PairSpecFrame ps
    cdef Balance ba
    cdef Heartbeat hb
    cdef Ping pi
    cdef Pong po
    cdef Resync rs
    cdef ErrorFrame er
    cdef Py_ssize_t i, qoff
    cdef uint8_t kind = h.kind
    if kind == K_BBO:
        b = Bbo.__new__(Bbo)
        b.symbol_id = ld_u32(q)
        b.bid_px_1e9 = ld_i64(q + 8)
        b.bid_qty_1e8 = ld_i64(q + 16)
        b.ask_px_1e9 = ld_i64(q + 24)
        b.ask_qty_1e8 = ld_i64(q + 32)
        f = b
    elif kind == K_L2_SNAPSHOT or kind == K_L2_DELTA:
        l2 = L2Frame.__new__(L2Frame)
        l2.symbol_id = ld_u32(q)
        l2.n_bids = ld_u16(q + 4)
        l2.n_asks = ld_u16(q + 6)
        l2.update_id = ld_u64(q + 8)
        f = l2
    elif kind == K_TRADE:
        t = Trade.__new__(Trade)
        t.symbol_id = ld_u32(q)
        t.side = q[4]
        t.px_1e9 = ld_i64(q + 8)
        t.qty_1e8 = ld_i64(q + 16)
        t.trade_id = ld_u64(q + 24)
        f = t
    elif kind == K_FILL:
        fi = Fill.__new__(Fill)
        fi.symbol_id = ld_u32(q)
        fi.side = q[4]
        fi.liquidity = q[5]
        fi.px_1e9 = ld_i64(q + 8)
        fi.qty_1e8 = ld_i64(q + 16)
        fi.fee_1e9 = ld_i64(q + 24)
        fi.fill_id = ld_u64(q + 32)
        fi.request_id = ld_u64(q + 40)
        fi.client_order_id = _s(q + SZ_FILL, q[6])
        fi.venue_order_id = _s(q + SZ_FILL + q[6], q[7])
        f = fi
    elif kind == K_ORDER_BATCH:
        ob = OrderBatch.__new__(OrderBatch)
        ob.batch_mode = q[2]
        ob.request_id = ld_u64(q + 8)
        ob.orders = []
        qoff = SZ_BATCH
        for i in range(ld_u16(q)):
            o = _order_frame(q + qoff)
            o.kind = o.op
            o.version = h.version
            o.flags = h.flags
            o.venue_slot = h.venue_slot
            o.seq = h.seq
            o.ts_venue_ns = h.ts_venue_ns
            o.ts_local_ns = h.ts_local_ns
            o._src = src
            o._off = off
            o._len = CK_HEADER_SIZE + h.payload_len
            ob.orders.append(o)
            qoff += SZ_ORDER + <Py_ssize_t>q[qoff + 54] + q[qoff + 55] + q[qoff + 56]
        f = ob
    elif kind >= K_ORDER_NEW and kind <= K_ORDER_UPDATE:
        f = _order_frame(q)
    elif kind == K_HELLO:
        he = Hello.__new__(Hello)
        he.protocol_version = ld_u16(q)
        he.region = q[2]
        he.instrument_type = q[3]
        he.role = q[4]
        he.heartbeat_ms = ld_u16(q + 6)
        he.session_id = ld_u64(q + 8)
        he.edge_id = _s(q + SZ_HELLO, q[5])
        f = he
    elif kind == K_PAIR_SPEC:
        ps = PairSpecFrame.__new__(PairSpecFrame)
        ps.symbol_id = ld_u32(q)
        ps.venue_id = q[4]
        ps.instrument_type = q[5]
        ps.tick_1e9 = ld_i64(q + 8)
        ps.lot_1e8 = ld_i64(q + 16)
        ps.min_qty_1e8 = ld_i64(q + 24)
        ps.min_notional_1e9 = ld_i64(q + 32)
        ps.maker_fee_bps_e4 = ld_i32(q + 40)
        ps.taker_fee_bps_e4 = ld_i32(q + 44)
        ps.symbol = _s(q + SZ_PAIR_SPEC, q[6])
        ps.venue_symbol = _s(q + SZ_PAIR_SPEC + q[6], q[7])
        f = ps
    elif kind == K_BALANCE:
        ba = Balance.__new__(Balance)
        ba.total_1e8 = ld_i64(q)
        ba.available_1e8 = ld_i64(q + 8)
        ba.locked_1e8 = ld_i64(q + 16)
        ba.asset = _s(q + SZ_BALANCE, q[24])
        f = ba
    elif kind == K_HEARTBEAT:
        hb = Heartbeat.__new__(Heartbeat)
        hb.last_rx_seq = ld_u64(q)
        f = hb
    elif kind == K_PING:
        pi = Ping.__new__(Ping)
        pi.ping_id = ld_u64(q)
        pi.t_send_ns = ld_i64(q + 8)
        f = pi
    elif kind == K_PONG:
        po = Pong.__new__(Pong)
        po.ping_id = ld_u64(q)
        po.t_ping_ns = ld_i64(q + 8)
        po.t_pong_ns = ld_i64(q + 16)
        f = po
    elif kind == K_RESYNC:
        rs = Resync.__new__(Resync)
        rs.last_rx_seq = ld_u64(q)
        rs.symbol_id = ld_u32(q + 8)
        f = rs
    else:  # K_ERROR (kinds were validated)
        er = ErrorFrame.__new__(ErrorFrame)
        er.code = ld_u16(q)
        er.ref_kind = q[2]
        er.ref_seq = ld_u64(q + 8)
        er.text = _s(q + SZ_ERROR, q[3])
        f = er
    f.kind = kind
    f.version = h.version
    f.flags = h.flags
    f.venue_slot = h.venue_slot
    f.seq = h.seq
    f.ts_venue_ns = h.ts_venue_ns
    f.ts_local_ns = h.ts_local_ns
    f._src = src
    f._off = off
    f._len = CK_HEADER_SIZE + h.payload_len
    return f


# ---------------------------------------------------------------------------------------------
# Stream decoder

cdef class Decoder:
    """Reassembles CC-LINK frames from a byte stream (one per connection).

    `feed(chunk)` returns the complete frames in the chunk. A frame that lies wholly inside the
    chunk is decoded in place (its `raw`, `payload` and L2 level arrays are views of the chunk);
    only a frame split across reads is copied, once, when its last byte arrives. A bad frame
    raises CclinkError (with `.frames` = the good frames before it) and the decoder stays failed:
    the stream has lost framing and the connection must be closed. The pending buffer never
    exceeds HEADER_SIZE + max_payload bytes, whatever length a hostile peer announces.
    """

    def __cinit__(self, uint32_t max_payload=CK_MAX_PAYLOAD_DEFAULT, uint8_t version=CK_VERSION,
                  bint check_seq=True, uint64_t first_seq=1):
        if max_payload > CK_MAX_PAYLOAD_HARD:
            raise ValueError(f"max_payload is capped at {CK_MAX_PAYLOAD_HARD}")
        self.max_payload = max_payload
        self.version = version
        self.check_seq = check_seq
        self.expected_seq = first_seq
        self.pcap = 4096
        self.pend = <uint8_t*>malloc(self.pcap)
        if self.pend == NULL:
            raise MemoryError()
        self.plen = 0
        self.frames = 0
        self.gaps = 0
        self.missing = 0
        self.copied = 0
        self.last_gap = None
        self._broken = None
        self.cbuf = NULL
        self.clen = 0
        self.ccap = 0
        self.capturing = False
        self.stream_id = 0
        self.recv_ns = 0

    def __dealloc__(self):
        free(self.pend)
        free(self.cbuf)

    def start_capture(self, uint32_t stream_id=0) -> None:
        """From now on, append every decoded frame as a capture record (see take_capture)."""
        self.capturing = True
        self.stream_id = stream_id

    def take_capture(self) -> bytes:
        """Capture records of the frames decoded since the last call, ready to append to a
        capture file: per frame i64 recv_ns, u32 stream_id, u32 frame length, the frame."""
        cdef bytes out = PyBytes_FromStringAndSize(<char*>self.cbuf, self.clen)
        self.clen = 0
        return out

    cdef int _capture(self, const uint8_t* p, Py_ssize_t n) except -1:
        cdef Py_ssize_t need = self.clen + CK_CAPTURE_RECORD + n
        cdef Py_ssize_t cap = self.ccap if self.ccap else 65536
        cdef uint8_t* nb
        cdef uint32_t flen = <uint32_t>n
        if need > self.ccap:
            while cap < need:
                cap *= 2
            nb = <uint8_t*>realloc(self.cbuf, cap)
            if nb == NULL:
                raise MemoryError()
            self.cbuf = nb
            self.ccap = cap
        nb = self.cbuf + self.clen
        memcpy(nb, &self.recv_ns, 8)
        memcpy(nb + 8, &self.stream_id, 4)
        memcpy(nb + 12, &flen, 4)
        memcpy(nb + CK_CAPTURE_RECORD, p, n)
        self.clen = need
        return 0

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held until the next feed."""
        return self.plen

    @property
    def failed(self):
        return self._broken

    def reset(self, uint64_t first_seq=1) -> None:
        """Forget the pending bytes, the failure and the sequence (a new connection)."""
        self.plen = 0
        self._broken = None
        self.expected_seq = first_seq

    cdef int _stash(self, const uint8_t* p, Py_ssize_t n) except -1:
        cdef Py_ssize_t need = self.plen + n
        cdef Py_ssize_t cap = self.pcap
        cdef uint8_t* nb
        if need > cap:
            while cap < need:
                cap *= 2
            nb = <uint8_t*>realloc(self.pend, cap)
            if nb == NULL:
                raise MemoryError()
            self.pend = nb
            self.pcap = cap
        memcpy(self.pend + self.plen, p, n)
        self.plen = need
        return 0

    cdef Frame _make(self, object src, Py_ssize_t off, const CkHeader* h):
        cdef Frame f = _build(src, off, h)
        self.frames += 1
        if self.capturing:
            self._capture(<const uint8_t*>PyBytes_AS_STRING(src) + off,
                          CK_HEADER_SIZE + h.payload_len)
        if self.check_seq:
            if h.seq != self.expected_seq:
                f.gap = <int64_t>(h.seq - self.expected_seq)
                self.gaps += 1
                if f.gap > 0:
                    self.missing += <uint64_t>f.gap
                self.last_gap = (self.expected_seq, h.seq)
            self.expected_seq = h.seq + 1
        return f

    def feed(self, data, int64_t recv_ns=STAMP_NOW) -> list:
        """Decode every complete frame of `data` (bytes; other buffers are copied to bytes).

        `recv_ns` stamps capture records (default: now, read only when capturing)."""
        cdef const uint8_t* p
        cdef Py_ssize_t n, pos = 0, take, need
        cdef CkHeader h
        cdef int rc
        cdef list out = []
        if self._broken is not None:
            raise CclinkError(f"CC-LINK: decoder failed earlier ({self._broken}); reset() it "
                              "for a new connection", code=self._broken.code)
        if not PyBytes_CheckExact(data):
            data = bytes(data)
        p = <const uint8_t*>PyBytes_AS_STRING(data)
        n = PyBytes_GET_SIZE(data)
        if self.capturing:
            self.recv_ns = _now_ns() if recv_ns == STAMP_NOW_C else recv_ns
        try:
            if self.plen > 0:
                if self.plen < 8:
                    take = min(8 - self.plen, n)
                    self._stash(p, take)
                    pos = take
                    rc = ck_check_prefix(self.pend, self.plen, self.max_payload, self.version)
                    if rc > 0:
                        raise _frame_error(rc, _describe(self.pend, self.plen, self.max_payload), 0)
                    if self.plen < 8:
                        return out
                need = CK_HEADER_SIZE + ld_u32(self.pend + 4)
                take = min(need - self.plen, n - pos)
                self._stash(p + pos, take)
                pos += take
                rc = ck_check_frame(self.pend, self.plen, self.max_payload, self.version, &h)
                if rc > 0:
                    raise _frame_error(rc, _describe(self.pend, self.plen, self.max_payload), 0)
                if self.plen < need:
                    return out
                fb = PyBytes_FromStringAndSize(<char*>self.pend, need)
                self.plen = 0
                self.copied += 1
                out.append(self._make(fb, 0, &h))
            while pos < n:
                rc = ck_check_frame(p + pos, n - pos, self.max_payload, self.version, &h)
                if rc == CK_OK:
                    out.append(self._make(data, pos, &h))
                    pos += CK_HEADER_SIZE + h.payload_len
                elif rc == CK_NEED_MORE:
                    self._stash(p + pos, n - pos)
                    break
                else:
                    raise _frame_error(rc, _describe(p + pos, n - pos, self.max_payload), pos)
        except CclinkError as exc:
            exc.frames = out
            if exc.offset < 0:
                exc.offset = pos
            self.plen = 0
            self._broken = exc
            raise
        return out


def decode_frames(data, uint32_t max_payload=CK_MAX_PAYLOAD_DEFAULT,
                  bint check_seq=False) -> list:
    """Decode a buffer that holds whole frames only (a trailing partial frame is an error)."""
    cdef Decoder d = Decoder(max_payload=max_payload, check_seq=check_seq)
    frames = d.feed(data)
    if d.plen:
        raise CclinkError(f"CC-LINK: {d.plen} trailing bytes do not form a whole frame",
                          code="CCLINK_TRUNCATED", frames=frames)
    return frames


# ---------------------------------------------------------------------------------------------
# Batch decode: a whole buffer of frames into one structured array, no Python per frame

cdef struct CkRecord:
    uint8_t kind
    uint8_t flags
    uint8_t venue_slot
    uint8_t version
    uint32_t symbol_id
    uint64_t seq
    int64_t ts_venue_ns
    int64_t ts_local_ns
    uint32_t offset
    uint32_t length
    int64_t a0
    int64_t a1
    int64_t a2
    int64_t a3

BATCH_DTYPE = np.dtype({
    "names": ["kind", "flags", "venue_slot", "version", "symbol_id", "seq", "ts_venue_ns",
              "ts_local_ns", "offset", "length", "a0", "a1", "a2", "a3"],
    "formats": ["u1", "u1", "u1", "u1", "<u4", "<u8", "<i8", "<i8", "<u4", "<u4", "<i8", "<i8",
                "<i8", "<i8"],
    "offsets": [0, 1, 2, 3, 4, 8, 16, 24, 32, 36, 40, 48, 56, 64],
    "itemsize": 72,
})
assert sizeof(CkRecord) == 72


cdef struct BatchCtx:
    CkRecord* rows
    Py_ssize_t cap
    Py_ssize_t n
    const uint8_t* base


cdef int _batch_row(void* ctx, const CkHeader* h, const uint8_t* fr) noexcept nogil:
    cdef BatchCtx* c = <BatchCtx*>ctx
    cdef CkRecord* r
    cdef const uint8_t* q = fr + CK_HEADER_SIZE
    cdef uint8_t kind = h.kind
    if c.n >= c.cap:
        return 1
    r = &c.rows[c.n]
    c.n += 1
    r.kind = kind
    r.flags = h.flags
    r.venue_slot = h.venue_slot
    r.version = h.version
    r.seq = h.seq
    r.ts_venue_ns = h.ts_venue_ns
    r.ts_local_ns = h.ts_local_ns
    r.offset = <uint32_t>(fr - c.base)
    r.length = CK_HEADER_SIZE + h.payload_len
    r.symbol_id = 0
    r.a0 = 0
    r.a1 = 0
    r.a2 = 0
    r.a3 = 0
    if kind == K_BBO:
        r.symbol_id = ld_u32(q)
        r.a0 = ld_i64(q + 8)
        r.a1 = ld_i64(q + 16)
        r.a2 = ld_i64(q + 24)
        r.a3 = ld_i64(q + 32)
    elif kind == K_L2_SNAPSHOT or kind == K_L2_DELTA:
        r.symbol_id = ld_u32(q)
        r.a0 = ld_u16(q + 4)
        r.a1 = ld_u16(q + 6)
        r.a2 = <int64_t>ld_u64(q + 8)
        r.a3 = r.offset + CK_HEADER_SIZE + SZ_L2
    elif kind == K_TRADE:
        r.symbol_id = ld_u32(q)
        r.a0 = ld_i64(q + 8)
        r.a1 = ld_i64(q + 16)
        r.a2 = q[4]
        r.a3 = <int64_t>ld_u64(q + 24)
    elif kind == K_FILL:
        r.symbol_id = ld_u32(q)
        r.a0 = ld_i64(q + 8)
        r.a1 = ld_i64(q + 16)
        r.a2 = q[4]
        r.a3 = ld_i64(q + 24)
    elif kind >= K_ORDER_NEW and kind <= K_ORDER_UPDATE and kind != K_ORDER_BATCH:
        r.symbol_id = ld_u32(q)
        r.a0 = ld_i64(q + 8)
        r.a1 = ld_i64(q + 16)
        r.a2 = q[48]
        r.a3 = <int64_t>ld_u64(q + 24)
    elif kind == K_ORDER_BATCH:
        r.a0 = ld_u16(q)
        r.a2 = q[2]
        r.a3 = <int64_t>ld_u64(q + 8)
    elif kind == K_PAIR_SPEC:
        r.symbol_id = ld_u32(q)
        r.a0 = ld_i64(q + 8)
        r.a1 = ld_i64(q + 16)
        r.a2 = ld_i64(q + 24)
        r.a3 = ld_i64(q + 32)
    elif kind == K_BALANCE:
        r.a0 = ld_i64(q)
        r.a1 = ld_i64(q + 8)
        r.a2 = ld_i64(q + 16)
    elif kind == K_HEARTBEAT:
        r.a0 = <int64_t>ld_u64(q)
    elif kind == K_PING:
        r.a0 = <int64_t>ld_u64(q)
        r.a1 = ld_i64(q + 8)
    elif kind == K_PONG:
        r.a0 = <int64_t>ld_u64(q)
        r.a1 = ld_i64(q + 8)
        r.a2 = ld_i64(q + 16)
    elif kind == K_RESYNC:
        r.symbol_id = ld_u32(q + 8)
        r.a0 = <int64_t>ld_u64(q)
    elif kind == K_ERROR:
        r.a0 = ld_u16(q)
        r.a1 = q[2]
        r.a2 = <int64_t>ld_u64(q + 8)
    elif kind == K_HELLO:
        r.a0 = ld_u16(q)
        r.a1 = q[2]
        r.a2 = q[3]
        r.a3 = q[4]
    return 0


def decode_batch(data, out=None, uint32_t max_payload=CK_MAX_PAYLOAD_DEFAULT,
                 uint8_t version=CK_VERSION) -> tuple:
    """Decode every complete frame of a buffer into rows of BATCH_DTYPE in one call.

    Returns (rows, consumed): rows is a view of `out` (or a new array), consumed the number of
    bytes of whole frames (a trailing partial frame is left for the caller). The per-kind meaning
    of a0..a3 is in docs/cclink.md. A bad frame raises CclinkError whose `.frames` is the rows
    decoded before it and `.offset` the bad frame's offset.
    """
    cdef const uint8_t[::1] v = data
    cdef cnp.ndarray arr
    cdef BatchCtx ctx
    cdef Py_ssize_t n = v.shape[0], consumed
    cdef int err = 0
    if out is None:
        arr = np.empty(n // (CK_HEADER_SIZE + SZ_HEARTBEAT) + 1, dtype=BATCH_DTYPE)
    else:
        arr = out
        if arr.dtype != BATCH_DTYPE or not arr.flags.c_contiguous or not arr.flags.writeable \
                or arr.ndim != 1:
            raise ValueError("out must be a writeable 1-d C-contiguous array of BATCH_DTYPE")
    ctx.rows = <CkRecord*>cnp.PyArray_DATA(arr)
    ctx.cap = arr.shape[0]
    ctx.n = 0
    ctx.base = &v[0] if n > 0 else NULL
    if n == 0:
        return arr[:0], 0
    with nogil:
        consumed = ck_decode_buffer(&v[0], n, max_payload, version, _batch_row, &ctx, &err)
    if err:
        exc = _frame_error(err, _describe(&v[consumed], n - consumed, max_payload), consumed)
        exc.frames = arr[:ctx.n]
        raise exc
    return arr[:ctx.n], consumed


def frame_length(data) -> int:
    """Total length of the frame at the start of `data` from its first 8 bytes, after checking
    magic, kind, version and the payload cap; -1 if fewer than 8 bytes are there."""
    cdef const uint8_t[::1] v = data
    cdef Py_ssize_t n = v.shape[0]
    cdef int rc
    if n == 0:
        return -1
    rc = ck_check_prefix(&v[0], n, CK_MAX_PAYLOAD_HARD, CK_VERSION)
    if rc > 0:
        raise _frame_error(rc, _describe(&v[0], n, CK_MAX_PAYLOAD_HARD), 0)
    if rc == CK_NEED_MORE:
        return -1
    return CK_HEADER_SIZE + ld_u32(&v[4])
