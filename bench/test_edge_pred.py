"""Prediction / on-chain edges: raw book messages to books, and order signing, each beside a peer.

Books. Subject: seqkern._predwire (simdjson on-demand, parse_decimal, L2Book.set_level in C; Kalshi
writes both legs from one message). Peer: what a Python developer would write: orjson.loads, float
prices, the `order-book` C library, the same sequence check and the same YES/NO mirroring.
Signing. Subject: seqkern's signers (precomputed domain, coincurve, compiled keccak). Peer: the
venue's official Python SDK signing the same order (hyperliquid-python-sdk, py-clob-client-v2,
installed with the bench extra); the signatures are asserted byte-identical before timing.
"""

from __future__ import annotations

import random

import orjson
import pytest
from order_book import OrderBook
from seqkern._book import L2Book
from seqkern._fixed import format_px, format_qty
from seqkern._predwire import (
    APPLIED,
    FORMAT_HYPERLIQUID,
    FORMAT_KALSHI,
    FORMAT_POLYMARKET,
    PredBookDecoder,
)

N_MSGS = 20_000
ONE = 1_000_000_000


def _kalshi_stream(seed: int = 21) -> tuple[bytes, list[bytes]]:
    """A snapshot and N_MSGS single-level signed deltas (the venue sends one level per delta)."""
    rng = random.Random(seed)
    yes = {p: rng.randint(1, 500) * 100 for p in range(20, 50)}      # cents -> contracts x100 (2 dp)
    no = {p: rng.randint(1, 500) * 100 for p in range(51, 80)}
    snap = {"type": "orderbook_snapshot", "sid": 1, "seq": 1, "msg": {
        "market_ticker": "KXBTCZ-26DEC31-T99000",
        "yes_dollars_fp": [[f"0.{p:02d}00", format_qty(q * 10**6, 2)] for p, q in sorted(yes.items())],
        "no_dollars_fp": [[f"0.{p:02d}00", format_qty(q * 10**6, 2)] for p, q in sorted(no.items())]}}
    out = []
    for k in range(N_MSGS):
        side = rng.random() < 0.5
        book = yes if side else no
        p = rng.choice(list(book))
        d = rng.randint(-book[p] + 1, 300)
        book[p] += d
        out.append(orjson.dumps({"type": "orderbook_delta", "sid": 1, "seq": k + 2, "msg": {
            "market_ticker": "KXBTCZ-26DEC31-T99000", "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1",
            "price_dollars": f"0.{p:02d}00", "delta_fp": format_qty(d * 10**6, 2), "side": "yes" if side else "no",
            "ts_ms": 1_767_225_600_000 + k}}))
    return orjson.dumps(snap), out


@pytest.fixture(scope="module")
def kalshi():
    return _kalshi_stream()


def test_pred_kalshi_bytes_to_books_seqkern(benchmark, kalshi):
    snap, msgs = kalshi
    benchmark.extra_info["ops"] = N_MSGS
    dec = PredBookDecoder(FORMAT_KALSHI)

    def setup():
        y, n = L2Book(100_000, 16384), L2Book(100_000, 16384)
        markets = {b"KXBTCZ-26DEC31-T99000": (y, n, None)}
        dec.feed_kalshi(snap, markets)
        return (markets,), {}

    def run(markets):
        feed = dec.feed_kalshi   # the runner's path: scan + market lookup + both legs, one call
        last = 1
        for raw in msgs:
            feed(raw, markets)
            if dec.seq != last + 1 or dec.applied != APPLIED:
                raise AssertionError("sequence broken")
            last = dec.seq

    benchmark.pedantic(run, setup=setup, rounds=11, warmup_rounds=1)


def test_pred_kalshi_bytes_to_books_plain(benchmark, kalshi):
    snap, msgs = kalshi
    benchmark.extra_info["ops"] = N_MSGS

    def setup():
        yes, no = OrderBook(), OrderBook()
        m = orjson.loads(snap)["msg"]
        for p, q in m["yes_dollars_fp"]:
            yes.bids[float(p)] = float(q)
            no.asks[round(1 - float(p), 4)] = float(q)
        for p, q in m["no_dollars_fp"]:
            no.bids[float(p)] = float(q)
            yes.asks[round(1 - float(p), 4)] = float(q)
        return (yes, no), {}

    def run(yes, no):
        last = 1
        for raw in msgs:
            o = orjson.loads(raw)
            if o["seq"] != last + 1:
                raise AssertionError("sequence broken")
            last = o["seq"]
            m = o["msg"]
            p, d = float(m["price_dollars"]), float(m["delta_fp"])
            own, mirror = (yes, no) if m["side"] == "yes" else (no, yes)
            q = own.bids[p] + d if p in own.bids else d
            if q > 0:
                own.bids[p] = q
                mirror.asks[round(1 - p, 4)] = q
            else:
                del own.bids[p]
                del mirror.asks[round(1 - p, 4)]

    benchmark.pedantic(run, setup=setup, rounds=11, warmup_rounds=1)


