"""Venue traits: everything the edge runner needs from a venue, and the order-transport contract.

A venue is declared as data plus a few pure functions (URLs, frames, rules, weights, parsers); the
runner in ``seqkern.edge`` owns sockets, timers and state. Every venue is a ``CexVenue`` (identity,
endpoints, symbols, instrument rules, public messages) in one of two market-data shapes:

- ``DepthStreamVenue``: a stream of depth deltas with sequence ids, made whole by a REST snapshot
  or an in-stream snapshot (Binance, OKX, Bybit, Coinbase, Kraken, Bitget, Crypto.com);
- ``BookFeedVenue`` (``seqkern.venues.book_feed``): the websocket itself carries the books and
  re-sends them on request (Hyperliquid's per-block l2Book, Kalshi, Polymarket).

Adding a venue means one subclass and one ``OrderTransport``: the runner and the kernel never change.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from seqkern.errors import SeqkernError

# the result-mode and instrument enums are the catalog's (one definition in the kernel)
from seqkern.venues.catalog import AmendMode, BatchMode, InstrumentType
from seqkern.venues.credentials import CexCredentials

__all__ = ["AmendMode", "BatchMode", "CexCredentials", "InstrumentType"]


class ResyncMethod(enum.Enum):
    SNAPSHOT = "SNAPSHOT"        # REST snapshot + buffered stream events (Binance)
    RESUBSCRIBE = "RESUBSCRIBE"  # unsubscribe/resubscribe: the stream sends a fresh snapshot (OKX, Bybit)


class Side(enum.Enum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(enum.Enum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"


class TimeInForce(enum.Enum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    POST_ONLY = "POST_ONLY"


class OrderStatus(enum.Enum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class VenueRejected(SeqkernError):
    """The venue refused a request; ``venue_code`` is the venue's own error code."""

    code = "VENUE_REJECTED"

    def __init__(self, message: str, *, venue_code: int | str | None = None, http_status: int = 0) -> None:
        super().__init__(message)
        self.venue_code = venue_code
        self.http_status = http_status


class VenueUnavailable(SeqkernError):
    """Transport failure, timeout, rate limit or 5xx: the request's fate may be unknown."""

    code = "VENUE_UNAVAILABLE"


class VenueMessageError(SeqkernError, ValueError):
    """A venue message the adapter could not read (malformed JSON, missing fields)."""

    code = "BAD_VENUE_MESSAGE"


# ---- declarative venue facts -------------------------------------------------------------------


@dataclass(frozen=True)
class PingRule:
    """Keepalive: who pings, how often, and how long a missing pong is tolerated."""

    server_ping_s: float | None      # venue sends protocol pings this often (client auto-pongs)
    pong_timeout_s: float            # venue drops us if our pong is this late
    client_ping_s: float | None = None   # we must ping this often when idle
    client_ping_text: bytes | None = None  # application-level ping (e.g. b"ping"); None = WS ping frame
    pong_text: bytes | None = None         # the venue's plain-text answer to client_ping_text (not JSON)


@dataclass(frozen=True)
class SubscriptionLimits:
    streams_per_connection: int
    messages_per_second: float    # inbound control messages the venue accepts per connection
    args_per_request: int         # streams one subscribe frame may carry


@dataclass(frozen=True)
class RateLimitPool:
    """A venue budget: ``limit`` units per ``window_s`` seconds, charged by endpoint weights."""

    name: str
    limit: int
    window_s: float


@dataclass(frozen=True)
class RestRequest:
    method: str
    path: str
    params: dict[str, Any]
    cost: tuple[tuple[str, int], ...]   # (pool name, weight) charged before sending
    signed: bool = False
    json_body: bytes = b""              # a JSON body (Hyperliquid POST /info)
    read_only: bool = False             # a POST that only reads: retried like a GET
    host: str = "rest"                  # "rest", or "metadata" for VenueEndpoints.metadata (Gamma)


@dataclass(frozen=True)
class VenueEndpoints:
    """Base URLs; configurable so tests and the demo point at the loopback simulators."""

    market_ws: str          # public market-data websocket base (no path)
    trade_ws: str           # websocket order entry (WS API) URL
    rest: str               # REST base URL
    private_ws: str = ""    # private stream base where it differs from trade_ws
    metadata: str = ""      # market-metadata REST base where it differs from rest (Polymarket Gamma)
    relayer: str = ""       # gasless transaction relayer (Polymarket redemptions)
    chain_rpc: str = ""     # JSON-RPC node for transactions the edge sends itself


