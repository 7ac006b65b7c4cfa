"""`python -m seqkern.sim hyperliquid|kalshi|polymarket --port N`: run a book-feed venue simulator by hand."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m seqkern.sim", description=__doc__)
    ap.add_argument("venue", choices=["hyperliquid", "kalshi", "polymarket"])
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any free port)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--key-id", default="", help="Kalshi: register this API key id ...")
    ap.add_argument("--public-key-file", default="", help="Kalshi: ... with this PEM public key (RSA or Ed25519)")
    ap.add_argument("--user", default="", help="Hyperliquid: register this account address")
    ap.add_argument("--agent", default="", help="Hyperliquid: API wallet address acting for --user")
    ap.add_argument("--announce-every", type=float, default=0.0,
                    help="Kalshi/Polymarket: announce a new market every N seconds (discovery demo)")
    ap.add_argument("--legacy-cents", action="store_true", help="Kalshi: 2026-03 book format (cents beside fp)")
    args = ap.parse_args(argv)

    async def run() -> None:
        sim: Any
        if args.venue == "hyperliquid":
            from seqkern.sim.hyperliquid import HyperliquidSim
            sim = HyperliquidSim(port=args.port, seed=args.seed)
            if args.user:
                sim.add_user(args.user, agent=args.agent or None)
            await sim.start()
            print(f"hyperliquid simulator: ws {sim.ws_url}, REST {sim.base_http}", flush=True)
        elif args.venue == "kalshi":
            from seqkern.sim.kalshi import KalshiSim
            sim = KalshiSim(port=args.port, seed=args.seed, legacy_cents=args.legacy_cents)
            if args.key_id and args.public_key_file:
                sim.add_account(args.key_id, Path(args.public_key_file).read_text())
            await sim.start()
            print(f"kalshi simulator: ws {sim.ws_url}, REST {sim.base_http}", flush=True)
        else:
            from seqkern.sim.polymarket import PolymarketSim
            sim = PolymarketSim(port=args.port, seed=args.seed)
            await sim.start()
            print(f"polymarket simulator: market ws {sim.market_ws}, user ws {sim.user_ws}, "
                  f"CLOB/Gamma/relayer {sim.base_http}", flush=True)
        try:
            k = 0
            while True:
                if args.announce_every > 0:
                    await asyncio.sleep(args.announce_every)
                    k += 1
                    if args.venue == "kalshi":
                        await sim.announce_market(f"KXSIM-26DEC31-T{1000 + k}")
                    elif args.venue == "polymarket":
                        await sim.announce_market(f"sim-market-{k}")
                else:
                    await asyncio.sleep(3600)
        finally:
            await sim.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0
