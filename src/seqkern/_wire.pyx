# distutils: language = c++
# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled venue depth decoders: raw websocket bytes straight into an L2Book, no Python per level."""

cimport cython
from libc.stdint cimport int64_t, int32_t, int8_t, uint32_t, uint64_t

import numpy as np

from libcpp.string cimport string
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector
from cython.operator cimport dereference as deref
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE

from seqkern._fixed cimport parse_decimal, mul_div_floor, PX_DIGITS, QTY_DIGITS, FX_OK
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
        # cex4 block
        int64_t event_ns
        int32_t px_dec
        int32_t qty_dec
        int64_t stream_seq
        int32_t stream_gap

    cdef cppclass RawBook:
        bint active

    DepthScan* scan_new(size_t cap_levels) except +
    void scan_free(DepthScan* s)
    const Level* scan_level(const DepthScan* s, size_t i)
    int scan_binance_depth(DepthScan* s, const char* msg, size_t length)
    int scan_okx_books(DepthScan* s, const char* msg, size_t length)
    int scan_bybit_orderbook(DepthScan* s, const char* msg, size_t length)
    # cex4 block
    int scan_coinbase_l2(DepthScan* s, const char* msg, size_t length)
    int scan_kraken_book(DepthScan* s, const char* msg, size_t length)
    int scan_bitget_books(DepthScan* s, const char* msg, size_t length)
    int scan_cryptocom_book(DepthScan* s, const char* msg, size_t length)
    uint32_t kraken_book_crc(const int64_t* apx, const int64_t* aqty, size_t na,
                             const int64_t* bpx, const int64_t* bqty, size_t nb, int px_dec, int qty_dec)
    int32_t bitget_book_crc(const int64_t* bpx, const int64_t* bqty, size_t nb,
                            const int64_t* apx, const int64_t* aqty, size_t na, int px_dec, int qty_dec)
    uint32_t crc32_bytes(const char* p, size_t n)
    int SCAN_STREAM_GAP
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
# cex4 block: in-stream snapshot venues
FORMAT_COINBASE = 10        # Coinbase Advanced Trade l2_data (connection sequence_num)
FORMAT_KRAKEN = 11          # Kraken WS v2 book (CRC32 of the top 10)
FORMAT_BITGET = 12          # Bitget v2 books (seq, CRC32 of the top 25)
FORMAT_CRYPTOCOM = 13       # Crypto.com v1 book / book.update (u, pu)
_FORMATS = (FORMAT_BINANCE, FORMAT_BINANCE_USDM, FORMAT_OKX, FORMAT_BYBIT, FORMAT_COINBASE, FORMAT_KRAKEN,
            FORMAT_BITGET, FORMAT_CRYPTOCOM)

OKX_CHECKSUM_DEPTH = 25

# scan results
OTHER = 0
DEPTH = 1
BAD_JSON = -1
BAD_SHAPE = -2
TOO_MANY_LEVELS = -3
STREAM_GAP = -4    # a connection-wide sequence number was skipped (Coinbase): resync the shard's books

# apply results
APPLIED = 0
STALE = 1          # entirely older than the book: ignored (normal while replaying a buffer)
GAP = 2            # the venue's continuity rule failed: the book is invalid, resync
BAD_LEVEL = 3      # a price/qty that does not parse or fit the book: book invalid, resync
NOT_DEPTH = 4      # apply called without a scanned depth message
CHECKSUM = 5       # the message's checksum does not match the book after applying: book invalid
BAD_CHECKSUM = CHECKSUM

# continuity rules (CexVenue.sequence_rule codes)
RULE_NONE = 0          # apply every message (snapshot-replace feeds)
RULE_FIRST_LAST = 1    # Binance spot: ignore u <= last; gap if U > last + 1
RULE_PREV_FINAL = 2    # Binance USD-M: pu must equal last u (ignore u < last)
RULE_PREV_SEQ = 3      # OKX: prevSeqId must equal the last seqId (seqId may reset lower, or repeat)
RULE_INCREASING = 10   # cex4: ids only move forward (Bitget seq): u <= last is stale, no +1 rule

