# Public C-level API of the compiled L2 book and BBO matrix (cimported by _sor and the edge parsers).
from libc.stdint cimport int64_t, uint64_t, int8_t

# status codes of L2Book.set_level
cdef enum:
    LV_OK = 0
    LV_DROPPED = 1      # level more than depth_ticks behind the best: not kept (counted)
    LV_UNALIGNED = 2    # price not a multiple of the tick size
    LV_BAD_QTY = 3      # negative quantity
    LV_BAD_PRICE = 4    # non-positive price

cdef enum:
    SIDE_BID = 0
    SIDE_ASK = 1

cdef struct Ladder:
    # One side of a book, as a ring of `cap` tick slots in "key" space, where a higher key is a
    # better price (bids: key = tick; asks: key = -tick). Slot of a key = key & mask.
    int64_t* qty
    uint64_t* bits      # occupancy bitmap, one bit per slot
    int64_t lo          # every present key lies in [lo, lo + cap)
    int64_t best        # best present key (valid when count > 0)
    int64_t count       # number of present levels
    int64_t cap
    int64_t mask
    int64_t nwords


cdef class L2Book:
    cdef Ladder bids
    cdef Ladder asks
    cdef readonly int64_t tick            # tick size, px_1e9 units
    cdef readonly int64_t depth_ticks     # ring capacity per side (power of two)
    cdef readonly int64_t last_update_id
    cdef readonly int64_t ts_event_ns
    cdef readonly int64_t evicted         # levels pushed out when the best moved > depth away
    cdef readonly int64_t dropped         # levels refused because they were too deep
    cdef public bint valid                # False once a bad update is seen, until the next snapshot
    cdef object _store                    # numpy arrays owning the ladder memory
    cdef readonly object top_levels       # int64[4, top_cap]: bid px, bid qty, ask px, ask qty
    cdef int64_t[:, ::1] _top
    cdef int64_t top_cap
    cdef object _bb_cache                 # (px, qty) tuples of the last read best levels,
    cdef object _ba_cache                 # reused until a level of that side changes
    cdef bint _bb_dirty
    cdef bint _ba_dirty

    cdef void _init_ladder(self, Ladder* L, object q, object b, int64_t cap)
    cdef int _apply_side(self, int side, const int64_t[::1] px, const int64_t[::1] qty) except -1
    cdef int set_level(self, int side, int64_t px, int64_t qty) noexcept nogil
    cdef void clear_side(self, int side) noexcept nogil
    cdef inline bint has_bid(self) noexcept nogil:
        return self.bids.count > 0
    cdef inline bint has_ask(self) noexcept nogil:
        return self.asks.count > 0
    cdef inline int64_t bid_px(self) noexcept nogil:
        return self.bids.best * self.tick if self.bids.count > 0 else 0
    cdef inline int64_t ask_px(self) noexcept nogil:
        return -self.asks.best * self.tick if self.asks.count > 0 else 0
    cdef inline int64_t bid_qty(self) noexcept nogil:
        return self.bids.qty[self.bids.best & self.bids.mask] if self.bids.count > 0 else 0
    cdef inline int64_t ask_qty(self) noexcept nogil:
        return self.asks.qty[self.asks.best & self.asks.mask] if self.asks.count > 0 else 0
    # Walk levels from the best outwards into caller buffers; returns the number written.
    cdef Py_ssize_t levels_c(self, int side, Py_ssize_t n, int64_t* px, int64_t* qty) noexcept nogil
    # Continue such a walk: up to n levels after `last_px`, the n_done-th level from the best
    # (the book must not have changed since those levels were read). Returns the number written.
    cdef Py_ssize_t levels_next_c(self, int side, int64_t last_px, Py_ssize_t n_done, Py_ssize_t n,
                                  int64_t* px, int64_t* qty) noexcept nogil


cdef class BboMatrix:
    cdef readonly int64_t n_symbols
    cdef readonly int64_t n_venues
    cdef readonly object bid_px
    cdef readonly object bid_qty
    cdef readonly object ask_px
    cdef readonly object ask_qty
    cdef readonly object ts_ns
    cdef int64_t* _bp
    cdef int64_t* _bq
    cdef int64_t* _ap
    cdef int64_t* _aq
    cdef int64_t* _ts

    cdef int _check(self, Py_ssize_t sym, Py_ssize_t venue) except -1
    cdef void set_c(self, Py_ssize_t sym, Py_ssize_t venue, int64_t bp, int64_t bq,
                    int64_t ap, int64_t aq, int64_t ts) noexcept nogil
