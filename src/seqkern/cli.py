"""The `seqkern` command line and the `venue-edge-cex` launcher."""

from __future__ import annotations

import argparse
import sys


def _cmd_venues(args: argparse.Namespace) -> int:
    from seqkern.venues import format_catalog

    print(format_catalog())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seqkern", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("venues", help="print the venue catalog")
    p.set_defaults(func=_cmd_venues)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


def venue_edge_cex(argv: list[str] | None = None) -> int:
    from seqkern.edge.launcher import main as edge_main

    return edge_main(argv)


if __name__ == "__main__":
    sys.exit(main())
