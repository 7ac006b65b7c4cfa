"""A CC-LINK peer process for the two-process tests: a CC or an edge that prints JSON events.

    python cclink_peer.py server (--tcp HOST:PORT | --unix PATH) [--region ap]
    python cclink_peer.py client (--tcp HOST:PORT | --unix PATH) --edge-id ID [--version N]

Every event is one JSON line on stdout. The process runs until killed or --lifetime elapses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import uvloop

from seqkern import _cclink as C
from seqkern.cclink import (
    CaptureWriter,
    CcLinkServer,
    EdgeLinkClient,
    InstrumentType,
    Kind,
    LinkConfig,
    OrderStatus,
    OrderType,
    Region,
    Side,
)
from seqkern.errors import LinkRefused


def emit(**event: Any) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def config(args: argparse.Namespace) -> LinkConfig:
    return LinkConfig(heartbeat_s=args.hb, dead_after_s=args.dead, ping_s=4 * args.hb,
                      hello_timeout_s=2.0)


async def run_server(args: argparse.Namespace) -> None:
    capture = CaptureWriter(args.capture) if args.capture else None
    hb_seen: dict[str, int] = {}

    def on_connect(s: Any) -> None:
        emit(ev="connect", edge_id=s.edge_id, slot=s.venue_slot, itype=int(s.instrument_type),
             region=int(s.region), session_id=str(s.session_id))
        # the CC sends one order to this edge only
        s.send_order(Kind.ORDER_NEW, symbol_id=1, side=Side.BUY, order_type=OrderType.LIMIT,
                     px_1e9=60_000 * 10**9, qty_1e8=10**6, client_order_id=f"cc-{s.edge_id}")

    def on_disconnect(s: Any, reason: str) -> None:
        emit(ev="disconnect", edge_id=s.edge_id, reason=reason)

    def on_resync(s: Any, f: Any) -> None:
        emit(ev="resync", edge_id=s.edge_id, last_rx_seq=f.last_rx_seq)
        s.send_balance(asset="USDT", total_1e8=500 * 10**8, available_1e8=400 * 10**8,
                       locked_1e8=100 * 10**8, flags=C.FLAG_RESYNC)
        s.send_order(Kind.ORDER_UPDATE, symbol_id=1, side=Side.BUY, client_order_id="open-1",
                     status=OrderStatus.ACCEPTED, qty_1e8=10**6, flags=C.FLAG_RESYNC)

    srv = CcLinkServer("cc-test", region=Region.parse(args.region) if args.region else Region.NONE,
                       config=config(args), on_connect=on_connect, on_disconnect=on_disconnect,
                       on_resync=on_resync, capture=capture)

    def on_pair(s: Any, f: Any) -> None:
        emit(ev="pair_spec", edge_id=s.edge_id, symbol_id=f.symbol_id, symbol=f.symbol,
             bound=sorted(s.symbols))

    def on_bbo(s: Any, f: Any) -> None:
        emit(ev="bbo", edge_id=s.edge_id, symbol_id=f.symbol_id, bid=f.bid_px_1e9, seq=f.seq)

    def on_ack(s: Any, f: Any) -> None:
        emit(ev="order_ack", edge_id=s.edge_id, client_order_id=f.client_order_id)

    def on_hb(s: Any, f: Any) -> None:
        n = hb_seen[s.edge_id] = hb_seen.get(s.edge_id, 0) + 1
        if n in (1, 5):
            emit(ev="heartbeat", edge_id=s.edge_id, n=n)

    srv.on(Kind.PAIR_SPEC, on_pair)
    srv.on(Kind.BBO, on_bbo)
    srv.on(Kind.ORDER_ACK, on_ack)
    srv.on(Kind.HEARTBEAT, on_hb)
    if args.tcp:
        host, port = args.tcp.rsplit(":", 1)
        port = await srv.listen_tcp(host, int(port))
        emit(ev="listening", port=port)
    else:
        await srv.listen_unix(args.unix)
        emit(ev="listening", path=args.unix)
    reported: set[int] = set()
    refusals = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + args.lifetime
    while loop.time() < end:
        await asyncio.sleep(0.05)
        for s in list(srv.sessions.values()):
            if s.rtt_ns is not None and id(s) not in reported:
                reported.add(id(s))
                emit(ev="rtt", edge_id=s.edge_id, ns=s.rtt_ns)
        while refusals < len(srv.refusals):
            who, code, text = srv.refusals[refusals]
            refusals += 1
            emit(ev="refused", edge_id=who, code=code, text=text)
    await srv.close()
    if capture is not None:
        capture.close()


async def run_client(args: argparse.Namespace) -> int:
    client: EdgeLinkClient

    def on_connect(c: EdgeLinkClient) -> None:
        emit(ev="connected", n=c.connections, reconnects=c.reconnects)

    def on_disconnect(c: EdgeLinkClient, reason: str) -> None:
        emit(ev="disconnect", reason=reason)

    def on_frame(link: Any, f: Any) -> None:
        emit(ev="frame", kind=f.kind_name, flags=f.flags, fields=f.fields())
        if f.kind == Kind.ORDER_NEW:
            link.send_order(Kind.ORDER_ACK, symbol_id=f.symbol_id, side=f.side,
                            client_order_id=f.client_order_id, venue_order_id="v-1",
                            status=OrderStatus.ACCEPTED, qty_1e8=f.qty_1e8, px_1e9=f.px_1e9)

    client = EdgeLinkClient(
        args.edge_id, region=Region.parse(args.region) if args.region else Region.NONE,
        venue_slot=args.slot, instrument_type=InstrumentType.SPOT, config=config(args),
        on_connect=on_connect, on_disconnect=on_disconnect, version=args.version,
        backoff_base_s=0.05, backoff_max_s=0.4,
    )
    for kind in (Kind.ORDER_NEW, Kind.ORDER_UPDATE, Kind.BALANCE):
        client.on(kind, on_frame)
    client.bind_symbol(1, "BTC-USDT", "BTCUSDT", args.slot, InstrumentType.SPOT,
                       tick_1e9=10**7, lot_1e8=10**3, min_qty_1e8=10**3,
                       min_notional_1e9=5 * 10**9, maker_fee_bps_e4=10**5, taker_fee_bps_e4=10**5)
    try:
        if args.tcp:
            host, port = args.tcp.rsplit(":", 1)
            await client.connect_tcp(host, int(port), timeout=args.lifetime)
        else:
            await client.connect_unix(args.unix, timeout=args.lifetime)
    except LinkRefused as exc:
        emit(ev="refused", code=exc.code, text=exc.message)
        await client.close()
        return 3
    loop = asyncio.get_running_loop()
    end = loop.time() + args.lifetime
    rtt_reported = False
    i = 0
    while loop.time() < end:
        await asyncio.sleep(1 / args.bbo_hz if args.bbo_hz else 0.05)
        if args.bbo_hz:
            i += 1
            client.send_bbo(1, 60_000 * 10**9 + i, 10**8, 60_001 * 10**9 + i, 10**8)
        if client.rtt_ns is not None and not rtt_reported:
            rtt_reported = True
            emit(ev="rtt", ns=client.rtt_ns)
        if client.refused is not None:
            emit(ev="refused", code=client.refused.code, text=client.refused.message)
            await client.close()
            return 3
    await client.close()
    return 0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=("server", "client"))
    p.add_argument("--tcp")
    p.add_argument("--unix")
    p.add_argument("--region", default="ap")
    p.add_argument("--edge-id", default="venue-edge-test")
    p.add_argument("--slot", type=int, default=3)
    p.add_argument("--version", type=int, default=C.VERSION)
    p.add_argument("--hb", type=float, default=0.05)
    p.add_argument("--dead", type=float, default=0.6)
    p.add_argument("--bbo-hz", type=float, default=20.0)
    p.add_argument("--lifetime", type=float, default=30.0)
    p.add_argument("--capture")
    args = p.parse_args()
    if args.role == "server":
        uvloop.run(run_server(args))
        return 0
    return uvloop.run(run_client(args))


if __name__ == "__main__":
    sys.exit(main())
