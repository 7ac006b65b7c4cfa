# distutils: language = c++
# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled venue depth decoders: raw websocket bytes straight into an L2Book, no Python per level."""

cimport cython
from libc.stdint cimport int64_t, int32_t, int8_t, uint64_t

import numpy as np

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE

from seqkern._fixed cimport parse_decimal, PX_DIGITS, QTY_DIGITS, FX_OK
from seqkern._book cimport L2Book, LV_DROPPED, SIDE_BID, SIDE_ASK

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

    DepthScan* scan_new(size_t cap_levels) except +
    void scan_free(DepthScan* s)
    const Level* scan_level(const DepthScan* s, size_t i)
    int scan_binance_depth(DepthScan* s, const char* msg, size_t length)

    int SCAN_OTHER, SCAN_DEPTH, SCAN_BAD_JSON, SCAN_BAD_SHAPE, SCAN_TOO_MANY


# message formats (one scanner per venue format; OKX / Bybit join as siblings)
FORMAT_BINANCE = 1          # Binance spot depthUpdate (U, u)
FORMAT_BINANCE_USDM = 2     # Binance USD-M depthUpdate (U, u, pu, T)

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

# continuity rules (CexVenue.sequence_rule codes)
RULE_NONE = 0          # apply every message (snapshot-replace feeds)
RULE_FIRST_LAST = 1    # Binance spot: ignore u <= last; gap if U > last + 1
RULE_PREV_FINAL = 2    # Binance USD-M: pu must equal last u (ignore u < last)

cdef enum:
    C_APPLIED = 0
    C_STALE = 1
    C_GAP = 2
    C_BAD_LEVEL = 3
    C_NOT_DEPTH = 4


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

    def __cinit__(self, int format=FORMAT_BINANCE, Py_ssize_t max_levels=20000):
        if format != FORMAT_BINANCE and format != FORMAT_BINANCE_USDM:
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

    def __dealloc__(self):
        if self._s != NULL:
            scan_free(self._s)
            self._s = NULL

    cdef int _scan(self, const char* p, Py_ssize_t n) noexcept nogil:
        if n <= 0:
            return SCAN_BAD_JSON
        return scan_binance_depth(self._s, p, <size_t>n)

    cpdef int scan(self, object msg) except? -100:
        """Scan one message: bytes (fast path) or any buffer (memoryview, bytearray)."""
        cdef Py_buffer view
        cdef int rc
        if PyBytes_CheckExact(msg):
            rc = self._scan(PyBytes_AS_STRING(msg), PyBytes_GET_SIZE(msg))
        else:
            PyObject_GetBuffer(msg, &view, PyBUF_SIMPLE)
            try:
                rc = self._scan(<const char*>view.buf, view.len)
            finally:
                PyBuffer_Release(&view)
        self._last_rc = rc
        return rc

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

    cdef int _apply_levels(self, L2Book book) noexcept nogil:
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
            if lv.side == SIDE_BID:
                row = self._db + 2 * self.n_bids
                self.n_bids += 1
            else:
                row = self._da + 2 * self.n_asks
                self.n_asks += 1
            row[0] = px
            row[1] = qty
        return C_APPLIED

    cpdef int apply(self, L2Book book):
        """Apply the scanned levels unconditionally; sets last_update_id = u and the event time.

        Afterwards ``bbo_changed`` tells whether the top of book moved, and bid_px .. ask_qty
        hold the new top (0 for an empty side).
        """
        cdef int rc
        cdef int64_t bp, bq, ap, aq
        if self._last_rc != SCAN_DEPTH:
            return C_NOT_DEPTH
        with nogil:
            bp = book.bid_px()
            bq = book.bid_qty()
            ap = book.ask_px()
            aq = book.ask_qty()
            rc = self._apply_levels(book)
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
        book.last_update_id = self._s.final_id
        book.ts_event_ns = self._s.event_ms * 1000000
        return C_APPLIED

    cpdef int apply_checked(self, L2Book book, int rule):
        """Check the venue continuity rule against book.last_update_id, then apply.

        Returns APPLIED, STALE (older than the book, ignored), GAP (book marked invalid, nothing
        applied) or BAD_LEVEL (book marked invalid).
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
        return self.apply(book)

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
