"""OKX spot and SWAP as DepthStreamVenue declarations (URLs, frames, rules, weights, parsers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from seqkern._wire import FORMAT_OKX
from seqkern.errors import UnknownSymbol
from seqkern.venues.base import (
    InstrumentInfo,
    InstrumentType,
    OpFrameVenue,
    RestRequest,
    ResyncMethod,
    VenueEndpoints,
)
from seqkern.venues.okx import book, constants, parsing


def okx_symbol(symbol: str, swap: bool = False) -> str:
    """Canonical "BTC-USDT" (or already an instId) to OKX's instId ("BTC-USDT", "BTC-USDT-SWAP")."""
    s = symbol.strip().upper().replace("/", "-")
    if s.endswith("-SWAP"):
        s = s[:-5]
    parts = s.split("-")
    if len(parts) != 2 or not all(p.isalnum() and 1 <= len(p) <= 12 for p in parts):
        raise UnknownSymbol(f"not an OKX instrument: {symbol!r} (expected BASE-QUOTE)")
    return f"{s}-SWAP" if swap else s


def stream_name(channel: str, inst_id: str) -> str:
    return f"{channel}:{inst_id}"


def stream_arg(stream: str) -> dict[str, str]:
    channel, _, inst = stream.partition(":")
    return {"channel": channel, "instId": inst}


class OkxSpot(OpFrameVenue):
    name = "okx"
    venue_id = constants.VENUE_ID_OKX
    instrument_type = InstrumentType.SPOT
    inst_type = "SPOT"
    depth_format = FORMAT_OKX
    sequence_rule = book.SEQUENCE_RULE
    resync = ResyncMethod.RESUBSCRIBE
    has_checksum = True
    ping = constants.PING
    limits = constants.LIMITS
    rate_limits = constants.RATE_LIMITS

    @classmethod
    def default_endpoints(cls) -> VenueEndpoints:
        return constants.ENDPOINTS

    def venue_symbol(self, symbol: str) -> str:
        return okx_symbol(symbol, self.instrument_type is InstrumentType.PERP)

    def instruments_request(self) -> RestRequest:
        path = "/api/v5/public/instruments"
        return RestRequest("GET", path, {"instType": self.inst_type}, self.rest_cost(path))

    parse_instruments = staticmethod(parsing.parse_instruments)

    def market_streams(self, venue_symbol: str) -> list[str]:
        return [stream_name(constants.DEPTH_CHANNEL, venue_symbol), stream_name(constants.TRADES_CHANNEL, venue_symbol)]

    def market_ws_url(self, streams: Sequence[str]) -> str:
        return f"{self.endpoints.market_ws}{constants.PUBLIC_PATH}"

    def op_frame(self, op: str, streams: list[str], req_id: int) -> bytes:
        return orjson.dumps({"id": str(req_id), "op": op, "args": [stream_arg(s) for s in streams]})

    def snapshot_request(self, venue_symbol: str) -> RestRequest:
        path = "/api/v5/market/books"
        return RestRequest("GET", path, {"instId": venue_symbol, "sz": constants.SNAPSHOT_SZ}, self.rest_cost(path))

    parse_snapshot = staticmethod(parsing.parse_books_snapshot)
    first_event_fits = staticmethod(book.first_event_fits)
    event_is_stale = staticmethod(book.snapshot_is_stale)
    parse_market_message = staticmethod(parsing.parse_market_message)

    def rest_cost(self, path: str) -> tuple[tuple[str, int], ...]:
        return constants.WEIGHTS.get(path, (("PUBLIC", 1),))


class OkxSwap(OkxSpot):
    """OKX linear SWAP: books, trades and orders are sized in contracts (``ctVal`` of the base each);
    the edge publishes base units, scaling depth in C and the other records here."""

    name = "okx-perp"
    instrument_type = InstrumentType.PERP
    inst_type = "SWAP"
    sizes_in_contracts = True

    def __init__(self, endpoints: VenueEndpoints | None = None) -> None:
        super().__init__(endpoints)
        self.contracts: dict[str, int] = {}     # instId -> ctVal (x 1e8), from the instruments

    def parse_instruments(self, body: bytes) -> dict[str, InstrumentInfo]:
        info = parsing.parse_instruments(body)
        self.contracts.update({vs: i.contract_1e8 for vs, i in info.items() if i.contract_1e8})
        return info

    def contract_size_1e8(self, venue_symbol: str) -> int:
        try:
            return self.contracts[venue_symbol]
        except KeyError:
            raise UnknownSymbol(f"{venue_symbol}: contract size unknown (OKX instruments not loaded)") from None

    def parse_market_message(self, obj: Any, ts_recv_ns: int) -> Any:
        ev = parsing.parse_market_message(obj, ts_recv_ns)
        vs = getattr(ev, "venue_symbol", None)
        if vs is None:
            return ev
        ct = self.contracts.get(vs)
        # a record of an instrument whose contract size is unknown is not published in wrong units
        return parsing.events_in_base(ev, ct) if ct else None