cdef enum:
    CF_BINANCE = 1
    CF_BINANCE_USDM = 2
    CF_OKX = 3
    CF_BYBIT = 4
    CF_COINBASE = 10     # cex4 block
    CF_KRAKEN = 11
    CF_BITGET = 12
    CF_CRYPTOCOM = 13
    CK_SCRATCH = 1032
    MAX_SYMBOLS = 4096

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
    cdef vector[int64_t] _contract      # by symbol index: base units per contract (x 1e8); 0 = base units
    cdef readonly int symbol_index     # index of the scanned symbol (register_symbol), -1 unknown
    # cex4 block: per-symbol precisions for checksums, the book depth to keep, scratch walks
    cdef Py_ssize_t _max_levels
    cdef object _scratch                # int64[4, CK_SCRATCH]
    cdef int64_t* _sbp
    cdef int64_t* _sbq
    cdef int64_t* _sap
    cdef int64_t* _saq
    cdef object _prec                   # int32[MAX_SYMBOLS + 1, 2]: (px, qty) decimals; row 0 = unregistered
    cdef int32_t* _pr
    cdef public int book_depth          # levels per side kept (Kraken / Crypto.com views); 0 = all

    def __cinit__(self, int format=FORMAT_BINANCE, Py_ssize_t max_levels=20000):
        if format not in _FORMATS:
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
        self._max_levels = max_levels
        self._scratch = np.zeros((4, CK_SCRATCH), dtype=np.int64)
        cdef int64_t[:, ::1] sc = self._scratch
        self._sbp = &sc[0, 0]
        self._sbq = &sc[1, 0]
        self._sap = &sc[2, 0]
        self._saq = &sc[3, 0]
        self._prec = np.full((MAX_SYMBOLS + 1, 2), -1, dtype=np.int32)
        cdef int32_t[:, ::1] pr = self._prec
        self._pr = &pr[0, 0]
        self.book_depth = 0

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
        if self.format == CF_COINBASE:          # cex4 block
            return scan_coinbase_l2(self._s, p, <size_t>n)
        if self.format == CF_KRAKEN:
            return scan_kraken_book(self._s, p, <size_t>n)
        if self.format == CF_BITGET:
            return scan_bitget_books(self._s, p, <size_t>n)
        if self.format == CF_CRYPTOCOM:
            return scan_cryptocom_book(self._s, p, <size_t>n)
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

    def register_symbol(self, venue_symbol, int64_t contract_1e8=0) -> int:
        """Give a venue symbol an index that ``scan`` reports in ``symbol_index`` (no bytes object
        per message). Returns the index (registration order). ``contract_1e8``: the venue sizes
        this symbol in contracts of that many base units (x 1e8, OKX SWAP ``ctVal``); the levels
        are applied and reported in base units (floor of contracts x size)."""
        if contract_1e8 < 0:
            raise ValueError("contract size must be >= 0")
        cdef bytes b = venue_symbol.encode() if isinstance(venue_symbol, str) else bytes(venue_symbol)
        cdef string key = string(<const char*>b, len(b))
        cdef int idx
        if self._sym_index.count(key):
            idx = self._sym_index[key]
        else:
            idx = <int>self._sym_index.size()
            self._sym_index[key] = idx
        if self._contract.size() <= <size_t>idx:
            self._contract.resize(idx + 1, 0)
        self._contract[idx] = contract_1e8
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
        return self._s.event_ns if self._s.event_ns else self._s.event_ms * 1000000

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

    cdef inline void _record(self, int side, int64_t px, int64_t qty) noexcept nogil:
        """Append the row (px, qty) to delta_bids or delta_asks."""
        cdef int64_t* row
        if side == SIDE_BID:
            row = self._db + 2 * self.n_bids
            self.n_bids += 1
        else:
            row = self._da + 2 * self.n_asks
            self.n_asks += 1
        row[0] = px
        row[1] = qty

    cdef int _apply_levels(self, L2Book book, RawBook* raw) noexcept nogil:
        cdef size_t i
        cdef int64_t px, qty
        cdef int rc
        cdef const Level* lv
        cdef bint ovf = False
        cdef int64_t contract = 0
        if 0 <= self.symbol_index < <int>self._contract.size():
            contract = self._contract[self.symbol_index]
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
            if contract:
                qty = mul_div_floor(qty, contract, 100000000, &ovf)
                if ovf:
                    return C_BAD_LEVEL
            rc = book.set_level(scan_level(self._s, i).side, px, qty)
            if rc > LV_DROPPED:
                return C_BAD_LEVEL
            if raw != NULL:
                raw_set(raw, lv.side, px, qty, lv)
            self._record(lv.side, px, qty)
        return C_APPLIED

    cdef int _verify(self, L2Book book, RawLevels raw):
        """OKX legacy checksum: checked whenever the message carries a non-zero one. Kraken's (and
        Bitget's when no raw strings are kept) is computed in C from the book at the symbol's
        precision (cex4)."""
        cdef int row
        if self._s.has_checksum == 0:
            return C_APPLIED
        # Kraken's and Bitget's checksums are live (0 is a value); OKX's 0 means deprecated
        if self.format == CF_KRAKEN or (self.format == CF_BITGET and (raw is None or not raw._r.active)):
            row = self.symbol_index + 1 if 0 <= self.symbol_index < MAX_SYMBOLS else 0
            if not self._checksum_ok(book, self._pr[2 * row], self._pr[2 * row + 1]):
                book.valid = False
                return C_CHECKSUM
            return C_APPLIED
        if self._s.checksum == 0:
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
        if self.book_depth > 0 and self.format >= CF_COINBASE:
            with nogil:
                self._truncate(book, self.book_depth)     # cex4: Kraken / Crypto.com depth views
        if r != NULL or self._s.has_checksum:
            rc = self._verify(book, raw)
            if rc != C_APPLIED:
                self.bbo_changed = False
                return rc
        book.last_update_id = self._s.final_id
        book.ts_event_ns = self._s.event_ns if self._s.event_ns else self._s.event_ms * 1000000
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
            # Kraken's checksum is computed from the book at its precision: no strings to keep (cex4)
            raw._r.active = self._s.has_checksum != 0 and self._s.checksum != 0 and self.format != CF_KRAKEN
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
        elif rule == RULE_INCREASING:
            if self._s.final_id <= last:
                return C_STALE
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
        cdef int64_t ts = self._s.event_ns if self._s.event_ns else self._s.event_ms * 1000000
        enc.l2_c(K_L2_DELTA, symbol_id, <uint64_t>self._s.final_id, self._db, self.n_bids, self._da,
                 self.n_asks, ts, ts_local_ns, 0)
        if with_bbo and self.bbo_changed:
            enc.bbo_c(symbol_id, self.bid_px, self.bid_qty, self.ask_px, self.ask_qty, ts, ts_local_ns, 0)
        return 0

    # ---- cex4 block: in-stream snapshots, checksums, connection sequence ----

    @property
    def has_checksum(self):
        return self._last_rc == SCAN_DEPTH and self._s.has_checksum != 0

    @property
    def px_decimals(self):
        """Most fraction digits among the scanned prices (the venue's price precision)."""
        return self._s.px_dec

    @property
    def qty_decimals(self):
        return self._s.qty_dec

    @property
    def stream_seq(self):
        return self._s.stream_seq

    def reset_stream(self):
        """Forget the connection sequence (call on every new connection)."""
        self._s.stream_seq = -1

    cdef int _truncate(self, L2Book book, int depth) noexcept nogil:
        """Keep ``depth`` levels per side (Kraken: levels leaving the subscribed depth get no delete)."""
        cdef int side
        cdef Py_ssize_t n
        if depth <= 0 or depth + 1 > CK_SCRATCH:
            return 0
        for side in range(2):
            while (book.bids.count if side == SIDE_BID else book.asks.count) > depth:
                n = book.levels_c(side, depth + 1, self._sbp, self._sbq)
                if n <= depth:
                    break
                book.set_level(side, self._sbp[depth], 0)
                if (self.n_bids if side == SIDE_BID else self.n_asks) < self._max_levels:
                    self._record(side, self._sbp[depth], 0)
        return 0

    cdef int64_t _book_crc(self, L2Book book, int px_dec, int qty_dec) noexcept nogil:
        """The venue checksum of ``book`` at these precisions: Kraken's unsigned, Bitget's signed
        (Kraken or Bitget format only)."""
        cdef Py_ssize_t nb, na
        if self.format == CF_KRAKEN:
            nb = book.levels_c(SIDE_BID, 10, self._sbp, self._sbq)
            na = book.levels_c(SIDE_ASK, 10, self._sap, self._saq)
            return kraken_book_crc(self._sap, self._saq, na, self._sbp, self._sbq, nb, px_dec, qty_dec)
        nb = book.levels_c(SIDE_BID, 25, self._sbp, self._sbq)
        na = book.levels_c(SIDE_ASK, 25, self._sap, self._saq)
        return bitget_book_crc(self._sbp, self._sbq, nb, self._sap, self._saq, na, px_dec, qty_dec)

    cdef bint _checksum_ok(self, L2Book book, int px_dec, int qty_dec) noexcept nogil:
        cdef int pd = px_dec if px_dec > self._s.px_dec else self._s.px_dec
        cdef int qd = qty_dec if qty_dec > self._s.qty_dec else self._s.qty_dec
        if self.format != CF_KRAKEN and self.format != CF_BITGET:
            return True
        # same 32 bits: Kraken's unsigned and Bitget's signed checksum compare alike
        return <uint32_t>self._book_crc(book, pd, qd) == <uint32_t>self._s.checksum

    cpdef int apply_verified(self, L2Book book, int px_dec=-1, int qty_dec=-1, int depth=0):
        """Replace the book with the scanned snapshot, keep ``depth`` levels, check the venue
        checksum at these precisions (or more, as the message shows) (tools, tests, benchmarks)."""
        self.book_depth = depth
        self.set_symbol_precision(self.symbol_index, px_dec, qty_dec)
        return self.apply_snapshot(book, None)

    def book_checksum(self, L2Book book, int px_dec, int qty_dec):
        """The checksum of ``book`` as this format's venue computes it (tools and tests)."""
        if self.format != CF_KRAKEN and self.format != CF_BITGET:
            raise ValueError("this depth format has no checksum")
        return self._book_crc(book, px_dec, qty_dec)

    cpdef int apply_checked_verified(self, L2Book book, int rule, int px_dec=-1, int qty_dec=-1, int depth=0):
        """``apply_checked`` with explicit precisions and depth (tools, tests, benchmarks)."""
        self.book_depth = depth
        self.set_symbol_precision(self.symbol_index, px_dec, qty_dec)
        return self.apply_checked(book, rule, None)

    def set_symbol_precision(self, int index, int px_dec, int qty_dec):
        """The venue's price / size decimals of a registered symbol (-1 = unregistered), as learned
        from its snapshot; checksums use them (or more, when a message shows more)."""
        cdef int row = index + 1 if 0 <= index < MAX_SYMBOLS else 0
        self._pr[2 * row] = px_dec
        self._pr[2 * row + 1] = qty_dec

    # ---- end cex4 block ----

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