def _poly_stream(seed: int = 22) -> tuple[bytes, bytes, list[bytes]]:
    rng = random.Random(seed)
    yes_t, no_t = "6581861965756881347434186865230894207980491928738042219289221113140879312542", \
        "5211431950124591551605510604688420996992612748282795467444384642781381322242"

    def lv(px: int, q: int) -> dict:
        return {"price": format_px(px), "size": format_qty(q)}

    books = []
    for tok in (yes_t, no_t):
        books.append(orjson.dumps({"event_type": "book", "asset_id": tok, "market": "0xbd31", "timestamp": "1",
                                   "bids": [lv(p * 10_000_000, 100 * 10**8) for p in range(30, 50)],
                                   "asks": [lv(p * 10_000_000, 100 * 10**8) for p in range(51, 71)],
                                   "hash": "0x1"}))
    out = []
    for k in range(N_MSGS):
        p = rng.randint(30, 70) * 10_000_000
        q = rng.randint(0, 400) * 10**8
        side = "BUY" if p < 500_000_000 else "SELL"
        mside = "SELL" if side == "BUY" else "BUY"
        out.append(orjson.dumps({"event_type": "price_change", "market": "0xbd31", "timestamp": str(k), "price_changes": [
            {"asset_id": yes_t, "price": format_px(p), "size": format_qty(q), "side": side, "hash": "0x5662",
             "best_bid": "0.49", "best_ask": "0.51"},
            {"asset_id": no_t, "price": format_px(ONE - p), "size": format_qty(q), "side": mside, "hash": "0x1895",
             "best_bid": "0.49", "best_ask": "0.51"}]}))
    return books[0], books[1], out


@pytest.fixture(scope="module")
def poly():
    return _poly_stream()


def test_pred_polymarket_bytes_to_books_seqkern(benchmark, poly):
    yb, nb, msgs = poly
    benchmark.extra_info["ops"] = N_MSGS
    dec = PredBookDecoder(FORMAT_POLYMARKET)

    def setup():
        books = {}
        for raw in (yb, nb):
            b = L2Book(100_000, 16384)
            dec.scan(raw)
            dec.apply_book(b)
            books[dec.symbol_bytes()] = b
        return (books,), {}

    def run(books):
        scan, apply = dec.scan, dec.apply_changes
        for raw in msgs:
            scan(raw)
            if apply(books) != APPLIED:
                raise AssertionError("bad level")

    benchmark.pedantic(run, setup=setup, rounds=11, warmup_rounds=1)


def test_pred_polymarket_bytes_to_books_plain(benchmark, poly):
    yb, nb, msgs = poly
    benchmark.extra_info["ops"] = N_MSGS

    def setup():
        books = {}
        for raw in (yb, nb):
            o = orjson.loads(raw)
            ob = OrderBook()
            for lv in o["bids"]:
                ob.bids[float(lv["price"])] = float(lv["size"])
            for lv in o["asks"]:
                ob.asks[float(lv["price"])] = float(lv["size"])
            books[o["asset_id"]] = ob
        return (books,), {}

    def run(books):
        for raw in msgs:
            for ch in orjson.loads(raw)["price_changes"]:
                ob = books.get(ch["asset_id"])
                if ob is None:
                    continue
                side = ob.bids if ch["side"] == "BUY" else ob.asks
                p, q = float(ch["price"]), float(ch["size"])
                if q > 0:
                    side[p] = q
                elif p in side:
                    del side[p]

    benchmark.pedantic(run, setup=setup, rounds=11, warmup_rounds=1)


