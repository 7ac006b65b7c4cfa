# C-level fixed-point arithmetic shared by every compiled kernel module.
# Prices are int64 x 10^9, quantities int64 x 10^8 (spec/api.md). Parsing never goes through float.
cimport cython
from libc.stdint cimport int64_t, uint64_t

cdef extern from *:
    """
    typedef __int128 sk_i128;
    typedef unsigned __int128 sk_u128;
    #define SK_I64_MAX ((long long)0x7fffffffffffffffLL)
    static const long long SK_POW10[19] = {
        1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
        1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
        100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
        1000000000000000000LL};
    """
    ctypedef long long sk_i128       # really __int128 (see the C typedef above)
    ctypedef unsigned long long sk_u128
    const int64_t SK_I64_MAX
    const int64_t SK_POW10[19]

cdef enum:
    PX_DIGITS = 9
    QTY_DIGITS = 8

# return codes of parse_decimal
cdef enum:
    FX_OK = 0
    FX_EMPTY = 1
    FX_MALFORMED = 2
    FX_PRECISION = 3
    FX_OVERFLOW = 4


@cython.cdivision(True)
@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline int parse_decimal(const char* s, Py_ssize_t n, int digits, int64_t* out) noexcept nogil:
    """Parse an ASCII decimal ("60000.01", "-0.5", "1e-8", "1.5E+3") into value x 10^digits, exactly.

    Trailing zeros beyond the scale are accepted (they do not change the value); any non-zero digit
    finer than the scale is FX_PRECISION; a value outside int64 is FX_OVERFLOW.
    """
    cdef Py_ssize_t i = 0
    cdef bint neg = False
    cdef uint64_t m = 0          # significant digits with trailing zeros held back
    cdef int pending_zeros = 0   # zeros seen after the last non-zero digit
    cdef int frac = 0            # digits after the decimal point (incl. pending zeros)
    cdef bint seen_digit = False, seen_point = False, big = False
    cdef int exp10 = 0, k, ed = 0
    cdef bint eneg = False
    cdef char c
    cdef uint64_t limit
    if n <= 0:
        return FX_EMPTY
    c = s[0]
    if c == 45 or c == 43:  # '-' '+'
        neg = c == 45
        i = 1
    while i < n:
        c = s[i]
        if 48 <= c <= 57:
            seen_digit = True
            if seen_point:
                frac += 1
            if c == 48:
                if m != 0 or big:
                    pending_zeros += 1
            else:
                while pending_zeros > 0 and not big:
                    if m > <uint64_t>1844674407370955161ULL:
                        big = True
                    else:
                        m = m * 10
                    pending_zeros -= 1
                if big or m > <uint64_t>1844674407370955160ULL:
                    big = True
                else:
                    m = m * 10 + <uint64_t>(c - 48)
                pending_zeros = 0
        elif c == 46 and not seen_point:  # '.'
            seen_point = True
        elif c == 101 or c == 69:  # 'e' 'E'
            break
        else:
            return FX_MALFORMED
        i += 1
    if not seen_digit:
        return FX_MALFORMED
    if i < n:  # exponent
        i += 1
        if i < n and (s[i] == 45 or s[i] == 43):
            eneg = s[i] == 45
            i += 1
        if i >= n:
            return FX_MALFORMED
        while i < n:
            c = s[i]
            if not (48 <= c <= 57):
                return FX_MALFORMED
            if ed < 100000:
                ed = ed * 10 + (c - 48)
            i += 1
        exp10 = -ed if eneg else ed
    if m == 0 and not big:
        out[0] = 0
        return FX_OK
    # value = m * 10^(pending_zeros + exp10 - frac); scaled by 10^digits
    k = digits + pending_zeros + exp10 - frac
    if k < 0:
        return FX_PRECISION   # m has no trailing zeros, so a negative shift would drop a digit
    if big or k > 18:
        return FX_OVERFLOW
    limit = (<uint64_t>SK_I64_MAX + (1 if neg else 0)) // <uint64_t>SK_POW10[k]
    if m > limit:
        return FX_OVERFLOW
    m = m * <uint64_t>SK_POW10[k]
    if neg:
        out[0] = <int64_t>(0 - m)
    else:
        out[0] = <int64_t>m
    return FX_OK


@cython.cdivision(True)
@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline int64_t mul_div_floor(int64_t a, int64_t b, int64_t c, bint* overflow) noexcept nogil:
    """floor(a * b / c) with a 128-bit intermediate; sets *overflow if the result leaves int64."""
    cdef sk_i128 p = <sk_i128>a * <sk_i128>b
    cdef sk_i128 q = p / c
    if (p % c != 0) and ((p < 0) != (c < 0)):
        q -= 1
    if q > <sk_i128>SK_I64_MAX or q < -(<sk_i128>SK_I64_MAX) - 1:
        overflow[0] = True
        return 0
    return <int64_t>q


@cython.cdivision(True)
@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline int64_t mul_div_ceil(int64_t a, int64_t b, int64_t c, bint* overflow) noexcept nogil:
    cdef sk_i128 p = <sk_i128>a * <sk_i128>b
    cdef sk_i128 q = p / c
    if (p % c != 0) and ((p < 0) == (c < 0)):
        q += 1
    if q > <sk_i128>SK_I64_MAX or q < -(<sk_i128>SK_I64_MAX) - 1:
        overflow[0] = True
        return 0
    return <int64_t>q

