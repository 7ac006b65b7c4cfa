"""Canonical symbols, venue-native forms both ways, prediction legs, and the spec's routing table."""

from __future__ import annotations

import pytest

import seqkern.venues as V
from seqkern.errors import NoRoutableVenue, SeqkernError, UnknownSymbol
from seqkern.venues import (
    DEFAULT_PAIRSPECS,
    Leg,
    canonical_symbol,
    from_venue,
    kraken_rest_pair,
    market_key,
    parse_prediction,
    parse_venue_symbol,
    route_venues,
    symbol_kind,
    to_venue,
    venues_for,
)

# (canonical, venue, instrument type, venue-native) as each venue writes it (cex.md, pred-hl.md)
NATIVE = [
    ("BTC-USDT", "binance", "spot", "BTCUSDT"),
    ("ETH-USDT", "binance", "perp", "ETHUSDT"),
    ("BTC-USDT", "okx", "spot", "BTC-USDT"),
    ("BTC-USDT", "okx", "perp", "BTC-USDT-SWAP"),
    ("BTC-USDT", "bybit", "spot", "BTCUSDT"),
    ("BTC-USDT", "bybit", "perp", "BTCUSDT"),
    ("BTC-USDC", "bybit", "perp", "BTCPERP"),
    ("BTC-USD", "coinbase", "spot", "BTC-USD"),
    ("BTC-USD", "kraken", "spot", "BTC/USD"),
    ("BTC-USDT", "bitget", "spot", "BTCUSDT"),
    ("BTC-USDT", "cryptocom", "spot", "BTC_USDT"),
    ("BTC-USD", "cryptocom", "perp", "BTCUSD-PERP"),
    ("BTC-USDC", "hyperliquid", "perp", "BTC"),
    ("PURR-USDC", "hyperliquid", "spot", "PURR/USDC"),
    ("WETH-USDC", "dex-arb", "spot", "WETH-USDC"),
    ("KXBTCZ-26DEC31-T99000", "kalshi", "binary", "KXBTCZ-26DEC31-T99000"),
    ("btc-updown-5m-1776537600", "polymarket", "binary", "btc-updown-5m-1776537600"),
]


@pytest.mark.parametrize(("symbol", "venue", "itype", "native"), NATIVE)
def test_to_and_from_venue_round_trip(symbol, venue, itype, native):
    assert to_venue(symbol, venue, itype) == native
    parsed = parse_venue_symbol(native, venue, itype)
    assert parsed.symbol == symbol and parsed.instrument_type == itype
    assert from_venue(native, venue, itype) == symbol


def test_every_default_pairspec_round_trips():
    for spec in DEFAULT_PAIRSPECS:
        native = to_venue(spec.symbol, spec.venue_id, spec.instrument_type)
        assert native == spec.venue_symbol
        assert from_venue(native, spec.venue_id, spec.instrument_type) == spec.symbol


def test_venue_form_reveals_instrument_type():
    assert parse_venue_symbol("BTC-USDT-SWAP", "okx").instrument_type == "perp"
    assert parse_venue_symbol("BTC-USDT", "okx").instrument_type == "spot"
    assert parse_venue_symbol("BTCPERP", "bybit").instrument_type == "perp"
    assert parse_venue_symbol("BTCUSD-PERP", "cryptocom").symbol == "BTC-USD"
    assert parse_venue_symbol("ETH", "hyperliquid") == V.VenueSymbol("ETH-USDC", "perp")
    with pytest.raises(UnknownSymbol, match="perp, not spot"):
        from_venue("BTC-USDT-SWAP", "okx", "spot")


def test_kraken_legacy_names():
    # WS v2 writes BTC/USD; REST altnames / keys and AssetPairs wsname keep XBT (cex.md 3.6)
    for native in ("BTC/USD", "XBT/USD", "XBTUSD", "XXBTZUSD"):
        assert from_venue(native, "kraken") == "BTC-USD"
    assert from_venue("XBT/USDT", "kraken") == "BTC-USDT"
    assert from_venue("XETHZUSD", "kraken") == "ETH-USD"
    assert from_venue("XDGUSD", "kraken") == "DOGE-USD"
    assert from_venue("FIZZUSD", "kraken") == "FIZZ-USD"  # not mistaken for a legacy Z quote
    assert kraken_rest_pair("BTC-USD") == "XBTUSD"
    assert kraken_rest_pair("ETH-USD") == "ETHUSD"
    assert to_venue("BTC-USD", V.VENUE_KRAKEN) == "BTC/USD"


