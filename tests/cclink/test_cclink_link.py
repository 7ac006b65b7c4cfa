"""CC-LINK links over real loopback sockets in one process: backpressure conflation, refusals,
bad frames from a raw socket, sending to one edge, the offline queue."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
import uvloop

from seqkern import _cclink as C
from seqkern.cclink import (
    CcLinkServer,
    EdgeLinkClient,
    InstrumentType,
    Kind,
    LinkConfig,
    LinkErrorCode,
    OrderStatus,
    Region,
)
from seqkern.errors import LinkClosed, LinkRefused

QUIET = LinkConfig(heartbeat_s=0.5, dead_after_s=30.0, ping_s=0.05)


def run(coro: Awaitable[Any], timeout: float = 30.0) -> Any:
    return uvloop.run(asyncio.wait_for(coro, timeout))


async def until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.005)


def bind(client: EdgeLinkClient, n: int) -> None:
    for sym in range(1, n + 1):
        client.bind_symbol(sym, f"S{sym}-USDT", f"S{sym}USDT", 3, InstrumentType.SPOT,
                           tick_1e9=10**7, lot_1e8=10**3)


def test_backpressure_conflates_market_data_and_never_drops_orders_fills() -> None:
    async def main() -> None:
        got: list[Any] = []
        sessions: list[Any] = []

        def on_connect(s: Any) -> None:
            s.transport.pause_reading()    # the CC stops reading: the edge's buffer fills up
            sessions.append(s)

        srv = CcLinkServer("cc", config=QUIET, on_connect=on_connect)
        for kind in (Kind.BBO, Kind.L2_SNAPSHOT, Kind.L2_DELTA, Kind.TRADE, Kind.FILL,
                     Kind.ORDER_ACK, Kind.BALANCE):
            srv.on(kind, lambda s, f: got.append(f))
        port = await srv.listen_tcp()

        book = {1: (0, np.array([[100, 1]], dtype=np.int64), None)}
        edge_cfg = LinkConfig(heartbeat_s=0.5, dead_after_s=30.0, ping_s=10.0,
                              high_water=64 << 10, low_water=16 << 10)
        client = EdgeLinkClient("venue-edge-binance", config=edge_cfg,
                                snapshot_source=book.get)   # symbol 1 only: 2 has no source
        bind(client, 3)
        await client.connect_tcp("127.0.0.1", port)
        link = client.link
        assert link is not None
        await until(lambda: bool(sessions), what="session")

        last_bbo: dict[int, int] = {}
        last_delta2 = -1
        last_trade: dict[int, int] = {}
        fills = acks = bbos = 0
        i = 0
        while not (link.paused and link.stats.conflated >= 5000 and fills > 50):
            sym = i % 3 + 1
            client.send_bbo(sym, 10**9 + i, 1, 10**9 + i + 1, 1)
            last_bbo[sym] = i
            bbos += 1
            if i % 7 == 0:
                client.send_trade(sym, 1, 10**9 + i, 5, trade_id=i)
                last_trade[sym] = i
            if i % 10 == 0:
                lv = np.array([[100 + i, i]], dtype=np.int64)
                client.send_l2(Kind.L2_DELTA, 1, i, lv, None)
                book[1] = (i, lv, None)
                client.send_l2(Kind.L2_DELTA, 2, i, None, lv)
                last_delta2 = i
            if i % 100 == 0:
                client.send_fill(symbol_id=sym, side=1, px_1e9=10**9, qty_1e8=i, fill_id=fills)
                fills += 1
            if i % 250 == 0:
                client.send_order(Kind.ORDER_ACK, symbol_id=sym, request_id=acks,
                                  status=OrderStatus.ACCEPTED, client_order_id=f"o{acks}")
                acks += 1
            i += 1
            if i % 512 == 0:
                await asyncio.sleep(0)
            assert i < 3_000_000, "the transport never pushed back"
        assert link.stats.pauses >= 1 and link.held <= 3 + 3 + 2   # BBO, TRADE per symbol; L2 for 1, 2
        print(f"sent {i} BBO, {fills} fills, {acks} acks; conflated {link.stats.conflated}")

        for s in sessions:
            s.transport.resume_reading()
        await until(lambda: sum(f.kind == Kind.FILL for f in got) == fills
                    and sum(f.kind == Kind.ORDER_ACK for f in got) == acks
                    and not link.paused and link.held == 0, 20, "all fills and acks")
        await asyncio.sleep(0.2)

        fill_ids = [f.fill_id for f in got if f.kind == Kind.FILL]
        assert fill_ids == list(range(fills))                     # none dropped, in order
        ack_ids = [f.request_id for f in got if f.kind == Kind.ORDER_ACK]
        assert ack_ids == list(range(acks))
        bbo = [f for f in got if f.kind == Kind.BBO]
        assert len(bbo) < bbos                                    # market data was conflated
        assert any(f.flags & C.FLAG_CONFLATED for f in bbo)
        for sym in (1, 2, 3):                                     # ... but latest always wins
            mine = [f for f in bbo if f.symbol_id == sym]
            assert mine[-1].bid_px_1e9 == 10**9 + last_bbo[sym]
            trades = [f for f in got if f.kind == Kind.TRADE and f.symbol_id == sym]
            assert trades[-1].trade_id == last_trade[sym]
        l2 = [f for f in got if f.kind in (Kind.L2_DELTA, Kind.L2_SNAPSHOT)]
        final = [f for f in l2 if f.symbol_id == 1][-1]   # deltas lost: a fresh snapshot instead
        assert final.kind == Kind.L2_SNAPSHOT and final.flags & C.FLAG_CONFLATED
        assert final.update_id == book[1][0] and final.bids.tolist() == book[1][1].tolist()
        assert link.stats.snapshots_sent >= 1
        final2 = [f for f in l2 if f.symbol_id == 2][-1]   # no snapshot source for symbol 2:
        assert final2.kind == Kind.L2_DELTA and final2.flags & C.FLAG_CONFLATED  # book invalid
        assert final2.update_id == last_delta2
        session = sessions[0]
        assert session.stats.gaps == 0                            # held frames renumbered
        await client.close()
        await srv.close()

    run(main(), 120)


def test_region_mismatch_and_accept_hello_refusals() -> None:
    async def main() -> None:
        def accept(hello: Any) -> None:
            if hello.edge_id.startswith("rogue"):
                raise LinkRefused("unknown edge id")

        srv = CcLinkServer("cc-eu", region=Region.EU, config=QUIET, accept_hello=accept)
        port = await srv.listen_tcp()
        wrong = EdgeLinkClient("venue-edge-okx", region=Region.AP, config=QUIET)
        with pytest.raises(LinkRefused) as ei:
            await wrong.connect_tcp("127.0.0.1", port, timeout=5)
        assert ei.value.code == "CCLINK_REGION_MISMATCH" and "eu" in ei.value.message
        rogue = EdgeLinkClient("rogue-1", region=Region.EU, config=QUIET)
        with pytest.raises(LinkRefused) as ei:
            await rogue.connect_tcp("127.0.0.1", port, timeout=5)
        assert ei.value.code == "CCLINK_HELLO_REFUSED" and "unknown edge id" in ei.value.message
        assert [r[1] for r in srv.refusals] == ["REGION_MISMATCH", "HELLO_REFUSED"]
        assert wrong.connections == 0 and wrong.reconnects == 0   # a refusal is final
        ok = EdgeLinkClient("venue-edge-kraken", region=Region.EU, config=QUIET)
        await ok.connect_tcp("127.0.0.1", port)
        assert set(srv.sessions) == {"venue-edge-kraken"}
        for c in (wrong, rogue, ok):
            await c.close()
        await srv.close()

    run(main())


async def raw_exchange(port: int, payload: bytes) -> list[Any]:
    """Send raw bytes to the CC and decode whatever it answers until it closes the socket."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return C.Decoder().feed(data)


