"""`venue-edge-cex`: start one venue edge chosen by VENUE=<name> (spot and perp are separate processes).

Every venue runs on this one binary and the one ``EdgeRunner``: the CEXes, Hyperliquid, Kalshi and
Polymarket. Configuration, strongest first: command-line flags, environment variables, a TOML file.

    VENUE=binance venue-edge-cex --symbols BTC-USDT,ETH-USDT --out -
    VENUE=binance-perp venue-edge-cex --config edge.toml
    VENUE=hyperliquid venue-edge-cex --symbols BTC-USDC,ETH-USDC --out -
    VENUE=kalshi venue-edge-cex --symbols KXBTCZ-26DEC31-T99000 --out -
    VENUE=polymarket venue-edge-cex --symbols btc-above-99000-on-december-31-2026 --out -

Environment: VENUE, SEQKERN_SYMBOLS, SEQKERN_CC (CC-LINK address), SEQKERN_EDGE_CONFIG; endpoints
<PREFIX>_MARKET_WS, <PREFIX>_TRADE_WS, <PREFIX>_REST, <PREFIX>_PRIVATE_WS, <PREFIX>_METADATA_REST,
<PREFIX>_RELAYER, <PREFIX>_CHAIN_RPC; credentials, checked by the venue catalog:
<PREFIX>_API_KEY, <PREFIX>_API_SECRET (HMAC secret or PEM), <PREFIX>_API_SECRET_FILE,
<PREFIX>_API_PASSPHRASE (OKX, Coinbase, Bitget, Crypto.com; Polymarket pre-derived L2), and
<PREFIX>_SIGNER_PRIVATE_KEY, <PREFIX>_VAULT_ADDRESS (Hyperliquid), <PREFIX>_SUBACCOUNT (Kalshi),
<PREFIX>_PROXY_ADDRESS, <PREFIX>_BUILDER, <PREFIX>_SIGNATURE_TYPE (Polymarket: 0 EOA, 1 proxy,
2 Safe, 3 POLY_1271 deposit wallet), and for Polymarket's relayer POLYMARKET_BUILDER_API_KEY /
_BUILDER_SECRET / _BUILDER_PASSPHRASE or POLYMARKET_RELAYER_API_KEY / _RELAYER_API_KEY_ADDRESS.
PREFIX = BINANCE for binance and binance-perp, OKX for okx and okx-perp, BYBIT for bybit and
bybit-perp, and the venue's name in capitals for the others (COINBASE, KRAKEN, BITGET, CRYPTOCOM,
HYPERLIQUID, KALSHI, POLYMARKET).
The config file may hold [edge] venue/symbols/cc, [endpoints] market_ws/trade_ws/rest/private_ws/
metadata/relayer/chain_rpc and [credentials] api_key/api_secret/api_secret_file/passphrase/
signer_private_key/vault_address/subaccount/proxy_address/builder (or *_env naming an environment
variable).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from seqkern.edge.rest import RateLimiter, RestClient
from seqkern.edge.runner import EdgeRunner
from seqkern.edge.sink import EdgeSink, JsonLinesSink
from seqkern.edge.ws import EdgeConfigError, ssl_context_for
from seqkern.errors import CredentialError, SeqkernError, UnknownVenue
from seqkern.venues.base import CexVenue, InstrumentType, OrderTransport, VenueEndpoints
from seqkern.venues.catalog import launcher_names
from seqkern.venues.credentials import Credentials, validate_credentials

log = logging.getLogger("seqkern.edge.launcher")


Options = Mapping[str, str]     # a venue's further <PREFIX>_<NAME> settings (EdgeVenue.options)
TransportFactory = Callable[[Any, Any, RestClient, Options], OrderTransport]


@dataclass(frozen=True)
class EdgeVenue:
    """One VENUE value: its CexVenue class, env prefix, and how to build its order transport.

    ``make_venue`` builds the venue when it needs more than its endpoints (Kalshi signs its
    market-data websocket); ``credentials_required`` refuses to start without credentials."""

    venue_cls: type[CexVenue]
    env_prefix: str
    catalog_venue: str
    transport: TransportFactory
    make_venue: Callable[[VenueEndpoints, Any, bool], CexVenue] | None = None
    credentials_required: str = ""
    options: tuple[str, ...] = ()      # further <PREFIX>_<NAME> settings handed to ``transport``


def _binance_transport(futures: bool) -> TransportFactory:
    def build(venue: CexVenue, creds: Any, rest: RestClient, options: Options) -> OrderTransport:
        from seqkern.venues.binance.execution import BinanceWsApiTransport

        ep = venue.endpoints
        return BinanceWsApiTransport(futures=futures, ws_api_url=ep.trade_ws, credentials=creds, rest=rest,
                                     private_ws_base=ep.private_ws or ep.market_ws)
    return build


def _okx_transport(inst_type: str) -> TransportFactory:
    def build(venue: CexVenue, creds: Any, rest: RestClient, options: Options) -> OrderTransport:
        from seqkern.venues.okx.execution import OkxWsTransport

        ep = venue.endpoints
        return OkxWsTransport(inst_type=inst_type, private_ws_url=ep.private_ws or ep.trade_ws,
                              credentials=creds, rest=rest)  # type: ignore[arg-type]
    return build


def _bybit_transport(category: str) -> TransportFactory:
    def build(venue: CexVenue, creds: Any, rest: RestClient, options: Options) -> OrderTransport:
        from seqkern.venues.bybit.execution import BybitWsTransport

        ep = venue.endpoints
        return BybitWsTransport(category=category, trade_ws_url=ep.trade_ws, private_ws_url=ep.private_ws,
                                credentials=creds, rest=rest)
    return build


# ---- cex4 block: Coinbase, Kraken, Bitget, Crypto.com transports ----

def _coinbase_transport(venue: CexVenue, creds: Any, rest: RestClient, options: Options) -> OrderTransport:
    from seqkern.venues.coinbase.execution import CoinbaseRestTransport

    ep = venue.endpoints
    host = "api.coinbase.com" if ep.rest.startswith("https://api.coinbase.com") else ""
    return CoinbaseRestTransport(rest=rest, user_ws=ep.private_ws or ep.trade_ws, credentials=creds, rest_host=host)


def _kraken_transport(venue: CexVenue, creds: Any, rest: RestClient, options: Options) -> OrderTransport:
    from seqkern.venues.kraken.execution import KrakenWsTransport

    return KrakenWsTransport(trade_ws=venue.endpoints.trade_ws, credentials=creds, rest=rest)


def _bitget_transport(venue: CexVenue, creds: Any, rest: RestClient, options: Options) -> OrderTransport:
    from seqkern.venues.bitget.execution import BitgetRestTransport

    ep = venue.endpoints
    return BitgetRestTransport(rest=rest, private_ws=ep.private_ws or ep.trade_ws, credentials=creds)


def _cryptocom_transport(venue: CexVenue, creds: Any, rest: RestClient, options: Options) -> OrderTransport:
    from seqkern.venues.cryptocom.execution import CryptocomUserTransport

    return CryptocomUserTransport(user_ws=venue.endpoints.trade_ws, credentials=creds,
                                  connect_delay_s=venue.subscribe_delay_s)


def _cex4_venues() -> dict[str, EdgeVenue]:
    from seqkern.venues.bitget import BitgetSpot
    from seqkern.venues.coinbase import CoinbaseSpot
    from seqkern.venues.cryptocom import CryptocomSpot
    from seqkern.venues.kraken import KrakenSpot

    return {
        "coinbase": EdgeVenue(CoinbaseSpot, "COINBASE", "coinbase", _coinbase_transport),
        "kraken": EdgeVenue(KrakenSpot, "KRAKEN", "kraken", _kraken_transport),
        "bitget": EdgeVenue(BitgetSpot, "BITGET", "bitget", _bitget_transport),
        "cryptocom": EdgeVenue(CryptocomSpot, "CRYPTOCOM", "cryptocom", _cryptocom_transport),
    }

# ---- end cex4 block ----


# ---- book-feed venues: Hyperliquid, Kalshi, Polymarket ----

def _hyperliquid_transport(venue: Any, creds: Any, rest: RestClient, options: Options) -> OrderTransport:
    from seqkern.venues.hyperliquid.execution import HyperliquidTransport
    from seqkern.venues.hyperliquid.signing import L1Signer

    ep = venue.endpoints
    # the API wallet signs; the account it trades for is the vault address (pred-hl.md 3.4)
    return HyperliquidTransport(ep.trade_ws or ep.market_ws, L1Signer(creds.signer_private_key),
                                account_address=creds.vault_address)


def _kalshi_signer(creds: Any) -> Any:
    from seqkern.venues.kalshi.auth import KalshiSigner

    return KalshiSigner(creds.api_key, creds.api_secret)


def _kalshi_venue(endpoints: VenueEndpoints, creds: Any, discovery: bool) -> CexVenue:
    from seqkern.venues.kalshi.venue import KalshiVenue

    return KalshiVenue(endpoints, signer=_kalshi_signer(creds), discovery=discovery)


def _kalshi_transport(venue: Any, creds: Any, rest: RestClient, options: Options) -> OrderTransport:
    from seqkern.venues.kalshi.execution import KalshiTransport

    ep = venue.endpoints
    signer = venue.signer or _kalshi_signer(creds)
    return KalshiTransport(ep.rest, ep.private_ws or ep.market_ws, signer, subaccount=creds.subaccount)


def _polymarket_venue(endpoints: VenueEndpoints, creds: Any, discovery: bool) -> CexVenue:
    from seqkern.venues.polymarket.venue import PolymarketVenue

    return PolymarketVenue(endpoints, discovery=discovery)


_POLY_RELAYER_OPTIONS = ("BUILDER_API_KEY", "BUILDER_SECRET", "BUILDER_PASSPHRASE", "RELAYER_API_KEY",
                         "RELAYER_API_KEY_ADDRESS")


def _polymarket_relayer_auth(options: Mapping[str, str]) -> Any:
    """Relayer credentials: a Builder API key (HMAC headers) or a Relayer API key with its address."""
    from seqkern.venues.polymarket.execution import RelayerAuth

    if options.get("BUILDER_API_KEY"):
        if not (options.get("BUILDER_SECRET") and options.get("BUILDER_PASSPHRASE")):
            raise CredentialError("a Polymarket builder API key needs POLYMARKET_BUILDER_SECRET and "
                                  "POLYMARKET_BUILDER_PASSPHRASE", field="builder_api_key")
        return RelayerAuth(options["BUILDER_API_KEY"], options["BUILDER_SECRET"], options["BUILDER_PASSPHRASE"])
    if options.get("RELAYER_API_KEY"):
        if not options.get("RELAYER_API_KEY_ADDRESS"):
            raise CredentialError("a Polymarket relayer API key needs POLYMARKET_RELAYER_API_KEY_ADDRESS",
                                  field="relayer_api_key_address")
        return RelayerAuth(options["RELAYER_API_KEY"], address=options["RELAYER_API_KEY_ADDRESS"])
    return None


def _polymarket_transport(venue: Any, creds: Any, rest: RestClient, options: Options) -> OrderTransport:
    from seqkern.venues.polymarket.execution import PolymarketTransport
    from seqkern.venues.polymarket.signing import ApiCreds, PolySigner

    ep = venue.endpoints
    l2 = None if creds.derive_l2 else ApiCreds(creds.api_key, creds.api_secret, creds.passphrase)
    return PolymarketTransport(ep.rest, ep.private_ws, venue, PolySigner(creds.signer_private_key), creds=l2,
                               funder=creds.proxy_address, builder=creds.builder, relayer_url=ep.relayer,
                               signature_type=creds.signature_type, rpc_url=ep.chain_rpc,
                               relayer_auth=_polymarket_relayer_auth(options))


def _book_feed_venues() -> dict[str, EdgeVenue]:
    from seqkern.venues.hyperliquid.venue import HyperliquidVenue
    from seqkern.venues.kalshi.venue import KalshiVenue
    from seqkern.venues.polymarket.venue import PolymarketVenue

    return {
        "hyperliquid": EdgeVenue(HyperliquidVenue, "HYPERLIQUID", "hyperliquid", _hyperliquid_transport),
        "kalshi": EdgeVenue(KalshiVenue, "KALSHI", "kalshi", _kalshi_transport, _kalshi_venue,
                            credentials_required="Kalshi signs even its market-data websocket: set KALSHI_API_KEY "
                                                 "and KALSHI_API_SECRET (or KALSHI_API_SECRET_FILE)"),
        "polymarket": EdgeVenue(PolymarketVenue, "POLYMARKET", "polymarket", _polymarket_transport,
                                _polymarket_venue, options=_POLY_RELAYER_OPTIONS),
    }

# ---- end book-feed venues ----


def _edge_venues() -> dict[str, EdgeVenue]:
    from seqkern.venues.binance import BinanceSpot, BinanceUsdm
    from seqkern.venues.bybit import BybitLinear, BybitSpot
    from seqkern.venues.okx import OkxSpot, OkxSwap

    return {
        "binance": EdgeVenue(BinanceSpot, "BINANCE", "binance", _binance_transport(False)),
        "binance-perp": EdgeVenue(BinanceUsdm, "BINANCE", "binance", _binance_transport(True)),
        "okx": EdgeVenue(OkxSpot, "OKX", "okx", _okx_transport("SPOT")),
        "okx-perp": EdgeVenue(OkxSwap, "OKX", "okx", _okx_transport("SWAP")),
        "bybit": EdgeVenue(BybitSpot, "BYBIT", "bybit", _bybit_transport("spot")),
        "bybit-perp": EdgeVenue(BybitLinear, "BYBIT", "bybit", _bybit_transport("linear")),
        **_cex4_venues(),
        **_book_feed_venues(),
    }


def valid_venues() -> list[str]:
    return sorted(_edge_venues())


def resolve_venue(name: str | None) -> EdgeVenue:
    venues = _edge_venues()
    valid = ", ".join(sorted(venues))
    if not name:
        raise UnknownVenue(f"VENUE is not set; valid names: {valid}")
    key = name.strip().lower()
    if key not in venues:
        if key in launcher_names():
            raise UnknownVenue(f"VENUE {name!r} is in the venue catalog but this build has no edge "
                               f"adapter for it yet; valid names: {valid}")
        raise UnknownVenue(f"unknown VENUE {name!r}; valid names: {valid}")
    return venues[key]


def _load_config(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise EdgeConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise EdgeConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _secret_from(section: Mapping[str, Any], name: str, env: Mapping[str, str]) -> str:
    if section.get(f"{name}_env"):
        return env.get(str(section[f"{name}_env"]), "")
    return str(section.get(name, "") or "")


_EXTRA_FIELDS = ("signer_private_key", "vault_address", "subaccount", "proxy_address", "builder", "signature_type")


def load_credentials(prefix: str, catalog_venue: str, cfg: Mapping[str, Any],
                     env: Mapping[str, str]) -> Credentials | None:
    """Credentials from the environment, else the config file, checked by the catalog's rules.

    The secret is the HMAC secret, or a PEM private key (inline or ``*_SECRET_FILE``); on-chain
    venues sign with ``signer_private_key`` and take their other fields in ``extra_json``. None
    means market data only.
    """
    sec = cfg.get("credentials", {}) or {}
    key = env.get(f"{prefix}_API_KEY") or _secret_from(sec, "api_key", env)
    secret = env.get(f"{prefix}_API_SECRET") or _secret_from(sec, "api_secret", env)
    secret_file = env.get(f"{prefix}_API_SECRET_FILE") or str(sec.get("api_secret_file", "") or "")
    if secret_file and not secret:
        try:
            secret = Path(secret_file).read_text().strip() + "\n"
        except OSError:
            raise CredentialError("the API secret file cannot be read", field="api_secret_file") from None
    passphrase = env.get(f"{prefix}_API_PASSPHRASE") or _secret_from(sec, "passphrase", env)
    extra = {f: v for f in _EXTRA_FIELDS
             if (v := env.get(f"{prefix}_{f.upper()}") or _secret_from(sec, f, env))}
    if not key and not secret and not extra:
        return None
    payload: dict[str, Any] = {}
    if key or secret:
        payload["api_key"] = key
        payload["api_secret"] = secret.strip() if not secret.startswith("-----BEGIN") else secret
    if passphrase:   # OKX, the catalog's cex_passphrase venues, Polymarket pre-derived L2
        payload["passphrase"] = passphrase
    if extra:
        payload["extra_json"] = extra
    return validate_credentials(catalog_venue, payload)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="venue-edge-cex", description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venue", help="venue name (default: $VENUE)")
    ap.add_argument("--symbols", help="comma-separated canonical symbols, e.g. BTC-USDT,ETH-USDT")
    ap.add_argument("--config", help="TOML config file (default: $SEQKERN_EDGE_CONFIG)")
    ap.add_argument("--cc", help="CC-LINK address of the command center (host:port or unix:/path)")
    ap.add_argument("--region", choices=["ap", "na", "eu"],
                    help="region the edge declares to its CC (default: the venue's catalog region, or "
                         "$SEQKERN_EDGE_REGION; a single local CC takes every venue until multi-region)")
    ap.add_argument("--out", help="write published records as JSON lines to this file ('-' = stdout) "
                                  "instead of a CC")
    ap.add_argument("--market-ws", help="market-data websocket base URL")
    ap.add_argument("--trade-ws", help="websocket order-entry URL")
    ap.add_argument("--rest", help="REST base URL")
    ap.add_argument("--private-ws", help="private stream base URL (Polymarket: the user channel)")
    ap.add_argument("--metadata-rest", help="market-metadata REST base where it differs from --rest "
                                            "(Polymarket Gamma)")
    ap.add_argument("--relayer", help="transaction relayer base URL (Polymarket redemptions)")
    ap.add_argument("--chain-rpc", help="JSON-RPC node for transactions the edge sends itself")
    ap.add_argument("--no-discovery", action="store_true",
                    help="do not bind markets the venue announces (Kalshi, Polymarket)")
    ap.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0 = run until signalled)")
    ap.add_argument("--log-level", default="INFO")
    return ap


@dataclass
class EdgeConfig:
    venue_name: str
    edge_venue: EdgeVenue
    venue: CexVenue
    symbols: list[str]
    credentials: Credentials | None
    cc: str
    out: str
    duration: float
    region: str = ""         # CC-LINK region override (cex4: one local CC for every venue)
    # the venue's further settings (EdgeVenue.options); may hold relayer secrets: never in the repr
    options: dict[str, str] = field(default_factory=dict, repr=False)


def configure(argv: list[str] | None, env: Mapping[str, str] | None = None) -> EdgeConfig:
    env = dict(os.environ if env is None else env)
    args = build_parser().parse_args(argv)
    cfg = _load_config(args.config or env.get("SEQKERN_EDGE_CONFIG"))
    edge_cfg = cfg.get("edge", {}) or {}
    name = args.venue or env.get("VENUE") or edge_cfg.get("venue")
    ev = resolve_venue(name)
    assert name is not None
    p = ev.env_prefix
    ep_cfg = cfg.get("endpoints", {}) or {}
    endpoints = ev.venue_cls.default_endpoints()
    overrides = {}
    for field_name, flag in (("market_ws", args.market_ws), ("trade_ws", args.trade_ws), ("rest", args.rest),
                             ("private_ws", args.private_ws), ("metadata", args.metadata_rest),
                             ("relayer", args.relayer), ("chain_rpc", args.chain_rpc)):
        env_name = "METADATA_REST" if field_name == "metadata" else field_name.upper()
        v = flag or env.get(f"{p}_{env_name}") or ep_cfg.get(field_name)
        if v:
            ssl_context_for(str(v))   # reject plain ws:// / http:// to anything but loopback, early
            overrides[field_name] = str(v).rstrip("/")
    endpoints = replace(endpoints, **overrides)
    creds = load_credentials(p, ev.catalog_venue, cfg, env)
    if creds is None and ev.credentials_required:
        raise EdgeConfigError(ev.credentials_required)
    discovery = not args.no_discovery
    venue = ev.make_venue(endpoints, creds, discovery) if ev.make_venue else ev.venue_cls(endpoints)
    sym_text = args.symbols or env.get("SEQKERN_SYMBOLS") or ",".join(edge_cfg.get("symbols", []) or [])
    symbols = [s.strip() for s in str(sym_text).split(",") if s.strip()]
    if not symbols and not venue.discovers_markets:
        raise EdgeConfigError("no symbols: pass --symbols, set SEQKERN_SYMBOLS or [edge] symbols")
    for s in symbols:
        venue.venue_symbol(s)
    cc = args.cc or env.get("SEQKERN_CC") or str(edge_cfg.get("cc", "") or "")
    if cc:
        parse_cc_address(cc)
    out = args.out or ""
    if not cc and not out:
        out = "-"
    region = args.region or env.get("SEQKERN_EDGE_REGION") or ""
    if region and region not in ("ap", "na", "eu"):
        raise EdgeConfigError(f"SEQKERN_EDGE_REGION must be ap, na or eu, not {region!r}")
    options = {o: env[f"{p}_{o}"] for o in ev.options if env.get(f"{p}_{o}")}
    return EdgeConfig(name.strip().lower(), ev, venue, symbols, creds, cc, out, args.duration, region, options)


def parse_cc_address(address: str) -> tuple[str, str | int]:
    """"host:port" -> (host, port); "unix:/path" -> ("unix", path)."""
    if address.startswith("unix:"):
        path = address[5:]
        if not path:
            raise EdgeConfigError("CC address 'unix:' needs a socket path")
        return "unix", path
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not (0 < int(port) < 65536):
        raise EdgeConfigError(f"CC address {address!r}: expected host:port or unix:/path")
    return host.strip("[]"), int(port)


def build_sink(conf: EdgeConfig) -> tuple[EdgeSink, IO[str] | None]:
    if conf.cc:
        from seqkern.cclink import EdgeLinkClient, Region
        from seqkern.edge.cclink_sink import CcLinkSink
        from seqkern.venues.catalog import venue_by_id

        parse_cc_address(conf.cc)
        venue = conf.venue
        region = {"ap": Region.AP, "na": Region.NA, "eu": Region.EU}[conf.region or venue_by_id(venue.venue_id).region]
        itype = {InstrumentType.SPOT: 1, InstrumentType.PERP: 2, InstrumentType.BINARY: 3}[venue.instrument_type]
        client = EdgeLinkClient(f"venue-edge-{conf.venue_name}", region=region, venue_slot=venue.venue_id,
                                instrument_type=itype)
        return CcLinkSink(client), None
    fh = sys.stdout if conf.out == "-" else open(conf.out, "w", buffering=1)  # noqa: SIM115
    return JsonLinesSink(fh), (None if conf.out == "-" else fh)


async def run_edge(conf: EdgeConfig, sink: EdgeSink) -> int:
    rest = RestClient(conf.venue.endpoints.rest, RateLimiter(conf.venue.rate_limits))
    transport = None
    if conf.credentials:
        transport = conf.edge_venue.transport(conf.venue, conf.credentials, rest, conf.options)
    runner = EdgeRunner(conf.venue, conf.symbols, sink, transport=transport, rest=rest)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    client = getattr(sink, "client", None) if conf.cc else None
    if client is not None:
        sink.attach(runner)   # type: ignore[attr-defined]
        where, port = parse_cc_address(conf.cc)
        # the link connects (and reconnects) in the background; orders and fills queue meanwhile
        if where == "unix":
            await client.connect_unix(str(port), wait=False)
        else:
            await client.connect_tcp(where, int(port), wait=False)
    try:
        await runner.start()
        log.info("%s edge up: %d symbols, order entry %s, publishing to %s", conf.venue_name,
                 len(conf.symbols), "on" if transport else "off (no credentials)", conf.cc or conf.out)
        if conf.duration > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), conf.duration)
        else:
            await stop.wait()
    finally:
        await runner.stop()
        if client is not None:
            await client.close()
        log.info("%s edge stopped: %s", conf.venue_name, runner.status()["counters"])
    return 0


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    try:
        conf = configure(argv)
    except SeqkernError as exc:
        print(f"venue-edge-cex: {exc.message} [{exc.code}]", file=sys.stderr)
        return 2
    logging.basicConfig(level=getattr(logging, str(build_parser().parse_args(argv).log_level).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        import uvloop
        runner_fn: Callable[..., Any] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency
        runner_fn = asyncio.run
    try:
        sink, fh = build_sink(conf)
    except SeqkernError as exc:
        print(f"venue-edge-cex: {exc.message} [{exc.code}]", file=sys.stderr)
        return 2
    try:
        return int(runner_fn(run_edge(conf, sink)))
    except SeqkernError as exc:
        print(f"venue-edge-cex: {exc.message} [{exc.code}]", file=sys.stderr)
        return 1
    finally:
        if fh is not None:
            fh.close()
