# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled smart order router: effective-cost model, greedy child-order split, mid volatility."""

cimport cython
from cpython.object cimport PyObject
from libc.math cimport ceil, floor, sqrt, log, exp, isfinite, NAN
from libc.stdint cimport int64_t, uint64_t, uint32_t
from libc.string cimport memcpy

import numpy as np
cimport numpy as np

np.import_array()

from seqkern._book cimport L2Book, BboMatrix, SIDE_BID, SIDE_ASK
from seqkern._fixed cimport sk_i128, SK_I64_MAX
from seqkern.errors import RouteError

# ---- constants re-exported to Python ----------------------------------------------------------

N_SLOTS = SOR_SLOTS
BUY = PARENT_BUY
SELL = PARENT_SELL
IOC = TIF_IOC
FOK = TIF_FOK
GTC = TIF_GTC
ONE_E8 = 100_000_000          # fractions (fee, latency penalty) are x 1e8: 1 bps = 10_000

VENUE_STATUS = {
    VS_OK: "OK", VS_NOT_LISTED: "NOT_LISTED", VS_WRONG_INSTRUMENT: "WRONG_INSTRUMENT",
    VS_NO_CREDENTIALS: "NO_CREDENTIALS", VS_DISCONNECTED: "DISCONNECTED", VS_STALE: "STALE",
    VS_EXCLUDED: "EXCLUDED", VS_NOT_PINNED: "NOT_PINNED", VS_BOOK_INVALID: "BOOK_INVALID",
    VS_EMPTY_SIDE: "EMPTY_SIDE", VS_TOO_COSTLY: "TOO_COSTLY", VS_BEYOND_LIMIT: "BEYOND_LIMIT",
    VS_BALANCE: "BALANCE", VS_BELOW_LOT: "BELOW_LOT", VS_DEPTH: "DEPTH",
    VS_MIN_QTY: "MIN_QTY", VS_MIN_NOTIONAL: "MIN_NOTIONAL",
}
UNFILLED_REASON = {
    UF_NONE: "NONE", UF_NO_VENUE: "NO_VENUE", UF_LIMIT: "LIMIT", UF_BALANCE: "BALANCE",
    UF_MIN_SIZE: "MIN_SIZE", UF_LOT: "LOT", UF_DEPTH: "DEPTH", UF_FOK: "FOK",
}

cdef int64_t E8 = 100000000
cdef double MAX_FRACTION_E8 = 1e12
cdef Py_ssize_t LEVELS_PER_READ = 8   # deeper levels are read 8 at a time, continuing the walk       # fees / penalties are clamped here (10,000x the price)


cdef inline const void* _slot_array(np.ndarray a, int typenum, str name) except NULL:
    """Data pointer of a contiguous 20-entry array of the given dtype, or a RouteError."""
    if np.PyArray_TYPE(a) != typenum or np.PyArray_SIZE(a) != SOR_SLOTS \
            or not np.PyArray_IS_C_CONTIGUOUS(a):
        raise RouteError(f"{name} must be a contiguous {np.dtype(np.PyArray_DescrFromType(typenum))} "
                         f"array of {SOR_SLOTS} entries (one per venue slot)")
    return np.PyArray_DATA(a)


cdef inline object i128_to_py(sk_i128 v):
    """Exact Python int from a 128-bit value (through its two 64-bit halves)."""
    cdef int64_t hi = <int64_t>(v >> 64)
    cdef uint64_t lo = <uint64_t>v
    return (<object>hi << 64) + <object>lo


cdef inline sk_i128 ceil_div(sk_i128 a, sk_i128 b) noexcept nogil:
    """ceil(a / b) for b > 0 and any sign of a (C division truncates toward zero)."""
    cdef sk_i128 q = a / b
    if a % b != 0 and a > 0:
        q += 1
    return q


cdef inline sk_i128 floor_div(sk_i128 a, sk_i128 b) noexcept nogil:
    cdef sk_i128 q = a / b
    if a % b != 0 and a < 0:
        q -= 1
    return q


cdef inline int64_t fee_to_e8(double fee_bps) noexcept nogil:
    """Taker fee in bps -> fraction x 1e8, rounded half up (1 bps = 10_000)."""
    return <int64_t>floor(fee_bps * 1e4 + 0.5)


cdef inline int64_t latency_penalty_to_e8(double sigma_bps_sqrt_s, int64_t latency_ns,
                                          double risk_mult) noexcept nogil:
    """risk_mult x sigma x sqrt(latency in s), bps -> fraction x 1e8, rounded up, clamped."""
    cdef double v = ceil(risk_mult * sigma_bps_sqrt_s * sqrt(<double>latency_ns / 1e9) * 1e4)
    if v > MAX_FRACTION_E8:
        v = MAX_FRACTION_E8
    return <int64_t>v


