"""Crash fuzzing of the compiled venue scanners: mutated venue messages scan to a defined code, never a crash."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile

import pytest

# ---- valid messages in each venue's real format (field names and order as the venues send them) ----

BINANCE = (b'{"e":"depthUpdate","E":1672515782136,"s":"BNBBTC","U":157,"u":160,'
           b'"b":[["0.0024","10"],["0.0023","0"]],"a":[["0.0026","100"],["0.0027","3.5"]]}')
BINANCE_COMBINED = b'{"stream":"bnbbtc@depth@100ms","data":' + BINANCE + b'}'
BINANCE_USDM = (b'{"e":"depthUpdate","E":1571889248277,"T":1571889248276,"s":"BTCUSDT","U":390497796,'
                b'"u":390497878,"pu":390497794,"b":[["7403.89","0.002"],["7403.90","3.906"]],'
                b'"a":[["7405.96","3.340"],["7406.63","4.525"]]}')
OKX = (b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{'
       b'"asks":[["8476.98","415","0","13"],["8477","7","0","2"]],'
       b'"bids":[["8476.97","256","0","12"],["8475.55","101","0","1"]],'
       b'"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]}')
OKX_UPDATE = (b'{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{'
              b'"asks":[["8476.98","0","0","0"]],"bids":[["8476.5","3","0","1"]],'
              b'"ts":"1597026383186","checksum":0,"prevSeqId":123456,"seqId":123457}]}')
BYBIT = (b'{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT",'
         b'"b":[["16493.50","0.006"],["16493.00","0.100"]],"a":[["16611.00","0.029"],["16612.00","0.213"]],'
         b'"u":18521288,"seq":7961638724},"cts":1672304484976}')
BYBIT_SPOT = (b'{"topic":"orderbook.50.BTCUSDT","ts":1687940967466,"type":"delta","data":{"s":"BTCUSDT",'
              b'"b":[["30240.00","0.305"]],"a":[["30248.70","0"]],"u":177400507,"seq":66544703342},'
              b'"cts":1687940967464}')
COINBASE = (b'{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z",'
            b'"sequence_num":0,"events":[{"type":"snapshot","product_id":"BTC-USD","updates":['
            b'{"side":"bid","event_time":"1970-01-01T00:00:00Z","price_level":"21921.73","new_quantity":"0.06317902"},'
            b'{"side":"offer","event_time":"1970-01-01T00:00:00Z","price_level":"21921.74","new_quantity":"1.5"}]}]}')
KRAKEN = (b'{"channel":"book","type":"snapshot","data":[{"symbol":"MATIC/USD",'
          b'"bids":[{"price":0.5666,"qty":4831.75496356},{"price":0.5665,"qty":6658.22734739}],'
          b'"asks":[{"price":0.5668,"qty":4410.79769741},{"price":0.5669,"qty":4655.40412467}],'
          b'"checksum":2439117997,"timestamp":"2023-10-06T17:35:55.440295Z"}]}')
BITGET = (b'{"action":"snapshot","arg":{"instType":"SPOT","channel":"books","instId":"BTCUSDT"},'
          b'"data":[{"asks":[["26274.9","0.0009"],["26275.0","0.0500"]],"bids":[["26274.8","0.0009"],'
          b'["26274.7","0.0050"]],"checksum":0,"seq":123,"ts":"1695710946294"}],"ts":1695710946294}')
CRYPTOCOM = (b'{"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTC_USDT",'
             b'"subscription":"book.BTC_USDT.10","channel":"book","depth":10,"data":[{'
             b'"asks":[["50126.000000","0.400000","2"]],"bids":[["50113.500000","0.400000","3"]],'
             b'"t":1654780033786,"tt":1654780033755,"u":542048017824}]}}')
CRYPTOCOM_UPDATE = (b'{"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTC_USDT",'
                    b'"subscription":"book.update.BTC_USDT.10","channel":"book.update","depth":10,"data":[{'
                    b'"update":{"asks":[["50126.000000","0","0"]],"bids":[["50110.000000","0.100000","1"]]},'
                    b'"t":1654780033790,"tt":1654780033760,"u":542048017830,"pu":542048017824}]}}')
KALSHI = (b'{"type":"orderbook_snapshot","sid":2,"seq":2,"msg":{"market_ticker":"FED-23DEC-T3.00",'
          b'"market_id":"9b0f6b43","yes_dollars_fp":[["0.0800","300.00"],["0.2200","333.00"]],'
          b'"no_dollars_fp":[["0.5400","20.00"],["0.5600","146.00"]]}}')
KALSHI_DELTA = (b'{"type":"orderbook_delta","sid":2,"seq":3,"msg":{"market_ticker":"FED-23DEC-T3.00",'
                b'"market_id":"9b0f6b43","price_dollars":"0.0800","delta_fp":"-54.00","side":"yes",'
                b'"ts_ms":1669149841000}}')
POLY_BOOK = (b'{"event_type":"book","asset_id":"6581861","market":"0xbd31dc8a",'
             b'"bids":[{"price":".48","size":"30"},{"price":".49","size":"20"}],'
             b'"asks":[{"price":".52","size":"25"},{"price":".53","size":"60"}],'
             b'"timestamp":"123456789000","hash":"0x0"}')
POLY_CHANGE = (b'{"market":"0x5f65177b","price_changes":[{"asset_id":"6581861","price":"0.5","size":"200",'
               b'"side":"BUY","hash":"56621a12","best_bid":"0.5","best_ask":"1"}],'
               b'"timestamp":"1757908892351","event_type":"price_change"}')
HYPERLIQUID = (b'{"channel":"l2Book","data":{"coin":"BTC","time":1700000000000,"levels":['
               b'[{"px":"30000.5","sz":"1.2","n":3},{"px":"30000","sz":"0.4","n":1}],'
               b'[{"px":"30001","sz":"0.5","n":1},{"px":"30002.5","sz":"2","n":2}]]}}')

# format key -> (module, format constant name, valid messages)
FORMATS = {
    "binance": ("_wire", "FORMAT_BINANCE", [BINANCE, BINANCE_COMBINED]),
    "binance_usdm": ("_wire", "FORMAT_BINANCE_USDM", [BINANCE_USDM]),
    "okx": ("_wire", "FORMAT_OKX", [OKX, OKX_UPDATE]),
    "bybit": ("_wire", "FORMAT_BYBIT", [BYBIT, BYBIT_SPOT]),
    "coinbase": ("_wire", "FORMAT_COINBASE", [COINBASE]),
    "kraken": ("_wire", "FORMAT_KRAKEN", [KRAKEN]),
    "bitget": ("_wire", "FORMAT_BITGET", [BITGET]),
    "cryptocom": ("_wire", "FORMAT_CRYPTOCOM", [CRYPTOCOM, CRYPTOCOM_UPDATE]),
    "kalshi": ("_predwire", "FORMAT_KALSHI", [KALSHI, KALSHI_DELTA]),
    "polymarket": ("_predwire", "FORMAT_POLYMARKET", [POLY_BOOK, POLY_CHANGE]),
    "hyperliquid": ("_predwire", "FORMAT_HYPERLIQUID", [HYPERLIQUID]),
}

# the colleague's report: a child value with unbalanced brackets, then a lookup on the outer object
BYBIT_REPORTED = (b'{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1687940967466,"data":{"s":"BTCUSDT",'
                  b'"b":[["30240.00","0.305"]],"a":[["30248.70","0"]],"u":123456789,"seq":987654[21}}')

INSERTS = [b"[", b"{", b"]", b"}", b'"', b",", b":", b"0", b"7", b"-", b"null", b"\\"]
GARBAGE = [b"[", b"{", b"[[", b"{}", b"[]", b'{"a":[1,{"b":', b"]]}}", b'"x', b"[1,2", b'{"k":"v"}',
           b"[[[[[[]]]]]]", b"1e999", b"-", b'"\\u00"', b"nul", b"[}", b"{]"]


def _value_spans(msg: bytes) -> list[tuple[int, int]]:
    """Byte spans of the scalar and container values in ``msg`` (a rough tokenizer, enough to aim mutations)."""
    spans = []
    stack: list[int] = []
    i, n = 0, len(msg)
    while i < n:
        c = msg[i:i + 1]
        if c == b'"':
            j = i + 1
            while j < n and msg[j:j + 1] != b'"':
                j += 2 if msg[j:j + 1] == b"\\" else 1
            k = j + 1
            while k < n and msg[k:k + 1] in b" ":
                k += 1
            if not (k < n and msg[k:k + 1] == b":"):
                spans.append((i, j + 1))          # a string value (not a key)
            i = j + 1
            continue
        if c in b"[{":
            stack.append(i)
        elif c in b"]}" and stack:
            spans.append((stack.pop(), i + 1))
        elif c in b"-0123456789tfn":
            j = i
            while j < n and msg[j:j + 1] not in b',]} ':
                j += 1
            spans.append((i, j))
            i = j
            continue
        i += 1
    return spans


def _reorder_keys(msg: bytes, rng: random.Random) -> bytes | None:
    """The message with the keys of one of its objects shuffled (valid JSON again)."""
    try:
        doc = json.loads(msg)
    except ValueError:
        return None
    objs: list[dict] = []

    def walk(x: object) -> None:
        if isinstance(x, dict):
            objs.append(x)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(doc)
    if not objs:
        return None
    target = rng.choice(objs)
    items = list(target.items())
    rng.shuffle(items)
    target.clear()
    target.update(items)
    return json.dumps(doc, separators=(",", ":")).encode()


def _duplicate_key(msg: bytes, rng: random.Random) -> bytes:
    """One ``"key":value`` pair repeated right after itself (duplicate keys are legal JSON text)."""
    keys = [i for i in range(len(msg)) if msg[i:i + 1] == b'"']
    spans = _value_spans(msg)
    for _ in range(8):
        if not keys:
            break
        q = rng.choice(keys)
        end = msg.find(b'"', q + 1)
        if end < 0 or msg[end + 1:end + 2] != b":":
            continue
        vals = [s for s in spans if s[0] == end + 2]
        if not vals:
            continue
        pair = msg[q:vals[0][1]]
        return msg[:vals[0][1]] + b"," + pair + msg[vals[0][1]:]
    return msg + b" "


def mutations(msg: bytes, rng: random.Random, n: int) -> list[bytes]:
    """``n`` seeded mutations of ``msg``: byte flips, inserted brackets/quotes/digits, garbage in the
    place of a value, duplicated keys, reordered keys, deletions, and combinations of them."""
    spans = _value_spans(msg)
    out = []
    for _ in range(n):
        b = bytearray(msg)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            kind = rng.randrange(7)
            if kind == 0 and b:                       # flip a byte
                i = rng.randrange(len(b))
                b[i] = rng.choice((b[i] ^ (1 << rng.randrange(8)), rng.randrange(256)))
            elif kind == 1:                           # insert a structural char, quote or digit
                i = rng.randrange(len(b) + 1)
                b[i:i] = rng.choice(INSERTS)
            elif kind == 2 and spans:                 # nested garbage in the place of a value
                s0, s1 = rng.choice(spans)
                if s1 <= len(b):
                    b[s0:s1] = rng.choice(GARBAGE)
            elif kind == 3:
                b = bytearray(_duplicate_key(bytes(b), rng))
            elif kind == 4:
                r = _reorder_keys(bytes(b), rng)
                if r is not None:
                    b = bytearray(r)
            elif kind == 5 and b:                     # delete a run
                i = rng.randrange(len(b))
                del b[i:i + rng.randrange(1, 6)]
            elif kind == 6 and spans:                 # a value's tail cut: unbalanced child
                s0, s1 = rng.choice(spans)
                if s0 < s1 <= len(b):
                    del b[rng.randrange(s0, s1):s1]
        out.append(bytes(b))
    return out


def build_cases(seed: int, per_message: int, truncate: bool) -> list[tuple[str, bytes]]:
    """(format key, message) cases: every valid message, its truncations, and seeded mutations."""
    rng = random.Random(seed)
    cases: list[tuple[str, bytes]] = [("bybit", BYBIT_REPORTED)]
    for key, (_, _, msgs) in FORMATS.items():
        for m in msgs:
            cases.append((key, m))
            if truncate:
                cases.extend((key, m[:i]) for i in range(len(m)))
            cases.extend((key, x) for x in mutations(m, rng, per_message))
    return cases


# ---- the worker: scans and applies every case in a subprocess, reporting progress on fd 3 ----

def _check_depth(mod, dec, book_cls, msg: bytes) -> None:
    rc = dec.scan(msg)
    assert rc in (mod.OTHER, mod.DEPTH, mod.BAD_JSON, mod.BAD_SHAPE, mod.TOO_MANY_LEVELS, mod.STREAM_GAP), rc
    if rc != mod.DEPTH:
        assert dec.n_levels == 0
        assert dec.apply(book_cls(100)) == mod.NOT_DEPTH
        return
    n = dec.n_levels
    assert 0 <= n <= 4096
    book = book_cls(100, depth_ticks=1 << 20)
    applied = dec.apply_snapshot(book) if dec.is_snapshot else dec.apply(book)
    assert applied in (mod.APPLIED, mod.BAD_LEVEL, mod.CHECKSUM), applied
    if applied == mod.APPLIED:
        assert dec.n_bids + dec.n_asks <= n
        _check_book(book, n)


def _check_book(book, n: int) -> None:
    bp, bq, ap, aq = book.top(n + 1)
    assert len(bp) + len(ap) <= n
    assert all(q > 0 for q in bq) and all(q > 0 for q in aq)
    assert all(p > 0 for p in bp) and all(p > 0 for p in ap)
    assert all(bp[i] > bp[i + 1] for i in range(len(bp) - 1))
    assert all(ap[i] < ap[i + 1] for i in range(len(ap) - 1))


def _check_pred(mod, dec, book_cls, msg: bytes) -> None:
    rc = dec.scan(msg)
    assert rc in (mod.OTHER, mod.DELTA, mod.SNAPSHOT, mod.ARRAY, mod.BAD_JSON, mod.BAD_SHAPE,
                  mod.TOO_MANY_LEVELS), rc
    if rc not in (mod.DELTA, mod.SNAPSHOT):
        return
    n = dec.n_levels
    assert 0 <= n <= 4096
    levels = dec.levels()
    assert len(levels) == n
    if dec.format == mod.FORMAT_KALSHI:
        yes, no = book_cls(100_000, depth_ticks=1 << 14), book_cls(100_000, depth_ticks=1 << 14)
        applied = dec.apply_kalshi(yes, no)
        assert applied in (mod.APPLIED, mod.BAD_LEVEL), applied
        if applied == mod.APPLIED:
            _check_book(yes, 2 * n + 2)
            _check_book(no, 2 * n + 2)
    elif rc == mod.SNAPSHOT:
        book = book_cls(100_000, depth_ticks=1 << 14)
        applied = dec.apply_book(book)
        assert applied in (mod.APPLIED, mod.BAD_LEVEL), applied
        if applied == mod.APPLIED:
            _check_book(book, n)
    else:
        books = {b"6581861": book_cls(100_000, depth_ticks=1 << 14)}
        applied = dec.apply_changes(books)
        assert applied in (mod.APPLIED, mod.BAD_LEVEL), applied
        if applied == mod.APPLIED:
            _check_book(books[b"6581861"], n)


def worker(path: str, progress: int) -> int:
    """Scan + apply every case of the file at ``path``; write each case's index to fd ``progress`` first."""
    import importlib

    from seqkern._book import L2Book

    with open(path, "rb") as f:
        cases = json.load(f)
    decoders: dict[str, tuple[object, object]] = {}
    for i, (key, hexmsg) in enumerate(cases):
        os.write(progress, b"%d\n" % i)
        modname, const, _ = FORMATS[key]
        mod = importlib.import_module("seqkern." + modname)
        if key not in decoders:
            cls = mod.DepthDecoder if modname == "_wire" else mod.PredBookDecoder
            decoders[key] = (mod, cls(getattr(mod, const)))
        mod, dec = decoders[key]
        msg = bytes.fromhex(hexmsg)
        if modname == "_wire":
            dec.reset_stream()
            _check_depth(mod, dec, L2Book, msg)
        else:
            _check_pred(mod, dec, L2Book, msg)
    os.write(progress, b"done\n")
    return 0