@dataclass(frozen=True)
class InstrumentInfo:
    """A venue's trading rules for one symbol, in kernel units (PairSpec-compatible fields)."""

    venue_symbol: str
    base: str
    quote: str
    tick_1e9: int
    lot_1e8: int
    min_qty_1e8: int
    min_notional_1e9: int
    contract_1e8: int = 0    # base units per contract (x 1e8) where the venue sizes in contracts; 0 = base units


def contracts_to_base(qty_1e8: int, contract_1e8: int) -> int:
    """A venue size in contracts (x 1e8) to base units (x 1e8); unchanged when ``contract_1e8`` is 0."""
    return qty_1e8 * contract_1e8 // 100_000_000 if contract_1e8 else qty_1e8


def base_to_contracts(qty_1e8: int, contract_1e8: int) -> int:
    """A base quantity (x 1e8) to contracts (x 1e8); it must be a whole multiple of 1e-8 contract."""
    if not contract_1e8:
        return qty_1e8
    n, rem = divmod(qty_1e8 * 100_000_000, contract_1e8)
    if rem:
        raise VenueRejected(f"quantity {qty_1e8} (x1e-8) is not a whole number of contracts of "
                            f"{contract_1e8} (x1e-8) each", venue_code="CONTRACT_SIZE")
    return n


@dataclass(frozen=True)
class BookSnapshot:
    update_id: int
    bid_px: np.ndarray
    bid_qty: np.ndarray
    ask_px: np.ndarray
    ask_qty: np.ndarray
    ts_event_ns: int = 0


# ---- kernel records the adapters produce ---------------------------------------------------------


@dataclass(frozen=True)
class TradeEvent:
    venue_symbol: str
    px_1e9: int
    qty_1e8: int
    taker_side: Side
    trade_id: int
    ts_event_ns: int
    ts_recv_ns: int


@dataclass(frozen=True)
class BboEvent:
    venue_symbol: str
    bid_px_1e9: int
    bid_qty_1e8: int
    ask_px_1e9: int
    ask_qty_1e8: int
    update_id: int
    ts_event_ns: int
    ts_recv_ns: int


@dataclass(frozen=True)
class ControlEvent:
    """A venue control message the runner must act on (e.g. Binance serverShutdown: reconnect)."""

    action: str           # "reconnect" | "ack" | "error" | "reply"
    detail: str = ""
    reply: bytes = b""    # a frame the runner must send back on the same connection (Crypto.com heartbeat)


@dataclass(frozen=True)
class OrderRequest:
    venue_symbol: str
    side: Side
    order_type: OrderType
    qty_1e8: int
    px_1e9: int = 0
    tif: TimeInForce = TimeInForce.GTC
    client_order_id: str = ""
    reduce_only: bool = False
    expire_ts_s: int = 0        # good-till-date expiry (unix seconds); 0 = none


@dataclass(frozen=True)
class OrderResult:
    """Outcome of one order request; ``accepted`` False carries the venue's error."""

    accepted: bool
    venue_symbol: str
    client_order_id: str = ""
    venue_order_id: int | str | None = None
    status: OrderStatus | None = None
    filled_qty_1e8: int = 0
    error_code: int | str | None = None
    error_msg: str = ""


@dataclass(frozen=True)
class AmendResult:
    mode: AmendMode
    result: OrderResult                  # the order as it stands after the amend
    keeps_priority: bool = False         # True only when the venue keeps the queue position
    replaced_order_id: int | str | None = None  # CANCEL_REPLACE: the cancelled order


@dataclass(frozen=True)
class BatchResult:
    mode: BatchMode
    results: tuple[OrderResult, ...]
    max_batch: int = 0


@dataclass(frozen=True)
class FillEvent:
    venue_symbol: str
    venue_order_id: int | str
    client_order_id: str
    side: Side
    px_1e9: int
    qty_1e8: int
    cum_qty_1e8: int
    fee: str
    fee_asset: str
    maker: bool
    trade_id: int
    ts_event_ns: int
    ts_recv_ns: int


