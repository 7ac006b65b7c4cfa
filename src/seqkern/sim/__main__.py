"""`python -m seqkern.sim binance|binance-perp|okx|okx-perp|bybit|bybit-perp --port N`: run one venue simulator by hand."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any


def main(argv: list[str] | None = None) -> int:
    # --- prediction / on-chain simulators (issue 8): hyperliquid, kalshi, polymarket ---
    given = sys.argv[1:] if argv is None else argv
    if given and given[0] in ("hyperliquid", "kalshi", "polymarket"):
        from seqkern.sim.pred_cli import main as pred_main
        return pred_main(given)
    # --- end prediction / on-chain simulators ---
    ap = argparse.ArgumentParser(prog="python -m seqkern.sim", description=__doc__)
    ap.add_argument("venue", choices=["binance", "binance-perp", "okx", "okx-perp", "bybit", "bybit-perp"])
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any free port)")
    ap.add_argument("--perp", action="store_true", help="the perpetual market (USD-M, SWAP, linear) instead of spot")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--replay", default=None, help="file of recorded-format depth messages, one per line")
    ap.add_argument("--api-key", default="", help="register an account with this API key")
    ap.add_argument("--secret", default="", help="HMAC secret of that account")
    ap.add_argument("--passphrase", default="", help="API passphrase of that account (OKX)")
    ap.add_argument("--legacy-checksum", action="store_true", help="OKX: send pre-2026-06-23 CRC32 checksums")
    args = ap.parse_args(argv)

    async def run() -> None:
        perp = args.perp or args.venue.endswith("-perp")
        sim: Any
        if args.venue.startswith("okx"):
            from seqkern.sim.okx import OkxSim
            sim = OkxSim(swap=perp, port=args.port, seed=args.seed, replay_path=args.replay,
                         legacy_checksum=args.legacy_checksum)
            if args.api_key:
                sim.add_account(args.api_key, args.secret, args.passphrase)
        elif args.venue.startswith("bybit"):
            from seqkern.sim.bybit import BybitSim
            sim = BybitSim(linear=perp, port=args.port, seed=args.seed, replay_path=args.replay)
            if args.api_key:
                sim.add_account(args.api_key, args.secret)
        else:
            from seqkern.sim.binance import BinanceSim
            sim = BinanceSim(futures=perp, port=args.port, seed=args.seed, replay_path=args.replay)
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