def fee_e8(double fee_bps) -> int:
    """The router's integer fee fraction (x 1e8) for a taker fee in bps."""
    return fee_to_e8(fee_bps)


def latency_penalty_e8(double sigma_bps_sqrt_s, int64_t latency_ns, double risk_mult=1.0) -> int:
    """The router's integer latency-penalty fraction (x 1e8) for one venue."""
    return latency_penalty_to_e8(sigma_bps_sqrt_s, latency_ns, risk_mult)


@cython.final
cdef class Router:
    """A reusable routing workspace: level buffers for 20 venue slots, a heap, result arrays.

    ``route()`` fills ``child_qty_1e8``, ``child_limit_px_1e9`` and ``venue_status`` (int arrays
    indexed by venue slot) and the scalar results; ``result()`` returns the exact totals.
    One Router serves one caller at a time (it is not re-entrant).
    """

    def __cinit__(self, Py_ssize_t max_levels=64):
        cdef int64_t[:, ::1] pv
        cdef int64_t[:, ::1] qv
        cdef int v
        if max_levels < 1 or max_levels > 100000:
            raise RouteError("max_levels must be within 1..100000")
        self.max_levels = max_levels
        px = np.zeros((SOR_SLOTS, max_levels), dtype=np.int64)
        qty = np.zeros((SOR_SLOTS, max_levels), dtype=np.int64)
        self._store = (px, qty)
        pv = px
        qv = qty
        self._px = &pv[0, 0]
        self._qty = &qv[0, 0]
        self.child_qty_1e8 = np.zeros(SOR_SLOTS, dtype=np.int64)
        self.child_limit_px_1e9 = np.zeros(SOR_SLOTS, dtype=np.int64)
        self.venue_status = np.zeros(SOR_SLOTS, dtype=np.int8)
        self.fee_e8 = np.zeros(SOR_SLOTS, dtype=np.int64)
        self.latency_e8 = np.zeros(SOR_SLOTS, dtype=np.int64)
        self.status = np.full(SOR_SLOTS, VS_NOT_LISTED, dtype=np.int8)
        self.taker_fee_bps = np.zeros(SOR_SLOTS, dtype=np.float64)
        self.latency_ns = np.zeros(SOR_SLOTS, dtype=np.int64)
        self.cap_notional_1e9 = np.full(SOR_SLOTS, SK_I64_MAX, dtype=np.int64)
        self.cap_qty_1e8 = np.full(SOR_SLOTS, SK_I64_MAX, dtype=np.int64)
        self.lot_1e8 = np.ones(SOR_SLOTS, dtype=np.int64)
        self.min_qty_1e8 = np.zeros(SOR_SLOTS, dtype=np.int64)
        self.min_notional_1e9 = np.zeros(SOR_SLOTS, dtype=np.int64)
        self._st = <signed char*>np.PyArray_DATA(self.status)
        self._fee = <double*>np.PyArray_DATA(self.taker_fee_bps)
        self._lat = <int64_t*>np.PyArray_DATA(self.latency_ns)
        self._capn = <int64_t*>np.PyArray_DATA(self.cap_notional_1e9)
        self._capq = <int64_t*>np.PyArray_DATA(self.cap_qty_1e8)
        self._lot = <int64_t*>np.PyArray_DATA(self.lot_1e8)
        self._minq = <int64_t*>np.PyArray_DATA(self.min_qty_1e8)
        self._minn = <int64_t*>np.PyArray_DATA(self.min_notional_1e9)
        self._cq = self.child_qty_1e8
        self._cp = self.child_limit_px_1e9
        self._vs = self.venue_status
        self._fe = self.fee_e8
        self._le = self.latency_e8
        for v in range(SOR_SLOTS):
            self._book[v] = NULL
            self._w[v].px = self._px + v * max_levels
            self._w[v].qty = self._qty + v * max_levels
            self._w[v].fee_in = NAN
            self._w[v].lat_sigma = NAN

    # ---- heap of active venues keyed by (effective cost, slot), packed in one int128 ----------

    cdef void _replace_top(self, sk_i128 e) noexcept nogil:
        """Replace the heap's top entry by e (a larger cost) and sift it down."""
        cdef int n = self._nheap, i = 0, c
        cdef sk_i128* h = self._heap
        while True:
            c = 2 * i + 1
            if c >= n:
                break
            if c + 1 < n and h[c + 1] < h[c]:
                c += 1
            if h[c] >= e:
                break
            h[i] = h[c]
            i = c
        h[i] = e

    cdef void _push(self, sk_i128 e) noexcept nogil:
        cdef int i = self._nheap, p
        self._nheap += 1
        while i > 0:
            p = (i - 1) >> 1
            if self._heap[p] <= e:
                break
            self._heap[i] = self._heap[p]
            i = p
        self._heap[i] = e

    cdef void _pop(self) noexcept nogil:
        self._nheap -= 1
        if self._nheap > 0:
            self._replace_top(self._heap[self._nheap])

    cdef bint _beyond(self, int64_t px) noexcept nogil:
        if self._limit <= 0:
            return False
        if self._side == PARENT_BUY:
            return px > self._limit
        return px < self._limit

    cdef sk_i128 _key(self, int64_t px, int64_t m) noexcept nogil:
        if self._side == PARENT_BUY:
            return <sk_i128>px * m
        return -(<sk_i128>px * m)

    # ---- ladders ---------------------------------------------------------------------------

    cdef int _fetch(self, int v, Py_ssize_t n) noexcept:
        """Read up to n more levels of venue v's book after those already read; returns how many."""
        cdef L2Book book = <L2Book>self._book[v]
        cdef VenueWalk* w = &self._w[v]
        cdef int side = SIDE_ASK if self._side == PARENT_BUY else SIDE_BID
        cdef Py_ssize_t got
        if n > self.max_levels - w.nfetch:
            n = self.max_levels - w.nfetch
        if n <= 0:
            return 0
        if w.nfetch == 0:
            got = book.levels_c(side, n, w.px, w.qty)
        else:
            got = book.levels_next_c(side, w.px[w.nfetch - 1], w.nfetch, n,
                                     w.px + w.nfetch, w.qty + w.nfetch)
        w.nfetch += got
        w.more = got == n and w.nfetch < self.max_levels
        return <int>got

    cdef int _advance(self, int v) noexcept:
        """Move venue v (at the heap top) to its next level; stop it if none or beyond limit."""
        cdef VenueWalk* w = &self._w[v]
        w.lvl += 1
        if w.lvl >= w.nfetch:
            if not w.more or self._fetch(v, LEVELS_PER_READ) == 0:
                w.status = VS_DEPTH
                self._pop()
                return 0
        if self._beyond(w.px[w.lvl]):
            w.status = VS_BEYOND_LIMIT
            self._pop()
            return 0
        if w.cum > SK_I64_MAX - w.qty[w.lvl]:
            w.cum = SK_I64_MAX       # saturate: a parent never needs more than 2^63-1 anyway
        else:
            w.cum += w.qty[w.lvl]
        self._replace_top(self._key(w.px[w.lvl], w.m) * 32 + v)
        return 1

    cdef void _greedy(self, int64_t qty) noexcept:
        """One greedy pass over the venues whose status is VS_OK (their fetch is done)."""
        cdef int v
        cdef VenueWalk* w
        cdef int64_t rem = qty, usable, t, rl, c, p
        cdef int binding
        cdef sk_i128 cn
        self._nheap = 0
        for v in range(SOR_SLOTS):
            w = &self._w[v]
            if self._vs[v] != VS_OK:
                continue
            w.status = VS_OK
            w.lvl = 0
            w.x = 0
            w.limit_px = 0
            w.notional = 0
            w.cum = w.qty[0]
            if self._beyond(w.px[0]):
                w.status = VS_BEYOND_LIMIT
            elif w.cap_qty <= 0 or (w.has_cap_notional and
                                    w.cap_notional / (<sk_i128>w.px[0] * w.m_fee) < w.lot):
                w.status = VS_BALANCE
            else:
                self._push(w.first_key * 32 + v)
        while rem > 0 and self._nheap > 0:
            v = <int>(self._heap[0] & 31)
            w = &self._w[v]
            p = w.px[w.lvl]
            if p > self._px_cap:     # sum px x qty could leave the exact 128-bit range
                self._overflow = True
                return
            usable = (w.cum - w.x) if w.lot == 1 else (w.cum // w.lot) * w.lot - w.x
            if usable <= 0:          # a sub-lot level: its size carries into the next level
                self._advance(v)
                continue
            t = usable
            binding = VS_OK
            if rem < usable:         # usable is a lot multiple <= rem otherwise
                rl = (rem // w.lot) * w.lot
                if rl == 0:
                    w.status = VS_BELOW_LOT
                    self._pop()
                    continue
                t = rl
                binding = VS_BELOW_LOT
            c = w.cap_qty - w.x
            if c < t:
                t = c
                binding = VS_BALANCE
            if w.has_cap_notional and \
                    <double>(w.x + t) * (<double>p * <double>w.m_fee) * (1.0 + 1e-9) >= w.cap_notional_f:
                # near the cap: the exact check. A limit buy reserves qty x limit px x (1 + fee).
                cn = w.cap_notional / (<sk_i128>p * w.m_fee)
                if cn > SK_I64_MAX:
                    cn = SK_I64_MAX
                cn = (cn // w.lot) * w.lot - w.x
                if cn < t:
                    t = <int64_t>cn
                    binding = VS_BALANCE
            if t <= 0:
                w.status = binding
                self._pop()
                continue
            w.x += t
            w.notional += <sk_i128>p * t
            w.limit_px = p
            rem -= t
            if binding == VS_OK:
                self._advance(v)
            elif rem > 0:
                w.status = binding
                self._pop()

    # ---- the router ------------------------------------------------------------------------

    def route(self, list books not None, int side, int64_t qty_1e8, int64_t limit_px_1e9,
              int tif, np.ndarray status not None, np.ndarray taker_fee_bps not None,
              np.ndarray latency_ns not None, np.ndarray cap_notional_1e9 not None,
              np.ndarray cap_qty_1e8 not None, np.ndarray lot_1e8 not None,
              np.ndarray min_qty_1e8 not None, np.ndarray min_notional_1e9 not None,
              double sigma_bps_sqrt_s, double risk_mult=1.0, int pin_venue=-1,
              uint32_t exclude_mask=0):
        """Split one parent across venue slots 0..19; returns (filled_qty_1e8, unfilled_reason).

        books[slot] is an L2Book or None; the arrays (status int8, taker_fee_bps float64, the
        rest int64; 20 contiguous entries each, indexed by venue slot) are copied into this
        Router's venue table, then routed as by ``route_table``.
        side BUY/SELL; limit_px_1e9 0 = no limit; tif IOC/FOK/GTC; status: caller's VS_* per
        slot (0 = routable); cap_notional_1e9: quote a buy may reserve (incl. fee) at the
        child's limit price; cap_qty_1e8: base quantity cap (2^63-1 = no cap for either);
        sigma: short-horizon volatility in bps per sqrt(second); pin_venue: -1 or the only
        slot allowed; exclude_mask: bit s excludes slot s.
        """
        cdef const signed char* st = <const signed char*>_slot_array(status, np.NPY_INT8, "status")
        cdef const double* fee = <const double*>_slot_array(taker_fee_bps, np.NPY_FLOAT64,
                                                            "taker_fee_bps")
        cdef const int64_t* lat = <const int64_t*>_slot_array(latency_ns, np.NPY_INT64,
                                                              "latency_ns")
        cdef const int64_t* capn = <const int64_t*>_slot_array(cap_notional_1e9, np.NPY_INT64,
                                                               "cap_notional_1e9")
        cdef const int64_t* capq = <const int64_t*>_slot_array(cap_qty_1e8, np.NPY_INT64,
                                                               "cap_qty_1e8")
        cdef const int64_t* lot = <const int64_t*>_slot_array(lot_1e8, np.NPY_INT64, "lot_1e8")
        cdef const int64_t* minq = <const int64_t*>_slot_array(min_qty_1e8, np.NPY_INT64,
                                                               "min_qty_1e8")
        cdef const int64_t* minn = <const int64_t*>_slot_array(min_notional_1e9, np.NPY_INT64,
                                                               "min_notional_1e9")
        memcpy(self._st, st, SOR_SLOTS * sizeof(signed char))
        memcpy(self._fee, fee, SOR_SLOTS * sizeof(double))
        memcpy(self._lat, lat, SOR_SLOTS * sizeof(int64_t))
        memcpy(self._capn, capn, SOR_SLOTS * sizeof(int64_t))
        memcpy(self._capq, capq, SOR_SLOTS * sizeof(int64_t))
        memcpy(self._lot, lot, SOR_SLOTS * sizeof(int64_t))
        memcpy(self._minq, minq, SOR_SLOTS * sizeof(int64_t))
        memcpy(self._minn, minn, SOR_SLOTS * sizeof(int64_t))
        return self._route(books, side, qty_1e8, limit_px_1e9, tif, sigma_bps_sqrt_s, risk_mult,
                           pin_venue, exclude_mask)

    def route_table(self, list books not None, int side, int64_t qty_1e8, int64_t limit_px_1e9,
                    int tif, double sigma_bps_sqrt_s, double risk_mult=1.0, int pin_venue=-1,
                    uint32_t exclude_mask=0):
        """Route with the venue table already in this Router's arrays (the CC's hot path).

        The caller keeps ``status``, ``taker_fee_bps``, ``latency_ns``, ``cap_notional_1e9``,
        ``cap_qty_1e8``, ``lot_1e8``, ``min_qty_1e8`` and ``min_notional_1e9`` up to date in
        place (they change on fee, balance, health or RTT events, not per route). Returns
        (filled_qty_1e8, unfilled_reason).
        """
        return self._route(books, side, qty_1e8, limit_px_1e9, tif, sigma_bps_sqrt_s, risk_mult,
                           pin_venue, exclude_mask)

    cdef object _route(self, list books, int side, int64_t qty_1e8, int64_t limit_px_1e9, int tif,
                       double sigma_bps_sqrt_s, double risk_mult, int pin_venue,
                       uint32_t exclude_mask):
        cdef int v, drop, passes = 0, n_active = 0, flags = 0, st
        cdef VenueWalk* w
        cdef PyObject* ob
        cdef int64_t fe, le, filled = 0, lot
        cdef double fee_bps
        if len(books) != SOR_SLOTS:
            raise RouteError(f"books must have {SOR_SLOTS} entries (one per venue slot), "
                             f"got {len(books)}")
        if side != PARENT_BUY and side != PARENT_SELL:
            raise RouteError("side must be BUY (0) or SELL (1)")
        if qty_1e8 <= 0:
            raise RouteError("parent quantity must be positive")
        if limit_px_1e9 < 0:
            raise RouteError("limit price must be positive (0 = no limit)")
        if tif != TIF_IOC and tif != TIF_FOK and tif != TIF_GTC:
            raise RouteError("time in force must be IOC (0), FOK (1) or GTC (2)")
        if not (isfinite(sigma_bps_sqrt_s) and sigma_bps_sqrt_s >= 0):
            raise RouteError("volatility must be a finite number >= 0")
        if not (isfinite(risk_mult) and risk_mult >= 0):
            raise RouteError("risk multiplier must be a finite number >= 0")
        if pin_venue < -1 or pin_venue >= SOR_SLOTS:
            raise RouteError(f"pinned venue slot {pin_venue} outside 0..{SOR_SLOTS - 1}")
        self._side = side
        self._limit = limit_px_1e9
        # every notional stays below 2^96 (so notional x multiplier fits 128 bits) when no
        # level taken is above 2^96 / qty
        self._px_cap = SK_I64_MAX if qty_1e8 <= (1 << 33) else <int64_t>((<sk_i128>1 << 96) / qty_1e8)
        self._overflow = False
        self._eligible = 0
        self.qty_1e8 = qty_1e8
        # per-venue setup: status, multipliers, caps, first levels
        for v in range(SOR_SLOTS):
            w = &self._w[v]
            self._cq[v] = 0
            self._cp[v] = 0
            self._child_notional[v] = 0
            self._fe[v] = 0
            self._le[v] = 0
            self._book[v] = NULL
            w.x = 0
            w.notional = 0
            w.status = VS_OK
            st = self._st[v]
            if st < 0 or st >= VS_COUNT:
                raise RouteError(f"venue slot {v}: unknown status code {st}")
            if st == VS_OK and (exclude_mask >> v) & 1:
                st = VS_EXCLUDED
            if st == VS_OK and pin_venue >= 0 and v != pin_venue:
                st = VS_NOT_PINNED
            if st == VS_OK:
                ob = <PyObject*>books[v]
                if <object>ob is None or not isinstance(<object>ob, L2Book) \
                        or not (<L2Book>ob).valid:
                    if <object>ob is not None and not isinstance(<object>ob, L2Book):
                        raise RouteError(f"venue slot {v}: books entries must be L2Book or None")
                    st = VS_BOOK_INVALID
            if st == VS_OK:
                lot = self._lot[v]
                fee_bps = self._fee[v]
                if lot <= 0:
                    raise RouteError(f"venue slot {v}: lot size must be positive")
                if self._lat[v] < 0:
                    raise RouteError(f"venue slot {v}: latency must be >= 0 ns")
                if not (isfinite(fee_bps) and -10000.0 < fee_bps < 10000.0):
                    raise RouteError(f"venue slot {v}: taker fee must be within (-10000, 10000) bps")
                if self._capn[v] < 0 or self._capq[v] < 0:
                    raise RouteError(f"venue slot {v}: caps must be >= 0")
                if fee_bps != w.fee_in:
                    w.fee_in = fee_bps
                    w.fee_out = fee_to_e8(fee_bps)
                fe = w.fee_out
                if (sigma_bps_sqrt_s != w.lat_sigma or risk_mult != w.lat_risk
                        or self._lat[v] != w.lat_ns):
                    w.lat_sigma = sigma_bps_sqrt_s
                    w.lat_risk = risk_mult
                    w.lat_ns = self._lat[v]
                    w.lat_out = latency_penalty_to_e8(sigma_bps_sqrt_s, self._lat[v], risk_mult)
                le = w.lat_out
                self._fe[v] = fe
                self._le[v] = le
                w.lot = lot
                w.fee_e8 = fe
                w.lat_e8 = le
                w.m_fee = E8 + fe
                w.cap_qty = (self._capq[v] // lot) * lot
                w.cap_notional = <sk_i128>self._capn[v] * <sk_i128>10000000000000000
                w.cap_notional_f = <double>self._capn[v] * 1e16
                w.has_cap_notional = side == PARENT_BUY and self._capn[v] < SK_I64_MAX
                if side == PARENT_BUY:
                    w.m = E8 + fe + le
                else:
                    w.m = E8 - fe - le
                if w.m <= 0:
                    st = VS_TOO_COSTLY
            if st == VS_OK:
                # only the touch now (O(1)); deeper levels are read when the walk reaches them
                self._book[v] = ob
                w.more = True
                if side == PARENT_BUY and (<L2Book>ob).has_ask():
                    w.px[0] = (<L2Book>ob).ask_px()
                    w.qty[0] = (<L2Book>ob).ask_qty()
                    w.nfetch = 1
                elif side == PARENT_SELL and (<L2Book>ob).has_bid():
                    w.px[0] = (<L2Book>ob).bid_px()
                    w.qty[0] = (<L2Book>ob).bid_qty()
                    w.nfetch = 1
                else:
                    w.nfetch = 0
                    st = VS_EMPTY_SIDE
                if st == VS_OK:
                    w.first_key = self._key(w.px[0], w.m)
            self._vs[v] = st
            if st == VS_OK:
                n_active += 1
                self._eligible |= (<uint32_t>1) << v
        # greedy passes; a child under its venue's minimum is dropped and the pass re-run
        while n_active > 0:
            self._greedy(qty_1e8)
            if self._overflow:
                raise RouteError("parent quantity x level price exceeds the router's exact range "
                                 "(2^96 at scale 1e17)")
            passes += 1
            drop = -1
            for v in range(SOR_SLOTS):
                w = &self._w[v]
                if self._vs[v] != VS_OK or w.x == 0:
                    continue
                if w.x < self._minq[v] or \
                        <sk_i128>w.x * w.limit_px < <sk_i128>self._minn[v] * E8:
                    if drop < 0 or w.first_key >= self._w[drop].first_key:
                        drop = v
            if drop < 0:
                break
            w = &self._w[drop]
            self._vs[drop] = VS_MIN_QTY if w.x < self._minq[drop] else VS_MIN_NOTIONAL
            w.x = 0
            w.notional = 0
            n_active -= 1
        self.passes = passes
        # results
        self.n_children = 0
        for v in range(SOR_SLOTS):
            st = self._vs[v]
            if st == VS_MIN_QTY or st == VS_MIN_NOTIONAL:
                flags |= 1 << UF_MIN_SIZE
                continue
            if st != VS_OK:
                continue
            w = &self._w[v]
            if w.status == VS_BEYOND_LIMIT:
                flags |= 1 << UF_LIMIT
            elif w.status == VS_BALANCE:
                flags |= 1 << UF_BALANCE
            elif w.status == VS_BELOW_LOT:
                flags |= 1 << UF_LOT
            elif w.status == VS_DEPTH:
                flags |= 1 << UF_DEPTH
            if w.x > 0:
                filled += w.x
                self._cq[v] = w.x
                self._cp[v] = w.limit_px
                self._child_notional[v] = w.notional
                self.n_children += 1
            elif w.status != VS_OK:
                self._vs[v] = w.status       # took nothing: report why
        if filled == qty_1e8:
            self.unfilled_reason = UF_NONE
        elif tif == TIF_FOK:
            self.unfilled_reason = UF_FOK
        elif n_active == 0 and not (flags & (1 << UF_MIN_SIZE)):
            self.unfilled_reason = UF_NO_VENUE
        elif flags & (1 << UF_LIMIT):
            self.unfilled_reason = UF_LIMIT
        elif flags & (1 << UF_BALANCE):
            self.unfilled_reason = UF_BALANCE
        elif flags & (1 << UF_MIN_SIZE):
            self.unfilled_reason = UF_MIN_SIZE
        elif flags & (1 << UF_LOT):
            self.unfilled_reason = UF_LOT
        else:
            self.unfilled_reason = UF_DEPTH
        if self.unfilled_reason == UF_FOK:
            filled = 0
            self.n_children = 0
            for v in range(SOR_SLOTS):
                self._cq[v] = 0
                self._cp[v] = 0
                self._child_notional[v] = 0
        self.filled_qty_1e8 = filled
        return filled, self.unfilled_reason

    def child_notional_1e17(self, int slot) -> int:
        """Exact notional (sum px_1e9 x qty_1e8, scale 1e17) of the child at a venue slot."""
        if slot < 0 or slot >= SOR_SLOTS:
            raise RouteError(f"venue slot {slot} outside 0..{SOR_SLOTS - 1}")
        return i128_to_py(self._child_notional[slot])

    def ranking(self):
        """Venues that took part in the last route, best landed cost first: tuples of
        (slot, touch_px_1e9, landed_px_1e9), where landed = touch x (1 +/- fee +/- latency
        penalty), rounded against the taker. Ties go to the lower slot."""
        cdef int order[SOR_SLOTS]
        cdef int n = 0, v, i, j
        cdef sk_i128 k
        for v in range(SOR_SLOTS):
            if not (self._eligible >> v) & 1:
                continue
            k = self._w[v].first_key
            i = n
            while i > 0 and self._w[order[i - 1]].first_key > k:
                order[i] = order[i - 1]
                i -= 1
            order[i] = v
            n += 1
        out = []
        for j in range(n):
            v = order[j]
            k = <sk_i128>self._w[v].px[0] * self._w[v].m
            out.append((v, self._w[v].px[0],
                        <int64_t>(ceil_div(k, E8) if self._side == PARENT_BUY else floor_div(k, E8))))
        return tuple(out)

    def children(self):
        """The last route's children as a tuple of (slot, qty_1e8, limit_px_1e9, notional_1e17,
        fee_e8, latency_e8) in slot order (exact Python ints)."""
        cdef int v
        out = []
        for v in range(SOR_SLOTS):
            if self._cq[v] > 0:
                out.append((v, self._cq[v], self._cp[v], i128_to_py(self._child_notional[v]),
                            self._fe[v], self._le[v]))
        return tuple(out)

    def result(self):
        """Exact totals of the last route(), as Python ints (prices 1e9, quote amounts 1e9).

        (filled_qty_1e8, notional_1e17, avg_px_1e9, all_in_px_1e9, fees_1e9,
        latency_penalty_1e9). avg and all-in prices round against the taker (buy up, sell
        down); fees and penalties are summed per child, each rounded up. 0 when nothing fills.
        """
        cdef sk_i128 notional = 0, fees = 0, lat = 0, allin = 0, n
        cdef int64_t filled = self.filled_qty_1e8
        cdef int64_t avg = 0, allin_px = 0
        cdef int v
        for v in range(SOR_SLOTS):
            n = self._child_notional[v]
            if n == 0:
                continue
            notional += n
            fees += ceil_div(n * self._fe[v], <sk_i128>10000000000000000)
            lat += ceil_div(n * self._le[v], <sk_i128>10000000000000000)
            allin += n * self._w[v].m
        if filled > 0:
            if self._side == PARENT_BUY:
                avg = <int64_t>ceil_div(notional, filled)
                allin_px = <int64_t>ceil_div(allin, <sk_i128>filled * E8)
            else:
                avg = <int64_t>floor_div(notional, filled)
                allin_px = <int64_t>floor_div(allin, <sk_i128>filled * E8)
        return (filled, i128_to_py(notional), avg, allin_px, i128_to_py(fees), i128_to_py(lat))


def route(list books not None, int side, int64_t qty_1e8, int64_t limit_px_1e9, int tif,
          status, taker_fee_bps, latency_ns, cap_notional_1e9, cap_qty_1e8, lot_1e8,
          min_qty_1e8, min_notional_1e9, double sigma_bps_sqrt_s, double risk_mult=1.0,
          int pin_venue=-1, uint32_t exclude_mask=0, Router router=None):
    """Route one parent with a (given or fresh) Router; returns the Router holding the result."""
    if router is None:
        router = Router()
    router.route(books, side, qty_1e8, limit_px_1e9, tif, status, taker_fee_bps, latency_ns,
                 cap_notional_1e9, cap_qty_1e8, lot_1e8, min_qty_1e8, min_notional_1e9,
                 sigma_bps_sqrt_s, risk_mult, pin_venue, exclude_mask)
    return router


# ---- short-horizon volatility from mids ---------------------------------------------------------

@cython.final
cdef class MidVolatility:
    """Per-symbol EWMA of the variance rate of log mid returns, fed by timestamped mids.

    Each update with dt = ts - last_ts > 0 ns and r = ln(mid / last_mid) does
        a = 1 - exp(-dt / tau),  rate = (1 - a) * rate + a * r^2 / dt      (rate: 1/ns)
    with tau = half_life_ns / ln 2, so an update's weight grows with the time it covers.
    ``sigma_bps_sqrt_s(sym)`` = sqrt(rate * 1e9) * 1e4: the standard deviation of the mid's
    log return over one second, in bps; over a latency L it scales as sigma * sqrt(L / 1 s).
    Before a symbol's first return the prior ``default_sigma_bps_sqrt_s`` is used. Updates
    with dt <= 0 (same or older timestamp) or a non-positive mid are ignored.
    """

    cdef readonly int64_t n_symbols
    cdef readonly double half_life_ns
    cdef readonly double default_sigma_bps_sqrt_s
    cdef double _tau
    cdef readonly object rate            # float64[n]: variance rate, 1/ns
    cdef readonly object last_mid_1e9    # int64[n]
    cdef readonly object last_ts_ns      # int64[n]
    cdef readonly object n_updates       # int64[n]: returns folded in
    cdef double[::1] _rate
    cdef int64_t[::1] _mid
    cdef int64_t[::1] _ts
    cdef int64_t[::1] _n

    def __cinit__(self, int64_t n_symbols, double half_life_ns=30e9,
                  double default_sigma_bps_sqrt_s=2.0):
        if n_symbols < 1:
            raise RouteError("n_symbols must be >= 1")
        if not (isfinite(half_life_ns) and half_life_ns > 0):
            raise RouteError("half_life_ns must be > 0")
        if not (isfinite(default_sigma_bps_sqrt_s) and default_sigma_bps_sqrt_s >= 0):
            raise RouteError("default_sigma_bps_sqrt_s must be >= 0")
        self.n_symbols = n_symbols
        self.half_life_ns = half_life_ns
        self.default_sigma_bps_sqrt_s = default_sigma_bps_sqrt_s
        self._tau = half_life_ns / log(2.0)
        prior = (default_sigma_bps_sqrt_s / 1e4) ** 2 / 1e9
        self.rate = np.full(n_symbols, prior, dtype=np.float64)
        self.last_mid_1e9 = np.zeros(n_symbols, dtype=np.int64)
        self.last_ts_ns = np.zeros(n_symbols, dtype=np.int64)
        self.n_updates = np.zeros(n_symbols, dtype=np.int64)
        self._rate = self.rate
        self._mid = self.last_mid_1e9
        self._ts = self.last_ts_ns
        self._n = self.n_updates

    cdef inline void _update(self, Py_ssize_t s, int64_t mid, int64_t ts) noexcept nogil:
        cdef double dt, r, a
        if mid <= 0:
            return
        if self._mid[s] <= 0:
            self._mid[s] = mid
            self._ts[s] = ts
            return
        if ts <= self._ts[s]:
            return
        dt = <double>(ts - self._ts[s])
        r = log(<double>mid / <double>self._mid[s])
        a = 1.0 - exp(-dt / self._tau)
        self._rate[s] = (1.0 - a) * self._rate[s] + a * (r * r / dt)
        self._mid[s] = mid
        self._ts[s] = ts
        self._n[s] += 1

    cdef int _check(self, Py_ssize_t s) except -1:
        if s < 0 or s >= self.n_symbols:
            raise RouteError(f"symbol slot {s} outside 0..{self.n_symbols - 1}")
        return 0

    def update(self, Py_ssize_t sym, int64_t mid_px_1e9, int64_t ts_ns):
        """Fold one mid (px_1e9) observed at ts_ns into the symbol's estimate."""
        self._check(sym)
        self._update(sym, mid_px_1e9, ts_ns)

    def update_many(self, const int64_t[::1] sym not None, const int64_t[::1] mid_px_1e9 not None,
                    const int64_t[::1] ts_ns not None):
        """Fold a batch of (symbol slot, mid, ts) in order, in one compiled call."""
        cdef Py_ssize_t i, n = sym.shape[0]
        if mid_px_1e9.shape[0] != n or ts_ns.shape[0] != n:
            raise RouteError("sym, mid and ts arrays differ in length")
        for i in range(n):
            if sym[i] < 0 or sym[i] >= self.n_symbols:
                raise RouteError(f"symbol slot {sym[i]} outside 0..{self.n_symbols - 1}")
        with nogil:
            for i in range(n):
                self._update(sym[i], mid_px_1e9[i], ts_ns[i])

    def update_from_matrix(self, BboMatrix bbo not None, int64_t ts_ns):
        """Fold each symbol's consolidated mid (best bid + best ask across venues) / 2."""
        cdef Py_ssize_t s, v, n = bbo.n_symbols if bbo.n_symbols < self.n_symbols else self.n_symbols
        cdef Py_ssize_t nv = bbo.n_venues, i
        cdef int64_t bb, ba
        with nogil:
            for s in range(n):
                bb = 0
                ba = 0
                for v in range(nv):
                    i = s * nv + v
                    if bbo._bp[i] > 0 and bbo._bq[i] > 0 and bbo._bp[i] > bb:
                        bb = bbo._bp[i]
                    if bbo._ap[i] > 0 and bbo._aq[i] > 0 and (ba == 0 or bbo._ap[i] < ba):
                        ba = bbo._ap[i]
                if bb > 0 and ba > 0:
                    self._update(s, bb // 2 + ba // 2 + (bb % 2 + ba % 2) // 2, ts_ns)

    def sigma_bps_sqrt_s(self, Py_ssize_t sym) -> float:
        """Short-horizon volatility of the symbol's mid: bps per sqrt(second)."""
        self._check(sym)
        return sqrt(self._rate[sym] * 1e9) * 1e4
