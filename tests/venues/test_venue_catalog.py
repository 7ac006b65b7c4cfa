"""The venue catalog: VenueIds exactly as the spec, classes, regions, deploy units, lookups."""

from __future__ import annotations

import pytest

import seqkern.venues as V
from seqkern.errors import SeqkernError, UnknownVenue

# The spec's "Venue IDs (SDK)" table, transcribed.
SPEC_IDS = {
    "VENUE_KRAKEN": 1,
    "VENUE_COINBASE": 2,
    "VENUE_BINANCE": 3,
    "VENUE_BITGET": 4,
    "VENUE_CRYPTOCOM": 5,
    "VENUE_BITMART": 6,
    "VENUE_DEX": 7,
    "VENUE_OKX": 8,
    "VENUE_BYBIT": 9,
    "VENUE_UNKNOWN": 10,
    "VENUE_DEX_ETH": 11,
    "VENUE_DEX_ARB": 12,
    "VENUE_DEX_BASE": 13,
    "VENUE_DEX_OP": 14,
    "VENUE_DEX_POLY": 15,
    "VENUE_DEX_SOL": 16,
    "VENUE_HYPERLIQUID": 17,
    "VENUE_POLYMARKET": 18,
    "VENUE_KALSHI": 19,
}


def test_constants_exactly_as_spec():
    for name, value in SPEC_IDS.items():
        assert getattr(V, name) == value, name
    assert V.VENUE_DEFAULT == 0
    assert V.VENUE_SLOTS == 20 == max(SPEC_IDS.values()) + 1
    consts = {n: getattr(V, n) for n in dir(V) if n.startswith("VENUE_") and n != "VENUE_SLOTS"}
    assert consts == {**SPEC_IDS, "VENUE_DEFAULT": 0}


def test_every_catalogued_venue_has_its_constant_id():
    ids = [v.venue_id for v in V.all_venues()]
    assert ids == sorted(ids)
    assert set(ids) == set(SPEC_IDS.values()) - {V.VENUE_UNKNOWN}


@pytest.mark.parametrize(
    ("venue_id", "dex", "cex"),
    [
        (0, False, False),
        (1, False, True),
        (2, False, True),
        (3, False, True),
        (4, False, True),
        (5, False, True),
        (6, False, True),
        (7, True, False),
        (8, False, True),
        (9, False, True),
        (10, False, False),
        (11, True, False),
        (12, True, False),
        (13, True, False),
        (14, True, False),
        (15, True, False),
        (16, True, False),
        (17, False, False),
        (18, False, False),
        (19, False, False),
        (20, False, False),
        (-1, False, False),
    ],
)
def test_is_dex_is_cex(venue_id, dex, cex):
    assert V.is_dex(venue_id) is dex
    assert V.is_cex(venue_id) is cex


def test_classes():
    assert V.venue_class(V.VENUE_HYPERLIQUID) is V.VenueClass.ONCHAIN_PERP
    assert V.venue_class(V.VENUE_KALSHI) is V.VenueClass.PREDICTION
    assert V.venue_class(V.VENUE_POLYMARKET) is V.VenueClass.PREDICTION
    assert V.venue_class(V.VENUE_DEX_SOL) is V.VenueClass.DEX
    assert V.is_prediction(V.VENUE_KALSHI) and not V.is_prediction(V.VENUE_BINANCE)


def test_regions_as_spec():
    expected = {
        "binance": "ap", "okx": "ap", "bybit": "ap", "bitget": "ap", "cryptocom": "ap",
        "coinbase": "na", "kraken": "eu", "hyperliquid": "na", "kalshi": "eu", "polymarket": "eu",
    }  # fmt: skip
    for name, region in expected.items():
        assert V.venue_by_name(name).region == region, name
    for v in V.all_venues():
        assert v.region in V.REGIONS


def test_deploy_units_and_launchers():
    units = {u.name for u in V.all_units()}
    # every deploy unit of the spec's tables and the /v1/edges example
    spec_units = {
        "venue-edge-binance", "venue-edge-binance-perp", "venue-edge-coinbase",
        "venue-edge-kraken", "venue-edge-okx", "venue-edge-okx-perp", "venue-edge-bybit",
        "venue-edge-bybit-perp", "venue-edge-bitget", "venue-edge-cryptocom",
        "venue-edge-hyperliquid", "venue-edge-kalshi", "venue-edge-polymarket",
    }  # fmt: skip
    assert spec_units <= units
    launchers = set(V.launcher_names())
    assert {
        "binance", "binance-perp", "okx", "okx-perp", "bybit", "bybit-perp", "coinbase",
        "kraken", "bitget", "cryptocom", "hyperliquid", "kalshi", "polymarket",
        "dex-eth", "dex-arb", "dex-base", "dex-op", "dex-poly", "dex-sol",
    } == launchers  # fmt: skip
    for u in V.all_units():
        assert u.name == f"venue-edge-{u.launcher}"