def run_cases(cases: list[tuple[str, bytes]], timeout: float = 300.0) -> None:
    """Run ``cases`` in a subprocess; a crash or a failed check fails with the case that caused it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cases.json")
        with open(path, "w") as f:
            json.dump([(k, m.hex()) for k, m in cases], f)
        r_fd, w_fd = os.pipe()
        proc = subprocess.Popen([sys.executable, __file__, "--worker", path, str(w_fd)], pass_fds=(w_fd,),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(w_fd)
        with os.fdopen(r_fd, "rb") as r:
            progress = r.read().split()
        _, err = proc.communicate(timeout=timeout)
    last = progress[-1] if progress else b""
    if proc.returncode == 0 and last == b"done":
        return
    idx = int(progress[-1]) if progress and last != b"done" else -1
    key, msg = cases[idx] if idx >= 0 else ("?", b"")
    how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
    pytest.fail(f"scanner worker died ({how}) on case {idx} [{key}] {msg[:300]!r}\n"
                f"{err.decode(errors='replace')[-2000:]}")


def test_mutations_cover_the_formats() -> None:
    cases = build_cases(seed=1, per_message=50, truncate=True)
    assert {k for k, _ in cases} == set(FORMATS)
    valid = {m for _, (_, _, msgs) in FORMATS.items() for m in msgs}
    assert sum(1 for _, m in cases if m not in valid) > 4000


def test_valid_messages_scan_as_books() -> None:
    """The fuzz seeds are real-format book messages (so the mutations start from the parsed path)."""
    import importlib

    for key, (modname, const, msgs) in FORMATS.items():
        mod = importlib.import_module("seqkern." + modname)
        cls = mod.DepthDecoder if modname == "_wire" else mod.PredBookDecoder
        dec = cls(getattr(mod, const))
        for m in msgs:
            rc = dec.scan(m)
            want = (mod.DEPTH,) if modname == "_wire" else (mod.DELTA, mod.SNAPSHOT)
            assert rc in want, (key, m, rc)
            assert dec.n_levels > 0


def test_reported_bybit_frame_is_bad_shape() -> None:
    from seqkern import _wire

    dec = _wire.DepthDecoder(_wire.FORMAT_BYBIT)
    assert dec.scan(BYBIT_REPORTED) in (_wire.BAD_JSON, _wire.BAD_SHAPE)


def test_scanners_never_crash() -> None:
    """Every valid message truncated at every byte, plus 300 seeded mutations each (~10k cases)."""
    run_cases(build_cases(seed=20240611, per_message=300, truncate=True))


@pytest.mark.slow
def test_scanners_never_crash_long() -> None:
    run_cases(build_cases(seed=7, per_message=6000, truncate=True), timeout=1800.0)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        sys.exit(worker(sys.argv[2], int(sys.argv[3])))
    if len(sys.argv) == 4 and sys.argv[1] == "--dump":
        # binary case file for a standalone harness: u8 format id, u32 length, bytes
        import struct

        ids = {"binance": 1, "binance_usdm": 2, "okx": 3, "bybit": 4, "coinbase": 10, "kraken": 11,
               "bitget": 12, "cryptocom": 13, "kalshi": 20, "polymarket": 21, "hyperliquid": 22}
        with open(sys.argv[2], "wb") as f:
            for k, m in build_cases(seed=20240611, per_message=int(sys.argv[3]), truncate=True):
                f.write(struct.pack("<BI", ids[k], len(m)) + m)
        sys.exit(0)
    sys.exit(2)
