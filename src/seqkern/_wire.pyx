# distutils: language = c++
# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled venue depth decoders: raw websocket bytes straight into an L2Book, no Python per level."""

cimport cython
from libc.stdint cimport int64_t, int32_t, int8_t, uint32_t, uint64_t

import numpy as np

from libcpp.string cimport string
from libcpp.unordered_map cimport unordered_map
from cython.operator cimport dereference as deref
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE

from seqkern._fixed cimport parse_decimal, PX_DIGITS, QTY_DIGITS, FX_OK
from seqkern._book cimport L2Book, LV_DROPPED, SIDE_BID, SIDE_ASK
from seqkern._cclink cimport Encoder, K_L2_DELTA

from seqkern.errors import SeqkernError


cdef extern from "_wire_depth.h" namespace "skwire" nogil:
    cdef cppclass Level:
        const char* px
        int32_t px_len
        const char* qty
        int32_t qty_len
        int32_t side

    cdef cppclass DepthScan:
        size_t n_levels
        size_t max_levels
        int64_t first_id
        int64_t final_id
        int64_t prev_final_id
        int64_t event_ms
        int64_t transact_ms
        const char* sym
        int32_t sym_len
        const char* impl
        bint has_pu
        int32_t snapshot
        int32_t has_seq
        int32_t has_checksum
        int64_t checksum
        int64_t cross_seq

    cdef cppclass RawBook:
        bint active

    DepthScan* scan_new(size_t cap_levels) except +
    void scan_free(DepthScan* s)
    const Level* scan_level(const DepthScan* s, size_t i)
    int scan_binance_depth(DepthScan* s, const char* msg, size_t length)
    int scan_okx_books(DepthScan* s, const char* msg, size_t length)
    int scan_bybit_orderbook(DepthScan* s, const char* msg, size_t length)
    RawBook* raw_new() except +
    void raw_free(RawBook* r)
    void raw_clear(RawBook* r)
    size_t raw_size(const RawBook* r, int side)
    void raw_set(RawBook* r, int side, int64_t px, int64_t qty, const Level* L) except +
    int64_t raw_checksum(RawBook* r, int depth) except +
    int64_t checksum_text(const char* p, size_t n)

    int SCAN_OTHER, SCAN_DEPTH, SCAN_BAD_JSON, SCAN_BAD_SHAPE, SCAN_TOO_MANY


# message formats (one scanner per venue format)
FORMAT_BINANCE = 1          # Binance spot depthUpdate (U, u)
FORMAT_BINANCE_USDM = 2     # Binance USD-M depthUpdate (U, u, pu, T)
FORMAT_OKX = 3              # OKX v5 books / books-l2-tbt / books50-l2-tbt (snapshot + update, seqId chain)
FORMAT_BYBIT = 4            # Bybit v5 orderbook.{depth}.{symbol} (snapshot + delta, u)

OKX_CHECKSUM_DEPTH = 25

# scan results
OTHER = 0
DEPTH = 1
BAD_JSON = -1
BAD_SHAPE = -2
TOO_MANY_LEVELS = -3

# apply results
APPLIED = 0
STALE = 1          # entirely older than the book: ignored (normal while replaying a buffer)
GAP = 2            # the venue's continuity rule failed: the book is invalid, resync
BAD_LEVEL = 3      # a price/qty that does not parse or fit the book: book invalid, resync
NOT_DEPTH = 4      # apply called without a scanned depth message
CHECKSUM = 5       # the message's checksum does not match the book after applying: book invalid

# continuity rules (CexVenue.sequence_rule codes)
RULE_NONE = 0          # apply every message (snapshot-replace feeds)
RULE_FIRST_LAST = 1    # Binance spot: ignore u <= last; gap if U > last + 1
RULE_PREV_FINAL = 2    # Binance USD-M: pu must equal last u (ignore u < last)
RULE_PREV_SEQ = 3      # OKX: prevSeqId must equal the last seqId (seqId may reset lower, or repeat)

