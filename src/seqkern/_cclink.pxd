# Public C-level API of the CC-LINK wire core (cimported by the CC and the edge publishers).
# The byte layouts are specified in docs/cclink.md; this file and that page change together,
# and any layout change bumps CK_VERSION.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t
from libc.string cimport memcpy

cdef enum:
    CK_MAGIC = 0x4B43              # bytes 'C' 'K' on the wire (little-endian u16)
    CK_VERSION = 1
    CK_HEADER_SIZE = 40
    CK_MAX_PAYLOAD_DEFAULT = 1048576
    CK_MAX_PAYLOAD_HARD = 16777216
    CK_MAX_STR = 255
    CK_MAX_EDGE_ID = 64
    CK_MAX_ASSET = 32
    CK_MAX_BATCH = 256
    CK_CAPTURE_RECORD = 16         # capture record header: i64 recv_ns, u32 stream_id, u32 length

# frame kinds (header byte 3)
cdef enum:
    K_HELLO = 1
    K_PAIR_SPEC = 2
    K_BBO = 3
    K_L2_SNAPSHOT = 4
    K_L2_DELTA = 5
    K_TRADE = 6
    K_FILL = 7
    K_ORDER_NEW = 8
    K_ORDER_CANCEL = 9
    K_ORDER_AMEND = 10
    K_ORDER_DECREASE = 11
    K_ORDER_BATCH = 12
    K_ORDER_ACK = 13
    K_ORDER_REJECT = 14
    K_ORDER_UPDATE = 15
    K_BALANCE = 16
    K_HEARTBEAT = 17
    K_PING = 18
    K_PONG = 19
    K_RESYNC = 20
    K_ERROR = 21
    K_MAX = 21

# header flags (header byte 8); any other bit set is a bad frame
cdef enum:
    F_RESYNC = 0x01        # part of a state re-send that answers a RESYNC
    F_CONFLATED = 0x02     # market data that replaced older frames under backpressure
    F_REPLAY = 0x04        # re-published from a capture file
    F_KNOWN = 0x07

# fixed payload sizes (variable kinds: size of the fixed part before the variable tail)
cdef enum:
    SZ_HELLO = 16
    SZ_PAIR_SPEC = 48
    SZ_BBO = 40
    SZ_L2 = 16
    SZ_LEVEL = 16
    SZ_TRADE = 32
    SZ_FILL = 48
    SZ_ORDER = 64
    SZ_BATCH = 16
    SZ_BALANCE = 32
    SZ_HEARTBEAT = 8
    SZ_PING = 16
    SZ_PONG = 24
    SZ_RESYNC = 16
    SZ_ERROR = 16

# result codes of ck_check_frame (>0: the frame is bad and the stream cannot continue)
cdef enum:
    CK_OK = 0
    CK_NEED_MORE = -1
    E_BAD_MAGIC = 1
    E_BAD_VERSION = 2
    E_BAD_KIND = 3
    E_TOO_LARGE = 4
    E_BAD_LENGTH = 5
    E_BAD_FLAGS = 6
    E_BAD_RESERVED = 7
    E_BAD_STRING = 8
    E_BAD_ENUM = 9
    E_BAD_COUNT = 10
    E_BAD_VALUE = 11

cdef struct CkHeader:
    uint16_t magic
    uint8_t version
    uint8_t kind
    uint32_t payload_len
    uint8_t flags
    uint8_t venue_slot
    uint16_t reserved0
    uint32_t reserved1
    uint64_t seq
    int64_t ts_venue_ns
    int64_t ts_local_ns

# Called once per valid frame by ck_decode_buffer; return non-zero to stop early.
ctypedef int (*ck_frame_cb)(void* ctx, const CkHeader* h, const uint8_t* frame) noexcept nogil


cdef inline uint16_t ld_u16(const uint8_t* p) noexcept nogil:
    cdef uint16_t v
    memcpy(&v, p, 2)
    return v

cdef inline uint32_t ld_u32(const uint8_t* p) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, p, 4)
    return v

cdef inline uint64_t ld_u64(const uint8_t* p) noexcept nogil:
    cdef uint64_t v
    memcpy(&v, p, 8)
    return v