def test_bad_frames_and_frames_before_hello_are_refused_with_an_error_frame() -> None:
    async def main() -> None:
        srv = CcLinkServer("cc", config=QUIET)
        port = await srv.listen_tcp()
        answer = await raw_exchange(port, b"GET / HTTP/1.1\r\n\r\n")
        assert [f.kind for f in answer] == [Kind.ERROR]
        assert answer[0].code == LinkErrorCode.BAD_FRAME
        assert "CCLINK_BAD_MAGIC" in answer[0].text

        e = C.Encoder()
        e.bbo(1, 1, 1, 1, 1)
        answer = await raw_exchange(port, e.take())
        assert [f.kind for f in answer] == [Kind.ERROR]
        assert answer[0].code == LinkErrorCode.NOT_READY and answer[0].ref_kind == Kind.BBO

        e = C.Encoder()
        e.hello("edge-x", 0, 1)
        e.bbo(1, 1, 1, 1, 1)
        hostile = bytearray(e.take())           # a good HELLO, then a BBO claiming 4 GiB
        hostile[-80 + 4:-80 + 8] = (0xFFFFFFF0).to_bytes(4, "little")
        answer = await raw_exchange(port, bytes(hostile))
        assert [f.kind for f in answer] == [Kind.HELLO, Kind.ERROR]
        assert "CCLINK_TOO_LARGE" in answer[1].text
        assert srv.sessions == {}
        await srv.close()

    run(main())