cdef enum:
    CF_BINANCE = 1
    CF_BINANCE_USDM = 2
    CF_OKX = 3
    CF_BYBIT = 4

cdef enum:
    C_APPLIED = 0
    C_STALE = 1
    C_GAP = 2
    C_BAD_LEVEL = 3
    C_NOT_DEPTH = 4
    C_CHECKSUM = 5


cdef inline bint fast_decimal(const char* s, int32_t n, int digits, int64_t* out) noexcept nogil:
    """Plain "123.4500" (digits, optional fraction) scaled by 10^digits; False = not this shape.

    Anything else (sign, exponent, too many integer digits, a non-zero digit finer than the
    scale) is left to the exact, general parse_decimal, which also reports the errors.
    """
    cdef int32_t i = 0
    cdef int f = 0
    cdef uint64_t v = 0
    cdef unsigned int d
    while i < n:
        d = <unsigned int>(<unsigned char>s[i]) - 48
        if d > 9:
            break
        v = v * 10 + d
        i += 1
    if i == 0 or i > 18 - digits:
        return False
    if i < n:
        if s[i] != 46:   # '.'
            return False
        i += 1
        while i < n:
            d = <unsigned int>(<unsigned char>s[i]) - 48
            if d > 9:
                return False
            if f < digits:
                v = v * 10 + d
                f += 1
            elif d != 0:
                return False
            i += 1
    while f < digits:
        v = v * 10
        f += 1
    out[0] = <int64_t>v
    return True


class WireError(SeqkernError, ValueError):
    """A venue message the compiled decoder could not read."""

    code = "BAD_VENUE_MESSAGE"


def okx_checksum_text(text):
    """CRC32 of an OKX checksum string as a signed int32 (the venue's legacy book checksum)."""
    cdef bytes b = text.encode() if isinstance(text, str) else bytes(text)
    return checksum_text(b, len(b))


@cython.final
cdef class RawLevels:
    """The venue's own price/size strings of one book (OKX legacy checksum input), kept in C++.

    Tracking starts when a snapshot carries a non-zero checksum; with the deprecated all-zero
    checksum nothing is tracked and nothing is checked.
    """

    cdef RawBook* _r

    def __cinit__(self):
        self._r = raw_new()

    def __dealloc__(self):
        if self._r != NULL:
            raw_free(self._r)
            self._r = NULL

    @property
    def active(self):
        return self._r.active

    def clear(self):
        raw_clear(self._r)
        self._r.active = False

    def checksum(self, int depth=OKX_CHECKSUM_DEPTH):
        """CRC32 (signed) of the top ``depth`` levels per side, interleaved bid/ask."""
        return raw_checksum(self._r, depth)

    def __len__(self):
        return raw_size(self._r, 0) + raw_size(self._r, 1)


