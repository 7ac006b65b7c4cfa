"""`python -m seqkern.sim binance [--perp] --port N`: run one venue simulator by hand."""

from __future__ import annotations

import argparse
import asyncio
import sys


def main(argv: list[str] | None = None) -> int:
    # --- prediction / on-chain simulators (issue 8): hyperliquid, kalshi, polymarket ---
    given = sys.argv[1:] if argv is None else argv
    if given and given[0] in ("hyperliquid", "kalshi", "polymarket"):
        from seqkern.sim.pred_cli import main as pred_main
        return pred_main(given)
    # --- end prediction / on-chain simulators ---
    ap = argparse.ArgumentParser(prog="python -m seqkern.sim", description=__doc__)
    ap.add_argument("venue", choices=["binance", "binance-perp"])
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any free port)")
    ap.add_argument("--perp", action="store_true", help="USD-M futures instead of spot")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--replay", default=None, help="file of recorded-format depth messages, one per line")
    ap.add_argument("--api-key", default="", help="register an account with this API key")
    ap.add_argument("--secret", default="", help="HMAC secret of that account")
    args = ap.parse_args(argv)
    from seqkern.sim.binance import BinanceSim

    async def run() -> None:
        sim = BinanceSim(futures=args.perp or args.venue == "binance-perp", port=args.port, seed=args.seed,
                         replay_path=args.replay)
        if args.api_key:
            sim.add_account(args.api_key, args.secret, balances={"USDT": "1000000", "BTC": "100"})
        await sim.start()
        print(f"{args.venue} simulator: market {sim.base_ws}, REST {sim.base_http}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await sim.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
