# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled L2 order books (tick-indexed rings around the touch) and the BBO matrix."""

cimport cython
from libc.stdint cimport int64_t, uint64_t, int8_t
from libc.string cimport memset

import numpy as np

from seqkern._fixed cimport sk_i128, SK_I64_MAX, mul_div_floor, mul_div_ceil, SK_POW10, QTY_DIGITS
from seqkern.errors import BookError

cdef extern from *:
    """
    static inline int sk_hibit(unsigned long long x) { return 63 - __builtin_clzll(x); }
    """
    int sk_hibit(uint64_t x) noexcept nogil

LEVEL_OK = LV_OK
LEVEL_DROPPED = LV_DROPPED
LEVEL_UNALIGNED = LV_UNALIGNED
LEVEL_BAD_QTY = LV_BAD_QTY
LEVEL_BAD_PRICE = LV_BAD_PRICE
BID = SIDE_BID
ASK = SIDE_ASK

_LEVEL_ERRORS = {
    LV_UNALIGNED: "price is not a multiple of the tick size",
    LV_BAD_QTY: "negative quantity",
    LV_BAD_PRICE: "price must be positive",
}

cdef int64_t NONE = -9223372036854775807 - 1


cdef inline void lad_clear_key(Ladder* L, int64_t key) noexcept nogil:
    cdef int64_t p = key & L.mask
    L.qty[p] = 0
    L.bits[p >> 6] &= ~((<uint64_t>1) << (p & 63))


cdef inline int64_t lad_prev_key(Ladder* L, int64_t key) noexcept nogil:
    """Highest present key strictly below `key` (caller guarantees one exists)."""
    cdef int64_t p = (key - 1) & L.mask
    cdef int64_t w = p >> 6
    cdef int64_t b = p & 63
    cdef uint64_t word = L.bits[w] & ((<uint64_t>2 << b) - 1 if b < 63 else <uint64_t>0xFFFFFFFFFFFFFFFF)
    cdef int64_t dist = 0
    cdef int64_t q
    while word == 0:
        dist += b + 1
        w = (w - 1) & (L.nwords - 1)
        b = 63
        word = L.bits[w]
    q = sk_hibit(word)
    dist += b - q
    return key - 1 - dist


cdef void lad_evict_below(Ladder* L, int64_t new_lo, int64_t* evicted) noexcept nogil:
    """Remove every present key < new_lo (they are >= L.lo) and move lo up to new_lo."""
    cdef int64_t k, span = new_lo - L.lo
    cdef int64_t p, w
    cdef uint64_t word
    if span >= L.cap:
        evicted[0] += L.count
        memset(L.qty, 0, L.cap * sizeof(int64_t))
        memset(L.bits, 0, L.nwords * sizeof(uint64_t))
        L.count = 0
        L.lo = new_lo
        return
    k = L.lo
    while k < new_lo:
        p = k & L.mask
        w = p >> 6
        if (p & 63) == 0 and k + 64 <= new_lo:
            word = L.bits[w]
            if word != 0:
                while word != 0:
                    L.qty[(w << 6) + sk_hibit(word)] = 0
                    word &= ~((<uint64_t>1) << sk_hibit(word))
                    L.count -= 1
                    evicted[0] += 1
                L.bits[w] = 0
            k += 64
        else:
            if L.qty[p] != 0:
                L.qty[p] = 0
                L.bits[w] &= ~((<uint64_t>1) << (p & 63))
                L.count -= 1
                evicted[0] += 1
            k += 1
    L.lo = new_lo


