"""The `seqkern` command line and the `venue-edge-cex` launcher."""

from __future__ import annotations

import argparse
import sys


def _cmd_venues(args: argparse.Namespace) -> int:
    from seqkern.venues import format_catalog

    print(format_catalog())
    return 0


def _cmd_cc(args: argparse.Namespace) -> int:
    import asyncio

    from seqkern.cc.server import serve_cc

    return asyncio.run(serve_cc(args))


def _cmd_up(args: argparse.Namespace) -> int:
    from seqkern.cc.up import run_up

    return run_up(args)
def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def _cmd_replay(args: argparse.Namespace) -> int:
    import json

    from seqkern.cclink.capture import publish, replay
    from seqkern.errors import SeqkernError

    try:
        if args.publish is not None:
            import uvloop

            host, port = args.publish
            stats = uvloop.run(publish(args.file, host, port, speed=args.speed))
            print(f"published {stats.frames} frames from {len(stats.streams)} stream(s) "
                  f"to {host}:{port}", file=sys.stderr)
        else:
            out = sys.stdout

            def show(recv_ns: int, stream_id: int, frame: object) -> None:
                rec = {"recv_ns": recv_ns, "stream": stream_id}
                rec.update(frame.to_dict())  # type: ignore[attr-defined]
                out.write(json.dumps(rec, separators=(",", ":")) + "\n")

            stats = replay(args.file, show, speed=args.speed)
            out.flush()
            print(f"replayed {stats.frames} frames from {len(stats.streams)} stream(s)"
                  f"{', capture truncated at the end' if stats.truncated else ''}"
                  f"{f', {stats.gaps} sequence gap(s)' if stats.gaps else ''}", file=sys.stderr)
    except (SeqkernError, OSError) as exc:
        print(f"seqkern replay: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seqkern", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("venues", help="print the venue catalog")
    p.set_defaults(func=_cmd_venues)
    p = sub.add_parser("cc", help="run a command center (HTTP API, stream, edges over CC-LINK)")
    p.add_argument("--region", choices=("ap", "na", "eu"), default="ap")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8700, help="HTTP API port (0 = any free port)")
    p.add_argument("--data-dir", help="journal and key files (default ~/.seqkern/cc-REGION)")
    p.add_argument("--master-key-file", help="0600 file with the credentials master key "
                   "($SEQKERN_MASTER_KEY wins; default DATA_DIR/master.key, created if missing)")
    p.add_argument("--journal-sync", choices=("full", "inline", "normal"), default="full",
                   help="fsync policy of the SQLite journal (see docs/cc.md)")
    p.add_argument("--snapshot", action="append", help="JSON file of pairs and L2 snapshots to load")
    p.add_argument("--admin-key-file", help="write (or reuse) an admin API key in this 0600 file")
    p.add_argument("--cclink-port", type=int, default=6000,
                   help="CC-LINK port edges connect to (0 = any free port, -1 = none)")
    p.add_argument("--ready-file", help="write a JSON line with the bound ports once serving")
    # peer-link mesh (docs/peerlink.md)
    p.add_argument("--peer-port", type=int, default=None,
                   help="peer-link port other CCs connect to (default 6001 when --peer is given, "
                        "else no mesh; 0 = any free port, -1 = no mesh)")
    p.add_argument("--peer", action="append", metavar="REGION=HOST:PORT",
                   help="another region's CC peer-link address (repeat per peer)")
    p.add_argument("--peer-stale-ms", type=int, default=3000,
                   help="a dropped peer's venues leave the router after this long")
    p.set_defaults(func=_cmd_cc)
    p = sub.add_parser("up", help="start the three regional CCs, every venue simulator and its edge on loopback")
    p.add_argument("--port", type=int, default=8700, help="HTTP API port")
    p.add_argument("--cclink-port", type=int, default=0, help="CC-LINK port (0 = any free port)")
    p.add_argument("--data-dir", help="journal, keys and logs (default ~/.seqkern/up)")
    p.add_argument("--wait", type=float, default=60.0, help="seconds to wait for every edge's book and credentials")
    p.add_argument("--venues", help="comma-separated deploy units to start (default: every unit with "
                   "a simulator: binance,binance-perp,okx,okx-perp,bybit,bybit-perp,bitget,cryptocom (ap), "
                   "coinbase,hyperliquid (na), kraken,kalshi,polymarket (eu))")
    p.set_defaults(func=_cmd_up)
    from seqkern.sdk.cli import add_client_commands

    add_client_commands(sub)
    p = sub.add_parser(
        "replay",
        help="replay a CC-LINK capture file: print its frames (JSON lines) or re-publish them",
    )
    p.add_argument("file", help="capture file (docs/cclink.md, Capture file)")
    p.add_argument("--speed", choices=("recorded", "max"), default="max",
                   help="pace frames by their recorded receive times, or as fast as possible")
    p.add_argument("--publish", type=_host_port, metavar="HOST:PORT", default=None,
                   help="re-publish to a CC-LINK server instead of printing")
    p.set_defaults(func=_cmd_replay)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


def venue_edge_cex(argv: list[str] | None = None) -> int:
    from seqkern.edge.launcher import main as edge_main

    return edge_main(argv)


if __name__ == "__main__":
    sys.exit(main())