@dataclass(frozen=True)
class OrderUpdate:
    venue_symbol: str
    venue_order_id: int | str
    client_order_id: str
    side: Side
    status: OrderStatus
    exec_type: str        # the venue's execution type (NEW, TRADE, CANCELED, REPLACED, AMENDMENT...)
    px_1e9: int
    qty_1e8: int
    cum_qty_1e8: int
    ts_event_ns: int
    ts_recv_ns: int
    orig_client_order_id: str = ""


@dataclass(frozen=True)
class OrderQuery:
    """The venue's current view of one order, queried from the venue (reconciliation).

    ``found`` False: the venue does not know the order; ``error_code`` / ``error_msg`` carry the
    venue's own answer (Binance -2013, OKX 51603, Bybit an empty list). ``fills`` are the order's
    trades as the venue lists them (trade id, price, quantity, fee, time), oldest first."""

    venue_symbol: str
    found: bool
    venue_order_id: int | str | None = None
    client_order_id: str = ""
    side: Side | None = None
    status: OrderStatus | None = None
    px_1e9: int = 0
    qty_1e8: int = 0
    filled_qty_1e8: int = 0
    avg_px_1e9: int = 0
    last_px_1e9: int = 0
    fills: tuple[FillEvent, ...] = ()
    error_code: int | str | None = None
    error_msg: str = ""


class QueryUnsupported(SeqkernError):
    """This transport cannot query an order's state from its venue."""

    code = "QUERY_UNSUPPORTED"


@dataclass(frozen=True)
class BalanceEvent:
    asset: str
    free: str
    locked: str
    ts_event_ns: int
    ts_recv_ns: int


UserEvent = FillEvent | OrderUpdate | BalanceEvent
UserEventHandler = Callable[[UserEvent], None]


# ---- the traits ----------------------------------------------------------------------------------


class CexVenue(ABC):
    """What every venue declares, whatever its market-data shape (pure: no I/O)."""

    name: str                          # the launcher's VENUE value, e.g. "binance-perp"
    venue_id: int                      # wire slot (spec VenueId table)
    instrument_type: InstrumentType
    ping: PingRule
    rate_limits: tuple[RateLimitPool, ...]
    fees_bps: tuple[float, float] = (0.0, 0.0)   # base-tier (maker, taker) when the catalog has none
    discovers_markets: bool = False    # the venue announces new markets on its own (book feeds)
    # the venue sizes books, trades and orders in contracts (OKX SWAP, ``ctVal`` each): the edge
    # always loads the instrument rules and publishes base units, converting at its boundary
    sizes_in_contracts: bool = False

    def __init__(self, endpoints: VenueEndpoints | None = None) -> None:
        self.endpoints = endpoints or self.default_endpoints()

    @classmethod
    @abstractmethod
    def default_endpoints(cls) -> VenueEndpoints: ...

    @abstractmethod
    def venue_symbol(self, symbol: str) -> str:
        """Canonical symbol (e.g. "BTC-USDT", "BTC-USDC", a Kalshi ticker) to the venue's symbol."""

    @abstractmethod
    def instrument_requests(self, venue_symbols: Sequence[str]) -> list[RestRequest]:
        """REST requests for the rules (tick, lot, minimums) of ``venue_symbols``."""

    @abstractmethod
    def read_instruments(self, bodies: Sequence[bytes]) -> dict[str, InstrumentInfo]:
        """The answers to ``instrument_requests``, in order, to rules by venue symbol."""

    @abstractmethod
    def parse_market_message(self, obj: Any, ts_recv_ns: int) -> Any:
        """A decoded public message that is not a book message, to kernel records: one record,
        a list of them (venues batching trades; book feeds also announce markets), or None."""

    def rest_cost(self, path: str) -> tuple[tuple[str, int], ...]:
        """Weights an endpoint is charged by (default: 1 on the first pool)."""
        return ((self.rate_limits[0].name, 1),)


