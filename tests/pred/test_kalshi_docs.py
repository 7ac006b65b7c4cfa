"""Kalshi: the literal doc examples (pred-hl.md samples) parsed by the adapter; signing text and keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from seqkern._book import L2Book
from seqkern._predwire import BAD_JSON, DELTA, FORMAT_KALSHI, OTHER, SNAPSHOT, PredBookDecoder

from seqkern.errors import CredentialError
from seqkern.venues.base import Side
from seqkern.venues.book_feed import MarketStatus, NewMarket
from seqkern.venues.kalshi.auth import KalshiSigner, presign_text, verify
from seqkern.venues.kalshi.execution import KalshiTransport, dollars, yes_book_order
from seqkern.venues.kalshi.venue import KalshiVenue, finest_tick
from tests.pred.rig import ed25519_pem, rsa_pem, shared_venues


def _docs() -> Path:
    return shared_venues() / "doc-examples" / "kalshi"


def _j(name: str):
    return json.loads((_docs() / f"{name}.json").read_text())


def test_presign_text_matches_doc_examples():
    for ex in _j("signing_message_examples"):
        assert presign_text(ex["timestamp_ms"], ex["method"], ex["request_path"]).decode() == ex["message"]
    assert presign_text(1, "get", "https://x.test/trade-api/v2/markets?limit=5") == b"1GET/trade-api/v2/markets"


@pytest.mark.parametrize("keygen", [rsa_pem, ed25519_pem], ids=["rsa", "ed25519"])
def test_signatures_verify_and_keys_stay_hidden(keygen):
    priv, pub = keygen()
    s = KalshiSigner("5a9e2c1b-0000-4000-8000-00000000abcd", priv)
    h = s.headers("GET", "/trade-api/ws/v2", 1703123456791)
    assert h["KALSHI-ACCESS-TIMESTAMP"] == "1703123456791"
    assert verify(pub, h["KALSHI-ACCESS-SIGNATURE"], b"1703123456791GET/trade-api/ws/v2")
    assert not verify(pub, h["KALSHI-ACCESS-SIGNATURE"], b"1703123456791GET/trade-api/v2")
    assert priv.splitlines()[1] not in repr(s)
    with pytest.raises(CredentialError):
        KalshiSigner("x", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")


def test_book_examples_both_eras_and_both_legs():
    d = PredBookDecoder(FORMAT_KALSHI)
    yes, no = L2Book(100_000, 16384), L2Book(100_000, 16384)
    assert d.scan((_docs() / "ws_orderbook_snapshot.json").read_bytes()) == SNAPSHOT
    assert d.apply_kalshi(yes, no) == 0
    # YES bids 0.41/0.42/0.43, NO bids 0.54/0.55/0.56: YES ask = 1 - best NO bid = 0.44
    assert yes.best_bid() == (430_000_000, 35 * 10**8) and yes.best_ask() == (440_000_000, 17 * 10**8)
    assert no.best_bid() == (560_000_000, 17 * 10**8) and no.best_ask() == (570_000_000, 35 * 10**8)
    assert d.scan((_docs() / "ws_orderbook_delta.json").read_bytes()) == DELTA and d.apply_kalshi(yes, no) == 0
    assert yes.best_bid()[0] == 420_000_000 and no.best_ask()[0] == 580_000_000      # delta_fp -35: level gone
    assert d.n_bids0 == 1 and d.n_asks1 == 1 and tuple(d.delta_asks1[0]) == (570_000_000, 0)
    # the 2026-03 era: cents, dollars and fp side by side; the fp strings win
    assert d.scan((_docs() / "ws_orderbook_snapshot_legacy_cents.json").read_bytes()) == SNAPSHOT
    assert len(d.levels()) == 4 and d.apply_kalshi(yes, no) == 0
    assert yes.best_bid() == (220_000_000, 333 * 10**8) and yes.best_ask() == (440_000_000, 146 * 10**8)
    # a cents-only delta (old format) parses as cents
    legacy = b'{"type":"orderbook_delta","sid":2,"seq":4,"msg":{"market_ticker":"FED-23DEC-T3.00","price":22,' \
             b'"delta":-33,"side":"yes"}}'
    assert d.scan(legacy) == DELTA and d.apply_kalshi(yes, no) == 0 and yes.best_bid() == (220_000_000, 300 * 10**8)
    assert d.scan(b'{"type":"orderbook_delta","sid":2') == BAD_JSON
    assert d.scan((_docs() / "ws_ticker.json").read_bytes()) == OTHER


def test_other_channels_and_lifecycle():
    v = KalshiVenue()
    trades = v.parse_market_message(_j("ws_trade"), 5)
    assert trades[0].px_1e9 == 430_000_000 and trades[0].taker_side is Side.BUY
    assert trades[1].venue_symbol.endswith(":NO") and trades[1].px_1e9 == 570_000_000
    nm = v.parse_market_message(_j("ws_market_lifecycle_created"), 0)[0]
    assert isinstance(nm, NewMarket) and nm.market == "KXBTCZ-26DEC31-T99000"
    assert nm.tick_1e9 == 1_000_000 and [lg.symbol for lg in nm.legs] == [nm.market, nm.market + ":NO"]
    assert finest_tick(_j("ws_market_lifecycle_created")["msg"]) == 1_000_000
    for name, ev in (("ws_market_lifecycle_determined", "determined"), ("ws_market_lifecycle_settled", "settled"),
                     ("ws_market_lifecycle_deactivated", "deactivated")):
        st = v.parse_market_message(_j(name), 0)[0]
        assert isinstance(st, MarketStatus) and st.event == ev
    v.parse_market_message(_j("ws_subscribed"), 0)
    assert v.book_sids == {1}
    assert v.parse_market_message(_j("ws_error"), 0)[0].action == "error"


def test_order_mapping_matches_doc_requests():
    buy_yes = _j("rest_create_order_v2_request")
    assert yes_book_order(buy_yes["ticker"], Side.BUY, 430_000_000) == (buy_yes["ticker"], "bid", 430_000_000)
    buy_no = _j("rest_create_order_v2_buy_no_request")
    _, side, px = yes_book_order(buy_no["ticker"] + ":NO", Side.BUY, 560_000_000)
    assert (side, dollars(px)) == (buy_no["side"], buy_no["price"])
    assert dollars(430_000_000) == "0.4300" and dollars(431_500_000) == "0.4315"


def test_fill_example_maps_to_leg():
    priv, _ = rsa_pem()
    tr = KalshiTransport("http://127.0.0.1:1/trade-api/v2", "ws://127.0.0.1:1/trade-api/ws/v2",
                         KalshiSigner("5a9e2c1b-0000-4000-8000-00000000abcd", priv))
    tr._leg_by_cid["seqkern-0002"] = "KXBTCZ-26DEC31-T99000"
    f = tr.parse_fill(_j("ws_fill")["msg"], 0)
    assert f.venue_symbol == "KXBTCZ-26DEC31-T99000" and f.side is Side.BUY and f.px_1e9 == 430_000_000
    assert f.qty_1e8 == 35 * 10**8 and not f.maker and f.fee == "0.600500"


def test_price_level_structure_update_carries_the_new_tick():
    msg = {"type": "market_lifecycle_v2", "sid": 14, "seq": 9, "msg": {
        "market_ticker": "KXBTCZ-26DEC31-T99000", "event_type": "price_level_structure_updated",
        "price_level_structure": "deci_cent", "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0010"}]}}
    st = KalshiVenue().parse_market_message(msg, 0)[0]
    assert isinstance(st, MarketStatus) and st.detail["tick_1e9"] == 1_000_000


def test_unknown_symbols_are_typed_errors():
    from seqkern.errors import UnknownSymbol
    from seqkern.venues.hyperliquid.venue import HyperliquidVenue
    from seqkern.venues.polymarket.venue import PolymarketVenue
    for venue, bad in ((KalshiVenue(), "btc-above-99000"), (KalshiVenue(), "nope"),
                       (PolymarketVenue(), "unknown-slug"), (HyperliquidVenue(), "BTC-USDT")):
        with pytest.raises(UnknownSymbol):
            venue.legs(bad)
