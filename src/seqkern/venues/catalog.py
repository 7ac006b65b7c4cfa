"""The venue catalog: VenueIds, venue classes, regions, deploy units and capabilities, as data."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from seqkern.errors import UnknownVenue

# VenueId constants, exactly as the spec's "Venue IDs (SDK)" table. Wire id = CC VenueId + 1;
# slot 0 is reserved for "default/local". Arrays indexed by venue are VENUE_SLOTS long so that a
# venue's data sits at its wire id.
VENUE_DEFAULT = 0
VENUE_KRAKEN = 1
VENUE_COINBASE = 2
VENUE_BINANCE = 3
VENUE_BITGET = 4
VENUE_CRYPTOCOM = 5
VENUE_BITMART = 6
VENUE_DEX = 7
VENUE_OKX = 8
VENUE_BYBIT = 9
VENUE_UNKNOWN = 10
VENUE_DEX_ETH = 11
VENUE_DEX_ARB = 12
VENUE_DEX_BASE = 13
VENUE_DEX_OP = 14
VENUE_DEX_POLY = 15
VENUE_DEX_SOL = 16
VENUE_HYPERLIQUID = 17
VENUE_POLYMARKET = 18
VENUE_KALSHI = 19
VENUE_SLOTS = 20


class VenueClass(enum.Enum):
    """The spec's venue classes."""

    CEX = "cex"
    ONCHAIN_PERP = "onchain_perp"
    PREDICTION = "prediction"
    DEX = "dex"


class InstrumentType(enum.StrEnum):
    """What a deploy unit trades; the `instrument_type` of PairSpecs and market-data updates."""

    SPOT = "spot"
    PERP = "perp"  # perpetual swaps: Binance USD-M, OKX SWAP, Bybit linear, Hyperliquid
    BINARY = "binary"  # event contracts with a YES and a NO leg


class AmendMode(enum.StrEnum):
    """How an amend executes (spec: AmendMode::NativeAtomic vs CancelReplace)."""

    NATIVE_ATOMIC = "native_atomic"
    CANCEL_REPLACE = "cancel_replace"


class BatchMode(enum.StrEnum):
    """How a batch executes (spec: BatchMode::Serial vs NativeAtomic; Polymarket is best-effort)."""

    SERIAL = "serial"
    NATIVE_ATOMIC = "native_atomic"
    NATIVE_BEST_EFFORT = "native_best_effort"


class Settlement(enum.StrEnum):
    """How a position settles (spec: RedeemMode::AutoSettled vs RelayerSubmitted)."""

    AUTO_SETTLED = "auto_settled"  # on-venue: the venue credits the account itself
    ONCHAIN_REDEMPTION = "onchain_redemption"  # Polymarket CTF redeemPositions (relayer submitted)
    ONCHAIN_SWAP = "onchain_swap"  # DEX: the swap transaction itself settles