cdef inline int lad_set(Ladder* L, int64_t key, int64_t qty, int64_t* evicted,
                        int64_t* dropped) noexcept nogil:
    cdef int64_t p
    if qty == 0:
        if L.count == 0 or key < L.lo or key >= L.lo + L.cap:
            return LV_OK
        p = key & L.mask
        if L.qty[p] == 0:
            return LV_OK
        lad_clear_key(L, key)
        L.count -= 1
        if key == L.best and L.count > 0:
            L.best = lad_prev_key(L, key)
        return LV_OK
    if L.count == 0:
        L.lo = key - (L.cap >> 1)
        L.best = key
    elif key >= L.lo + L.cap:
        lad_evict_below(L, key - L.cap + 1, evicted)
        if L.count == 0:
            L.best = key
    elif key < L.lo:
        if key <= L.best - L.cap:
            dropped[0] += 1
            return LV_DROPPED
        L.lo = key
    p = key & L.mask
    if L.qty[p] == 0:
        L.bits[p >> 6] |= (<uint64_t>1) << (p & 63)
        L.count += 1
    L.qty[p] = qty
    if key > L.best:
        L.best = key
    return LV_OK


cdef inline Py_ssize_t lad_walk(Ladder* L, Py_ssize_t n, int64_t sign, int64_t tick,
                                int64_t* px, int64_t* qty) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef int64_t key
    if L.count == 0 or n <= 0:
        return 0
    key = L.best
    while True:
        px[i] = sign * key * tick
        qty[i] = L.qty[key & L.mask]
        i += 1
        if i >= n or i >= L.count:
            return i
        key = lad_prev_key(L, key)


def _pow2_at_least(int64_t n):
    cdef int64_t c = 64
    while c < n:
        c <<= 1
    return c


