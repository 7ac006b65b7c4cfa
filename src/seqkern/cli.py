"""The `seqkern` command line and the `venue-edge-cex` launcher."""

from __future__ import annotations

import argparse
import sys


def _cmd_venues(args: argparse.Namespace) -> int:
    from seqkern.venues import format_catalog

    print(format_catalog())
    return 0


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