Region = Literal["ap", "na", "eu"]
REGIONS: tuple[str, ...] = ("ap", "na", "eu")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a venue's order channel can do, at the transport layer and as the graph API reports it.

    ``amend_transport`` / ``batch_transport`` are what the edge's transport does with the venue's
    native endpoint; ``amend_graph`` / ``batch_graph`` are the modes the graph SDK/API reports on
    results today (the spec: "graph SDK/API still reports CancelReplace", "graph-level SDK batching
    is still serial"). ``batch_max_ops`` is the venue's per-request limit (0 = no native batch).
    """

    native_amend: bool
    amend_transport: AmendMode
    amend_graph: AmendMode
    native_batch: bool
    batch_max_ops: int | None  # per-request cap; 0 = no native batch; None = no documented cap
    batch_transport: BatchMode
    batch_graph: BatchMode
    settlement: Settlement
    note: str = ""

    def __post_init__(self) -> None:
        if self.native_batch != (self.batch_max_ops is None or self.batch_max_ops > 0):
            raise ValueError("native_batch must be True exactly when batch_max_ops is not 0")
        if not self.native_amend and self.amend_transport is AmendMode.NATIVE_ATOMIC:
            raise ValueError("a venue without native amend cannot amend natively")


@dataclass(frozen=True, slots=True)
class DeployUnit:
    """One edge process: `venue-edge-<launcher>`, started with VENUE=<launcher>."""

    name: str  # deploy unit, e.g. "venue-edge-binance-perp"
    launcher: str  # VENUE=<launcher>, e.g. "binance-perp"
    venue_id: int
    instrument_type: InstrumentType
    capabilities: Capabilities


@dataclass(frozen=True, slots=True)
class Venue:
    """One commercial venue (one VenueId): spot and perp units of an exchange share it."""

    name: str  # catalog key, lower case, e.g. "binance", "dex-eth"
    display_name: str
    venue_id: int
    venue_class: VenueClass
    region: Region
    units: tuple[DeployUnit, ...]
    credential_class: str  # key into seqkern.venues.credentials.CREDENTIAL_CLASSES
    status: str  # "live" | "id-only" (an id in the SDK table, no edge in the product)
    region_note: str = ""

    @property
    def instrument_types(self) -> tuple[InstrumentType, ...]:
        return tuple(u.instrument_type for u in self.units)

    @property
    def deploy_units(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.units)

    @property
    def launchers(self) -> tuple[str, ...]:
        return tuple(u.launcher for u in self.units)

    @property
    def capabilities(self) -> Capabilities | None:
        """Capabilities of the venue's first (spot, or only) unit; see ``unit()`` for perps.
        None for id-only venues (BitMart, the generic DEX), which have no edge."""
        return self.units[0].capabilities if self.units else None

    @property
    def primary_instrument_type(self) -> InstrumentType:
        """The instrument type of the first unit (spot for id-only venues)."""
        return self.units[0].instrument_type if self.units else InstrumentType.SPOT

    def unit(self, instrument_type: InstrumentType | str) -> DeployUnit:
        for u in self.units:
            if u.instrument_type == instrument_type:
                return u
        raise UnknownVenue(
            f"venue {self.name!r} has no {instrument_type!s} unit; it offers "
            f"{', '.join(t.value for t in self.instrument_types) or 'no edge'}"
        )


# ---------------------------------------------------------------------------------------------
# Capability facts. Sources: /work/shared/spec/supported-exchanges.txt (Kalshi, Polymarket rows),
# shared/venues/cex.md §1 cross-venue table and per-venue sections, pred-hl.md §1.6, §2.4, §3.3.


def _cex(native_amend: bool, batch_max: int, note: str) -> Capabilities:
    return Capabilities(
        native_amend=native_amend,
        amend_transport=AmendMode.NATIVE_ATOMIC if native_amend else AmendMode.CANCEL_REPLACE,
        amend_graph=AmendMode.NATIVE_ATOMIC if native_amend else AmendMode.CANCEL_REPLACE,
        native_batch=batch_max > 0,
        batch_max_ops=batch_max,
        batch_transport=BatchMode.NATIVE_BEST_EFFORT if batch_max else BatchMode.SERIAL,
        batch_graph=BatchMode.SERIAL,
        settlement=Settlement.AUTO_SETTLED,
        note=note,
    )


_CAP_BINANCE_SPOT = _cex(
    True,
    0,
    "amend = PUT /api/v3/order/amend/keepPriority, quantity down only (cex.md 2.3); "
    "no batch for plain orders",
)
_CAP_BINANCE_PERP = _cex(True, 5, "PUT /fapi/v1/order modify (requeues); batchOrders max 5")
_CAP_COINBASE = _cex(True, 0, "orders/edit, GTC limit only; batch is cancel-only")
_CAP_KRAKEN = _cex(
    True,
    15,
    "amend_order atomic in place; batch_add 2-15 orders of one pair, validated as a "
    "whole, then engine checks reject orders individually",
)
_CAP_OKX_SPOT = _cex(True, 20, "amend-order native (same ordId); batch-orders max 20")
_CAP_OKX_PERP = _cex(True, 20, "amend-order native (same ordId); batch-orders max 20")
_CAP_BYBIT_SPOT = _cex(True, 10, "/v5/order/amend; create-batch max 10 for spot")
_CAP_BYBIT_PERP = _cex(True, 20, "/v5/order/amend; create-batch max 20 for linear")
_CAP_BITGET = _cex(
    False,
    20,
    "no spot amend (cancel-replace-order); batch-orders: docs 50, trading guide 20; 20 used",
)
_CAP_CRYPTOCOM = _cex(
    False,
    10,
    "amend-order is cancel+new behind the scenes (priority lost unless qty down); "
    "batch max 10 (schema says 1000)",
)
_CAP_BITMART = _cex(False, 0, "id only: no edge in the product")
# Hyperliquid's `order` action takes a list of orders signed as one action (one nonce), each
# order gets its own status (pred-hl.md 3.3). No per-action cap is documented (None); a batch of
# n costs one IP request weighing 1 + floor(n/40) and n address requests.
_CAP_HYPERLIQUID = Capabilities(
    native_amend=True,
    amend_transport=AmendMode.NATIVE_ATOMIC,
    amend_graph=AmendMode.NATIVE_ATOMIC,
    native_batch=True,
    batch_max_ops=None,
    batch_transport=BatchMode.NATIVE_BEST_EFFORT,
    batch_graph=BatchMode.SERIAL,
    settlement=Settlement.AUTO_SETTLED,
    note="order/cancel actions carry lists (per-order statuses); modify/batchModify native",
)
# Kalshi: spec row "/portfolio/orders/{id}/amend at transport layer; graph SDK/API still reports
# CancelReplace" and "/portfolio/orders/batched (20 ops atomic) at transport layer; graph SDK/API
# still serial". pred-hl.md §0/1.6: the live endpoints are now the V2 /portfolio/events/orders.
_CAP_KALSHI = Capabilities(
    native_amend=True,
    amend_transport=AmendMode.NATIVE_ATOMIC,
    amend_graph=AmendMode.CANCEL_REPLACE,
    native_batch=True,
    batch_max_ops=20,
    batch_transport=BatchMode.NATIVE_ATOMIC,
    batch_graph=BatchMode.SERIAL,
    settlement=Settlement.AUTO_SETTLED,
    note="amend POST /portfolio/events/orders/{id}/amend (V2; V1 /portfolio/orders/... legacy); "
    "batch /portfolio/events/orders/batched, 20 ops, admitted only if all tokens are available",
)
# Polymarket: spec row "Cancel+replace only", "CLOB POST /orders batch (15 orders, best-effort
# per-order result; transport-supported)", "On-chain CTF redemption".
_CAP_POLYMARKET = Capabilities(
    native_amend=False,
    amend_transport=AmendMode.CANCEL_REPLACE,
    amend_graph=AmendMode.CANCEL_REPLACE,
    native_batch=True,
    batch_max_ops=15,
    batch_transport=BatchMode.NATIVE_BEST_EFFORT,
    batch_graph=BatchMode.SERIAL,
    settlement=Settlement.ONCHAIN_REDEMPTION,
    note="POST /orders max 15, per-order results; winners redeem via CTF adapters (relayer)",
)
_CAP_DEX = Capabilities(
    native_amend=False,
    amend_transport=AmendMode.CANCEL_REPLACE,
    amend_graph=AmendMode.CANCEL_REPLACE,
    native_batch=False,
    batch_max_ops=0,
    batch_transport=BatchMode.SERIAL,
    batch_graph=BatchMode.SERIAL,
    settlement=Settlement.ONCHAIN_SWAP,
    note="swaps are transactions: nothing rests, so nothing to amend; one swap per transaction",
)


def _units(venue_id: int, launcher: str, *specs: tuple[InstrumentType, Capabilities]) -> tuple:
    out = []
    for itype, caps in specs:
        name = (
            launcher if itype is not InstrumentType.PERP or len(specs) == 1 else f"{launcher}-perp"
        )
        out.append(DeployUnit(f"venue-edge-{name}", name, venue_id, itype, caps))
    return tuple(out)


_S, _P, _B = InstrumentType.SPOT, InstrumentType.PERP, InstrumentType.BINARY

# Regions: the spec's CEX, on-chain-perp and prediction tables (and the /v1/edges example).
# DEX regions are our choice (the spec only says "a VPC close to the RPC provider"): the EVM
# chains' sequencers (Arbitrum, Base, Optimism) and the large RPC providers sit in US East, so
# EVM edges run in na; Solana's stake and the Jito block engines concentrate in Frankfurt and
# Amsterdam, so the Solana edge runs in eu. Latency profiling may move them.
_DEX_EVM_NOTE = "choice: EVM sequencers and main RPC providers are in US East"
_VENUES: tuple[Venue, ...] = (
    Venue("kraken", "Kraken", VENUE_KRAKEN, VenueClass.CEX, "eu",
          _units(VENUE_KRAKEN, "kraken", (_S, _CAP_KRAKEN)), "cex", "live"),
    Venue("coinbase", "Coinbase", VENUE_COINBASE, VenueClass.CEX, "na",
          _units(VENUE_COINBASE, "coinbase", (_S, _CAP_COINBASE)), "cex_passphrase", "live"),
    Venue("binance", "Binance", VENUE_BINANCE, VenueClass.CEX, "ap",
          _units(VENUE_BINANCE, "binance", (_S, _CAP_BINANCE_SPOT), (_P, _CAP_BINANCE_PERP)),
          "cex", "live"),
    Venue("bitget", "Bitget", VENUE_BITGET, VenueClass.CEX, "ap",
          _units(VENUE_BITGET, "bitget", (_S, _CAP_BITGET)), "cex_passphrase", "live"),
    Venue("cryptocom", "Crypto.com", VENUE_CRYPTOCOM, VenueClass.CEX, "ap",
          _units(VENUE_CRYPTOCOM, "cryptocom", (_S, _CAP_CRYPTOCOM)), "cex_passphrase", "live"),
    Venue("bitmart", "BitMart", VENUE_BITMART, VenueClass.CEX, "ap", (), "cex", "id-only",
          "no edge in the product; ap by default like the other Asian CEXs"),
    Venue("dex", "Generic DEX (aggregated)", VENUE_DEX, VenueClass.DEX, "na", (), "dex_evm",
          "id-only", "aggregated view over the chain edges; no process of its own"),
    Venue("okx", "OKX", VENUE_OKX, VenueClass.CEX, "ap",
          _units(VENUE_OKX, "okx", (_S, _CAP_OKX_SPOT), (_P, _CAP_OKX_PERP)),
          "cex_passphrase", "live", "colocated on the Binance Tokyo box"),
    Venue("bybit", "Bybit", VENUE_BYBIT, VenueClass.CEX, "ap",
          _units(VENUE_BYBIT, "bybit", (_S, _CAP_BYBIT_SPOT), (_P, _CAP_BYBIT_PERP)),
          "cex", "live", "colocated on the Binance Tokyo box"),
    Venue("dex-eth", "Ethereum DEX", VENUE_DEX_ETH, VenueClass.DEX, "na",
          _units(VENUE_DEX_ETH, "dex-eth", (_S, _CAP_DEX)), "dex_evm", "live", _DEX_EVM_NOTE),
    Venue("dex-arb", "Arbitrum DEX", VENUE_DEX_ARB, VenueClass.DEX, "na",
          _units(VENUE_DEX_ARB, "dex-arb", (_S, _CAP_DEX)), "dex_evm", "live", _DEX_EVM_NOTE),
    Venue("dex-base", "Base DEX", VENUE_DEX_BASE, VenueClass.DEX, "na",
          _units(VENUE_DEX_BASE, "dex-base", (_S, _CAP_DEX)), "dex_evm", "live", _DEX_EVM_NOTE),
    Venue("dex-op", "Optimism DEX", VENUE_DEX_OP, VenueClass.DEX, "na",
          _units(VENUE_DEX_OP, "dex-op", (_S, _CAP_DEX)), "dex_evm", "live", _DEX_EVM_NOTE),
    Venue("dex-poly", "Polygon DEX", VENUE_DEX_POLY, VenueClass.DEX, "na",
          _units(VENUE_DEX_POLY, "dex-poly", (_S, _CAP_DEX)), "dex_evm", "live", _DEX_EVM_NOTE),
    Venue("dex-sol", "Solana DEX", VENUE_DEX_SOL, VenueClass.DEX, "eu",
          _units(VENUE_DEX_SOL, "dex-sol", (_S, _CAP_DEX)), "solana", "live",
          "choice: Solana stake and Jito block engines concentrate in Frankfurt/Amsterdam"),
    Venue("hyperliquid", "Hyperliquid", VENUE_HYPERLIQUID, VenueClass.ONCHAIN_PERP, "na",
          _units(VENUE_HYPERLIQUID, "hyperliquid", (_P, _CAP_HYPERLIQUID)), "hyperliquid",
          "live"),
    Venue("polymarket", "Polymarket", VENUE_POLYMARKET, VenueClass.PREDICTION, "eu",
          _units(VENUE_POLYMARKET, "polymarket", (_B, _CAP_POLYMARKET)), "polymarket", "live"),
    Venue("kalshi", "Kalshi", VENUE_KALSHI, VenueClass.PREDICTION, "eu",
          _units(VENUE_KALSHI, "kalshi", (_B, _CAP_KALSHI)), "kalshi", "live"),
)  # fmt: skip

_BY_ID: dict[int, Venue] = {v.venue_id: v for v in _VENUES}
_BY_NAME: dict[str, Venue] = {v.name: v for v in _VENUES}
_UNITS: dict[str, DeployUnit] = {u.name: u for v in _VENUES for u in v.units}
_LAUNCHERS: dict[str, DeployUnit] = {u.launcher: u for v in _VENUES for u in v.units}

# Class per wire slot, for the O(1) is_dex / is_cex used on hot paths (slot 0 and 10 are None).
_CLASS_BY_SLOT: tuple[VenueClass | None, ...] = tuple(
    _BY_ID[i].venue_class if i in _BY_ID else None for i in range(VENUE_SLOTS)
)


def all_venues() -> tuple[Venue, ...]:
    """Every catalogued venue, in VenueId order."""
    return _VENUES


def live_venues() -> tuple[Venue, ...]:
    """Venues with at least one deploy unit."""
    return tuple(v for v in _VENUES if v.units)


def all_units() -> tuple[DeployUnit, ...]:
    return tuple(_UNITS.values())


def venue_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def launcher_names() -> tuple[str, ...]:
    """Every valid VENUE=<name> of the edge launcher."""
    return tuple(_LAUNCHERS)


def _choices(names: Iterable[str]) -> str:
    return ", ".join(names)


def venue_by_id(venue_id: int) -> Venue:
    v = _BY_ID.get(venue_id) if isinstance(venue_id, int) else None
    if v is None:
        what = (
            {
                VENUE_DEFAULT: " (slot 0 is reserved for default/local)",
                VENUE_UNKNOWN: " (VENUE_UNKNOWN is a placeholder, not a venue)",
            }.get(venue_id, "")
            if isinstance(venue_id, int)
            else ""
        )
        raise UnknownVenue(
            f"unknown venue id {venue_id!r}{what}; valid ids: "
            f"{_choices(f'{i}={_BY_ID[i].name}' for i in sorted(_BY_ID))}"
        )
    return v


def venue_by_name(name: str) -> Venue:
    """A venue by catalog name ("binance") or launcher name ("binance-perp"), case-insensitive."""
    key = name.strip().lower() if isinstance(name, str) else ""
    v = _BY_NAME.get(key)
    if v is None and key in _LAUNCHERS:
        v = _BY_ID[_LAUNCHERS[key].venue_id]
    if v is None:
        raise UnknownVenue(f"unknown venue {name!r}; valid names: {_choices(_BY_NAME)}")
    return v


def unit_by_name(unit: str) -> DeployUnit:
    """A deploy unit by its name ("venue-edge-okx-perp")."""
    u = _UNITS.get(unit) if isinstance(unit, str) else None
    if u is None:
        raise UnknownVenue(f"unknown deploy unit {unit!r}; valid units: {_choices(_UNITS)}")
    return u


def venue_by_unit(unit: str) -> Venue:
    return _BY_ID[unit_by_name(unit).venue_id]


def unit_by_launcher(launcher: str) -> DeployUnit:
    """The deploy unit started by VENUE=<launcher> ("binance-perp")."""
    u = _LAUNCHERS.get(launcher.strip().lower()) if isinstance(launcher, str) else None
    if u is None:
        raise UnknownVenue(f"unknown VENUE={launcher!r}; valid values: {_choices(_LAUNCHERS)}")
    return u


def resolve_venue(venue: int | str | Venue) -> Venue:
    """Accept a Venue, a VenueId or a name (venue, launcher or deploy unit)."""
    if isinstance(venue, Venue):
        return venue
    if isinstance(venue, bool):
        raise UnknownVenue(f"unknown venue {venue!r}")
    if isinstance(venue, int):
        return venue_by_id(venue)
    if isinstance(venue, str) and venue.startswith("venue-edge-"):
        return venue_by_unit(venue)
    return venue_by_name(venue)


def venue_class(venue_id: int) -> VenueClass:
    return venue_by_id(venue_id).venue_class


def is_dex(venue_id: int) -> bool:
    """True for the generic DEX and the six chain DEX venues. False for unknown ids."""
    return 0 <= venue_id < VENUE_SLOTS and _CLASS_BY_SLOT[venue_id] is VenueClass.DEX


def is_cex(venue_id: int) -> bool:
    """True for centralized exchanges (CEX class). Hyperliquid (on-chain perp) and the prediction
    markets are neither CEX nor DEX, although Hyperliquid runs on the venue-edge-cex binary."""
    return 0 <= venue_id < VENUE_SLOTS and _CLASS_BY_SLOT[venue_id] is VenueClass.CEX


def is_prediction(venue_id: int) -> bool:
    return 0 <= venue_id < VENUE_SLOTS and _CLASS_BY_SLOT[venue_id] is VenueClass.PREDICTION