@cython.final
cdef class DepthDecoder:
    """Scans one venue depth message at a time; header fields stay readable until the next scan.

    ``scan(msg)`` reads the message (bytes, bytearray or memoryview) and returns DEPTH, OTHER or
    a negative error code; ``apply(book)`` / ``apply_checked(book, rule)`` then write the scanned
    levels into an ``L2Book`` through its C entry point.
    """

    cdef DepthScan* _s
    cdef readonly int format
    cdef int _last_rc
    cdef readonly object delta_bids     # int64[max_levels, 2]: (px_1e9, qty_1e8) bid levels written by the last apply
    cdef readonly object delta_asks     # int64[max_levels, 2]: ask levels (qty 0 = level removed)
    cdef readonly Py_ssize_t n_bids     # valid rows of delta_bids
    cdef readonly Py_ssize_t n_asks     # valid rows of delta_asks
    cdef readonly bint bbo_changed      # the last apply changed the book's best bid/ask (price or size)
    cdef readonly int64_t bid_px, bid_qty, ask_px, ask_qty   # the book's top after the last apply
    cdef int64_t* _db
    cdef int64_t* _da
    cdef unordered_map[string, int] _sym_index
    cdef readonly int symbol_index     # index of the scanned symbol (register_symbol), -1 unknown

    def __cinit__(self, int format=FORMAT_BINANCE, Py_ssize_t max_levels=20000):
        if format not in (FORMAT_BINANCE, FORMAT_BINANCE_USDM, FORMAT_OKX, FORMAT_BYBIT):
            raise ValueError(f"unknown depth message format {format}")
        if max_levels < 1:
            raise ValueError("max_levels must be positive")
        self._s = scan_new(<size_t>max_levels)
        self._s.has_pu = format == FORMAT_BINANCE_USDM
        self.format = format
        self._last_rc = SCAN_OTHER
        # the CC-LINK level block layout: int64[n, 2] rows of (px, qty), bids and asks apart
        self.delta_bids = np.zeros((max_levels, 2), dtype=np.int64)
        self.delta_asks = np.zeros((max_levels, 2), dtype=np.int64)
        cdef int64_t[:, ::1] db = self.delta_bids
        cdef int64_t[:, ::1] da = self.delta_asks
        self._db = &db[0, 0]
        self._da = &da[0, 0]
        self.n_bids = 0
        self.n_asks = 0
        self.symbol_index = -1

    def __dealloc__(self):
        if self._s != NULL:
            scan_free(self._s)
            self._s = NULL

    cdef int _scan(self, const char* p, Py_ssize_t n) noexcept nogil:
        if n <= 0:
            return SCAN_BAD_JSON
        if self.format == CF_OKX:
            return scan_okx_books(self._s, p, <size_t>n)
        if self.format == CF_BYBIT:
            return scan_bybit_orderbook(self._s, p, <size_t>n)
        return scan_binance_depth(self._s, p, <size_t>n)

    cpdef int scan(self, object msg) except? -100:
        """Scan one message: bytes (fast path) or any buffer (memoryview, bytearray)."""
        cdef Py_buffer view
        cdef int rc
        cdef unordered_map[string, int].iterator it
        if PyBytes_CheckExact(msg):
            rc = self._scan(PyBytes_AS_STRING(msg), PyBytes_GET_SIZE(msg))
        else:
            PyObject_GetBuffer(msg, &view, PyBUF_SIMPLE)
            try:
                rc = self._scan(<const char*>view.buf, view.len)
            finally:
                PyBuffer_Release(&view)
        self._last_rc = rc
        self.symbol_index = -1
        if rc == SCAN_DEPTH and self._s.sym != NULL and not self._sym_index.empty():
            it = self._sym_index.find(string(self._s.sym, self._s.sym_len))
            if it != self._sym_index.end():
                self.symbol_index = deref(it).second
        return rc

    def register_symbol(self, venue_symbol) -> int:
        """Give a venue symbol an index that ``scan`` reports in ``symbol_index`` (no bytes object
        per message). Returns the index (registration order)."""
        cdef bytes b = venue_symbol.encode() if isinstance(venue_symbol, str) else bytes(venue_symbol)
        cdef string key = string(<const char*>b, len(b))
        if self._sym_index.count(key):
            return self._sym_index[key]
        cdef int idx = <int>self._sym_index.size()
        self._sym_index[key] = idx
        return idx

    @property
    def implementation(self):
        """The simdjson implementation the scanners run on ("haswell" with AVX2, else "fallback")."""
        return (<bytes>self._s.impl).decode()

    @property
    def first_id(self):
        return self._s.first_id

    @property
    def final_id(self):
        return self._s.final_id

    @property
    def prev_final_id(self):
        return self._s.prev_final_id

    @property
    def is_snapshot(self):
        """The scanned message replaces the book (OKX/Bybit snapshot, Bybit u == 1 restart)."""
        return self._last_rc == SCAN_DEPTH and self._s.snapshot != 0

    @property
    def has_seq(self):
        return self._s.has_seq != 0

    @property
    def checksum(self):
        """OKX checksum field of the scanned message (0 when absent or deprecated)."""
        return self._s.checksum

    @property
    def cross_seq(self):
        """Bybit cross sequence ``seq``."""
        return self._s.cross_seq

    @property
    def event_time_ns(self):
        return self._s.event_ms * 1000000

    @property
    def transact_time_ns(self):
        return self._s.transact_ms * 1000000

    @property
    def n_levels(self):
        return self._s.n_levels if self._last_rc == SCAN_DEPTH else 0

    @property
    def symbol(self):
        """Venue symbol of the scanned message as str (allocates: not for the hot path)."""
        if self._last_rc != SCAN_DEPTH or self._s.sym == NULL:
            return None
        return (<const char*>self._s.sym)[:self._s.sym_len].decode("ascii", "replace")

    cpdef bytes symbol_bytes(self):
        if self._last_rc != SCAN_DEPTH or self._s.sym == NULL:
            return None
        return (<const char*>self._s.sym)[:self._s.sym_len]

    cdef int _apply_levels(self, L2Book book, RawBook* raw) noexcept nogil:
        cdef size_t i
        cdef int64_t px, qty
        cdef int rc
        cdef int64_t* row
        cdef const Level* lv
        self.n_bids = 0
        self.n_asks = 0
        for i in range(self._s.n_levels):
            lv = scan_level(self._s, i)
            if not fast_decimal(lv.px, lv.px_len, PX_DIGITS, &px):
                if parse_decimal(lv.px, lv.px_len, PX_DIGITS, &px) != FX_OK:
                    return C_BAD_LEVEL
            if not fast_decimal(lv.qty, lv.qty_len, QTY_DIGITS, &qty):
                if parse_decimal(lv.qty, lv.qty_len, QTY_DIGITS, &qty) != FX_OK:
                    return C_BAD_LEVEL
            rc = book.set_level(scan_level(self._s, i).side, px, qty)
            if rc > LV_DROPPED:
                return C_BAD_LEVEL
            if raw != NULL:
                raw_set(raw, lv.side, px, qty, lv)
            if lv.side == SIDE_BID:
                row = self._db + 2 * self.n_bids
                self.n_bids += 1
            else:
                row = self._da + 2 * self.n_asks
                self.n_asks += 1
            row[0] = px
            row[1] = qty
        return C_APPLIED

    cdef int _verify(self, L2Book book, RawLevels raw):
        """OKX legacy checksum: checked whenever the message carries a non-zero one."""
        if self._s.has_checksum == 0 or self._s.checksum == 0:
            return C_APPLIED
        if raw is None or not raw._r.active:
            book.valid = False      # cannot verify: the book was not built from checksummed data
            return C_CHECKSUM
        if raw_checksum(raw._r, OKX_CHECKSUM_DEPTH) != self._s.checksum:
            book.valid = False
            return C_CHECKSUM
        return C_APPLIED

    cpdef int apply(self, L2Book book, RawLevels raw=None):
        """Apply the scanned levels unconditionally; sets last_update_id = u and the event time.

        Afterwards ``bbo_changed`` tells whether the top of book moved, and bid_px .. ask_qty
        hold the new top (0 for an empty side). ``raw`` (OKX) keeps the venue's strings and
        verifies a non-zero checksum.
        """
        cdef int rc
        cdef int64_t bp, bq, ap, aq
        cdef RawBook* r = NULL
        if self._last_rc != SCAN_DEPTH:
            return C_NOT_DEPTH
        if raw is not None and raw._r.active:
            r = raw._r
        with nogil:
            bp = book.bid_px()
            bq = book.bid_qty()
            ap = book.ask_px()
            aq = book.ask_qty()
            rc = self._apply_levels(book, r)
            self.bid_px = book.bid_px()
            self.bid_qty = book.bid_qty()
            self.ask_px = book.ask_px()
            self.ask_qty = book.ask_qty()
            self.bbo_changed = (bp != self.bid_px or bq != self.bid_qty
                                or ap != self.ask_px or aq != self.ask_qty)
        if rc != C_APPLIED:
            book.valid = False
            self.bbo_changed = False
            return rc
        if r != NULL or self._s.has_checksum:
            rc = self._verify(book, raw)
            if rc != C_APPLIED:
                self.bbo_changed = False
                return rc
        book.last_update_id = self._s.final_id
        book.ts_event_ns = self._s.event_ms * 1000000
        return C_APPLIED

    cpdef int apply_snapshot(self, L2Book book, RawLevels raw=None):
        """Replace the whole book with the scanned snapshot (OKX/Bybit in-stream snapshots).

        Raw strings are tracked from here on when the snapshot carries a non-zero checksum.
        Returns APPLIED (book valid), BAD_LEVEL or CHECKSUM (book invalid).
        """
        cdef int rc
        if self._last_rc != SCAN_DEPTH:
            return C_NOT_DEPTH
        book.clear_side(SIDE_BID)
        book.clear_side(SIDE_ASK)
        book.valid = False
        if raw is not None:
            raw_clear(raw._r)
            raw._r.active = self._s.has_checksum != 0 and self._s.checksum != 0
        rc = self.apply(book, raw)
        if rc == C_APPLIED:
            book.valid = True
        return rc

    cpdef int apply_checked(self, L2Book book, int rule, RawLevels raw=None):
        """Check the venue continuity rule against book.last_update_id, then apply.

        Returns APPLIED, STALE (older than the book, ignored), GAP (book marked invalid, nothing
        applied), BAD_LEVEL or CHECKSUM (book marked invalid).
        """
        cdef int64_t last = book.last_update_id
        if self._last_rc != SCAN_DEPTH:
            return C_NOT_DEPTH
        if rule == RULE_FIRST_LAST:
            if self._s.final_id <= last:
                return C_STALE
            if self._s.first_id > last + 1:
                book.valid = False
                return C_GAP
        elif rule == RULE_PREV_FINAL:
            if self._s.final_id < last:
                return C_STALE
            if self._s.prev_final_id != last:
                book.valid = False
                return C_GAP
        elif rule == RULE_PREV_SEQ:
            # prevSeqId chains to the last seqId; seqId may equal it (idle keepalive) or be lower
            # (sequence reset after maintenance). Legacy messages without seqId rely on the checksum.
            if self._s.has_seq != 0 and self._s.prev_final_id != last:
                book.valid = False
                return C_GAP
        return self.apply(book, raw)

    cpdef int encode_delta(self, Encoder enc, uint32_t symbol_id, int64_t ts_local_ns,
                           bint with_bbo=True) except -1:
        """Write the last apply as CC-LINK frames into ``enc``: an L2_DELTA (update id = u, venue
        time = E) and, when ``with_bbo`` and the top of book changed, a BBO. No Python object
        per level."""
        cdef int64_t ts = self._s.event_ms * 1000000
        enc.l2_c(K_L2_DELTA, symbol_id, <uint64_t>self._s.final_id, self._db, self.n_bids, self._da,
                 self.n_asks, ts, ts_local_ns, 0)
        if with_bbo and self.bbo_changed:
            enc.bbo_c(symbol_id, self.bid_px, self.bid_qty, self.ask_px, self.ask_qty, ts, ts_local_ns, 0)
        return 0

    def levels(self):
        """The scanned levels as a list of (side, price_str, qty_str) (tests and tools only)."""
        cdef size_t i
        out = []
        if self._last_rc != SCAN_DEPTH:
            return out
        for i in range(self._s.n_levels):
            out.append((scan_level(self._s, i).side,
                        (<const char*>scan_level(self._s, i).px)[:scan_level(self._s, i).px_len].decode(),
                        (<const char*>scan_level(self._s, i).qty)[:scan_level(self._s, i).qty_len].decode()))
        return out
