# C-level API of the smart order router: venue status codes, reasons, and the routing workspace.
from libc.stdint cimport int64_t, uint32_t
from cpython.object cimport PyObject

from seqkern._fixed cimport sk_i128

cdef enum:
    SOR_SLOTS = 20          # venue slots 0..19 (spec's VenueId table, wire id = slot)

# parent sides (not book sides: a buy takes the asks, a sell the bids)
cdef enum:
    PARENT_BUY = 0
    PARENT_SELL = 1

# time in force of the parent
cdef enum:
    TIF_IOC = 0
    TIF_FOK = 1
    TIF_GTC = 2

# Per-venue status. 1..7 are set by the caller (catalog, health, parent), 8.. by route().
cdef enum:
    VS_OK = 0
    VS_NOT_LISTED = 1        # the venue does not list the exact symbol
    VS_WRONG_INSTRUMENT = 2  # listed, but as another instrument type (spot vs perp)
    VS_NO_CREDENTIALS = 3
    VS_DISCONNECTED = 4
    VS_STALE = 5
    VS_EXCLUDED = 6          # on the parent's exclusion list
    VS_NOT_PINNED = 7        # the parent is pinned to another venue
    VS_BOOK_INVALID = 8      # no book, or the book is marked invalid (gap / checksum)
    VS_EMPTY_SIDE = 9        # nothing on the side the parent takes
    VS_TOO_COSTLY = 10       # sell: fee + latency penalty >= 100% of the price
    VS_BEYOND_LIMIT = 11     # walk stopped: next level beyond the parent's limit price
    VS_BALANCE = 12          # walk stopped: balance / quantity cap reached
    VS_BELOW_LOT = 13        # walk stopped: parent remainder below this venue's lot
    VS_DEPTH = 14            # walk stopped: ladder exhausted (within max_levels)
    VS_MIN_QTY = 15          # child below the venue's min quantity: dropped, re-allocated
    VS_MIN_NOTIONAL = 16     # child below the venue's min notional: dropped, re-allocated
    VS_COUNT = 17

# why part of the parent stays unfilled (priority order when several apply: see docs/sor.md)
cdef enum:
    UF_NONE = 0
    UF_NO_VENUE = 1
    UF_LIMIT = 2
    UF_BALANCE = 3
    UF_MIN_SIZE = 4
    UF_LOT = 5
    UF_DEPTH = 6
    UF_FOK = 7


cdef struct VenueWalk:
    # one venue's state during a greedy pass
    int64_t* px             # fetched levels, best first (px_1e9)
    int64_t* qty            # their sizes (qty_1e8)
    Py_ssize_t nfetch       # levels fetched so far
    bint more               # the book may hold more levels than were read
    Py_ssize_t lvl          # current level
    int64_t cum             # cumulative size through the current level
    int64_t x               # quantity taken (a multiple of lot)
    int64_t limit_px        # worst level taken
    sk_i128 notional        # sum px * qty taken (scale 1e17)
    sk_i128 first_key       # effective cost of level 0
    sk_i128 cap_notional    # buy: cap_notional_1e9 * 1e16 (reservation scale)
    int64_t cap_qty         # quantity cap rounded down to lot
    bint has_cap_notional   # buy with a finite quote cap
    double cap_notional_f   # the same cap as a double (a cheap pre-check before the exact one)
    int64_t lot
    int64_t m               # 1e8 + fee + latency (buy) or 1e8 - fee - latency (sell)
    int64_t m_fee           # 1e8 + fee: the venue's reservation multiplier for buys
    int64_t fee_e8          # taker fee, fraction x 1e8 (1 bps = 10_000)
    int64_t lat_e8          # latency penalty, fraction x 1e8
    int status              # VS_* (0 while active or unused)
    # the last fee / latency conversions, reused while their inputs stay the same
    double fee_in
    int64_t fee_out
    double lat_sigma
    double lat_risk
    int64_t lat_ns
    int64_t lat_out


cdef class Router:
    cdef readonly Py_ssize_t max_levels
    cdef object _store
    cdef int64_t* _px
    cdef int64_t* _qty
    cdef VenueWalk _w[SOR_SLOTS]
    cdef PyObject* _book[SOR_SLOTS]
    cdef sk_i128 _heap[SOR_SLOTS]     # (effective cost << 5) | slot: one compare orders both
    cdef int _nheap
    cdef int64_t _px_cap        # highest level price whose notional is safe for this parent
    cdef bint _overflow
    cdef uint32_t _eligible     # bit s: slot s passed setup (touch read) in the last route
    cdef int _side
    cdef int64_t _limit
    # the venue table: per-slot inputs the caller keeps up to date in place (numpy views)
    cdef readonly object status               # int8[20]: caller's VS_* (0 = routable)
    cdef readonly object taker_fee_bps        # float64[20]
    cdef readonly object latency_ns           # int64[20]: edge RTT + peer-link RTT
    cdef readonly object cap_notional_1e9     # int64[20]: quote a buy may reserve (incl. fee)
    cdef readonly object cap_qty_1e8          # int64[20]: base quantity cap
    cdef readonly object lot_1e8              # int64[20]
    cdef readonly object min_qty_1e8          # int64[20]
    cdef readonly object min_notional_1e9     # int64[20]
    cdef signed char* _st
    cdef double* _fee
    cdef int64_t* _lat
    cdef int64_t* _capn
    cdef int64_t* _capq
    cdef int64_t* _lot
    cdef int64_t* _minq
    cdef int64_t* _minn
    # results of the last route()
    cdef readonly object child_qty_1e8        # int64[20]
    cdef readonly object child_limit_px_1e9   # int64[20]
    cdef readonly object venue_status         # int8[20]: VS_* per slot
    cdef readonly object fee_e8               # int64[20]: fee used per slot
    cdef readonly object latency_e8           # int64[20]: latency penalty used per slot
    cdef int64_t[::1] _cq
    cdef int64_t[::1] _cp
    cdef signed char[::1] _vs
    cdef int64_t[::1] _fe
    cdef int64_t[::1] _le
    cdef sk_i128 _child_notional[SOR_SLOTS]
    cdef readonly int64_t qty_1e8
    cdef readonly int64_t filled_qty_1e8
    cdef readonly int unfilled_reason
    cdef readonly int n_children
    cdef readonly int passes

    cdef int _fetch(self, int v, Py_ssize_t n) noexcept
    cdef void _replace_top(self, sk_i128 e) noexcept nogil
    cdef void _push(self, sk_i128 e) noexcept nogil
    cdef void _pop(self) noexcept nogil
    cdef bint _beyond(self, int64_t px) noexcept nogil
    cdef sk_i128 _key(self, int64_t px, int64_t m) noexcept nogil
    cdef int _advance(self, int v) noexcept
    cdef void _greedy(self, int64_t qty) noexcept
    cdef object _route(self, list books, int side, int64_t qty_1e8, int64_t limit_px_1e9, int tif,
                       double sigma_bps_sqrt_s, double risk_mult, int pin_venue,
                       uint32_t exclude_mask)
