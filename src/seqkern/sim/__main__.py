"""`python -m seqkern.sim <venue> --port N`: run one venue simulator by hand.

Venues: binance, binance-perp, okx, okx-perp, bybit, bybit-perp, coinbase, kraken, bitget, cryptocom.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any

from seqkern.sim.server import TickingSimServer


def main(argv: list[str] | None = None) -> int:
    # --- prediction / on-chain simulators (issue 8): hyperliquid, kalshi, polymarket ---
    given = sys.argv[1:] if argv is None else argv
    if given and given[0] in ("hyperliquid", "kalshi", "polymarket"):
        from seqkern.sim.pred_cli import main as pred_main
        return pred_main(given)
    # --- end prediction / on-chain simulators ---
    ap = argparse.ArgumentParser(prog="python -m seqkern.sim", description=__doc__)
    ap.add_argument("venue", choices=["binance", "binance-perp", "okx", "okx-perp", "bybit", "bybit-perp", *CEX4_SIMS])
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any free port)")
    ap.add_argument("--perp", action="store_true", help="the perpetual market (USD-M, SWAP, linear) instead of spot")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--replay", default=None, help="file of recorded-format depth messages, one per line")
    ap.add_argument("--api-key", default="", help="register an account with this API key")
    ap.add_argument("--secret", default="", help="HMAC secret of that account")
    ap.add_argument("--passphrase", default="", help="API passphrase of that account (OKX, Bitget, Crypto.com)")
    ap.add_argument("--legacy-checksum", action="store_true", help="OKX: send pre-2026-06-23 CRC32 checksums")
    args = ap.parse_args(argv)
    if args.venue in CEX4_SIMS:
        return _run_cex4(args)

    def make() -> TickingSimServer:
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
        return sim

    return _serve(make, lambda sim: f"{args.venue} simulator: market {sim.base_ws}, REST {sim.base_http}")


def _serve(make: Callable[[], TickingSimServer], banner: Callable[[TickingSimServer], str]) -> int:
    """Start the simulator ``make`` builds, print ``banner`` (after binding: the port is known), run
    until interrupted, then stop it."""
    async def run() -> None:
        sim = make()
        await sim.start()
        print(banner(sim), flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await sim.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 0
    return 0


# ---- cex4 block: Coinbase, Kraken, Bitget, Crypto.com simulators ----
CEX4_SIMS = ("coinbase", "kraken", "bitget", "cryptocom")
_CEX4_PATHS = {
    "coinbase": "market {ws}/, user {ws}/user, REST {http}",
    "kraken": "market {ws}/v2, ws-auth {ws}/auth/v2, REST {http}",
    "bitget": "public {ws}/v2/ws/public, private {ws}/v2/ws/private, REST {http}",
    "cryptocom": "market {ws}/exchange/v1/market, user {ws}/exchange/v1/user, REST {http}/exchange/v1",
}


def _run_cex4(args: argparse.Namespace) -> int:
    from seqkern.sim.bitget import BitgetSim
    from seqkern.sim.coinbase import CoinbaseSim
    from seqkern.sim.cryptocom import CryptocomSim
    from seqkern.sim.kraken import KrakenSim

    cls = {"coinbase": CoinbaseSim, "kraken": KrakenSim, "bitget": BitgetSim, "cryptocom": CryptocomSim}[args.venue]

    def make() -> TickingSimServer:
        sim = cls(port=args.port, seed=args.seed, replay_path=args.replay)
        if args.api_key and args.venue == "coinbase":
            # --secret: the CDP key's PEM, private (its public half is registered) or public
            from cryptography.hazmat.primitives.serialization import (
                load_pem_private_key,
                load_pem_public_key,
            )
            pem = args.secret.replace("\\n", "\n").encode()
            pub = (load_pem_private_key(pem, password=None).public_key() if b"PRIVATE KEY" in pem
                   else load_pem_public_key(pem))
            sim.add_cdp_key(args.api_key, pub)
        elif args.api_key:
            sim.add_account(args.api_key, args.secret, args.passphrase)
        return sim

    # "market <ws base>, REST <http base>" first (what `seqkern up` reads), then the venue's paths
    return _serve(make, lambda sim: f"{args.venue} simulator: market {sim.base_ws}, REST {sim.base_http} ("
                  + _CEX4_PATHS[args.venue].format(ws=sim.base_ws, http=sim.base_http) + ")")
# ---- end cex4 block ----


if __name__ == "__main__":
    sys.exit(main())
