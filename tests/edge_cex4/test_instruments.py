"""Instrument metadata of the four venues, in their documented response shapes, to trading rules."""

from __future__ import annotations

import orjson
import pytest
from seqkern._fixed import parse_px, parse_qty

from seqkern.venues.base import VenueMessageError
from seqkern.venues.bitget import BitgetSpot
from seqkern.venues.coinbase import CoinbaseSpot
from seqkern.venues.cryptocom import CryptocomSpot
from seqkern.venues.kraken import KrakenSpot

# Kraken REST AssetPairs (legacy key and wsname with XBT)
KRAKEN_PAIRS = {"error": [], "result": {"XXBTZUSD": {
    "altname": "XBTUSD", "wsname": "XBT/USD", "aclass_base": "currency", "base": "XXBT", "aclass_quote": "currency",
    "quote": "ZUSD", "lot": "unit", "cost_decimals": 5, "pair_decimals": 1, "lot_decimals": 8, "lot_multiplier": 1,
    "ordermin": "0.00005", "costmin": "0.5", "tick_size": "0.1", "status": "online"},
    "XDGUSD": {"altname": "XDGUSD", "wsname": "XDG/USD", "base": "XXDG", "quote": "ZUSD", "pair_decimals": 7,
               "lot_decimals": 8, "ordermin": "13", "costmin": "0.5", "tick_size": "0.0000001", "status": "online"}}}
# Coinbase GET /api/v3/brokerage/market/products (fields of the documented product)
COINBASE_PRODUCTS = {"products": [{"product_id": "BTC-USD", "base_increment": "0.00000001", "quote_increment": "0.01",
                                   "quote_min_size": "1", "base_min_size": "0.00000001", "base_max_size": "3400",
                                   "price_increment": "0.01", "product_type": "SPOT", "quote_currency_id": "USD",
                                   "base_currency_id": "BTC", "status": "online"}], "num_products": 1}
# Bitget GET /api/v2/spot/public/symbols
BITGET_SYMBOLS = {"code": "00000", "msg": "success", "requestTime": 1695806875837, "data": [{
    "symbol": "BTCUSDT", "baseCoin": "BTC", "quoteCoin": "USDT", "minTradeAmount": "0.0001", "maxTradeAmount": "10000",
    "takerFeeRate": "0.001", "makerFeeRate": "0.001", "pricePrecision": "2", "quantityPrecision": "6",
    "quotePrecision": "8", "status": "online", "minTradeUSDT": "1"}]}
# Crypto.com public/get-instruments (the docs' example)
CDC_INSTRUMENTS = {"id": 1, "method": "public/get-instruments", "code": 0, "result": {"data": [{
    "symbol": "BTC_USDT", "inst_type": "CCY_PAIR", "display_name": "BTC/USDT", "base_ccy": "BTC", "quote_ccy": "USDT",
    "quote_decimals": 2, "quantity_decimals": 5, "price_tick_size": "0.01", "qty_tick_size": "0.00001",
    "max_leverage": "50", "tradable": True, "expiry_timestamp_ms": 0, "beta_product": False},
    {"symbol": "BTCUSD-PERP", "inst_type": "PERPETUAL_SWAP", "base_ccy": "BTC", "quote_ccy": "USD",
     "price_tick_size": "0.1", "qty_tick_size": "0.0001"}]}}


def test_kraken_asset_pairs_keyed_by_v2_names() -> None:
    info = KrakenSpot().parse_instruments(orjson.dumps(KRAKEN_PAIRS))
    btc = info["BTC/USD"]
    assert (btc.base, btc.quote, btc.tick_1e9, btc.lot_1e8, btc.min_qty_1e8) == (
        "BTC", "USD", parse_px("0.1"), 1, parse_qty("0.00005"))
    assert info["DOGE/USD"].tick_1e9 == parse_px("0.0000001")


def test_coinbase_bitget_cryptocom_rules() -> None:
    cb = CoinbaseSpot().parse_instruments(orjson.dumps(COINBASE_PRODUCTS))["BTC-USD"]
    assert (cb.tick_1e9, cb.lot_1e8, cb.min_notional_1e9) == (parse_px("0.01"), 1, parse_px("1"))
    bg = BitgetSpot().parse_instruments(orjson.dumps(BITGET_SYMBOLS))["BTCUSDT"]
    assert (bg.tick_1e9, bg.lot_1e8, bg.min_qty_1e8) == (parse_px("0.01"), parse_qty("0.000001"), parse_qty("0.0001"))
    cdc = CryptocomSpot().parse_instruments(orjson.dumps(CDC_INSTRUMENTS))
    assert list(cdc) == ["BTC_USDT"]          # spot only: the perpetual is another edge
    assert (cdc["BTC_USDT"].tick_1e9, cdc["BTC_USDT"].lot_1e8) == (parse_px("0.01"), parse_qty("0.00001"))


@pytest.mark.parametrize("venue", [KrakenSpot(), CoinbaseSpot(), BitgetSpot(), CryptocomSpot()])
def test_unreadable_metadata_is_a_typed_error(venue) -> None:
    with pytest.raises(VenueMessageError):
        venue.parse_instruments(b"{not json")
    with pytest.raises(VenueMessageError):
        venue.parse_instruments(b'{"unexpected": 1}')