def test_concatenated_symbols_split_on_known_quotes():
    assert from_venue("ETHBTC", "binance") == "ETH-BTC"
    assert from_venue("SOLUSDC", "bitget") == "SOL-USDC"
    assert from_venue("BTCFDUSD", "binance") == "BTC-FDUSD"


@pytest.mark.parametrize(
    ("native", "venue"),
    [
        ("BTCXYZ", "binance"),
        ("", "binance"),
        ("BTC-USDT-FUTURES", "okx"),
        ("BTCUSDT", "cryptocom"),
        ("@107", "hyperliquid"),
        ("xyz:TSLA", "hyperliquid"),
        ("btc-usd", "coinbase"),
        ("KXBTCZ-26DEC31-T99000:NO", "kalshi"),
        ("btc-updown-5m-1776537600", "kalshi"),
    ],
)
def test_from_venue_unknown(native, venue):
    with pytest.raises(UnknownSymbol) as err:
        from_venue(native, venue)
    assert isinstance(err.value, SeqkernError) and err.value.code == "UNKNOWN_SYMBOL"


@pytest.mark.parametrize(
    ("symbol", "venue", "itype"),
    [
        ("BTCUSDT", "binance", "spot"),
        ("btc-usdt", "binance", "spot"),
        ("BTC-USD", "binance", "perp"),
        ("BTC-USD", "hyperliquid", "perp"),
        ("BTC-USDT", "coinbase", "perp"),
        ("BTC-USDT", "bitget", "binary"),
        ("BTC-USDT", "binance", "option"),
        ("KXBTCZ-26DEC31-T99000", "polymarket", "binary"),
        ("BTC-USDT", "kalshi", "binary"),
    ],
)
def test_to_venue_unknown(symbol, venue, itype):
    with pytest.raises(UnknownSymbol):
        to_venue(symbol, venue, itype)


def test_kalshi_legs():
    yes = parse_prediction("KXBTCZ-26DEC31-T99000")
    assert (yes.venue_id, yes.market, yes.leg, yes.kind) == (
        19,
        "KXBTCZ-26DEC31-T99000",
        Leg.YES,
        "ticker",
    )
    no = parse_prediction("KXBTCZ-26DEC31-T99000:NO")
    assert no.leg is Leg.NO and no.market == "KXBTCZ-26DEC31-T99000"
    assert no.symbol == "KXBTCZ-26DEC31-T99000:NO"
    assert canonical_symbol("KXBTCZ-26DEC31-T99000:no") == "KXBTCZ-26DEC31-T99000:NO"
    assert canonical_symbol("KXBTCZ-26DEC31-T99000:YES") == "KXBTCZ-26DEC31-T99000"
    # documented tickers carry dots (pred-hl.md 1.4)
    assert parse_prediction("KXBTCD-25AUG0517-T114999.99").kind == "ticker"
    assert symbol_kind("FED-23DEC-T3.00") == "kalshi"


def test_polymarket_forms():
    slug = parse_prediction("btc-updown-5m-1776537600")
    assert (slug.venue_id, slug.leg, slug.kind) == (18, Leg.YES, "slug")
    no = parse_prediction("btc-updown-5m-1776537600:no")
    assert no.leg is Leg.NO and no.symbol == "btc-updown-5m-1776537600:no"
    assert canonical_symbol("btc-updown-5m-1776537600:NO") == "btc-updown-5m-1776537600:no"
    assert canonical_symbol("btc-updown-5m-1776537600:yes") == "btc-updown-5m-1776537600"
    token = "71183960810705820955071415844881728181970340514894896943812046065452395013351"
    t = parse_prediction(token)
    assert (t.kind, t.leg, t.market) == ("token", None, token)
    cond = "0x" + "78443f961b9a65869dcb39359de9960165c7e5cbad0904eac7f29cd77872a63b".upper()
    c = parse_prediction(cond + ":no")
    assert (
        c.kind == "condition" and c.leg is Leg.NO and c.market == cond.lower().replace("0X", "0x")
    )
    url = parse_prediction("https://polymarket.com/event/btc-updown-5m-1776537600")
    assert url.market == "btc-updown-5m-1776537600" and url.kind == "slug"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "BTC-USD:NO",
        "KXBTCZ-26DEC31-T99000:MAYBE",
        "7118396081070582095507141584488172818197034051489489694381204606545239501335100",
        "123:no",
        "https://example.com/event/foo",
        "https://polymarket.com/",
        "Hello World",
        "BTC_USD",
    ],
)
def test_bad_prediction_symbols(bad):
    with pytest.raises(UnknownSymbol):
        canonical_symbol(bad)


