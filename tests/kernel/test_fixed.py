"""Fixed-point parsing and formatting: exact, typed errors, never through float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from seqkern._fixed import (
    format_fixed,
    format_px,
    format_qty,
    notional,
    notional_1e9,
    parse_fixed,
    parse_px,
    parse_qty,
    round_to_step,
)

from seqkern.errors import FixedPointError, MalformedNumber, NumberOverflow, PrecisionError

I64_MAX = 2**63 - 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60000.01", 60000_010000000),
        ("0.00012000", 120000),
        ("1e-8", 10),
        ("1E-9", 1),
        ("1.5e3", 1500_000000000),
        ("+2.5", 2_500000000),
        ("-0.5", -500000000),
        ("0", 0),
        ("0.000", 0),
        ("0e-30", 0),
        ("00012.3400000000000000000", 12_340000000),
        (".5", 500000000),
        ("5.", 5_000000000),
        ("9223372036.854775807", I64_MAX),
        ("-9223372036.854775808", -(2**63)),
    ],
)
def test_parse_px_exact(text: str, expected: int) -> None:
    assert parse_px(text) == expected
    assert parse_px(text.encode()) == expected
    assert parse_px(bytearray(text.encode())) == expected
    assert parse_px(memoryview(text.encode())) == expected


def test_parse_qty_scale() -> None:
    assert parse_qty("0.00000001") == 1
    assert parse_qty("1") == 100_000_000
    assert parse_qty("123.45678900") == 12345678900


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", MalformedNumber),
        ("abc", MalformedNumber),
        ("1.2.3", MalformedNumber),
        ("1e", MalformedNumber),
        ("1e+", MalformedNumber),
        ("-", MalformedNumber),
        (".", MalformedNumber),
        ("1,5", MalformedNumber),
        (" 1", MalformedNumber),
        ("nan", MalformedNumber),
        ("0.0000000001", PrecisionError),
        ("1e-10", PrecisionError),
        ("60000.0100000001", PrecisionError),
        ("9223372036.854775808", NumberOverflow),
        ("1e11", NumberOverflow),
        ("123456789012345678901234567890", NumberOverflow),
        ("1e999999999", NumberOverflow),
    ],
)
def test_parse_px_errors(text: str, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        parse_px(text)
    assert isinstance(info.value, FixedPointError)
    assert info.value.code


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(MalformedNumber):
        parse_px(1.5)  # type: ignore[arg-type]


decimals = st.decimals(
    min_value=Decimal("-9223372036.854775808"),
    max_value=Decimal("9223372036.854775807"),
    places=9,
    allow_nan=False,
    allow_infinity=False,
)


@given(decimals)
def test_parse_matches_decimal(d: Decimal) -> None:
    expected = int(d.scaleb(9))
    for text in (f"{d:f}", f"{d:e}", str(d)):
        assert parse_px(text) == expected


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.integers(min_value=0, max_value=18))
def test_format_round_trip(value: int, digits: int) -> None:
    text = format_fixed(value, digits)
    assert "e" not in text and "E" not in text
    assert parse_fixed(text, digits) == value
    assert Decimal(text) == Decimal(value).scaleb(-digits)


def test_format_venue_precision() -> None:
    px = parse_px("60000.01")
    assert format_px(px) == "60000.01"
    assert format_px(px, 2) == "60000.01"
    assert format_px(px, 4) == "60000.0100"
    assert format_px(px, 12) == "60000.010000000000"
    assert format_qty(1) == "0.00000001"
    assert format_qty(100_000_000, 0) == "1"
    assert format_qty(-150_000_000) == "-1.5"
    assert format_px(0) == "0"
    with pytest.raises(PrecisionError):
        format_px(px, 1)


@given(st.integers(min_value=0, max_value=2**63 - 1), st.integers(min_value=0, max_value=2**63 - 1))
def test_notional_never_wraps(px: int, qty: int) -> None:
    assert notional(px, qty) == px * qty
    exact = px * qty // 10**8
    if exact <= I64_MAX:
        assert notional_1e9(px, qty) == exact
        up = -((-px * qty) // 10**8)
        if up <= I64_MAX:
            assert notional_1e9(px, qty, True) == up
    else:
        with pytest.raises(NumberOverflow):
            notional_1e9(px, qty)


def test_round_to_step() -> None:
    assert round_to_step(12345, 100) == 12300
    assert round_to_step(12345, 100, True) == 12400
    assert round_to_step(12300, 100, True) == 12300
    assert round_to_step(-5, 10) == -10
    with pytest.raises(ValueError):
        round_to_step(1, 0)