def _hl_stream(seed: int = 23) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    mid = 60_000
    for k in range(N_MSGS // 10):
        mid += rng.randint(-3, 3)
        lv = [[{"px": str(mid - i), "sz": format_qty(rng.randint(1, 5000) * 1000), "n": 1} for i in range(1, 21)],
              [{"px": str(mid + i), "sz": format_qty(rng.randint(1, 5000) * 1000), "n": 1} for i in range(1, 21)]]
        out.append(orjson.dumps({"channel": "l2Book", "data": {"coin": "BTC", "time": 1_767_225_600_000 + k,
                                                                "levels": lv}}))
    return out


@pytest.fixture(scope="module")
def hl():
    return _hl_stream()


def test_pred_hyperliquid_bytes_to_book_seqkern(benchmark, hl):
    benchmark.extra_info["ops"] = len(hl)
    dec = PredBookDecoder(FORMAT_HYPERLIQUID)

    def setup():
        return (L2Book(100_000_000, 1 << 17),), {}

    def run(book):
        scan, apply = dec.scan, dec.apply_book
        for raw in hl:
            scan(raw)
            if apply(book) != APPLIED:
                raise AssertionError("bad level")

    benchmark.pedantic(run, setup=setup, rounds=11, warmup_rounds=1)


def test_pred_hyperliquid_bytes_to_book_plain(benchmark, hl):
    benchmark.extra_info["ops"] = len(hl)

    def run():
        ob = None
        for raw in hl:
            d = orjson.loads(raw)["data"]
            ob = OrderBook()
            for lv in d["levels"][0]:
                ob.bids[float(lv["px"])] = float(lv["sz"])
            for lv in d["levels"][1]:
                ob.asks[float(lv["px"])] = float(lv["sz"])
        return ob

    benchmark.pedantic(run, rounds=11, warmup_rounds=1)


# ---- signing -----------------------------------------------------------------------------------

SDK_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
N_SIGN = 300


def _hl_action(i: int) -> dict:
    return {"type": "order", "orders": [{"a": 0, "b": True, "p": str(60_000 + i % 50), "s": "0.01", "r": False,
                                         "t": {"limit": {"tif": "Gtc"}}}], "grouping": "na"}


def test_sign_hyperliquid_seqkern(benchmark):
    from seqkern.venues.hyperliquid.signing import L1Signer
    signer = L1Signer(SDK_KEY)
    benchmark.extra_info["ops"] = N_SIGN
    actions = [_hl_action(i) for i in range(N_SIGN)]

    def run():
        for i, a in enumerate(actions):
            signer.sign_action(a, 1_767_225_600_000 + i)

    benchmark.pedantic(run, rounds=11, warmup_rounds=1)


def test_sign_hyperliquid_sdk(benchmark):
    sdk = pytest.importorskip("hyperliquid.utils.signing")
    import eth_account

    from seqkern.venues.hyperliquid.signing import L1Signer
    wallet = eth_account.Account.from_key(SDK_KEY)
    actions = [_hl_action(i) for i in range(N_SIGN)]
    ours = L1Signer(SDK_KEY)
    for i in (0, 7, 299):   # byte-identical signatures before timing
        assert sdk.sign_l1_action(wallet, actions[i], None, 1_767_225_600_000 + i, None, True) == \
            ours.sign_action(actions[i], 1_767_225_600_000 + i)
    benchmark.extra_info["ops"] = N_SIGN

    def run():
        for i, a in enumerate(actions):
            sdk.sign_l1_action(wallet, a, None, 1_767_225_600_000 + i, None, True)

    benchmark.pedantic(run, rounds=7, warmup_rounds=1)


def _poly_order(i: int):
    from seqkern.venues.polymarket.signing import OrderV2, PolySigner
    addr = PolySigner(SDK_KEY).address
    return OrderV2(1000 + i, addr, addr, 65818619657568813474341868652308942079804919287380422192892211131408793125422,
                   52_000_000 + i, 100_000_000, 0, 0, 1_767_225_600_000 + i)


def test_sign_polymarket_seqkern(benchmark):
    from seqkern.venues.polymarket.signing import PolySigner
    signer = PolySigner(SDK_KEY)
    orders = [_poly_order(i) for i in range(N_SIGN)]
    benchmark.extra_info["ops"] = N_SIGN

    def run():
        for o in orders:
            signer.sign_order(o)

    benchmark.pedantic(run, rounds=11, warmup_rounds=1)


def test_sign_polymarket_sdk(benchmark):
    pytest.importorskip("py_clob_client_v2")
    from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
    from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2
    from py_clob_client_v2.signer import Signer

    from seqkern.venues.polymarket.signing import EXCHANGE_V2, PolySigner
    orders = [_poly_order(i) for i in range(N_SIGN)]
    salts = iter([])

    def salt():
        return str(next(salts))

    builder = ExchangeOrderBuilderV2(EXCHANGE_V2, 137, Signer(SDK_KEY, 137), generate_salt=salt)
    datas = [OrderDataV2(maker=o.maker, tokenId=str(o.token_id), makerAmount=str(o.maker_amount),
                         takerAmount=str(o.taker_amount), side=0, signer=o.signer, signatureType=0,
                         timestamp=str(o.timestamp)) for o in orders]
    ours = PolySigner(SDK_KEY)
    salts = iter([o.salt for o in orders])
    for o, d in zip(orders[:3], datas[:3], strict=True):   # byte-identical signatures before timing
        assert builder.build_signed_order(d).signature == ours.sign_order(o)
    benchmark.extra_info["ops"] = N_SIGN

    def setup():
        nonlocal salts
        salts = iter([o.salt for o in orders])
        return (), {}

    def run():
        for d in datas:
            builder.build_signed_order(d)

    benchmark.pedantic(run, setup=setup, rounds=7, warmup_rounds=1)


def _kalshi_keys():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    r = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    e = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return r.decode(), e.decode()


@pytest.mark.parametrize("kind", ["rsa_pss", "ed25519"])
def test_sign_kalshi_request(benchmark, kind):
    """Kalshi request signing cost (reported; RSA-PSS 2048 beside Ed25519 on the same pre-sign text)."""
    from seqkern.venues.kalshi.auth import KalshiSigner
    r, e = _kalshi_keys()
    s = KalshiSigner("5a9e2c1b-0000-4000-8000-00000000abcd", r if kind == "rsa_pss" else e)
    benchmark.extra_info["ops"] = N_SIGN

    def run():
        for i in range(N_SIGN):
            s.headers("POST", "/trade-api/v2/portfolio/events/orders", 1_767_225_600_000 + i)

    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