def test_server_sends_to_one_edge_and_tracks_symbols_and_rtt() -> None:
    async def main() -> None:
        srv = CcLinkServer("cc", config=QUIET)
        port = await srv.listen_tcp()
        inbox: dict[str, list[Any]] = {"a": [], "b": []}
        clients = {}
        for name, slot in (("a", 3), ("b", 8)):
            c = EdgeLinkClient(f"edge-{name}", venue_slot=slot, config=QUIET)
            c.on(Kind.ORDER_NEW, lambda link, f, name=name: inbox[name].append(f))
            bind(c, 2 if name == "a" else 1)
            await c.connect_tcp("127.0.0.1", port)
            clients[name] = c
        await until(lambda: len(srv.sessions) == 2 and all(
            len(s.symbols) == (2 if s.edge_id == "edge-a" else 1) for s in srv.sessions.values()))
        stray: list[Any] = []
        srv.on(Kind.BBO, lambda s, f: stray.append(f))
        errors: list[Any] = []
        boom = EdgeLinkClient("edge-boom", config=QUIET)
        boom.on(Kind.ERROR, lambda link, f: errors.append(f))
        boom.on(Kind.ORDER_NEW, lambda link, f: 1 / 0)   # a bug in the edge's own handler
        await boom.connect_tcp("127.0.0.1", port)
        await until(lambda: "edge-boom" in srv.sessions)
        srv.session("edge-boom").send_order(Kind.ORDER_NEW, symbol_id=1, client_order_id="x")
        srv.session("edge-boom").send_order(Kind.ORDER_NEW, symbol_id=1, client_order_id="y")
        await until(lambda: boom.link is not None and boom.link.stats.handler_errors == 2)
        assert boom.ready                                # the link survives its owner's bug
        for _ in range(3):                               # symbol 9 was never bound
            boom.send_bbo(9, 1, 1, 2, 1)
        await until(lambda: srv.session("edge-boom").stats.unknown_symbol == 3 and errors)
        await asyncio.sleep(0.05)
        assert stray == [] and len(errors) == 1          # dropped; one ERROR, not three
        assert errors[0].code == LinkErrorCode.UNKNOWN_SYMBOL and errors[0].ref_kind == Kind.BBO
        assert boom.ready
        await boom.close()
        sa = srv.session("edge-a")
        assert sa.venue_slot == 3 and sa.symbols[2].symbol == "S2-USDT"
        sa.send_order(Kind.ORDER_NEW, symbol_id=2, side=1, order_type=1, qty_1e8=5,
                      px_1e9=7, client_order_id="only-a")
        await until(lambda: len(inbox["a"]) == 1)
        await asyncio.sleep(0.05)
        assert inbox["b"] == []
        f = inbox["a"][0]
        assert f.client_order_id == "only-a" and f.venue_slot == 3
        await until(lambda: sa.rtt_ns is not None and clients["a"].rtt_ns is not None)
        assert 0 < sa.rtt_ns < 10**9 and sa.rtt_min_ns <= sa.rtt_ns
        with pytest.raises(LinkClosed):
            srv.session("edge-zzz")
        await clients["b"].close()
        await until(lambda: "edge-b" not in srv.sessions)
        await clients["a"].close()
        await srv.close()

    run(main())


def test_orders_and_fills_wait_offline_market_data_does_not() -> None:
    async def main() -> None:
        port = socket.socket()
        port.bind(("127.0.0.1", 0))
        number = port.getsockname()[1]
        port.close()
        got: list[Any] = []
        client = EdgeLinkClient("edge-q", config=QUIET, backoff_base_s=0.02, backoff_max_s=0.05)
        bind(client, 1)
        await client.connect_tcp("127.0.0.1", number, wait=False)
        client.send_bbo(1, 1, 1, 1, 1)                       # dropped: nobody to send it to
        client.send_fill(symbol_id=1, side=2, px_1e9=3, qty_1e8=4, fill_id=77)
        client.send_order(Kind.ORDER_REJECT, symbol_id=1, client_order_id="r1", text="nope")
        assert client.md_dropped_offline == 1 and client.offline_queued == 2
        await asyncio.sleep(0.2)                             # a few refused attempts
        assert client.reconnects >= 2 and client.connections == 0
        delays = client.backoff_delays
        assert all(0.01 <= d <= 0.05 for d in delays)        # capped, jittered
        srv = CcLinkServer("cc", config=QUIET)
        srv.on(Kind.FILL, lambda s, f: got.append(f))
        srv.on(Kind.ORDER_REJECT, lambda s, f: got.append(f))
        await srv.listen_tcp("127.0.0.1", number)
        await client.wait_ready(5)
        await until(lambda: len(got) == 2)
        assert (got[0].kind, got[0].fill_id) == (Kind.FILL, 77)
        assert (got[1].kind, got[1].text) == (Kind.ORDER_REJECT, "nope")
        assert client.offline_queued == 0
        await client.close()
        await srv.close()

    run(main())


def test_link_config_is_checked() -> None:
    with pytest.raises(ValueError):
        LinkConfig(heartbeat_s=1.0, dead_after_s=0.5)
    with pytest.raises(ValueError):
        LinkConfig(high_water=10, low_water=20)