@cython.final
cdef class L2Book:
    """An L2 book for one (venue, symbol): absolute sizes, size 0 deletes, prices in px_1e9.

    Each side is a ring of ``depth_ticks`` tick slots anchored at its best price. A level more
    than ``depth_ticks - 1`` ticks behind the best is refused (``dropped``) and a level the best
    moves more than that far away from is removed (``evicted``); everything nearer is exact.
    """

    def __cinit__(self, int64_t tick_1e9, int64_t depth_ticks=4096, int64_t top_cap=64):
        cdef int64_t cap
        if tick_1e9 <= 0:
            raise BookError("tick size must be positive")
        if depth_ticks < 1 or depth_ticks > (1 << 24):
            raise BookError("depth_ticks must be within 1..16777216")
        if top_cap < 1 or top_cap > 100000:
            raise BookError("top_cap must be within 1..100000")
        cap = _pow2_at_least(depth_ticks)
        self.tick = tick_1e9
        self.depth_ticks = cap
        qb = np.zeros(cap, dtype=np.int64)
        qa = np.zeros(cap, dtype=np.int64)
        bb = np.zeros(cap // 64, dtype=np.uint64)
        ba = np.zeros(cap // 64, dtype=np.uint64)
        self._store = (qb, qa, bb, ba)
        self._init_ladder(&self.bids, qb, bb, cap)
        self._init_ladder(&self.asks, qa, ba, cap)
        self.top_cap = top_cap
        self.top_levels = np.zeros((4, top_cap), dtype=np.int64)
        self._top = self.top_levels
        self.last_update_id = -1
        self.valid = False
        self._bb_dirty = True
        self._ba_dirty = True

    cdef void _init_ladder(self, Ladder* L, object q, object b, int64_t cap):
        cdef int64_t[::1] qv = q
        cdef uint64_t[::1] bv = b
        L.qty = &qv[0]
        L.bits = &bv[0]
        L.cap = cap
        L.mask = cap - 1
        L.nwords = cap // 64
        L.count = 0
        L.lo = 0
        L.best = 0

    # ---- C-level mutation -------------------------------------------------------------------

    cdef int set_level(self, int side, int64_t px, int64_t qty) noexcept nogil:
        cdef int64_t t
        if px <= 0:
            return LV_BAD_PRICE
        if qty < 0:
            return LV_BAD_QTY
        t = px // self.tick
        if t * self.tick != px:
            return LV_UNALIGNED
        if side == SIDE_BID:
            self._bb_dirty = True
            return lad_set(&self.bids, t, qty, &self.evicted, &self.dropped)
        self._ba_dirty = True
        return lad_set(&self.asks, -t, qty, &self.evicted, &self.dropped)

    cdef void clear_side(self, int side) noexcept nogil:
        cdef Ladder* L = &self.bids if side == SIDE_BID else &self.asks
        self._bb_dirty = True
        self._ba_dirty = True
        memset(L.qty, 0, L.cap * sizeof(int64_t))
        memset(L.bits, 0, L.nwords * sizeof(uint64_t))
        L.count = 0
        L.lo = 0
        L.best = 0

    cdef Py_ssize_t levels_c(self, int side, Py_ssize_t n, int64_t* px, int64_t* qty) noexcept nogil:
        if side == SIDE_BID:
            return lad_walk(&self.bids, n, 1, self.tick, px, qty)
        return lad_walk(&self.asks, n, -1, self.tick, px, qty)

    cdef Py_ssize_t levels_next_c(self, int side, int64_t last_px, Py_ssize_t n_done, Py_ssize_t n,
                                  int64_t* px, int64_t* qty) noexcept nogil:
        cdef Ladder* L = &self.bids if side == SIDE_BID else &self.asks
        cdef int64_t sign = 1 if side == SIDE_BID else -1
        cdef int64_t key = sign * (last_px // self.tick)
        cdef Py_ssize_t i = 0
        while i < n and n_done + i < L.count:
            key = lad_prev_key(L, key)
            px[i] = sign * key * self.tick
            qty[i] = L.qty[key & L.mask]
            i += 1
        return i

    cdef int _apply_side(self, int side, const int64_t[::1] px, const int64_t[::1] qty) except -1:
        cdef Py_ssize_t i, n = px.shape[0]
        cdef int rc = LV_OK
        if qty.shape[0] != n:
            raise BookError("price and quantity arrays differ in length")
        with nogil:
            for i in range(n):
                rc = self.set_level(side, px[i], qty[i])
                if rc > LV_DROPPED:
                    break
        if rc > LV_DROPPED:
            self.valid = False
            raise BookError(f"bad level at index {i}: {_LEVEL_ERRORS[rc]} "
                            f"(px_1e9={px[i]}, qty_1e8={qty[i]}); book marked invalid")
        return 0

    # ---- Python API -------------------------------------------------------------------------

    def clear(self):
        """Empty both sides and mark the book invalid until the next snapshot."""
        self.clear_side(SIDE_BID)
        self.clear_side(SIDE_ASK)
        self.valid = False
        self.last_update_id = -1

    def invalidate(self):
        """Mark the book as known-wrong (a gap or checksum failure); readers must not trust it."""
        self.valid = False

    def apply_snapshot(self, const int64_t[::1] bid_px, const int64_t[::1] bid_qty,
                       const int64_t[::1] ask_px, const int64_t[::1] ask_qty,
                       int64_t update_id=-1, int64_t ts_event_ns=0):
        """Replace the whole book. Zero sizes in a snapshot are ignored like deletes."""
        self.clear_side(SIDE_BID)
        self.clear_side(SIDE_ASK)
        self.valid = False
        self._apply_side(SIDE_BID, bid_px, bid_qty)
        self._apply_side(SIDE_ASK, ask_px, ask_qty)
        self.last_update_id = update_id
        self.ts_event_ns = ts_event_ns
        self.valid = True

    def apply_update(self, const int64_t[::1] bid_px, const int64_t[::1] bid_qty,
                     const int64_t[::1] ask_px, const int64_t[::1] ask_qty,
                     int64_t update_id=-1, int64_t ts_event_ns=0):
        """Apply one venue delta message (bids then asks), absolute sizes, 0 deletes."""
        self._apply_side(SIDE_BID, bid_px, bid_qty)
        self._apply_side(SIDE_ASK, ask_px, ask_qty)
        if update_id != -1:
            self.last_update_id = update_id
        if ts_event_ns:
            self.ts_event_ns = ts_event_ns

    def apply_deltas(self, const int8_t[::1] side, const int64_t[::1] px,
                     const int64_t[::1] qty, int64_t update_id=-1, int64_t ts_event_ns=0):
        """Apply a mixed batch of level changes (side 0 = bid, 1 = ask) in one call."""
        cdef Py_ssize_t i, n = px.shape[0]
        cdef int rc = LV_OK
        if side.shape[0] != n or qty.shape[0] != n:
            raise BookError("side, price and quantity arrays differ in length")
        with nogil:
            for i in range(n):
                rc = self.set_level(side[i] != 0, px[i], qty[i])
                if rc > LV_DROPPED:
                    break
        if rc > LV_DROPPED:
            self.valid = False
            raise BookError(f"bad level at index {i}: {_LEVEL_ERRORS[rc]} "
                            f"(px_1e9={px[i]}, qty_1e8={qty[i]}); book marked invalid")
        if update_id != -1:
            self.last_update_id = update_id
        if ts_event_ns:
            self.ts_event_ns = ts_event_ns

    def set(self, int side, int64_t px_1e9, int64_t qty_1e8):
        """Set one level (for tests and tools; hot paths hand whole arrays or use set_level)."""
        cdef int rc = self.set_level(side, px_1e9, qty_1e8)
        if rc > LV_DROPPED:
            raise BookError(f"{_LEVEL_ERRORS[rc]} (px_1e9={px_1e9}, qty_1e8={qty_1e8})")
        return rc

    def best_bid(self):
        """(px_1e9, qty_1e8) of the best bid, or None."""
        if self._bb_dirty:
            self._bb_cache = (self.bid_px(), self.bid_qty()) if self.bids.count > 0 else None
            self._bb_dirty = False
        return self._bb_cache

    def best_ask(self):
        """(px_1e9, qty_1e8) of the best ask, or None."""
        if self._ba_dirty:
            self._ba_cache = (self.ask_px(), self.ask_qty()) if self.asks.count > 0 else None
            self._ba_dirty = False
        return self._ba_cache

    @property
    def best_bid_px(self):
        return self.bid_px()

    @property
    def best_ask_px(self):
        return self.ask_px()

    @property
    def bid_count(self):
        return self.bids.count

    @property
    def ask_count(self):
        return self.asks.count

    @property
    def crossed(self):
        """True when both sides are present and best bid >= best ask."""
        return self.bids.count > 0 and self.asks.count > 0 and self.bid_px() >= self.ask_px()

    def export_top(self, Py_ssize_t n):
        """Write the top n levels of each side into ``top_levels`` (no allocation).

        Returns (n_bids, n_asks); rows of top_levels: bid px, bid qty, ask px, ask qty.
        """
        cdef Py_ssize_t nb, na
        if n > self.top_cap:
            n = self.top_cap
        nb = lad_walk(&self.bids, n, 1, self.tick, &self._top[0, 0], &self._top[1, 0])
        na = lad_walk(&self.asks, n, -1, self.tick, &self._top[2, 0], &self._top[3, 0])
        return nb, na

    def top(self, Py_ssize_t n):
        """Fresh arrays (bid_px, bid_qty, ask_px, ask_qty) of the top n levels per side."""
        cdef Py_ssize_t nb, na
        if n < 0:
            raise ValueError("n must be >= 0")
        out = np.empty((4, n if n > 0 else 1), dtype=np.int64)
        cdef int64_t[:, ::1] o = out
        nb = lad_walk(&self.bids, n, 1, self.tick, &o[0, 0], &o[1, 0])
        na = lad_walk(&self.asks, n, -1, self.tick, &o[2, 0], &o[3, 0])
        return out[0, :nb], out[1, :nb], out[2, :na], out[3, :na]

    def depth_qty(self, int side, int64_t limit_px_1e9):
        """Total quantity on `side` at prices as good as or better than the limit.

        side=ASK answers a buyer (asks <= limit); side=BID answers a seller (bids >= limit).
        """
        cdef Ladder* L = &self.bids if side == SIDE_BID else &self.asks
        cdef int64_t key, lim_key, total = 0
        cdef int64_t i
        if L.count == 0:
            return 0
        if side == SIDE_BID:
            lim_key = (limit_px_1e9 + self.tick - 1) // self.tick   # ceil(limit / tick)
        else:
            lim_key = -(limit_px_1e9 // self.tick)        # -floor(limit / tick)
        key = L.best
        with nogil:
            for i in range(L.count):
                if key < lim_key:
                    break
                total += L.qty[key & L.mask]
                if i + 1 < L.count:
                    key = lad_prev_key(L, key)
        return total

    def fill_cost(self, int side, int64_t qty_1e8):
        """Walk `side` from the best to fill qty (side=ASK for a buy).

        Returns (filled_qty_1e8, notional as an exact int at scale 1e17, avg_px_1e9 rounded
        against the taker, worst_px_1e9). filled < qty when the book is too thin.
        """
        cdef Ladder* L = &self.bids if side == SIDE_BID else &self.asks
        cdef int64_t sign = 1 if side == SIDE_BID else -1
        cdef int64_t key, q, take, left = qty_1e8, worst = 0
        cdef sk_i128 notional = 0
        cdef int64_t i
        cdef bint ovf = False
        if qty_1e8 < 0:
            raise BookError("quantity must be non-negative")
        if L.count == 0 or qty_1e8 == 0:
            return (0, 0, 0, 0)
        key = L.best
        with nogil:
            for i in range(L.count):
                q = L.qty[key & L.mask]
                take = q if q < left else left
                notional += <sk_i128>take * <sk_i128>(sign * key * self.tick)
                worst = sign * key * self.tick
                left -= take
                if left == 0 or i + 1 >= L.count:
                    break
                key = lad_prev_key(L, key)
        filled = qty_1e8 - left
        # 128-bit notional to a Python int exactly, through its two 64-bit halves
        hi = <int64_t>(notional >> 64)
        lo = <uint64_t>notional
        notional_py = (hi << 64) + lo
        if filled == 0:
            return (0, 0, 0, 0)
        if side == SIDE_ASK:
            avg = -((-notional_py) // filled)   # buyer: round up
        else:
            avg = notional_py // filled         # seller: round down
        return (filled, notional_py, avg, worst)

    def levels(self, int side, Py_ssize_t n=-1):
        """(px, qty) arrays of up to n levels of one side from the best (all when n < 0)."""
        cdef Ladder* L = &self.bids if side == SIDE_BID else &self.asks
        if n < 0 or n > L.count:
            n = L.count
        px = np.empty(max(n, 1), dtype=np.int64)
        qty = np.empty(max(n, 1), dtype=np.int64)
        cdef int64_t[::1] pv = px
        cdef int64_t[::1] qv = qty
        n = lad_walk(L, n, 1 if side == SIDE_BID else -1, self.tick, &pv[0], &qv[0])
        return px[:n], qty[:n]

    def __repr__(self):
        bb = self.best_bid()
        ba = self.best_ask()
        return (f"L2Book(tick_1e9={self.tick}, bids={self.bids.count}, asks={self.asks.count}, "
                f"best_bid={bb}, best_ask={ba}, valid={self.valid})")


@cython.final
cdef class BboMatrix:
    """Best bid/ask per [symbol slot x venue slot] as fixed-size int64 numpy arrays.

    A zero price means "no quote". Every array attribute is a live, zero-copy view.
    """

    def __cinit__(self, int64_t n_symbols, int64_t n_venues=20):
        if n_symbols < 1 or n_venues < 1:
            raise ValueError("matrix dimensions must be positive")
        self.n_symbols = n_symbols
        self.n_venues = n_venues
        self.bid_px = np.zeros((n_symbols, n_venues), dtype=np.int64)
        self.bid_qty = np.zeros((n_symbols, n_venues), dtype=np.int64)
        self.ask_px = np.zeros((n_symbols, n_venues), dtype=np.int64)
        self.ask_qty = np.zeros((n_symbols, n_venues), dtype=np.int64)
        self.ts_ns = np.zeros((n_symbols, n_venues), dtype=np.int64)
        cdef int64_t[:, ::1] v
        v = self.bid_px; self._bp = &v[0, 0]
        v = self.bid_qty; self._bq = &v[0, 0]
        v = self.ask_px; self._ap = &v[0, 0]
        v = self.ask_qty; self._aq = &v[0, 0]
        v = self.ts_ns; self._ts = &v[0, 0]

    cdef void set_c(self, Py_ssize_t sym, Py_ssize_t venue, int64_t bp, int64_t bq,
                    int64_t ap, int64_t aq, int64_t ts) noexcept nogil:
        cdef Py_ssize_t i = sym * self.n_venues + venue
        self._bp[i] = bp
        self._bq[i] = bq
        self._ap[i] = ap
        self._aq[i] = aq
        self._ts[i] = ts

    cdef int _check(self, Py_ssize_t sym, Py_ssize_t venue) except -1:
        if sym < 0 or sym >= self.n_symbols or venue < 0 or venue >= self.n_venues:
            raise IndexError(f"slot ({sym}, {venue}) outside the {self.n_symbols}x{self.n_venues} matrix")
        return 0

    def set(self, Py_ssize_t sym, Py_ssize_t venue, int64_t bid_px, int64_t bid_qty,
            int64_t ask_px, int64_t ask_qty, int64_t ts_ns):
        self._check(sym, venue)
        self.set_c(sym, venue, bid_px, bid_qty, ask_px, ask_qty, ts_ns)

    def update_from_book(self, Py_ssize_t sym, Py_ssize_t venue, L2Book book, int64_t ts_ns):
        """Copy a book's best bid/ask into the matrix in O(1); an invalid book clears the cell."""
        self._check(sym, venue)
        if book.valid:
            self.set_c(sym, venue, book.bid_px(), book.bid_qty(), book.ask_px(), book.ask_qty(), ts_ns)
        else:
            self.set_c(sym, venue, 0, 0, 0, 0, ts_ns)

    def clear(self, Py_ssize_t sym, Py_ssize_t venue):
        self._check(sym, venue)
        self.set_c(sym, venue, 0, 0, 0, 0, 0)

    def nbbo(self, Py_ssize_t sym, int64_t now_ns=0, int64_t max_age_ns=0):
        """Consolidated best bid/ask of a symbol across venue slots.

        Quotes older than max_age_ns (when both now_ns and max_age_ns are > 0) are ignored.
        Returns (bid_px, bid_qty, bid_venue, ask_px, ask_qty, ask_venue); venue -1 = none.
        Ties go to the larger quantity, then the lower venue slot.
        """
        cdef Py_ssize_t v, base, bv = -1, av = -1
        cdef int64_t bp = 0, bq = 0, ap = 0, aq = 0, cutoff = 0
        self._check(sym, 0)
        if now_ns > 0 and max_age_ns > 0:
            cutoff = now_ns - max_age_ns
        base = sym * self.n_venues
        with nogil:
            for v in range(self.n_venues):
                if cutoff and self._ts[base + v] < cutoff:
                    continue
                if self._bp[base + v] > 0 and self._bq[base + v] > 0:
                    if bv < 0 or self._bp[base + v] > bp or (self._bp[base + v] == bp and self._bq[base + v] > bq):
                        bp = self._bp[base + v]; bq = self._bq[base + v]; bv = v
                if self._ap[base + v] > 0 and self._aq[base + v] > 0:
                    if av < 0 or self._ap[base + v] < ap or (self._ap[base + v] == ap and self._aq[base + v] > aq):
                        ap = self._ap[base + v]; aq = self._aq[base + v]; av = v
        return (bp, bq, bv, ap, aq, av)
