# cython: boundscheck=False, wraparound=False, cdivision=True
"""Exact conversion between venue decimal strings and the kernel's int64 fixed-point units."""

from libc.stdint cimport int64_t, uint64_t
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_AsUTF8AndSize

from seqkern._fixed cimport (parse_decimal, mul_div_floor, mul_div_ceil, FX_OK, FX_EMPTY,
                             FX_MALFORMED, FX_PRECISION, FX_OVERFLOW, PX_DIGITS, QTY_DIGITS,
                             SK_POW10)

from seqkern.errors import MalformedNumber, NumberOverflow, PrecisionError

PRICE_DIGITS = PX_DIGITS
QTY_DIGITS_ = QTY_DIGITS
PRICE_SCALE = 10 ** PX_DIGITS
QTY_SCALE = 10 ** QTY_DIGITS
NOTIONAL_DIGITS = PX_DIGITS + QTY_DIGITS

cdef int64_t I64_MAX = 9223372036854775807
cdef int64_t I64_MIN = -9223372036854775807 - 1


def raise_parse_error(int rc, text, int digits):
    """Raise the typed error for a parse_decimal return code (used by every compiled parser)."""
    shown = text if isinstance(text, str) else bytes(text)[:64].decode("ascii", "replace")
    if rc == FX_EMPTY:
        raise MalformedNumber("empty number")
    if rc == FX_MALFORMED:
        raise MalformedNumber(f"malformed decimal number {shown!r}")
    if rc == FX_PRECISION:
        raise PrecisionError(f"{shown!r} has digits finer than 1e-{digits}")
    if rc == FX_OVERFLOW:
        raise NumberOverflow(f"{shown!r} does not fit int64 at scale 1e{digits}")
    raise MalformedNumber(f"cannot parse {shown!r}")


cpdef int64_t parse_fixed(object text, int digits) except? -1:
    """Parse a decimal string (str, bytes, bytearray or memoryview) into value x 10^digits."""
    cdef const char* p
    cdef Py_ssize_t n
    cdef int64_t out = 0
    cdef int rc
    cdef const unsigned char[::1] view
    if digits < 0 or digits > 18:
        raise ValueError("digits must be within 0..18")
    if isinstance(text, str):
        p = PyUnicode_AsUTF8AndSize(text, &n)
    elif isinstance(text, bytes):
        p = PyBytes_AS_STRING(text)
        n = PyBytes_GET_SIZE(text)
    elif isinstance(text, (bytearray, memoryview)):
        view = text
        n = view.shape[0]
        if n == 0:
            raise MalformedNumber("empty number")
        p = <const char*>&view[0]
    else:
        raise MalformedNumber(f"expected a decimal string, got {type(text).__name__}")
    rc = parse_decimal(p, n, digits, &out)
    if rc != FX_OK:
        raise_parse_error(rc, text, digits)
    return out


cpdef int64_t parse_px(object text) except? -1:
    """Decimal price string -> px_1e9."""
    return parse_fixed(text, PX_DIGITS)


cpdef int64_t parse_qty(object text) except? -1:
    """Decimal quantity string -> qty_1e8."""
    return parse_fixed(text, QTY_DIGITS)


cpdef str format_fixed(int64_t value, int digits, int decimals=-1):
    """value x 10^-digits as a plain decimal string, never with an exponent.

    decimals=-1 gives the shortest exact form ("60000.01", "5"); decimals=d gives exactly d
    decimals ("60000.010") and raises PrecisionError if the value has finer digits than d.
    """
    cdef char buf[48]
    cdef char* w
    cdef uint64_t mag, ip, fp
    cdef int i, nd
    cdef bint neg = value < 0
    if digits < 0 or digits > 18:
        raise ValueError("digits must be within 0..18")
    if decimals > 18:
        raise ValueError("decimals must be at most 18")
    mag = <uint64_t>(0 - <uint64_t>value) if neg else <uint64_t>value
    ip = mag // <uint64_t>SK_POW10[digits]
    fp = mag % <uint64_t>SK_POW10[digits]
    nd = digits
    if decimals < 0:
        while nd > 0 and fp % 10 == 0:
            fp //= 10
            nd -= 1
    elif decimals < digits:
        if fp % <uint64_t>SK_POW10[digits - decimals] != 0:
            raise PrecisionError(
                f"{format_fixed(value, digits)} has more than {decimals} decimals")
        fp //= <uint64_t>SK_POW10[digits - decimals]
        nd = decimals
    # write backwards from the end of buf
    w = buf + 47
    w[0] = 0
    if decimals > digits:
        for i in range(decimals - digits):
            w -= 1
            w[0] = 48
    for i in range(nd):
        w -= 1
        w[0] = <char>(48 + fp % 10)
        fp //= 10
    if nd > 0 or decimals > digits:
        w -= 1
        w[0] = 46
    if ip == 0:
        w -= 1
        w[0] = 48
    while ip > 0:
        w -= 1
        w[0] = <char>(48 + ip % 10)
        ip //= 10
    if neg and mag != 0:
        w -= 1
        w[0] = 45
    return w[:buf + 47 - w].decode("ascii")


cpdef str format_px(int64_t px_1e9, int decimals=-1):
    return format_fixed(px_1e9, PX_DIGITS, decimals)


cpdef str format_qty(int64_t qty_1e8, int decimals=-1):
    return format_fixed(qty_1e8, QTY_DIGITS, decimals)


def notional(int64_t px_1e9, int64_t qty_1e8):
    """Exact notional as a Python int at scale 10^17 (px x qty never wraps)."""
    return <object>px_1e9 * <object>qty_1e8


cpdef int64_t notional_1e9(int64_t px_1e9, int64_t qty_1e8, bint round_up=False) except? -1:
    """Notional in quote units x 10^9, rounded down (or up), computed in 128 bits.

    Raises NumberOverflow when the notional itself does not fit int64 (above ~9.2e9 quote units).
    """
    cdef bint ovf = False
    cdef int64_t r
    if round_up:
        r = mul_div_ceil(px_1e9, qty_1e8, SK_POW10[QTY_DIGITS], &ovf)
    else:
        r = mul_div_floor(px_1e9, qty_1e8, SK_POW10[QTY_DIGITS], &ovf)
    if ovf:
        raise NumberOverflow("notional does not fit int64 at scale 1e9")
    return r


cpdef int64_t round_to_step(int64_t value, int64_t step, bint up=False) except? -1:
    """Round value down (or up) to a multiple of step (tick or lot), exactly."""
    cdef int64_t r
    if step <= 0:
        raise ValueError("step must be positive")
    r = value % step
    if r < 0:
        r += step
    if r == 0:
        return value
    if up:
        if value > I64_MAX - (step - r):
            raise NumberOverflow("rounding up leaves int64")
        return value + (step - r)
    return value - r
