# distutils: language = c++
# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled book decoders of Kalshi, Polymarket and Hyperliquid: raw bytes into L2Books, no Python per level."""

cimport cython
from libc.stdint cimport int64_t, int32_t, int8_t
from libc.string cimport memcmp
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE

import numpy as np

from seqkern._fixed cimport parse_decimal, PX_DIGITS, QTY_DIGITS, FX_OK
from seqkern._book cimport L2Book, Ladder, LV_DROPPED, SIDE_BID, SIDE_ASK


cdef extern from "_predwire_scan.h" namespace "skpred" nogil:
    cdef cppclass PLevel:
        const char* px
        int32_t px_len
        const char* qty
        int32_t qty_len
        const char* key
        int32_t key_len
        int32_t side
        int32_t px_digits

    cdef cppclass PredScan:
        size_t n_levels
        size_t max_levels
        int64_t sid
        int64_t seq
        int64_t ts_ms
        const char* sym
        int32_t sym_len

    PredScan* pscan_new(size_t cap_levels) except +
    void pscan_free(PredScan* s)
    const PLevel* pscan_level(const PredScan* s, size_t i)
    int scan_kalshi(PredScan* s, const char* msg, size_t length)
    int scan_polymarket(PredScan* s, const char* msg, size_t length)
    int scan_hyperliquid(PredScan* s, const char* msg, size_t length)


# message formats
FORMAT_KALSHI = 11
FORMAT_POLYMARKET = 12
FORMAT_HYPERLIQUID = 13

# scan results
OTHER = 0
DELTA = 1
SNAPSHOT = 2
ARRAY = 3          # top-level JSON array (Polymarket batches): split it and scan each element
BAD_JSON = -1
BAD_SHAPE = -2
TOO_MANY_LEVELS = -3

# apply results
APPLIED = 0
BAD_LEVEL = 3      # a price/qty that does not parse or fit, or a delta taking a level below zero
NOT_BOOK = 4

cdef enum:
    BAD_JSON_C = -1
    C_APPLIED = 0
    C_BAD_LEVEL = 3
    C_NOT_BOOK = 4
    C_DELTA = 1
    C_SNAPSHOT = 2
    C_FMT_KALSHI = 11
    C_FMT_POLYMARKET = 12

cdef int64_t ONE_DOLLAR = 1000000000   # px_1e9 of $1: a binary contract's full payout


cdef inline int64_t ladder_qty(L2Book book, int side, int64_t px) noexcept nogil:
    """Current quantity at ``px`` on one side of ``book`` (0 when absent)."""
    cdef Ladder* L
    cdef int64_t key, t = px // book.tick
    if t * book.tick != px:
        return 0
    if side == SIDE_BID:
        L = &book.bids
        key = t
    else:
        L = &book.asks
        key = -t
    if L.count == 0 or key < L.lo or key >= L.lo + L.cap:
        return 0
    return L.qty[key & L.mask]