def test_spot_and_perp_share_one_venue_id():
    for name in ("binance", "okx", "bybit"):
        spot, perp = V.unit_by_launcher(name), V.unit_by_launcher(f"{name}-perp")
        assert spot.venue_id == perp.venue_id == V.venue_by_name(name).venue_id
        assert spot.instrument_type == "spot" and perp.instrument_type == "perp"
    assert V.venue_by_name("hyperliquid").instrument_types == (V.InstrumentType.PERP,)
    assert V.venue_by_name("kalshi").instrument_types == (V.InstrumentType.BINARY,)


def test_prediction_capabilities_as_spec():
    k = V.venue_by_id(V.VENUE_KALSHI).capabilities
    assert k.native_amend and k.amend_transport is V.AmendMode.NATIVE_ATOMIC
    assert k.amend_graph is V.AmendMode.CANCEL_REPLACE
    assert k.native_batch and k.batch_max_ops == 20
    assert k.batch_transport is V.BatchMode.NATIVE_ATOMIC and k.batch_graph is V.BatchMode.SERIAL
    assert k.settlement is V.Settlement.AUTO_SETTLED
    p = V.venue_by_id(V.VENUE_POLYMARKET).capabilities
    assert not p.native_amend and p.amend_transport is V.AmendMode.CANCEL_REPLACE
    assert p.batch_max_ops == 15 and p.batch_transport is V.BatchMode.NATIVE_BEST_EFFORT
    assert p.settlement is V.Settlement.ONCHAIN_REDEMPTION


def test_cex_capabilities_from_fact_sheet():
    assert V.unit_by_launcher("binance-perp").capabilities.batch_max_ops == 5
    assert V.unit_by_launcher("bybit").capabilities.batch_max_ops == 10
    assert V.unit_by_launcher("bybit-perp").capabilities.batch_max_ops == 20
    assert V.unit_by_launcher("kraken").capabilities.batch_max_ops == 15
    assert not V.unit_by_launcher("bitget").capabilities.native_amend
    for u in V.all_units():
        c = u.capabilities
        assert c.batch_graph is V.BatchMode.SERIAL  # graph-level batching is serial today
        assert c.native_batch == (c.batch_max_ops != 0)


def test_capabilities_reject_inconsistent_data():
    with pytest.raises(ValueError):
        V.Capabilities(
            native_amend=False, amend_transport=V.AmendMode.NATIVE_ATOMIC,
            amend_graph=V.AmendMode.CANCEL_REPLACE, native_batch=False, batch_max_ops=0,
            batch_transport=V.BatchMode.SERIAL, batch_graph=V.BatchMode.SERIAL,
            settlement=V.Settlement.AUTO_SETTLED,
        )  # fmt: skip


def test_lookups():
    assert V.venue_by_id(3).name == "binance"
    assert V.venue_by_name("Binance").venue_id == 3
    assert V.venue_by_name("okx-perp").venue_id == V.VENUE_OKX
    assert V.venue_by_unit("venue-edge-bybit-perp").venue_id == V.VENUE_BYBIT
    assert V.unit_by_name("venue-edge-kalshi").launcher == "kalshi"
    assert V.resolve_venue(19).name == "kalshi"
    assert V.resolve_venue("venue-edge-okx").name == "okx"
    assert V.resolve_venue("polymarket").venue_id == 18


@pytest.mark.parametrize(
    ("call", "arg"),
    [
        (V.venue_by_id, 0),
        (V.venue_by_id, 10),
        (V.venue_by_id, 99),
        (V.venue_by_id, "3"),
        (V.venue_by_name, "binanse"),
        (V.venue_by_name, None),
        (V.venue_by_unit, "venue-edge-ftx"),
        (V.unit_by_launcher, "ftx"),
        (V.resolve_venue, True),
    ],
)
def test_unknown_venue_is_typed_and_lists_valid_names(call, arg):
    with pytest.raises(UnknownVenue) as err:
        call(arg)
    assert isinstance(err.value, SeqkernError) and err.value.code == "UNKNOWN_VENUE"
    msg = str(err.value)
    if call is not V.resolve_venue:
        assert "binance" in msg and "kalshi" in msg  # the valid names are listed


def test_unit_for_missing_instrument_type():
    with pytest.raises(UnknownVenue, match="no perp unit"):
        V.venue_by_name("coinbase").unit("perp")
    assert V.venue_by_name("okx").unit("perp").name == "venue-edge-okx-perp"


def test_id_only_venues_have_no_edge():
    for vid in (V.VENUE_BITMART, V.VENUE_DEX):
        v = V.venue_by_id(vid)
        assert v.status == "id-only" and v.units == () and v.capabilities is None
        assert v.primary_instrument_type == "spot"
    assert {v.name for v in V.live_venues()} == {
        u.launcher.removesuffix("-perp") for u in V.all_units()
    }
