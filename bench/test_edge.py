"""Edge hot path: raw Binance depth-message bytes to the book, beside the plain Python path.

Subject: seqkern._wire (simdjson on-demand, parse_decimal, L2Book.set_level in C, continuity rule
in C), one Python call pair per message. Also the whole edge handler (decoder + book sync + sink).
Peer: what a Python developer would write: orjson.loads, float prices, the `order-book` C
library, and the same U/u continuity check.
CC-LINK frame writing joins both paths when the CC-LINK encoder lands.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import orjson
import pytest
from order_book import OrderBook
from seqkern._book import L2Book
from seqkern._fixed import format_px, format_qty
from seqkern._wire import APPLIED, RULE_FIRST_LAST, DepthDecoder

from seqkern.edge.runner import EdgeRunner, _Shard
from seqkern.edge.sink import MemorySink
from seqkern.venues.base import VenueEndpoints
from seqkern.venues.binance import BinanceSpot
from seqkern.venues.book_sync import SyncState
from seqkern.venues.pairspec import pairspec_table

from .workload import TICK_1E9, l2_stream

LEVELS_PER_MSG = 15
N_MSGS = 20_000
FIRST_ID = 1_000_000


class Messages:
    def __init__(self, raw: list[bytes], stream) -> None:
        self.raw = raw
        self.stream = stream


@pytest.fixture(scope="module")
def messages() -> Messages:
    """N_MSGS spot depthUpdate messages of 15 levels each, as Binance formats them (8 decimals)."""
    s = l2_stream(N_MSGS * LEVELS_PER_MSG)
    raw = []
    u = FIRST_ID
    for m in range(N_MSGS):
        i = m * LEVELS_PER_MSG
        side, px, qty = s.side[i:i + LEVELS_PER_MSG], s.px[i:i + LEVELS_PER_MSG], s.qty[i:i + LEVELS_PER_MSG]
        b = [[format_px(int(p), 8), format_qty(int(q), 8)] for sd, p, q in zip(side, px, qty, strict=True) if sd == 0]
        a = [[format_px(int(p), 8), format_qty(int(q), 8)] for sd, p, q in zip(side, px, qty, strict=True) if sd == 1]
        raw.append(orjson.dumps({"e": "depthUpdate", "E": 1_700_000_000_000 + m, "s": "BTCUSDT",
                                 "U": u + 1, "u": u + 3, "b": b, "a": a}))
        u += 3
    return Messages(raw, s)


def _seqkern_book(s) -> L2Book:
    book = L2Book(TICK_1E9, 4096)
    book.apply_snapshot(s.snap_bid_px, s.snap_bid_qty, s.snap_ask_px, s.snap_ask_qty, FIRST_ID)
    return book


def test_edge_depth_bytes_to_book_seqkern(benchmark, messages):
    benchmark.extra_info["ops"] = N_MSGS
    dec = DepthDecoder()

    def setup():
        return (_seqkern_book(messages.stream),), {}

    def run(book):
        scan = dec.scan
        apply = dec.apply_checked
        for raw in messages.raw:
            scan(raw)
            if apply(book, RULE_FIRST_LAST) != APPLIED:
                raise AssertionError("sequence broken")

    benchmark.pedantic(run, setup=setup, rounds=7, warmup_rounds=1)


def test_edge_depth_bytes_to_frame_seqkern(benchmark, messages):
    """Raw depth bytes -> book applied -> CC-LINK L2_DELTA (+ BBO when the top moved) frames
    written into an encoder buffer: the compiled path end to end, one coalesced buffer per round."""
    from seqkern._cclink import Encoder

    benchmark.extra_info["ops"] = N_MSGS
    dec = DepthDecoder()

    def setup():
        return (_seqkern_book(messages.stream), Encoder(capacity=1 << 23, venue_slot=3)), {}

    def run(book, enc):
        scan = dec.scan
        apply = dec.apply_checked
        encode = dec.encode_delta
        for raw in messages.raw:
            scan(raw)
            if apply(book, RULE_FIRST_LAST) != APPLIED:
                raise AssertionError("sequence broken")
            encode(enc, 0, 0, True)
        assert enc.frames >= N_MSGS
        enc.take()

    benchmark.pedantic(run, setup=setup, rounds=7, warmup_rounds=1)


def test_edge_depth_bytes_to_book_plain(benchmark, messages):
    benchmark.extra_info["ops"] = N_MSGS
    s = messages.stream

    def setup():
        ob = OrderBook()
        for p, q in zip(s.snap_bid_px.tolist(), s.snap_bid_qty.tolist(), strict=True):
            ob.bids[p / 1e9] = q / 1e8
        for p, q in zip(s.snap_ask_px.tolist(), s.snap_ask_qty.tolist(), strict=True):
            ob.asks[p / 1e9] = q / 1e8
        return (ob,), {}

    def run(ob):
        loads = orjson.loads
        bids, asks = ob.bids, ob.asks
        last = FIRST_ID
        for raw in messages.raw:
            d = loads(raw)
            if d["u"] <= last:
                continue
            if d["U"] > last + 1:
                raise AssertionError("sequence broken")
            for p, q in d["b"]:
                qty = float(q)
                if qty:
                    bids[float(p)] = qty
                else:
                    try:  # noqa: SIM105 - the fastest idiom; the peer deserves its best code
                        del bids[float(p)]
                    except KeyError:
                        pass
            for p, q in d["a"]:
                qty = float(q)
                if qty:
                    asks[float(p)] = qty
                else:
                    try:  # noqa: SIM105
                        del asks[float(p)]
                    except KeyError:
                        pass
            last = d["u"]

    benchmark.pedantic(run, setup=setup, rounds=5, warmup_rounds=1)


class _CountingSink(MemorySink):
    """Counts instead of storing (the edge's publish calls, minus a CC-LINK writer)."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def l2_delta(self, *a) -> None:  # type: ignore[override]
        self.n += 1

    def bbo(self, *a) -> None:  # type: ignore[override]
        self.n += 1


def test_edge_depth_handler_seqkern(benchmark, messages):
    """The runner's websocket handler per message: decode, sync rule, book, delta + BBO publish."""
    benchmark.extra_info["ops"] = N_MSGS

    def setup():
        return _live_runner(messages, _CountingSink()), {}

    def run(runner, shard):
        handle = runner._on_market
        for raw in messages.raw:
            handle(shard, raw, 0)
        assert runner.sink.n >= N_MSGS

    benchmark.pedantic(run, setup=setup, rounds=5, warmup_rounds=1)


def test_edge_messages_are_valid(messages):
    """The workload is what Binance sends: every message applies, the book never crosses."""
    dec = DepthDecoder()
    book = _seqkern_book(messages.stream)
    for raw in messages.raw[:2000]:
        dec.scan(raw)
        assert dec.apply_checked(book, RULE_FIRST_LAST) == APPLIED
    assert not book.crossed
    assert np.mean([len(orjson.loads(r)["b"]) + len(orjson.loads(r)["a"]) for r in messages.raw[:100]]) == 15


# ---- loopback websocket: frames/s into the edge handler, and frame-in to publish latency ----------

WS_MSGS = 20_000


class _LatencySink(_CountingSink):
    """Records ns from websocket frame receipt to the publish call (the edge-internal latency)."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.lat = np.zeros(cap, dtype=np.int64)
        self.k = 0

    def l2_delta(self, symbol_id, update_id, bids, n_bids, asks, n_asks, ts_event_ns, ts_recv_ns) -> None:  # type: ignore[override]
        if self.k < self.lat.shape[0]:
            self.lat[self.k] = time.time_ns() - ts_recv_ns
        self.k += 1
        self.n += 1


async def _burst(frames: list[bytes], on_message) -> None:
    """A picows server on 127.0.0.1 sends every frame as fast as it can; a picows client receives."""
    from picows import WSListener, WSMsgType, ws_create_server

    from seqkern.edge.ws import WsConnection

    class Burst(WSListener):
        def on_ws_connected(self, transport) -> None:
            for f in frames:
                transport.send(WSMsgType.TEXT, f)
            transport.send_close()

    server = await ws_create_server(lambda _req: Burst(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    conn = WsConnection(f"ws://127.0.0.1:{port}/stream", on_message)
    await conn.connect()
    await conn.wait_closed()
    server.close()


def _live_runner(messages, sink) -> tuple[EdgeRunner, _Shard]:
    venue = BinanceSpot(VenueEndpoints("ws://127.0.0.1:1", "ws://127.0.0.1:1", "http://127.0.0.1:1"))
    runner = EdgeRunner(venue, ["BTC-USDT"], sink, depth_ticks=4096)
    runner.add_symbol("BTC-USDT", pairspec_table()[("BTC-USDT", venue.venue_id, "spot")])
    slot = runner._slots["BTCUSDT"]
    shard = _Shard(0, [], DepthDecoder())
    shard.add_slot(slot)
    s = messages.stream
    slot.book.apply_snapshot(s.snap_bid_px, s.snap_bid_qty, s.snap_ask_px, s.snap_ask_qty, FIRST_ID)
    slot.sync.state = SyncState.LIVE
    return runner, shard


def test_edge_ws_loopback_edge(benchmark, messages):
    """Depth frames over a real loopback websocket through the whole edge handler."""
    import uvloop

    frames = messages.raw[:WS_MSGS]
    benchmark.extra_info["ops"] = WS_MSGS
    sinks: list[_LatencySink] = []

    def setup():
        sink = _LatencySink(WS_MSGS)
        sinks.append(sink)
        return _live_runner(messages, sink), {}

    def run(runner, shard):
        uvloop.run(_burst(frames, lambda m, ts: runner._on_market(shard, m, ts)))
        assert runner.sink.n >= WS_MSGS

    benchmark.pedantic(run, setup=setup, rounds=5, warmup_rounds=1)
    measured = sinks[1:] or sinks          # round 0 is the warm-up when timing is on
    lat = np.concatenate([s.lat[:s.k] for s in measured])
    benchmark.extra_info["p50_ns"] = float(np.percentile(lat, 50))
    benchmark.extra_info["p99_ns"] = float(np.percentile(lat, 99))
    if benchmark.stats is not None:           # None when pytest-benchmark runs untimed
        benchmark.extra_info["msgs_per_s"] = WS_MSGS / benchmark.stats.stats.median


def test_edge_ws_loopback_bare(benchmark, messages):
    """The same frames into a picows client that only counts them (the transport's ceiling)."""
    import uvloop

    frames = messages.raw[:WS_MSGS]
    benchmark.extra_info["ops"] = WS_MSGS
    count = [0]

    def on_message(m, ts) -> None:
        count[0] += 1

    def run():
        count[0] = 0
        uvloop.run(_burst(frames, on_message))
        assert count[0] == WS_MSGS

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    if benchmark.stats is not None:
        benchmark.extra_info["msgs_per_s"] = WS_MSGS / benchmark.stats.stats.median


def test_edge_depth_to_cclink_frame_seqkern(benchmark, messages):
    """The whole path: raw depth bytes -> book applied -> CC-LINK L2_DELTA (+ BBO) frames written
    into a connected link's send buffer, then written to the socket once per round."""
    import uvloop

    from seqkern.cclink import CcLinkServer, EdgeLinkClient, InstrumentType, Kind, Region
    from seqkern.edge.cclink_sink import CcLinkSink

    benchmark.extra_info["ops"] = N_MSGS
    loop = uvloop.new_event_loop()
    cc = CcLinkServer("cc-bench", region=Region.AP)
    received = [0]
    direct = [0]
    cc.on(Kind.L2_DELTA, lambda s, f: received.__setitem__(0, received[0] + 1))
    port = loop.run_until_complete(cc.listen_tcp("127.0.0.1", 0))
    client = EdgeLinkClient("venue-edge-binance", region=Region.AP, venue_slot=3,
                            instrument_type=InstrumentType.SPOT)
    loop.run_until_complete(client.connect_tcp("127.0.0.1", port))
    sink = CcLinkSink(client)

    async def drained() -> None:
        # the CC takes the previous round's frames: start each round with an empty send buffer
        for _ in range(400):
            if not client.link.paused and client.link.write_buffer_size == 0:
                return
            await asyncio.sleep(0.005)

    def setup():
        loop.run_until_complete(drained())
        runner, shard = _live_runner(messages, sink)
        sink.pair_spec(runner._slots["BTCUSDT"].sym)
        loop.run_until_complete(asyncio.sleep(0.01))
        return (runner, shard), {}

    async def drive(runner, shard) -> None:
        handle = runner._on_market
        for raw in messages.raw:
            handle(shard, raw, 0)
        client.link.flush()
        direct[0] += runner._direct is not None

    def run(runner, shard):
        loop.run_until_complete(drive(runner, shard))

    try:
        benchmark.pedantic(run, setup=setup, rounds=5, warmup_rounds=1)
        loop.run_until_complete(asyncio.sleep(0.2))
        assert received[0] > 0 and client.link.stats.conflated == 0 and direct[0] > 0
    finally:
        loop.run_until_complete(client.close())
        loop.run_until_complete(cc.close())
        loop.close()