@cython.final
cdef class PredBookDecoder:
    """Scans one venue book message at a time; header fields stay readable until the next scan.

    Kalshi: ``apply_kalshi(yes_book, no_book)`` writes YES bids / NO asks (= 1 - NO bid) into the
    YES leg's book and NO bids / NO asks (= 1 - YES bid) into the NO leg's book.
    Polymarket: ``apply_book(book)`` for a ``book`` event, ``apply_changes(books)`` for a
    ``price_change`` (``books`` maps asset-id bytes to L2Book). Hyperliquid: ``apply_book(book)``.
    Deltas of the last apply are in ``delta_bids0/asks0`` (book slot 0) and ``delta_bids1/asks1``.
    """

    cdef PredScan* _s
    cdef readonly int format
    cdef int _last_rc
    # levels written by the last apply, per book slot (Kalshi: 0 YES leg, 1 NO leg; Polymarket:
    # the first and second token a price_change names), as int64 (px_1e9, qty_1e8) rows
    cdef readonly object delta_bids0
    cdef readonly object delta_asks0
    cdef readonly object delta_bids1
    cdef readonly object delta_asks1
    cdef readonly Py_ssize_t n_bids0
    cdef readonly Py_ssize_t n_asks0
    cdef readonly Py_ssize_t n_bids1
    cdef readonly Py_ssize_t n_asks1
    cdef readonly Py_ssize_t n_applied
    cdef readonly Py_ssize_t n_slots      # Polymarket: distinct tokens in the last price_change
    cdef readonly bint delta_complete     # False: more than two tokens, deltas not all recorded
    cdef int64_t* _b0
    cdef int64_t* _a0
    cdef int64_t* _b1
    cdef int64_t* _a1
    cdef int64_t* _sp                     # scratch for emptying a side
    cdef int64_t* _sq
    cdef object _scratch
    cdef object _slot_keys
    cdef readonly int applied             # feed_kalshi: APPLIED, BAD_LEVEL or NOT_BOOK
    cdef readonly object market           # feed_kalshi: the (yes, no) books of the message's market
    cdef list _kk                         # feed_kalshi cache: ticker bytes -> (yes, no), across messages
    cdef list _kb
    cdef object _kdict
    cdef Py_ssize_t _klen
    cdef list _ck                         # apply_changes cache: token id bytes -> book, across messages
    cdef list _cb
    cdef object _cdict
    cdef Py_ssize_t _clen

    def __cinit__(self, int format, Py_ssize_t max_levels=4096):
        if format not in (FORMAT_KALSHI, FORMAT_POLYMARKET, FORMAT_HYPERLIQUID):
            raise ValueError(f"unknown book message format {format}")
        if max_levels < 1:
            raise ValueError("max_levels must be positive")
        self._s = pscan_new(<size_t>max_levels)
        self.format = format
        self._last_rc = OTHER
        self.delta_bids0 = np.zeros((max_levels, 2), dtype=np.int64)
        self.delta_asks0 = np.zeros((max_levels, 2), dtype=np.int64)
        self.delta_bids1 = np.zeros((max_levels, 2), dtype=np.int64)
        self.delta_asks1 = np.zeros((max_levels, 2), dtype=np.int64)
        self._scratch = np.zeros((2, max_levels), dtype=np.int64)
        cdef int64_t[:, ::1] b0 = self.delta_bids0
        cdef int64_t[:, ::1] a0 = self.delta_asks0
        cdef int64_t[:, ::1] b1 = self.delta_bids1
        cdef int64_t[:, ::1] a1 = self.delta_asks1
        cdef int64_t[:, ::1] sc = self._scratch
        self._b0 = &b0[0, 0]
        self._a0 = &a0[0, 0]
        self._b1 = &b1[0, 0]
        self._a1 = &a1[0, 0]
        self._sp = &sc[0, 0]
        self._sq = &sc[1, 0]
        self.n_applied = 0
        self.n_slots = 0
        self.delta_complete = True
        self._slot_keys = [None, None]
        self._ck = []
        self._cb = []
        self._cdict = None
        self._clen = -1
        self._kk = []
        self._kb = []
        self._kdict = None
        self._klen = -1
        self.applied = C_NOT_BOOK
        self.market = None

    def __dealloc__(self):
        if self._s != NULL:
            pscan_free(self._s)
            self._s = NULL

    cdef int _scan_ptr(self, const char* p, size_t n) noexcept nogil:
        if n == 0:
            return BAD_JSON_C
        if self.format == C_FMT_KALSHI:
            return scan_kalshi(self._s, p, n)
        if self.format == C_FMT_POLYMARKET:
            return scan_polymarket(self._s, p, n)
        return scan_hyperliquid(self._s, p, n)

    cpdef int scan(self, object msg):
        """Scan bytes, bytearray or memoryview (a plain buffer: no typed-memoryview setup per call)."""
        cdef int rc
        cdef Py_buffer view
        if type(msg) is bytes:
            rc = self._scan_ptr(PyBytes_AS_STRING(msg), <size_t>PyBytes_GET_SIZE(msg))
        else:
            PyObject_GetBuffer(msg, &view, PyBUF_SIMPLE)
            try:
                rc = self._scan_ptr(<const char*>view.buf, <size_t>view.len)
            finally:
                PyBuffer_Release(&view)
        self._last_rc = rc
        return rc

    @property
    def sid(self):
        return self._s.sid

    @property
    def seq(self):
        return self._s.seq

    @property
    def event_time_ns(self):
        return self._s.ts_ms * 1000000

    @property
    def n_levels(self):
        return self._s.n_levels if self._last_rc in (DELTA, SNAPSHOT) else 0

    cpdef bytes symbol_bytes(self):
        if self._last_rc not in (DELTA, SNAPSHOT) or self._s.sym == NULL:
            return None
        return (<const char*>self._s.sym)[:self._s.sym_len]

    def levels(self):
        """Scanned levels as (side, price_str, qty_str, key_str) (tests and tools only)."""
        cdef size_t i
        cdef const PLevel* L
        out = []
        if self._last_rc not in (DELTA, SNAPSHOT):
            return out
        for i in range(self._s.n_levels):
            L = pscan_level(self._s, i)
            out.append((L.side, (<const char*>L.px)[:L.px_len].decode(), (<const char*>L.qty)[:L.qty_len].decode(),
                        (<const char*>L.key)[:L.key_len].decode() if L.key != NULL else None))
        return out

    cdef void _empty_side(self, L2Book book, int side) noexcept nogil:
        """Remove a side's levels one by one (cost ~ levels present, not the ring size)."""
        cdef Ladder* L = &book.bids if side == SIDE_BID else &book.asks
        cdef Py_ssize_t i, n
        if L.count == 0:
            return
        if <size_t>L.count > self._s.max_levels:
            book.clear_side(side)
            return
        n = book.levels_c(side, L.count, self._sp, self._sq)
        for i in range(n):
            book.set_level(side, self._sp[i], 0)
        if L.count != 0:
            book.clear_side(side)

    cdef inline void _record(self, int slot, int side, int64_t px, int64_t q) noexcept nogil:
        """Append the row (px, q) to the deltas of book slot 0 or 1, bid or ask side."""
        cdef int64_t* row
        if slot == 0:
            if side == SIDE_BID:
                row = self._b0 + 2 * self.n_bids0
                self.n_bids0 += 1
            else:
                row = self._a0 + 2 * self.n_asks0
                self.n_asks0 += 1
        elif side == SIDE_BID:
            row = self._b1 + 2 * self.n_bids1
            self.n_bids1 += 1
        else:
            row = self._a1 + 2 * self.n_asks1
            self.n_asks1 += 1
        row[0] = px
        row[1] = q

    # ---- Kalshi: one message, two derived books ---------------------------------------------

    cdef int _kalshi(self, L2Book yes, L2Book no) noexcept nogil:
        cdef size_t i
        cdef const PLevel* L
        cdef int64_t px, q, cur, newq
        cdef int rc
        cdef bint snap = self._last_rc == C_SNAPSHOT
        self.n_applied = 0
        self.n_bids0 = self.n_asks0 = self.n_bids1 = self.n_asks1 = 0
        if snap:
            self._empty_side(yes, SIDE_BID)
            self._empty_side(yes, SIDE_ASK)
            self._empty_side(no, SIDE_BID)
            self._empty_side(no, SIDE_ASK)
        for i in range(self._s.n_levels):
            L = pscan_level(self._s, i)
            if parse_decimal(L.px, L.px_len, L.px_digits, &px) != FX_OK:
                return C_BAD_LEVEL
            if parse_decimal(L.qty, L.qty_len, QTY_DIGITS, &q) != FX_OK:
                return C_BAD_LEVEL
            if px <= 0 or px >= ONE_DOLLAR:
                return C_BAD_LEVEL
            # a YES bid at p rests in the YES book and is the NO book's ask at 1 - p (and vice versa)
            if L.side == 0:
                cur = ladder_qty(yes, SIDE_BID, px)
            else:
                cur = ladder_qty(no, SIDE_BID, px)
            newq = cur + q      # snapshot: repeated prices add up; delta: signed change
            if newq < 0:
                return C_BAD_LEVEL
            if L.side == 0:
                rc = yes.set_level(SIDE_BID, px, newq)
                if rc > LV_DROPPED:
                    return C_BAD_LEVEL
                rc = no.set_level(SIDE_ASK, ONE_DOLLAR - px, newq)
            else:
                rc = no.set_level(SIDE_BID, px, newq)
                if rc > LV_DROPPED:
                    return C_BAD_LEVEL
                rc = yes.set_level(SIDE_ASK, ONE_DOLLAR - px, newq)
            if rc > LV_DROPPED:
                return C_BAD_LEVEL
            # delta rows: slot 0 = YES book, slot 1 = NO book (a YES bid is the NO book's ask)
            if not snap:
                self._record(L.side, SIDE_BID, px, newq)
                self._record(1 - L.side, SIDE_ASK, ONE_DOLLAR - px, newq)
            self.n_applied = i + 1
        return C_APPLIED

    cpdef int apply_kalshi(self, L2Book yes, L2Book no):
        """Apply a scanned Kalshi snapshot (both books replaced) or signed delta to both legs."""
        cdef int rc
        if self.format != FORMAT_KALSHI or self._last_rc not in (DELTA, SNAPSHOT):
            return C_NOT_BOOK
        with nogil:
            rc = self._kalshi(yes, no)
        if rc != C_APPLIED:
            yes.valid = False
            no.valid = False
            return rc
        yes.last_update_id = self._s.seq
        no.last_update_id = self._s.seq
        if self._s.ts_ms:
            yes.ts_event_ns = self._s.ts_ms * 1000000
            no.ts_event_ns = self._s.ts_ms * 1000000
        if self._last_rc == SNAPSHOT:
            yes.valid = True
            no.valid = True
        return C_APPLIED

    cpdef int feed_kalshi(self, object msg, dict markets):
        """Scan a Kalshi message and, for a book message of a known market, apply it: one call.

        ``markets`` maps ticker bytes to ``(yes_book, no_book)``. Returns the scan result (SNAPSHOT,
        DELTA, OTHER, ARRAY or a negative error); ``applied`` then says APPLIED, BAD_LEVEL or
        NOT_BOOK (unknown ticker, or a delta for a market whose books are invalid: the coming
        snapshot covers it) and ``market`` is the tuple found (None when unknown).
        """
        cdef int rc = self.scan(msg)
        cdef tuple books
        self.applied = C_NOT_BOOK
        self.market = None
        if rc != C_DELTA and rc != C_SNAPSHOT:
            return rc
        books = self._kalshi_books(markets)
        if books is None:
            return rc
        self.market = books
        if rc == C_DELTA and not (<L2Book>books[0]).valid:
            return rc
        self.applied = self.apply_kalshi(<L2Book>books[0], <L2Book>books[1])
        return rc

    cdef tuple _kalshi_books(self, dict markets):
        cdef Py_ssize_t j
        cdef bytes k
        cdef const char* p = self._s.sym
        cdef int32_t n = self._s.sym_len
        if markets is not self._kdict or len(markets) != self._klen:
            self._kk = []
            self._kb = []
            self._kdict = markets
            self._klen = len(markets)
        for j in range(len(self._kk)):
            k = <bytes>self._kk[j]
            if len(k) == n and memcmp(<const char*>k, p, n) == 0:
                return <tuple>self._kb[j]
        k = p[:n]
        found = markets.get(k)
        if found is None:
            return None
        if len(self._kk) >= 16:
            self._kk.pop(0)
            self._kb.pop(0)
        self._kk.append(k)
        self._kb.append(found)
        return <tuple>found

    # ---- one book per message: Hyperliquid l2Book, Polymarket book ----------------------------

    cdef int _book(self, L2Book book) noexcept nogil:
        cdef size_t i
        cdef const PLevel* L
        cdef int64_t px, q
        cdef int rc
        self.n_applied = 0
        self._empty_side(book, SIDE_BID)
        self._empty_side(book, SIDE_ASK)
        for i in range(self._s.n_levels):
            L = pscan_level(self._s, i)
            if parse_decimal(L.px, L.px_len, L.px_digits, &px) != FX_OK:
                return C_BAD_LEVEL
            if parse_decimal(L.qty, L.qty_len, QTY_DIGITS, &q) != FX_OK:
                return C_BAD_LEVEL
            rc = book.set_level(L.side, px, q)
            if rc > LV_DROPPED:
                return C_BAD_LEVEL
            self.n_applied = i + 1
        return C_APPLIED

    cpdef int apply_book(self, L2Book book):
        """Replace ``book`` with the scanned full book (Hyperliquid l2Book, Polymarket book)."""
        cdef int rc
        if self._last_rc != SNAPSHOT or self.format == FORMAT_KALSHI:
            return C_NOT_BOOK
        with nogil:
            rc = self._book(book)
        if rc != C_APPLIED:
            book.valid = False
            return rc
        book.last_update_id = book.last_update_id + 1 if book.last_update_id >= 0 else 1
        book.ts_event_ns = self._s.ts_ms * 1000000
        book.valid = True
        return C_APPLIED

    cpdef int apply_changes(self, dict books):
        """Apply a Polymarket price_change (absolute sizes) to the books of the assets it names.

        Entries for assets not in ``books`` are skipped. Returns APPLIED or BAD_LEVEL (the book the
        bad entry belongs to is marked invalid). ``delta_*`` hold the applied entries in order and
        ``n_applied`` their count; ``touched`` the asset ids in first-seen order.
        """
        cdef size_t i
        cdef const PLevel* L
        cdef int64_t px, q
        cdef int rc
        cdef L2Book book = None
        cdef const char* last_key = NULL
        cdef int32_t last_len = -1
        cdef Py_ssize_t w = 0
        cdef int slot = -1
        cdef bytes key
        if self.format != FORMAT_POLYMARKET or self._last_rc != DELTA:
            return C_NOT_BOOK
        self.n_applied = 0
        self.n_bids0 = self.n_asks0 = self.n_bids1 = self.n_asks1 = 0
        self.n_slots = 0
        self.delta_complete = True
        self._slot_keys[0] = None
        self._slot_keys[1] = None
        for i in range(self._s.n_levels):
            L = pscan_level(self._s, i)
            if L.key_len != last_len or memcmp(L.key, last_key, L.key_len) != 0:
                last_key = L.key
                last_len = L.key_len
                key = self._cached_key(books, L.key, L.key_len)
                book = self._cached_book
                slot = -1
                if book is not None:
                    if self._slot_keys[0] == key:
                        slot = 0
                    elif self._slot_keys[1] == key:
                        slot = 1
                    elif self.n_slots < 2:
                        slot = self.n_slots
                        self._slot_keys[slot] = key
                        self.n_slots += 1
                    else:
                        self.delta_complete = False
            if book is None:
                continue
            if parse_decimal(L.px, L.px_len, PX_DIGITS, &px) != FX_OK or \
                    parse_decimal(L.qty, L.qty_len, QTY_DIGITS, &q) != FX_OK:
                book.valid = False
                return C_BAD_LEVEL
            rc = book.set_level(L.side, px, q)
            if rc > LV_DROPPED:
                book.valid = False
                return C_BAD_LEVEL
            book.ts_event_ns = self._s.ts_ms * 1000000
            book.last_update_id = book.last_update_id + 1
            if slot >= 0:
                self._record(slot, L.side, px, q)
            w += 1
        self.n_applied = w
        return C_APPLIED

    cdef L2Book _cached_book

    cdef bytes _cached_key(self, dict books, const char* p, int32_t n):
        """The token id and its book, from a small cache of recent ids (no bytes built on a hit)."""
        cdef Py_ssize_t j
        cdef bytes k
        if books is not self._cdict or len(books) != self._clen:
            self._ck = []
            self._cb = []
            self._cdict = books
            self._clen = len(books)
        for j in range(len(self._ck)):
            k = <bytes>self._ck[j]
            if len(k) == n and memcmp(<const char*>k, p, n) == 0:
                self._cached_book = <L2Book>self._cb[j]
                return k
        k = p[:n]
        self._cached_book = books.get(k)
        if self._cached_book is not None:
            if len(self._ck) >= 8:
                self._ck.pop(0)
                self._cb.pop(0)
            self._ck.append(k)
            self._cb.append(self._cached_book)
        return k

    def slot_key(self, int slot):
        """Token id (bytes) whose deltas are in slot 0 or 1 after apply_changes (None if unused)."""
        return self._slot_keys[slot]

    def change_key(self, Py_ssize_t i):
        """Asset id (bytes) of the i-th scanned price_change entry."""
        cdef const PLevel* L
        if self._last_rc != DELTA or i < 0 or <size_t>i >= self._s.n_levels:
            raise IndexError(i)
        L = pscan_level(self._s, i)
        return (<const char*>L.key)[:L.key_len]