class DepthStreamVenue(CexVenue):
    """A venue streaming depth deltas with sequence ids, synced by a REST or in-stream snapshot."""

    depth_format: int                  # seqkern._wire FORMAT_* of this venue's depth messages
    sequence_rule: int                 # seqkern._wire RULE_* checked on every live depth message
    resync: ResyncMethod
    has_checksum: bool = False
    limits: SubscriptionLimits
    max_buffered_events: int = 10000   # depth events buffered per symbol while syncing
    book_depth: int = 0                # RESUBSCRIBE venues: levels per side kept (the subscribed depth; 0 = all)
    subscribe_delay_s: float = 0.0     # wait after connecting before the first frame (Crypto.com: 1 s)

    def contract_size_1e8(self, venue_symbol: str) -> int:
        """Base units per contract (x 1e8) of a symbol; 0 when the venue sizes in base units."""
        return 0

    # instrument rules: one metadata request covers every symbol
    @abstractmethod
    def instruments_request(self) -> RestRequest:
        """REST request for the venue's instrument metadata (tick, lot, minimums)."""

    @abstractmethod
    def parse_instruments(self, body: bytes) -> dict[str, InstrumentInfo]: ...

    def instrument_requests(self, venue_symbols: Sequence[str]) -> list[RestRequest]:
        return [self.instruments_request()]

    def read_instruments(self, bodies: Sequence[bytes]) -> dict[str, InstrumentInfo]:
        return self.parse_instruments(bodies[0])

    # market-data subscriptions
    @abstractmethod
    def market_streams(self, venue_symbol: str) -> list[str]:
        """Stream names for one symbol (depth first)."""

    def market_ws_url(self, streams: Sequence[str]) -> str:
        """URL of one market-data connection carrying ``streams`` (default: the market_ws endpoint
        itself, whatever the streams)."""
        return self.endpoints.market_ws

    @abstractmethod
    def subscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        """Subscribe frames for ``streams`` (already split by ``limits.args_per_request``)."""

    @abstractmethod
    def unsubscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        """Unsubscribe frames (RESUBSCRIBE venues resync a symbol by unsubscribe + subscribe)."""

    def resubscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        """Frames that make a RESUBSCRIBE venue send fresh snapshots of ``streams``: unsubscribe,
        then subscribe, on the same connection."""
        unsub = self.unsubscribe_frames(streams, req_id)
        return unsub + self.subscribe_frames(streams, req_id + len(unsub))

    def shard_streams(self, streams: Sequence[str]) -> list[list[str]]:
        """Split streams into per-connection groups within the venue's limit."""
        n = self.limits.streams_per_connection
        return [list(streams[i:i + n]) for i in range(0, len(streams), n)]

    # book sync
    @abstractmethod
    def snapshot_request(self, venue_symbol: str) -> RestRequest:
        """The REST depth snapshot request (with its real weight)."""

    @abstractmethod
    def parse_snapshot(self, body: bytes) -> BookSnapshot: ...

    @abstractmethod
    def first_event_fits(self, snapshot_id: int, first_id: int, final_id: int) -> bool:
        """Whether the first buffered event kept after a snapshot bridges it (venue's rule)."""

    @abstractmethod
    def event_is_stale(self, snapshot_id: int, final_id: int) -> bool:
        """Whether a buffered event is entirely covered by the snapshot (dropped on replay)."""


class InStreamSnapshot:
    """For a DepthStreamVenue whose books are synced by the snapshot the stream sends: its REST book
    has no sequence id to bridge to the stream (tools only, never used for sync)."""

    def first_event_fits(self, snapshot_id: int, first_id: int, final_id: int) -> bool:
        return True

    def event_is_stale(self, snapshot_id: int, final_id: int) -> bool:
        return False


def trade_records(trades: list[TradeEvent]) -> TradeEvent | list[TradeEvent] | None:
    """A message's trades as ``parse_market_message`` returns them: the one record, a list of several, or None."""
    return trades[0] if len(trades) == 1 else (trades or None)


class OpFrameVenue(DepthStreamVenue):
    """A depth-stream venue whose subscribe and unsubscribe frames differ only by the op: streams go
    ``limits.args_per_request`` to a frame, the frames numbered from the request id."""

    @abstractmethod
    def op_frame(self, op: str, streams: list[str], req_id: int) -> bytes:
        """One frame of ``op`` ("subscribe" or "unsubscribe") for ``streams``."""

    def _op_frames(self, op: str, streams: Sequence[str], req_id: int) -> list[bytes]:
        n = self.limits.args_per_request
        return [self.op_frame(op, list(streams[i:i + n]), req_id + k)
                for k, i in enumerate(range(0, len(streams), n))]

    def subscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        return self._op_frames("subscribe", streams, req_id)

    def unsubscribe_frames(self, streams: Sequence[str], req_id: int) -> list[bytes]:
        # RESUBSCRIBE venues: a new subscription starts with a snapshot, so resync = unsubscribe + subscribe
        return self._op_frames("unsubscribe", streams, req_id)


