"""Launcher of the book-feed edges: VENUE=hyperliquid (inside venue-edge-cex), kalshi and polymarket.

    VENUE=hyperliquid venue-edge-cex --symbols BTC-USDC,ETH-USDC --out -
    VENUE=kalshi venue-edge-pred --symbols KXBTCZ-26DEC31-T99000 --out -
    VENUE=polymarket venue-edge-pred --symbols btc-above-99000-on-december-31-2026 --out -

Environment (flags win): VENUE, SEQKERN_SYMBOLS, SEQKERN_CC; endpoints <PREFIX>_MARKET_WS,
<PREFIX>_REST, <PREFIX>_TRADE_WS (Hyperliquid trading socket), <PREFIX>_USER_WS and
<PREFIX>_GAMMA and <PREFIX>_RELAYER (Polymarket). Credentials, checked by the venue catalog:
HYPERLIQUID_SIGNER_PRIVATE_KEY + HYPERLIQUID_VAULT_ADDRESS (the account the API wallet acts for);
KALSHI_API_KEY + KALSHI_API_SECRET or KALSHI_API_SECRET_FILE (PEM) [+ KALSHI_SUBACCOUNT];
POLYMARKET_SIGNER_PRIVATE_KEY [+ POLYMARKET_API_KEY/_API_SECRET/_PASSPHRASE, else derived].
Announced markets (Kalshi lifecycle, Polymarket new_market) are bound and sent to the CC as PAIR_SPEC.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import aiohttp
import orjson

from seqkern.edge.pred_runner import PredEdgeRunner
from seqkern.edge.sink import EdgeSink, JsonLinesSink
from seqkern.edge.ws import EdgeConfigError, ssl_context_for
from seqkern.errors import SeqkernError, UnknownSymbol, UnknownVenue
from seqkern.venues.base import OrderTransport
from seqkern.venues.catalog import VENUE_POLYMARKET
from seqkern.venues.credentials import validate_credentials
from seqkern.venues.pairspec import PairSpec
from seqkern.venues.pred_base import BookFeedVenue, NewMarket

log = logging.getLogger("seqkern.edge.pred_launcher")

PRED_VENUES = ("hyperliquid", "kalshi", "polymarket")
_FEES = {"kalshi": (87.5, 350.0), "polymarket": (0.0, 100.0), "hyperliquid": (1.5, 4.5)}


def handles(argv: list[str], env: Mapping[str, str]) -> bool:
    """True when the command line / environment selects one of the book-feed venues."""
    name = env.get("VENUE", "")
    for i, a in enumerate(argv):
        if a == "--venue" and i + 1 < len(argv):
            name = argv[i + 1]
        elif a.startswith("--venue="):
            name = a.split("=", 1)[1]
    return name.strip().lower() in PRED_VENUES


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="venue-edge-pred", description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venue")
    ap.add_argument("--symbols")
    ap.add_argument("--cc")
    ap.add_argument("--out")
    ap.add_argument("--market-ws")
    ap.add_argument("--rest")
    ap.add_argument("--trade-ws", help="Hyperliquid trading websocket (default: the market websocket)")
    ap.add_argument("--user-ws", help="Polymarket user channel")
    ap.add_argument("--gamma", help="Polymarket Gamma base URL (market metadata)")
    ap.add_argument("--relayer", help="Polymarket relayer base URL (redemptions)")
    ap.add_argument("--no-discovery", action="store_true", help="do not bind venue-announced markets")
    ap.add_argument("--duration", type=float, default=0.0)
    ap.add_argument("--log-level", default="INFO")
    return ap


def _url(flag: str | None, env: Mapping[str, str], name: str, default: str) -> str:
    v = flag or env.get(name) or default
    ssl_context_for(v)
    return v.rstrip("/")


def spec_factory(venue_name: str, venue_id: int):
    maker, taker = _FEES[venue_name]

    def build(nm: NewMarket) -> PairSpec:
        return PairSpec(nm.market, venue_id, "binary", nm.market, nm.tick_1e9, 1_000_000, nm.min_qty_1e8, 0,
                        maker, taker)
    return build


async def _post_json(url: str, body: Any) -> Any:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s, \
            s.post(url, data=orjson.dumps(body), headers={"Content-Type": "application/json"},
                   ssl=ssl_context_for(url) or False) as r:
        if r.status != 200:
            raise EdgeConfigError(f"{url}: HTTP {r.status}")
        return orjson.loads(await r.read())


async def _get_json(url: str) -> Any:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s, \
            s.get(url, ssl=ssl_context_for(url) or False) as r:
        if r.status != 200:
            raise EdgeConfigError(f"{url}: HTTP {r.status}")
        return orjson.loads(await r.read())


async def build_edge(args: argparse.Namespace, env: Mapping[str, str], sink: EdgeSink
                     ) -> tuple[PredEdgeRunner, BookFeedVenue]:
    name = _venue_name(args, env)
    if name not in PRED_VENUES:
        raise UnknownVenue(f"unknown VENUE {name!r}; this launcher runs {', '.join(PRED_VENUES)}")
    sym_text = args.symbols or env.get("SEQKERN_SYMBOLS") or ""
    symbols = [s.strip() for s in sym_text.split(",") if s.strip()]
    transport: OrderTransport | None = None
    venue: BookFeedVenue
    specs: dict[str, Any] = {}
    maker, taker = _FEES[name]
    if name == "hyperliquid":
        from seqkern.venues.hyperliquid.execution import HyperliquidTransport
        from seqkern.venues.hyperliquid.signing import L1Signer
        from seqkern.venues.hyperliquid.venue import PROD_REST, PROD_WS, HyperliquidVenue
        ws = _url(args.market_ws, env, "HYPERLIQUID_MARKET_WS", PROD_WS)
        rest = _url(args.rest, env, "HYPERLIQUID_REST", PROD_REST)
        meta = await _post_json(rest + "/info", {"type": "meta"})
        szd = {a["name"]: int(a["szDecimals"]) for a in meta.get("universe", [])}
        venue = HyperliquidVenue(ws, rest, sz_decimals=szd)
        from seqkern.venues.hyperliquid.venue import coin_of, px_tick_1e9
        for s in symbols:
            coin = coin_of(s)
            if coin not in szd:
                raise UnknownSymbol(f"{coin} is not in Hyperliquid's meta universe")
            specs[s] = PairSpec(s, venue.venue_id, "perp", coin, px_tick_1e9(szd[coin]), 10 ** (8 - szd[coin]),
                                10 ** (8 - szd[coin]), 10 * 10**9, maker, taker)
        key = env.get("HYPERLIQUID_SIGNER_PRIVATE_KEY", "")
        if key:
            c = validate_credentials("hyperliquid", {"extra_json": {
                "signer_private_key": key, "vault_address": env.get("HYPERLIQUID_VAULT_ADDRESS", "")}})
            transport = HyperliquidTransport(_url(args.trade_ws, env, "HYPERLIQUID_TRADE_WS", ws),
                                             L1Signer(c.signer_private_key), account_address=c.vault_address)
    elif name == "kalshi":
        from seqkern.venues.kalshi.auth import KalshiSigner
        from seqkern.venues.kalshi.execution import KalshiTransport
        from seqkern.venues.kalshi.venue import PROD_REST, PROD_WS, KalshiVenue
        ws = _url(args.market_ws, env, "KALSHI_MARKET_WS", PROD_WS)
        rest = _url(args.rest, env, "KALSHI_REST", PROD_REST)
        key_id = env.get("KALSHI_API_KEY", "")
        pem = env.get("KALSHI_API_SECRET", "")
        if not pem and env.get("KALSHI_API_SECRET_FILE"):
            pem = Path(env["KALSHI_API_SECRET_FILE"]).read_text()
        if not key_id:
            raise EdgeConfigError("Kalshi signs even its market-data websocket: set KALSHI_API_KEY and "
                                  "KALSHI_API_SECRET (or _FILE)")
        payload: dict[str, Any] = {"api_key": key_id, "api_secret": pem}
        if env.get("KALSHI_SUBACCOUNT"):
            payload["extra_json"] = {"subaccount": env["KALSHI_SUBACCOUNT"]}
        c = validate_credentials("kalshi", payload)
        signer = KalshiSigner(c.api_key, c.api_secret)
        venue = KalshiVenue(ws, rest, signer=signer, discovery=not args.no_discovery)
        from seqkern.venues.kalshi.venue import finest_tick
        for s in symbols:
            ticker = s.split(":", 1)[0]
            info = (await _get_json(f"{rest}/markets/{ticker}")).get("market") or {}
            specs[ticker] = PairSpec(ticker, venue.venue_id, "binary", ticker, finest_tick(info), 1_000_000,
                                     1_000_000, 0, maker, taker)
        transport = KalshiTransport(rest, ws, signer, subaccount=c.subaccount)
    else:
        from seqkern.venues.polymarket.execution import PolymarketTransport
        from seqkern.venues.polymarket.signing import ApiCreds, PolySigner
        from seqkern.venues.polymarket.venue import (
            PROD_CLOB,
            PROD_GAMMA,
            PROD_MARKET_WS,
            PROD_USER_WS,
            PolymarketVenue,
            market_from_gamma,
        )
        ws = _url(args.market_ws, env, "POLYMARKET_MARKET_WS", PROD_MARKET_WS)
        rest = _url(args.rest, env, "POLYMARKET_REST", PROD_CLOB)
        gamma = _url(args.gamma, env, "POLYMARKET_GAMMA", PROD_GAMMA)
        markets = []
        for s in symbols:
            slug = s.split(":", 1)[0]
            items = await _get_json(f"{gamma}/markets?slug={slug}")
            if not items:
                raise EdgeConfigError(f"Polymarket market {slug!r} not found on Gamma")
            pm = market_from_gamma(items[0])
            markets.append(pm)
            specs[slug] = PairSpec(slug, VENUE_POLYMARKET, "binary", slug, pm.tick_1e9, 1_000_000, pm.min_size_1e8, 0, maker, taker)
        venue = PolymarketVenue(ws, rest, markets=markets, discovery=not args.no_discovery)
        key = env.get("POLYMARKET_SIGNER_PRIVATE_KEY", "")
        if key:
            c = validate_credentials("polymarket", {
                "api_key": env.get("POLYMARKET_API_KEY", ""), "api_secret": env.get("POLYMARKET_API_SECRET", ""),
                "passphrase": env.get("POLYMARKET_PASSPHRASE", ""),
                "extra_json": {"signer_private_key": key,
                               **({"proxy_address": env["POLYMARKET_PROXY_ADDRESS"]}
                                  if env.get("POLYMARKET_PROXY_ADDRESS") else {})}})
            creds = None if c.derive_l2 else ApiCreds(c.api_key, c.api_secret, c.passphrase)
            transport = PolymarketTransport(rest, _url(args.user_ws, env, "POLYMARKET_USER_WS", PROD_USER_WS), venue,
                                            PolySigner(c.signer_private_key), creds=creds, funder=c.proxy_address,
                                            builder=c.builder,
                                            relayer_url=args.relayer or env.get("POLYMARKET_RELAYER", ""))
    runner = PredEdgeRunner(venue, symbols, sink, transport=transport, specs=specs,
                            spec_factory=spec_factory(name, venue.venue_id))
    return runner, venue


def _venue_name(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    return (args.venue or env.get("VENUE") or "").strip().lower()


def _sink(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[EdgeSink, IO[str] | None]:
    cc = args.cc or env.get("SEQKERN_CC") or ""
    if cc:
        from seqkern.cclink import EdgeLinkClient, Region
        from seqkern.edge.cclink_sink import CcLinkSink
        from seqkern.edge.launcher import parse_cc_address
        from seqkern.venues.catalog import venue_by_name

        parse_cc_address(cc)
        name = _venue_name(args, env)
        if name not in PRED_VENUES:
            raise UnknownVenue(f"unknown VENUE {name!r}; this launcher runs {', '.join(PRED_VENUES)}")
        v = venue_by_name(name)
        region = {"ap": Region.AP, "na": Region.NA, "eu": Region.EU}[v.region]
        client = EdgeLinkClient(f"venue-edge-{name}", region=region, venue_slot=v.venue_id,
                                instrument_type=2 if name == "hyperliquid" else 3)
        return CcLinkSink(client), None
    out = args.out or "-"
    fh = sys.stdout if out == "-" else open(out, "w", buffering=1)  # noqa: SIM115
    return JsonLinesSink(fh), (None if out == "-" else fh)


async def _run(args: argparse.Namespace, env: Mapping[str, str], sink: EdgeSink) -> int:
    runner, venue = await build_edge(args, env, sink)
    client = getattr(sink, "client", None)
    if client is not None:
        from seqkern.edge.launcher import parse_cc_address
        sink.attach(runner)   # type: ignore[attr-defined]
        where, port = parse_cc_address(args.cc or env.get("SEQKERN_CC", ""))
        if where == "unix":
            await client.connect_unix(str(port), wait=False)
        else:
            await client.connect_tcp(where, int(port), wait=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await runner.start()
    log.info("%s edge up: order entry %s", venue.name, "on" if runner.transport else "off (no credentials)")
    try:
        if args.duration > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.duration)
        else:
            await stop.wait()
    finally:
        await runner.stop()
        if client is not None:
            await client.close()
        log.info("%s edge stopped: %s", venue.name, json.dumps(runner.status()["counters"]))
    return 0


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    env = dict(os.environ if env is None else env)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        sink, fh = _sink(args, env)
    except SeqkernError as exc:
        print(f"venue-edge-pred: {exc.message} [{exc.code}]", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, env, sink))
    except SeqkernError as exc:
        print(f"venue-edge-pred: {exc.message} [{exc.code}]", file=sys.stderr)
        return 1
    finally:
        if fh is not None:
            fh.close()
