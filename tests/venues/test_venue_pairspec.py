"""PairSpec: fields, validation, exact decimal construction, the default table."""

from __future__ import annotations

import dataclasses
import math

import pytest

import seqkern.venues as V
from seqkern.venues import DEFAULT_PAIRSPECS, PairSpec, PairSpecError, pairspec_table


def _ok(**over):
    base = dict(
        symbol="BTC-USDT", venue_id=V.VENUE_BINANCE, instrument_type="spot",
        venue_symbol="BTCUSDT", tick_1e9=10_000_000, lot_1e8=1_000, min_qty_1e8=1_000,
        min_notional_1e9=5_000_000_000, maker_fee_bps=10.0, taker_fee_bps=10.0,
    )  # fmt: skip
    base.update(over)
    return PairSpec(**base)


def test_fields_exactly():
    assert [f.name for f in dataclasses.fields(PairSpec)] == [
        "symbol", "venue_id", "instrument_type", "venue_symbol", "tick_1e9", "lot_1e8",
        "min_qty_1e8", "min_notional_1e9", "maker_fee_bps", "taker_fee_bps",
    ]  # fmt: skip
    spec = _ok()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.tick_1e9 = 1  # type: ignore[misc]


def test_from_decimals_is_exact():
    spec = PairSpec.from_decimals(
        "BTC-USDT", V.VENUE_BINANCE, "spot", tick="0.01", lot="0.00001", min_qty="0.00001",
        min_notional="5", maker_fee_bps=10, taker_fee_bps=10,
    )  # fmt: skip
    assert spec == _ok()
    assert spec.venue_symbol == "BTCUSDT"
    okx = PairSpec.from_decimals(
        "BTC-USDT", V.VENUE_OKX, "perp", tick="0.1", lot="0.0001", maker_fee_bps=2, taker_fee_bps=5
    )
    assert okx.venue_symbol == "BTC-USDT-SWAP" and okx.tick_1e9 == 100_000_000
    assert okx.min_qty_1e8 == 0 and okx.min_notional_1e9 == 0


@pytest.mark.parametrize(
    ("field", "text"),
    [("tick", "0.0000000001"), ("lot", "0.000000001"), ("tick", "abc"), ("lot", ""),
     ("min_notional", "1e400")],
)  # fmt: skip
def test_from_decimals_rejects_unrepresentable(field, text):
    kw = dict(tick="0.01", lot="0.001", maker_fee_bps=1, taker_fee_bps=2)
    kw[field] = text
    with pytest.raises(PairSpecError, match=field):
        PairSpec.from_decimals("BTC-USDT", V.VENUE_BINANCE, "spot", **kw)


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"tick_1e9": 0}, "tick_1e9"),
        ({"tick_1e9": -10}, "tick_1e9"),
        ({"lot_1e8": 0}, "lot_1e8"),
        ({"min_qty_1e8": -1}, "min_qty_1e8"),
        ({"min_notional_1e9": 1 << 63}, "min_notional_1e9"),
        ({"tick_1e9": 0.01}, "tick_1e9"),
        ({"lot_1e8": True}, "lot_1e8"),
        ({"maker_fee_bps": math.nan}, "maker_fee_bps"),
        ({"taker_fee_bps": math.inf}, "taker_fee_bps"),
        ({"taker_fee_bps": 0.15 * 10_000}, "taker_fee_bps"),  # 0.15% written as a fraction 0.15
        ({"maker_fee_bps": -500.0}, "maker_fee_bps"),
        ({"maker_fee_bps": "10"}, "maker_fee_bps"),
        ({"venue_id": 0}, "venue_id"),
        ({"venue_id": 10}, "venue_id"),
        ({"instrument_type": "option"}, "instrument_type"),
        ({"instrument_type": "binary"}, "instrument_type"),
        ({"venue_id": V.VENUE_COINBASE, "venue_symbol": "BTC-USDT", "instrument_type": "perp"}, "instrument_type"),
        ({"symbol": "BTCUSDT"}, "symbol"),
        ({"venue_symbol": "ETHUSDT"}, "venue_symbol"),
        ({"venue_symbol": "BTC-USDT"}, "venue_symbol"),
    ],
)  # fmt: skip
def test_validation_names_the_field(over, field):
    with pytest.raises(PairSpecError, match=field) as err:
        _ok(**over)
    assert err.value.code == "BAD_PAIRSPEC"


def test_binary_specs_list_the_market_not_a_leg():
    with pytest.raises(PairSpecError, match="leg"):
        PairSpec.from_decimals(
            "KXBTCZ-26DEC31-T99000:NO", V.VENUE_KALSHI, "binary", "KXBTCZ-26DEC31-T99000",
            tick="0.01", lot="1", maker_fee_bps=0, taker_fee_bps=100,
        )  # fmt: skip


def test_order_checks():
    spec = _ok()
    assert spec.price_on_tick(60_000_010_000_000) and not spec.price_on_tick(60_000_001_000_000)
    assert spec.qty_on_lot(2_000) and not spec.qty_on_lot(1_500)
    px = 60_000 * 10**9
    assert spec.meets_minimums(px, 10_000)  # 0.0001 BTC x 60000 = 6 USDT >= 5
    assert not spec.meets_minimums(px, 8_000)  # 4.8 USDT < 5
    assert not spec.meets_minimums(px, 500)  # below min qty
    assert spec.meets_minimums(9_000_000_000_000_000_000, 9_000_000_000)  # no int64 wrap


def test_default_table():
    table = pairspec_table()
    assert len(table) == len(DEFAULT_PAIRSPECS)
    for spec in DEFAULT_PAIRSPECS:
        venue = V.venue_by_id(spec.venue_id)
        assert spec.instrument_type in venue.instrument_types
        assert spec.maker_fee_bps <= spec.taker_fee_bps
    # spot and perp of one venue are separate listings under one venue id
    assert ("BTC-USDT", V.VENUE_BINANCE, "spot") in table
    assert ("BTC-USDT", V.VENUE_BINANCE, "perp") in table
    hl = table[("BTC-USDC", V.VENUE_HYPERLIQUID, "perp")]
    assert hl.venue_symbol == "BTC" and hl.lot_1e8 == 1_000  # szDecimals 5
    okx_swap = table[("BTC-USDT", V.VENUE_OKX, "perp")]
    assert okx_swap.lot_1e8 == 10_000  # 0.01 contracts x ctVal 0.01 BTC
    with pytest.raises(PairSpecError, match="duplicate"):
        pairspec_table((hl, hl))