def streams_by_channel(streams: Sequence[str]) -> dict[str, list[str]]:
    """"channel:symbol" stream names -> the symbols of each channel, channels in first-seen order."""
    by_channel: dict[str, list[str]] = {}
    for s in streams:
        ch, sym = s.split(":", 1)
        by_channel.setdefault(ch, []).append(sym)
    return by_channel


class OpenOrders:
    """The orders an edge placed and has not yet seen end, as last placed or amended, keyed by
    venue order id: a CC-LINK DECREASE carries the amount to take off, so the edge needs them."""

    def __init__(self) -> None:
        self._by_id: dict[str, OrderRequest] = {}

    def key(self, venue_order_id: int | str | None, client_order_id: str = "") -> str | None:
        if venue_order_id is not None:
            return str(venue_order_id)
        return next((k for k, r in self._by_id.items()
                     if client_order_id and r.client_order_id == client_order_id), None)

    def get(self, venue_order_id: int | str | None = None, client_order_id: str = "") -> OrderRequest | None:
        k = self.key(venue_order_id, client_order_id)
        return self._by_id.get(k) if k is not None else None

    def remember(self, req: OrderRequest, res: OrderResult) -> None:
        if res.accepted and res.venue_order_id is not None:
            self._by_id[str(res.venue_order_id)] = replace(req, client_order_id=res.client_order_id)

    def amended(self, key: str | None, new_qty_1e8: int | None, new_px_1e9: int | None) -> None:
        r = self._by_id.get(key) if key is not None else None
        if r is not None and key is not None:
            self._by_id[key] = replace(r, qty_1e8=new_qty_1e8 if new_qty_1e8 is not None else r.qty_1e8,
                                       px_1e9=new_px_1e9 if new_px_1e9 is not None else r.px_1e9)

    def forget(self, venue_order_id: int | str | None) -> None:
        if venue_order_id is not None:
            self._by_id.pop(str(venue_order_id), None)


class OrderTransport(ABC):
    """Order entry on the venue's native channel, signed; results say which path really ran."""

    amend_mode: AmendMode      # what a general amend (price and/or qty) runs as
    batch_mode: BatchMode
    max_batch: int             # orders per native batch request (1 when SERIAL)

    @abstractmethod
    async def connect(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def place(self, req: OrderRequest) -> OrderResult: ...

    @abstractmethod
    async def cancel(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                     client_order_id: str = "") -> OrderResult: ...

    @abstractmethod
    async def amend(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                    client_order_id: str = "", new_qty_1e8: int | None = None,
                    new_px_1e9: int | None = None, side: Side | None = None) -> AmendResult:
        """Change price and/or quantity; ``AmendResult.mode`` says native or cancel-replace."""

    async def decrease(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                       client_order_id: str = "", new_qty_1e8: int) -> AmendResult:
        """Reduce quantity keeping queue priority where the venue can. By default an amend of the
        quantity alone; a venue with its own decrease (or its own rules) overrides this."""
        return await self.amend(venue_symbol, venue_order_id=venue_order_id, client_order_id=client_order_id,
                                new_qty_1e8=new_qty_1e8)

    @abstractmethod
    async def batch(self, reqs: Sequence[OrderRequest]) -> BatchResult: ...

    def open_order(self, *, venue_order_id: int | str | None = None,
                   client_order_id: str = "") -> OrderRequest | None:
        """The order as this edge last placed or amended it (None if unknown): a CC-LINK
        DECREASE carries the amount to take off, so the edge needs the current quantity.
        Transports that track their orders override this."""
        return None

    async def query_order(self, venue_symbol: str, *, venue_order_id: int | str | None = None,
                          client_order_id: str | None = None) -> OrderQuery:
        """The order's status, quantities and fills as the venue reports them now (signed
        queries to the venue, never local memory). An order the venue does not know gives
        ``OrderQuery(found=False)`` with the venue's error; transport failures raise
        VenueUnavailable. Transports without a query raise QueryUnsupported."""
        raise QueryUnsupported(f"{type(self).__name__} cannot query orders from its venue")

    @abstractmethod
    async def subscribe_user_stream(self, on_event: UserEventHandler) -> None:
        """Start the private stream; fills, order updates and balances go to ``on_event``."""


OrderTransportFactory = Callable[[CexVenue, CexCredentials], Awaitable[OrderTransport]]
