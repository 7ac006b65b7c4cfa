"""CC-LINK speed: encode/decode per frame beside struct and msgspec, batch decode, and frames
per second over one loopback TCP link (sender in another process).

    .venv/bin/python -m pytest bench/test_cclink.py --benchmark-json=var/bench-cclink.json

Per-frame figures are the benchmark median divided by the frames per call (in extra_info).
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing as mp
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import numpy as np
import pytest
import uvloop

from seqkern import _cclink as C
from seqkern.cclink import CcLinkServer, Kind, LinkConfig

SEED = 20261124
N_BBO = 10_000
N_L2 = 2_000
LEVELS = 20                      # per side

HDR = "<HBBIBBHIQqq"             # docs/cclink.md: the 40-byte header
BBO_S = struct.Struct(HDR + "IIqqqq")
L2_S = struct.Struct(HDR + "IHHQ" + "qq" * (2 * LEVELS))
HDR_S = struct.Struct(HDR)


class BboRecord(msgspec.Struct, array_like=True):
    kind: int
    flags: int
    venue_slot: int
    seq: int
    ts_venue_ns: int
    ts_local_ns: int
    symbol_id: int
    bid_px_1e9: int
    bid_qty_1e8: int
    ask_px_1e9: int
    ask_qty_1e8: int


class L2Record(msgspec.Struct, array_like=True):
    kind: int
    flags: int
    venue_slot: int
    seq: int
    ts_venue_ns: int
    ts_local_ns: int
    symbol_id: int
    update_id: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


@pytest.fixture(autouse=True)
def no_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def bbo_rows(n: int) -> list[tuple[int, ...]]:
    rng = np.random.default_rng(SEED)
    px = rng.integers(60_000 * 10**9, 61_000 * 10**9, n)
    qty = rng.integers(1, 10**9, (n, 2))
    ts = 1_795_000_000_000_000_000 + np.arange(n) * 1000
    return [(int(i % 64), int(px[i]), int(qty[i, 0]), int(px[i]) + 10**7, int(qty[i, 1]),
             int(ts[i]), int(ts[i]) + 500) for i in range(n)]


def l2_rows(n: int) -> list[tuple[int, int, np.ndarray, np.ndarray, int, int]]:
    rng = np.random.default_rng(SEED + 1)
    out = []
    for i in range(n):
        mid = 60_000 * 10**9 + int(rng.integers(-10**12, 10**12))
        ticks = np.arange(1, LEVELS + 1, dtype=np.int64) * 10**7
        bids = np.stack([mid - ticks, rng.integers(0, 10**9, LEVELS)], axis=1).astype(np.int64)
        asks = np.stack([mid + ticks, rng.integers(0, 10**9, LEVELS)], axis=1).astype(np.int64)
        out.append((i % 64, i, np.ascontiguousarray(bids), np.ascontiguousarray(asks),
                    1_795_000_000_000_000_000 + i, 1_795_000_000_000_000_500 + i))
    return out


# ---------------------------------------------------------------------------------------------
# BBO

def encode_bbo_seqkern(rows: list, enc: C.Encoder) -> bytes:
    bbo = enc.bbo
    for sym, bp, bq, ap, aq, tv, tl in rows:
        bbo(sym, bp, bq, ap, aq, tv, tl)
    return enc.take()


def encode_bbo_struct(rows: list, buf: bytearray) -> bytes:
    pack = BBO_S.pack_into
    off = 0
    for seq, (sym, bp, bq, ap, aq, tv, tl) in enumerate(rows, 1):
        pack(buf, off, 0x4B43, 1, 3, 40, 0, 3, 0, 0, seq, tv, tl, sym, 0, bp, bq, ap, aq)
        off += 80
    return bytes(buf[:off])


def encode_bbo_msgspec(rows: list, enc: msgspec.msgpack.Encoder) -> list[bytes]:
    out = []
    e = enc.encode
    for seq, (sym, bp, bq, ap, aq, tv, tl) in enumerate(rows, 1):
        out.append(e(BboRecord(3, 0, 3, seq, tv, tl, sym, bp, bq, ap, aq)))
    return out


@pytest.mark.parametrize("impl", ["seqkern", "struct", "msgspec"])
def test_cclink_encode_bbo(benchmark: Any, impl: str) -> None:
    rows = bbo_rows(N_BBO)
    if impl == "seqkern":
        enc = C.Encoder(capacity=N_BBO * 80 + 64, venue_slot=3)

        def fn() -> Any:
            enc.seq = 0
            return encode_bbo_seqkern(rows, enc)
    elif impl == "struct":
        buf = bytearray(N_BBO * 80)

        def fn() -> Any:
            return encode_bbo_struct(rows, buf)
    else:
        menc = msgspec.msgpack.Encoder()

        def fn() -> Any:
            return encode_bbo_msgspec(rows, menc)
    out = benchmark.pedantic(fn, rounds=30, warmup_rounds=3)
    if impl != "msgspec":
        assert out == encode_bbo_struct(rows, bytearray(N_BBO * 80))
    benchmark.extra_info["frames_per_call"] = N_BBO


@pytest.mark.parametrize("impl", ["seqkern", "seqkern-batch", "struct", "msgspec"])
def test_cclink_decode_bbo(benchmark: Any, impl: str) -> None:
    rows = bbo_rows(N_BBO)
    data = encode_bbo_struct(rows, bytearray(N_BBO * 80))
    if impl == "seqkern":
        def fn() -> Any:
            return C.Decoder().feed(data)
    elif impl == "seqkern-batch":
        out = np.empty(N_BBO, dtype=C.BATCH_DTYPE)

        def fn() -> Any:
            return C.decode_batch(data, out=out)[0]
    elif impl == "struct":
        unpack = BBO_S.unpack_from
        n = len(data)

        def fn() -> Any:
            return [unpack(data, off) for off in range(0, n, 80)]
    else:
        packed = msgspec.msgpack.encode(
            [BboRecord(3, 0, 3, i + 1, r[5], r[6], r[0], r[1], r[2], r[3], r[4])
             for i, r in enumerate(rows)])
        dec = msgspec.msgpack.Decoder(list[BboRecord])

        def fn() -> Any:
            return dec.decode(packed)
    res = benchmark.pedantic(fn, rounds=30, warmup_rounds=3)
    assert len(res) == N_BBO
    benchmark.extra_info["frames_per_call"] = N_BBO


# ---------------------------------------------------------------------------------------------
# 20-level L2_DELTA (20 bids + 20 asks)

@pytest.mark.parametrize("impl", ["seqkern", "struct", "msgspec"])
def test_cclink_encode_l2_delta(benchmark: Any, impl: str) -> None:
    rows = l2_rows(N_L2)
    if impl == "seqkern":
        enc = C.Encoder(capacity=N_L2 * L2_S.size + 64)

        def fn() -> Any:
            enc.seq = 0
            l2 = enc.l2_delta
            for sym, uid, bids, asks, tv, tl in rows:
                l2(sym, uid, bids, asks, tv, tl)
            return enc.take()
    elif impl == "struct":
        flat = [(sym, uid, tuple(bids.ravel().tolist()) + tuple(asks.ravel().tolist()), tv, tl)
                for sym, uid, bids, asks, tv, tl in rows]
        buf = bytearray(N_L2 * L2_S.size)
        plen = L2_S.size - 40

        def fn() -> Any:
            pack = L2_S.pack_into
            off = 0
            for seq, (sym, uid, lv, tv, tl) in enumerate(flat, 1):
                pack(buf, off, 0x4B43, 1, 5, plen, 0, 3, 0, 0, seq, tv, tl, sym, LEVELS, LEVELS,
                     uid, *lv)
                off += L2_S.size
            return bytes(buf)
    else:
        recs = [(sym, uid, [tuple(x) for x in bids.tolist()], [tuple(x) for x in asks.tolist()],
                 tv, tl) for sym, uid, bids, asks, tv, tl in rows]
        menc = msgspec.msgpack.Encoder()

        def fn() -> Any:
            e = menc.encode
            return [e(L2Record(5, 0, 3, seq, tv, tl, sym, uid, b, a))
                    for seq, (sym, uid, b, a, tv, tl) in enumerate(recs, 1)]
    out = benchmark.pedantic(fn, rounds=20, warmup_rounds=2)
    if impl == "seqkern":
        assert len(out) == N_L2 * L2_S.size
    benchmark.extra_info["frames_per_call"] = N_L2


@pytest.mark.parametrize("impl", ["seqkern", "struct", "msgspec"])
def test_cclink_decode_l2_delta(benchmark: Any, impl: str) -> None:
    rows = l2_rows(N_L2)
    enc = C.Encoder(capacity=N_L2 * L2_S.size + 64)
    for sym, uid, bids, asks, tv, tl in rows:
        enc.l2_delta(sym, uid, bids, asks, tv, tl)
    data = enc.take()
    if impl == "seqkern":
        def fn() -> Any:
            frames = C.Decoder().feed(data)
            return [(f.bids, f.asks) for f in frames]   # levels as (n, 2) int64 views
    elif impl == "struct":
        unpack = L2_S.unpack_from
        size = L2_S.size

        def fn() -> Any:
            return [unpack(data, off) for off in range(0, len(data), size)]
    else:
        packed = msgspec.msgpack.encode(
            [L2Record(5, 0, 3, i + 1, tv, tl, sym, uid, [tuple(x) for x in b.tolist()],
                      [tuple(x) for x in a.tolist()])
             for i, (sym, uid, b, a, tv, tl) in enumerate(rows)])
        dec = msgspec.msgpack.Decoder(list[L2Record])

        def fn() -> Any:
            return dec.decode(packed)
    res = benchmark.pedantic(fn, rounds=20, warmup_rounds=2)
    assert len(res) == N_L2
    benchmark.extra_info["frames_per_call"] = N_L2


# ---------------------------------------------------------------------------------------------
# Batch decode of a 64 KiB buffer of mixed frames

def mixed_buffer(limit: int = 64 * 1024) -> bytes:
    """Seeded mix: 60% BBO, 20% TRADE, 15% 5x5-level L2_DELTA, 2.5% FILL, 2.5% ORDER_ACK."""
    rng = np.random.default_rng(SEED + 2)
    enc = C.Encoder()
    whole = 0
    while True:
        r = rng.random()
        sym = int(rng.integers(1, 64))
        px = int(rng.integers(10**12, 10**14))
        if r < 0.6:
            enc.bbo(sym, px, 10**8, px + 10**7, 2 * 10**8, 1, 2)
        elif r < 0.8:
            enc.trade(sym, 1 + int(r * 10) % 2, px, 10**7, int(rng.integers(1, 10**12)), 1, 2)
        elif r < 0.95:
            lv = np.array([[px - k * 10**7, 10**8 + k] for k in range(1, 6)], dtype=np.int64)
            enc.l2_delta(sym, int(rng.integers(1, 10**9)), lv, lv, 1, 2)
        elif r < 0.975:
            enc.fill(symbol_id=sym, side=1, px_1e9=px, qty_1e8=10**6, fee_1e9=1000,
                     fill_id=7, client_order_id="graph:g1:n1:1", venue_order_id="1234567890",
                     ts_local_ns=2)
        else:
            enc.order(C.ORDER_ACK, symbol_id=sym, side=2, order_type=1, tif=1, px_1e9=px,
                      qty_1e8=10**6, request_id=9, client_order_id="graph:g1:n2:1",
                      venue_order_id="0x9f", status=2, ts_local_ns=2)
        if len(enc) > limit:
            return enc.take()[:whole]        # whole frames only
        whole = len(enc)


ORDER_FIXED = struct.Struct("<IBBBBqqQqqBBBBHBBBBHI")
FILL_FIXED = struct.Struct("<IBBBBqqqQQ")
TRADE_P = struct.Struct("<IB3xqqQ")
BBO_P = struct.Struct("<IIqqqq")
L2_FIXED = struct.Struct("<IHHQ")


def struct_loop(data: bytes) -> list[tuple]:
    """The peer: the same validation-free walk with struct.unpack_from, one tuple per frame."""
    out = []
    off = 0
    n = len(data)
    hdr = HDR_S.unpack_from
    lv_cache: dict[int, struct.Struct] = {}
    while off + 40 <= n:
        h = hdr(data, off)
        plen = h[3]
        kind = h[2]
        p = off + 40
        if kind == 3:
            out.append(h + BBO_P.unpack_from(data, p))
        elif kind == 6:
            out.append(h + TRADE_P.unpack_from(data, p))
        elif kind == 5 or kind == 4:
            sym, nb, na, uid = L2_FIXED.unpack_from(data, p)
            s = lv_cache.get(nb + na)
            if s is None:
                s = lv_cache[nb + na] = struct.Struct("<" + "qq" * (nb + na))
            out.append((*h, sym, nb, na, uid, *s.unpack_from(data, p + 16)))
        elif kind == 7:
            f = FILL_FIXED.unpack_from(data, p)
            cl, vl = f[3], f[4]
            out.append(h + f + (data[p + 48:p + 48 + cl].decode(),
                                data[p + 48 + cl:p + 48 + cl + vl].decode()))
        else:
            o = ORDER_FIXED.unpack_from(data, p)
            cl, vl = o[15], o[16]
            out.append(h + o + (data[p + 64:p + 64 + cl].decode(),
                                data[p + 64 + cl:p + 64 + cl + vl].decode()))
        off = p + plen
    return out


def test_mixed_buffer_is_what_it_says() -> None:
    data = mixed_buffer()
    frames = C.decode_frames(data, check_seq=True)
    kinds = {f.kind for f in frames}
    assert {C.BBO, C.TRADE, C.L2_DELTA} <= kinds and len(data) <= 64 * 1024
    assert len(struct_loop(data)) == len(frames)


@pytest.mark.parametrize("impl", ["seqkern", "struct"])
def test_cclink_decode_batch(benchmark: Any, impl: str) -> None:
    data = mixed_buffer()
    n_frames = len(C.decode_frames(data))
    if impl == "seqkern":
        out = np.empty(n_frames + 1, dtype=C.BATCH_DTYPE)

        def fn() -> Any:
            return C.decode_batch(data, out=out)[0]
    else:
        def fn() -> Any:
            return struct_loop(data)
    res = benchmark.pedantic(fn, rounds=200, warmup_rounds=10)
    assert len(res) == n_frames
    benchmark.extra_info["frames_per_call"] = n_frames
    benchmark.extra_info["bytes"] = len(data)


# ---------------------------------------------------------------------------------------------
# Frames per second over one loopback TCP link (sender in its own process)

N_LINK = 1_000_000


def _sender(conn: Any, n: int, hello: bool) -> None:
    """Sender process: announces itself ready, waits for the port, streams n BBO frames."""
    enc = C.Encoder(capacity=1 << 20)
    conn.send("ready")
    port = conn.recv()
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    if hello:
        enc.hello("bench-edge", 0, 1, heartbeat_ms=1000)
        for sym in range(64):
            enc.pair_spec(sym, f"S{sym}-USDT", f"S{sym}USDT", 0, 1, 10**7, 10**3)
        s.sendall(enc.take())
    bbo = enc.bbo
    sent = 0
    px = 60_000 * 10**9
    while sent < n:
        k = min(8192, n - sent)
        for i in range(k):
            bbo(i & 63, px + i, 10**8, px + i + 10**7, 10**8, 1, 2)
        s.sendall(enc.take())
        sent += k
    conn.recv()            # hold the socket open until the receiver has counted everything
    s.close()


class _StructCounter(asyncio.Protocol):
    """The peer: framing and struct.unpack_from decoding in Python on the same stream."""

    def __init__(self, done: asyncio.Future, n: int) -> None:
        self.buf = bytearray()
        self.count = 0
        self.n = n
        self.done = done
        self.unpack = BBO_S.unpack_from

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        off = 0
        end = len(buf)
        unpack = self.unpack
        hdr = HDR_S.unpack_from
        while end - off >= 40:
            plen = hdr(buf, off)[3]
            if end - off < 40 + plen:
                break
            unpack(buf, off)
            off += 40 + plen
            self.count += 1
        del buf[:off]
        if self.count >= self.n and not self.done.done():
            self.done.set_result(time.perf_counter())


async def _receive(impl: str, n: int, conn: Any) -> float:
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()
    if impl == "seqkern":
        count = [0]

        def on_bbo(s: Any, f: Any) -> None:
            count[0] += 1
            if count[0] >= n and not done.done():
                done.set_result(time.perf_counter())

        srv = CcLinkServer("bench-cc", config=LinkConfig(heartbeat_s=5, dead_after_s=60,
                                                         ping_s=5, high_water=8 << 20))
        srv.on(Kind.BBO, on_bbo)
        port = await srv.listen_tcp()
        closer: Any = srv.close
    else:
        server = await loop.create_server(lambda: _StructCounter(done, n), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        async def closer() -> None:
            server.close()
    t0 = time.perf_counter()
    conn.send(port)
    t_end = await asyncio.wait_for(done, 120)
    conn.send("done")
    await closer()
    return n / (t_end - t0)            # from handing the port over: connect + HELLO included


@pytest.mark.parametrize("impl", ["seqkern", "struct"])
def test_cclink_link_bbo_frames_per_second(benchmark: Any, impl: str) -> None:
    """One loopback TCP link, BBO frames decoded on the far side: the full CcLinkServer path
    (decoder + per-kind dispatch to a Python handler) vs a Python struct framing loop."""
    rates: list[float] = []
    procs: list[Any] = []
    ctx = mp.get_context("spawn")

    def setup() -> tuple[tuple, dict]:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_sender, args=(child, N_LINK, impl == "seqkern"))
        proc.start()
        procs.append(proc)
        assert parent.poll(60) and parent.recv() == "ready"   # imports done before timing
        return (parent,), {}

    def fn(conn: Any) -> None:
        rates.append(uvloop.run(_receive(impl, N_LINK, conn)))

    try:
        benchmark.pedantic(fn, setup=setup, rounds=3, warmup_rounds=0)
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
    fps = sorted(rates)[len(rates) // 2]
    benchmark.extra_info["frames_per_call"] = N_LINK
    benchmark.extra_info["frames_per_second"] = fps
    print(f"\n{impl}: {fps:,.0f} BBO frames/s over loopback TCP")