cdef inline int64_t ld_i64(const uint8_t* p) noexcept nogil:
    cdef int64_t v
    memcpy(&v, p, 8)
    return v

cdef inline int32_t ld_i32(const uint8_t* p) noexcept nogil:
    cdef int32_t v
    memcpy(&v, p, 4)
    return v


cdef int ck_check_prefix(const uint8_t* p, Py_ssize_t avail, uint32_t max_payload,
                         uint8_t version) noexcept nogil
cdef int ck_check_frame(const uint8_t* p, Py_ssize_t avail, uint32_t max_payload,
                        uint8_t version, CkHeader* h) noexcept nogil
cdef int ck_check_payload(uint8_t kind, const uint8_t* q, uint32_t n) noexcept nogil
cdef Py_ssize_t ck_decode_buffer(const uint8_t* p, Py_ssize_t n, uint32_t max_payload,
                                 uint8_t version, ck_frame_cb cb, void* ctx,
                                 int* err) noexcept nogil


cdef class Encoder:
    cdef uint8_t* buf
    cdef Py_ssize_t len
    cdef Py_ssize_t cap
    cdef readonly Py_ssize_t max_buffer
    cdef public uint64_t seq
    cdef readonly uint8_t version
    cdef public uint8_t venue_slot
    cdef readonly uint64_t frames

    cdef int _reserve(self, Py_ssize_t extra) except -1
    cdef uint8_t* _begin(self, uint8_t kind, uint32_t payload_len, uint8_t flags,
                         int64_t ts_venue_ns, int64_t ts_local_ns) except NULL
    # C-level publishers for the hot market-data kinds (edge parsers cimport these)
    cdef int bbo_c(self, uint32_t symbol_id, int64_t bid_px, int64_t bid_qty, int64_t ask_px,
                   int64_t ask_qty, int64_t ts_venue_ns, int64_t ts_local_ns,
                   uint8_t flags) except -1
    cdef int l2_c(self, uint8_t kind, uint32_t symbol_id, uint64_t update_id,
                  const int64_t* bids, Py_ssize_t n_bids, const int64_t* asks,
                  Py_ssize_t n_asks, int64_t ts_venue_ns, int64_t ts_local_ns,
                  uint8_t flags) except -1
    cdef int trade_c(self, uint32_t symbol_id, uint8_t side, int64_t px, int64_t qty,
                     uint64_t trade_id, int64_t ts_venue_ns, int64_t ts_local_ns,
                     uint8_t flags) except -1


cdef class Frame:
    cdef readonly uint8_t kind
    cdef readonly uint8_t version
    cdef readonly uint8_t flags
    cdef readonly uint8_t venue_slot
    cdef readonly uint64_t seq
    cdef readonly int64_t ts_venue_ns
    cdef readonly int64_t ts_local_ns
    cdef readonly int64_t gap          # frames missing before this one (0 = in sequence)
    cdef readonly object _src          # bytes object the frame lives in (never copied)
    cdef readonly Py_ssize_t _off
    cdef readonly Py_ssize_t _len


cdef class Decoder:
    cdef uint8_t* pend
    cdef Py_ssize_t plen
    cdef Py_ssize_t pcap
    cdef readonly uint32_t max_payload
    cdef readonly uint8_t version
    cdef public uint64_t expected_seq
    cdef public bint check_seq
    cdef readonly uint64_t frames
    cdef readonly uint64_t gaps
    cdef readonly uint64_t missing
    cdef readonly uint64_t copied       # frames that straddled reads and had to be copied
    cdef readonly object last_gap
    cdef object _broken
    # capture: every decoded frame appended as a capture record (docs/cclink.md, "Capture file")
    cdef uint8_t* cbuf
    cdef Py_ssize_t clen
    cdef Py_ssize_t ccap
    cdef public bint capturing
    cdef public uint32_t stream_id
    cdef int64_t recv_ns

    cdef int _stash(self, const uint8_t* p, Py_ssize_t n) except -1
    cdef int _capture(self, const uint8_t* p, Py_ssize_t n) except -1
    cdef Frame _make(self, object src, Py_ssize_t off, const CkHeader* h)
