"""Polymarket market data: the CLOB market channel (book, price_change, tick_size_change, new_market)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from seqkern._fixed import parse_px, parse_qty
from seqkern._predwire import FORMAT_POLYMARKET
from seqkern.errors import FixedPointError, UnknownSymbol
from seqkern.venues.base import (
    BboEvent,
    InstrumentInfo,
    InstrumentType,
    PingRule,
    RateLimitPool,
    RestRequest,
    Side,
    TradeEvent,
    VenueEndpoints,
    VenueMessageError,
)
from seqkern.venues.book_feed import BookFeedVenue, BookLeg, MarketEvent, MarketStatus, NewMarket
from seqkern.venues.catalog import VENUE_POLYMARKET
from seqkern.venues.symbols import Leg, parse_prediction

PROD_MARKET_WS = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
PROD_USER_WS = "wss://ws-subscriptions-clob.polymarket.com/ws/user"
PROD_CLOB = "https://clob.polymarket.com"
PROD_GAMMA = "https://gamma-api.polymarket.com"
BOOK_TICK_1E9 = 100_000        # $0.0001: the finest Polymarket tick; 0.0025 and 0.001 lie on it


@dataclass(frozen=True)
class PolyMarket:
    """One binary market: slug, condition id, YES/NO token ids, tick, neg-risk flag."""

    slug: str
    condition_id: str
    yes_token: str
    no_token: str
    tick_1e9: int = 10_000_000
    min_size_1e8: int = 500_000_000
    neg_risk: bool = False

    def legs(self) -> tuple[BookLeg, BookLeg]:
        return (BookLeg(self.slug, self.yes_token, self.slug, False),
                BookLeg(f"{self.slug}:no", self.no_token, self.slug, True))


def market_from_gamma(m: dict[str, Any]) -> PolyMarket:
    """A Gamma ``/markets`` item (outcomes / clobTokenIds are JSON-encoded strings, Yes first)."""
    try:
        tokens = m["clobTokenIds"]
        tokens = json.loads(tokens) if isinstance(tokens, str) else tokens
        outcomes = m.get("outcomes") or '["Yes","No"]'
        outcomes = json.loads(outcomes) if isinstance(outcomes, str) else outcomes
        if len(tokens) != 2:
            raise VenueMessageError(f"{m.get('slug')}: not a binary market")
        if str(outcomes[0]).lower() == "no":
            tokens = tokens[::-1]
        tick = parse_px(str(m.get("orderPriceMinTickSize", "0.01")))
        min_size = parse_qty(str(m.get("orderMinSize", "5")))
        return PolyMarket(str(m["slug"]), str(m["conditionId"]), str(tokens[0]), str(tokens[1]), tick, min_size,
                          bool(m.get("negRisk", False)))
    except (KeyError, TypeError, ValueError, FixedPointError) as exc:
        raise VenueMessageError(f"Gamma market unreadable: {exc}") from None


class PolymarketVenue(BookFeedVenue):
    name = "polymarket"
    venue_id = VENUE_POLYMARKET
    instrument_type = InstrumentType.BINARY
    ping = PingRule(server_ping_s=None, pong_timeout_s=30.0, client_ping_s=10.0, client_ping_text=b"PING",
                    pong_text=b"PONG")
    rate_limits = (RateLimitPool("clob", 9000, 10.0), RateLimitPool("gamma_markets", 300, 10.0))
    fees_bps = (0.0, 100.0)
    book_format = FORMAT_POLYMARKET
    book_tick_1e9 = BOOK_TICK_1E9
    depth_ticks = 16384
    has_sequence = False

    def __init__(self, endpoints: VenueEndpoints | None = None, *,
                 markets: Sequence[PolyMarket] = (), discovery: bool = True) -> None:
        super().__init__(endpoints)
        self.markets: dict[str, PolyMarket] = {m.slug: m for m in markets}
        self.by_token: dict[str, tuple[PolyMarket, bool]] = {}
        for m in markets:
            self._index(m)
        self.discovery = discovery
        self.discovers_markets = discovery
        self._initial_sent = False

    @classmethod
    def default_endpoints(cls) -> VenueEndpoints:
        return VenueEndpoints(market_ws=PROD_MARKET_WS, trade_ws="", rest=PROD_CLOB, private_ws=PROD_USER_WS,
                              metadata=PROD_GAMMA)

    def venue_symbol(self, symbol: str) -> str:
        """Orders name the leg (``slug`` or ``slug:no``); the transport signs for its token id."""
        return self.prediction_leg(symbol, "a Polymarket market")

    def instrument_requests(self, symbols: Sequence[str]) -> list[RestRequest]:
        """Gamma ``/markets?slug=`` per market: condition id, YES/NO token ids, tick, minimum size."""
        return [RestRequest("GET", "/markets", {"slug": m}, (("gamma_markets", 1),), host="metadata")
                for m in self.markets_of(symbols)]

    def read_instruments(self, bodies: Sequence[bytes]) -> dict[str, InstrumentInfo]:
        out: dict[str, InstrumentInfo] = {}
        for body in bodies:
            try:
                items = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise VenueMessageError(f"Gamma answer unreadable: {exc}") from None
            for item in items if isinstance(items, list) else []:
                m = market_from_gamma(item)
                self._index(m)
                out[m.slug] = InstrumentInfo(m.slug, m.slug, "pUSD", m.tick_1e9, 1_000_000, m.min_size_1e8, 0)
        return out

    def _index(self, m: PolyMarket) -> None:
        self.markets[m.slug] = m
        self.by_token[m.yes_token] = (m, False)
        self.by_token[m.no_token] = (m, True)

    def legs(self, symbol: str) -> tuple[BookLeg, ...]:
        p = parse_prediction(symbol)
        if p.venue_id != VENUE_POLYMARKET:
            raise UnknownSymbol(f"{symbol!r} is not a Polymarket market")
        m = self.markets.get(p.market)
        if m is None:
            raise UnknownSymbol(f"Polymarket market {p.market!r} is not loaded (see load via Gamma)")
        yes, no = m.legs()
        return (no, yes) if p.leg is Leg.NO else (yes, no)

    def on_connect(self) -> None:
        self._initial_sent = False

    def _frame(self, assets: list[str], operation: str = "subscribe") -> bytes:
        if not self._initial_sent and operation == "subscribe":
            self._initial_sent = True
            return orjson.dumps({"assets_ids": assets, "type": "market", "custom_feature_enabled": True})
        return orjson.dumps({"operation": operation, "assets_ids": assets, "custom_feature_enabled": True})

    def subscribe_frames(self, markets: Sequence[str], req_id: int, *, legs: Sequence[BookLeg] = ()) -> list[bytes]:
        assets = [lg.venue_key for lg in legs] or [t for s in markets for t in
                                                    (self.markets[s].yes_token, self.markets[s].no_token)]
        return [self._frame(assets)]

    def discovery_frames(self, req_id: int) -> list[bytes]:
        # new_market arrives on the market channel once custom features are on (empty asset list)
        if self.discovery and not self._initial_sent:
            return [self._frame([])]
        return []

    def snapshot_frames(self, markets: Sequence[str], req_id: int, *, legs: Sequence[BookLeg] = ()) -> list[bytes]:
        assets = [lg.venue_key for lg in legs]
        return [self._frame(assets, "unsubscribe"), self._frame(assets, "subscribe")]

    def parse_market_message(self, obj: Any, ts_recv_ns: int) -> list[MarketEvent]:
        if not isinstance(obj, dict):
            return []
        et = obj.get("event_type")
        try:
            ts = int(obj.get("timestamp") or 0) * 1_000_000
            if et == "last_trade_price":
                return [TradeEvent(str(obj["asset_id"]), parse_px(str(obj["price"])), parse_qty(str(obj["size"])),
                                   Side.BUY if obj.get("side") == "BUY" else Side.SELL, ts // 1_000_000, ts,
                                   ts_recv_ns)]
            if et == "best_bid_ask":
                return [BboEvent(str(obj["asset_id"]), parse_px(str(obj["best_bid"])), 0,
                                 parse_px(str(obj["best_ask"])), 0, ts, ts, ts_recv_ns)]
            if et == "tick_size_change":
                new = parse_px(str(obj["new_tick_size"]))
                hit = self.by_token.get(str(obj["asset_id"]))
                name = str(obj["market"])
                if hit is not None:   # the transport checks prices against the new tick from now on
                    self._index(replace(hit[0], tick_1e9=new))
                    name = hit[0].slug
                return [MarketStatus(name, "tick_size_change",
                                     {"asset_id": obj["asset_id"], "old": obj["old_tick_size"],
                                      "new": obj["new_tick_size"], "tick_1e9": new})]
            if et == "market_resolved":
                return [MarketStatus(str(obj["market"]), "resolved",
                                     {"winning_asset_id": obj.get("winning_asset_id"),
                                      "winning_outcome": obj.get("winning_outcome")})]
            if et == "new_market":
                return self._new_market(obj, ts)
        except (KeyError, TypeError, ValueError, FixedPointError) as exc:
            raise VenueMessageError(f"Polymarket {et} message unreadable: {exc}") from None
        return []

    def _new_market(self, obj: dict[str, Any], ts: int) -> list[MarketEvent]:
        tokens = obj.get("clob_token_ids") or obj.get("assets_ids") or []
        outcomes = obj.get("outcomes") or ["Yes", "No"]
        if len(tokens) != 2:
            return []                     # only binary markets have YES/NO legs
        if str(outcomes[0]).lower() == "no":
            tokens = tokens[::-1]
        tick = parse_px(str(obj.get("order_price_min_tick_size") or "0.01"))
        m = PolyMarket(str(obj["slug"]), str(obj.get("condition_id") or obj["market"]), str(tokens[0]),
                       str(tokens[1]), tick, 500_000_000, bool(obj.get("neg_risk", False)))
        self._index(m)
        return [NewMarket(m.slug, m.legs(), tick, m.min_size_1e8,
                          {"question": obj.get("question"), "condition_id": m.condition_id,
                           "tags": obj.get("tags")}, ts)]