def test_symbol_kind_and_market_key():
    assert symbol_kind("BTC-USD") == "pair"
    assert symbol_kind("KXBTCZ-26DEC31-T99000:NO") == "kalshi"
    assert symbol_kind("btc-updown-5m-1776537600:no") == "polymarket"
    assert market_key("KXBTCZ-26DEC31-T99000:NO") == "KXBTCZ-26DEC31-T99000"
    assert market_key("BTC-USDT") == "BTC-USDT"


# The spec's "Symbol routing" table, transcribed: symbol -> venues (in the spec's order).
SPEC_ROUTING = [
    ("BTC-USD", ("Kraken", "Coinbase")),
    ("BTC-USDT", ("Binance", "Bitget", "Crypto.com", "OKX", "Bybit")),
    ("BTC-USDC", ("Bitget", "Crypto.com", "OKX", "Bybit", "Hyperliquid")),
    ("KXBTCZ-26DEC31-T99000", ("Kalshi",)),
    ("KXBTCZ-26DEC31-T99000:NO", ("Kalshi",)),
    ("btc-updown-5m-1776537600", ("Polymarket",)),
    ("btc-updown-5m-1776537600:no", ("Polymarket",)),
]


@pytest.mark.parametrize(("symbol", "venues"), SPEC_ROUTING)
def test_spec_routing_table(symbol, venues):
    got = venues_for(symbol, DEFAULT_PAIRSPECS)
    assert tuple(V.venue_by_id(i).display_name for i in got) == venues
    assert route_venues(symbol, DEFAULT_PAIRSPECS) == got


def test_no_quote_conversion():
    # Binance lists BTC-USDT, never BTC-USD (the spec's warning)
    assert V.VENUE_BINANCE not in venues_for("BTC-USD", DEFAULT_PAIRSPECS)
    binance_only = [s for s in DEFAULT_PAIRSPECS if s.venue_id == V.VENUE_BINANCE]
    assert venues_for("BTC-USD", binance_only) == ()
    with pytest.raises(NoRoutableVenue, match="BTC-USDT") as err:
        route_venues("BTC-USD", binance_only)
    assert err.value.code == "NO_ROUTABLE_VENUE"
    assert venues_for("DOGE-USD", DEFAULT_PAIRSPECS) == ()


def test_routing_by_instrument_type():
    assert venues_for("BTC-USDT", DEFAULT_PAIRSPECS, "perp") == (
        V.VENUE_BINANCE, V.VENUE_OKX, V.VENUE_BYBIT,
    )  # fmt: skip
    assert venues_for("BTC-USDC", DEFAULT_PAIRSPECS, "perp") == (V.VENUE_BYBIT, V.VENUE_HYPERLIQUID)


def test_routing_rejects_malformed_symbols():
    with pytest.raises(UnknownSymbol):
        venues_for("BTC/USD", DEFAULT_PAIRSPECS)


def test_default_instrument_type_is_the_venues_first_unit():
    assert to_venue("BTC-USDT", "binance") == "BTCUSDT"
    assert to_venue("BTC-USDC", "hyperliquid") == "BTC"
    assert to_venue("KXBTCZ-26DEC31-T99000:NO", "kalshi") == "KXBTCZ-26DEC31-T99000"
    with pytest.raises(UnknownSymbol, match="instrument type"):
        parse_venue_symbol("BTCUSDT", "binance", "future")
