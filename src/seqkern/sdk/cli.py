"""`seqkern edges|book|quote|buy|sell|orders|cancel`: the CLI verbs, all over the HTTP API."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from seqkern.sdk.client import SyncClient
from seqkern.sdk.results import ApiError

UP_STATE = os.path.join(os.environ.get("SEQKERN_HOME") or os.path.expanduser("~/.seqkern"), "up", "up.json")


def _client(args: argparse.Namespace) -> SyncClient:
    url, key = args.url, args.key
    if (not url or not key) and os.path.exists(UP_STATE):
        with open(UP_STATE) as f:
            st = json.load(f)
        url = url or st.get("url")
        key = key or st.get("api_key")
    return SyncClient(url, key)


def _print(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def _run(args: argparse.Namespace) -> int:
    try:
        with _client(args) as c:
            return int(args.verb(c, args) or 0)
    except ApiError as exc:
        print(f"error {exc.code} (HTTP {exc.status}): {exc.message}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot reach the CC: {exc}", file=sys.stderr)
        return 2


def _edges(c: SyncClient, a: argparse.Namespace) -> None:
    rows = c.edges(symbols=a.symbols)
    print(f"{'edge_id':32} {'region':6} {'syms':>6} {'bbo':>6} {'age_ms':>7} connected")
    for e in rows:
        print(f"{e.edge_id:32} {e.region:6} {e.syms:>6} {e.bbo:>6} {e.age_ms!s:>7} {e.connected}"
              + (" remote" if e.remote else ""))
        if e.symbols:
            print("    " + " ".join(e.symbols))


def _book(c: SyncClient, a: argparse.Namespace) -> None:
    doc = c.book(a.symbol, a.depth)
    for venue, b in doc["venues"].items():
        print(f"== {venue}{'' if b['valid'] else ' (invalid)'}")
        for (bp, bq), (ap, aq) in zip(b["bids"] + [[None, None]] * (a.depth - len(b["bids"])),
                                      b["asks"] + [[None, None]] * (a.depth - len(b["asks"])), strict=False):
            if bp is None and ap is None:
                break
            print(f"  {bq or '':>14} {bp or '':>16} | {ap or '':<16} {aq or '':<14}")


def _quote(c: SyncClient, a: argparse.Namespace) -> None:
    p = c.quote(a.symbol, a.side, a.qty, price=a.price, venue=a.venue)
    _print(p.raw)


def _trade(side: str) -> Any:
    def verb(c: SyncClient, a: argparse.Namespace) -> None:
        o = c.order(a.symbol, side, a.qty, price=a.price, venue=a.venue,
                    time_in_force=a.tif, client_request_id=a.client_request_id,
                    sandbox=True if a.sandbox else None)
        if not o.terminal and a.wait > 0:
            # show the venue's answer: terminal, or resting (acknowledged) when it rests
            o = c.wait(o.order_id, a.wait, until="terminal" if a.price is None else "acked")
        _print(o.raw)
    return verb


def _orders(c: SyncClient, a: argparse.Namespace) -> None:
    if a.order_id:
        _print(c.get_order(a.order_id).raw)
        return
    for o in c.open_orders():
        print(f"{o.order_id:28} {o.side:4} {o.symbol:12} {o.qty:>14} filled {o.filled_qty:<14} "
              f"{o.status} {','.join(o.venues)}")


def _cancel(c: SyncClient, a: argparse.Namespace) -> None:
    _print(c.cancel(a.order_id).raw)


def add_client_commands(sub: Any) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--url", default=os.environ.get("SEQKERN_URL"),
                       help="CC base URL (default $SEQKERN_URL, else the one `seqkern up` started)")
        p.add_argument("--key", default=os.environ.get("SEQKERN_API_KEY"),
                       help="API key (default $SEQKERN_API_KEY, else the one `seqkern up` created)")
        p.set_defaults(func=_run)

    p = sub.add_parser("edges", help="list the CC's edges")
    p.add_argument("--symbols", action="store_true", help="with each edge's symbol list")
    p.set_defaults(verb=_edges)
    common(p)
    p = sub.add_parser("book", help="per-venue order book of a symbol")
    p.add_argument("symbol")
    p.add_argument("--depth", type=int, default=10)
    p.set_defaults(verb=_book)
    common(p)
    p = sub.add_parser("quote", help="pre-trade preview: the SOR's plan and expected cost")
    p.add_argument("symbol")
    p.add_argument("side", choices=("buy", "sell"))
    p.add_argument("qty")
    p.add_argument("--price")
    p.add_argument("--venue")
    p.set_defaults(verb=_quote)
    common(p)
    for side in ("buy", "sell"):
        p = sub.add_parser(side, help=f"{side} SYMBOL QTY [--price P] (market without a price)")
        p.add_argument("symbol")
        p.add_argument("qty")
        p.add_argument("--price")
        p.add_argument("--venue")
        p.add_argument("--tif", choices=("gtc", "ioc", "fok"))
        p.add_argument("--client-request-id")
        p.add_argument("--sandbox", action="store_true", help="simulated fill, nothing sent")
        p.add_argument("--wait", type=float, default=3.0,
                       help="seconds to wait for the venue's answer before printing (0 = none)")
        p.set_defaults(verb=_trade(side))
        common(p)
    p = sub.add_parser("orders", help="open orders, or one order with its children")
    p.add_argument("order_id", nargs="?")
    p.set_defaults(verb=_orders)
    common(p)
    p = sub.add_parser("cancel", help="cancel an order")
    p.add_argument("order_id")
    p.set_defaults(verb=_cancel)
    common(p)
