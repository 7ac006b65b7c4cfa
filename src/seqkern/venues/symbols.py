"""Canonical symbols, each venue's native symbol form (both directions), prediction legs, routing."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlparse

from seqkern.errors import NoRoutableVenue, UnknownSymbol
from seqkern.venues.catalog import (
    VENUE_BINANCE,
    VENUE_BITGET,
    VENUE_BITMART,
    VENUE_BYBIT,
    VENUE_COINBASE,
    VENUE_CRYPTOCOM,
    VENUE_HYPERLIQUID,
    VENUE_KALSHI,
    VENUE_KRAKEN,
    VENUE_OKX,
    VENUE_POLYMARKET,
    InstrumentType,
    Venue,
    VenueClass,
    resolve_venue,
)

_PAIR = re.compile(r"([A-Z0-9]{1,20})-([A-Z0-9]{1,20})")
_ASSET = re.compile(r"[A-Z0-9]{1,20}")
# Kalshi market tickers: SERIES-EVENT-MARKET (>= 3 dash-separated parts); the schema says
# ^[A-Z0-9-]+$ but documented tickers contain "." (FED-23DEC-T3.00), so "." is accepted
# (pred-hl.md 1.4, 1.8).
_KALSHI_TICKER = re.compile(r"[A-Z0-9][A-Z0-9.]*(?:-[A-Z0-9.]+){2,}")
_POLY_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_POLY_TOKEN = re.compile(r"[0-9]{1,78}")  # ERC-1155 token id, a uint256 in decimal
_POLY_CONDITION = re.compile(r"0x[0-9a-fA-F]{64}")
_UINT256_MAX = (1 << 256) - 1

# Quote assets recognised when splitting concatenated venue symbols (BTCUSDT), longest first.
QUOTE_ASSETS: tuple[str, ...] = tuple(
    sorted(
        ("USDT", "USDC", "FDUSD", "USD", "EUR", "GBP", "JPY", "TRY", "BRL", "DAI", "BTC", "ETH",
         "BNB", "SOL", "PYUSD", "USDE", "AUD", "CAD", "CHF"),
        key=len,
        reverse=True,
    )
)  # fmt: skip

# Kraken legacy asset codes (REST AssetPairs keys/altnames, WS v1): cex.md 3.6. WS v2 uses the
# modern codes (BTC/USD); REST still returns XBTUSD / XXBTZUSD and, in AssetPairs, wsname XBT/USDT.
_KRAKEN_LEGACY = {
    "XXBT": "BTC", "XBT": "BTC", "XETH": "ETH", "XXDG": "DOGE", "XDG": "DOGE", "XXRP": "XRP",
    "XLTC": "LTC", "XXLM": "XLM", "XETC": "ETC", "XXMR": "XMR", "XZEC": "ZEC", "XMLN": "MLN",
    "XREP": "REP", "ZUSD": "USD", "ZEUR": "EUR", "ZGBP": "GBP", "ZJPY": "JPY", "ZCAD": "CAD",
    "ZAUD": "AUD", "ZCHF": "CHF",
}  # fmt: skip
_KRAKEN_ALTNAME = {"BTC": "XBT", "DOGE": "XDG"}  # modern code -> REST altname code


class Leg(enum.StrEnum):
    YES = "yes"
    NO = "no"


@dataclass(frozen=True, slots=True)
class PredictionSymbol:
    """A prediction-market symbol parsed into market and leg.

    ``kind`` is "ticker" (Kalshi), "slug", "condition" (conditionId) or "token" (Polymarket
    ERC-1155 token id). A token id names one outcome token itself, so its ``leg`` is None: which
    outcome it is comes from the market's clobTokenIds.
    """

    venue_id: int
    market: str
    leg: Leg | None
    kind: str

    @property
    def symbol(self) -> str:
        """The canonical string: Kalshi `TICKER` / `TICKER:NO`, Polymarket `slug` / `slug:no`."""
        if self.leg is Leg.NO:
            return f"{self.market}:NO" if self.venue_id == VENUE_KALSHI else f"{self.market}:no"
        return self.market


def split_symbol(symbol: str) -> tuple[str, str]:
    """BASE-QUOTE -> (BASE, QUOTE); raises UnknownSymbol for anything else."""
    m = _PAIR.fullmatch(symbol) if isinstance(symbol, str) else None
    if m is None:
        raise UnknownSymbol(
            f"not a canonical BASE-QUOTE symbol: {symbol!r} (upper case, e.g. BTC-USDT)"
        )
    return m.group(1), m.group(2)


def parse_prediction(symbol: str) -> PredictionSymbol:
    """Parse a Kalshi ticker (`KX...-..-..[:NO]`) or a Polymarket slug, `slug:yes|no`, token id,
    conditionId or polymarket.com URL. Raises UnknownSymbol when it is neither."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise UnknownSymbol(f"not a prediction-market symbol: {symbol!r}")
    text = symbol.strip()
    if text.startswith(("https://", "http://")):
        url = urlparse(text)
        if url.hostname not in ("polymarket.com", "www.polymarket.com"):
            raise UnknownSymbol(f"not a Polymarket URL: {symbol!r}")
        parts = [p for p in url.path.split("/") if p]
        if (
            len(parts) < 2
            or parts[0] not in ("event", "market")
            or not _POLY_SLUG.fullmatch(parts[-1])
        ):
            raise UnknownSymbol(f"Polymarket URL without an event/market slug: {symbol!r}")
        return PredictionSymbol(VENUE_POLYMARKET, parts[-1], Leg.YES, "slug")
    market, sep, leg_text = text.rpartition(":")
    if not sep:
        market, leg_text = text, ""
    leg = Leg.YES
    if leg_text:
        try:
            leg = Leg(leg_text.lower())
        except ValueError:
            raise UnknownSymbol(
                f"unknown leg {leg_text!r} in {symbol!r}; use :yes or :no"
            ) from None
    if _KALSHI_TICKER.fullmatch(market):
        return PredictionSymbol(VENUE_KALSHI, market, leg, "ticker")
    if _POLY_CONDITION.fullmatch(market):
        return PredictionSymbol(VENUE_POLYMARKET, market.lower(), leg, "condition")
    if market.isascii() and market.isdigit():
        if leg_text:
            raise UnknownSymbol(
                f"{symbol!r}: a Polymarket token id already names one outcome; drop the leg"
            )
        if not _POLY_TOKEN.fullmatch(market) or int(market) > _UINT256_MAX:
            raise UnknownSymbol(f"Polymarket token id out of uint256 range: {symbol!r}")
        return PredictionSymbol(VENUE_POLYMARKET, market, None, "token")
    if _POLY_SLUG.fullmatch(market):
        return PredictionSymbol(VENUE_POLYMARKET, market, leg, "slug")
    raise UnknownSymbol(f"not a Kalshi ticker or Polymarket slug/token id: {symbol!r}")


def symbol_kind(symbol: str) -> str:
    """Return "pair" for BASE-QUOTE, else "kalshi" or "polymarket"; raises UnknownSymbol."""
    if isinstance(symbol, str) and _PAIR.fullmatch(symbol):
        return "pair"
    p = parse_prediction(symbol)
    return "kalshi" if p.venue_id == VENUE_KALSHI else "polymarket"


def canonical_symbol(symbol: str) -> str:
    """Normalise a user symbol: pairs as given (must be canonical), prediction symbols to their
    canonical leg form (`T:no` -> `T:NO` on Kalshi, `slug:YES` -> `slug`, URL -> slug)."""
    if isinstance(symbol, str) and _PAIR.fullmatch(symbol):
        return symbol
    return parse_prediction(symbol).symbol


def market_key(symbol: str) -> str:
    """The listing key of a symbol: the pair itself, or the prediction market without its leg."""
    if isinstance(symbol, str) and _PAIR.fullmatch(symbol):
        return symbol
    return parse_prediction(symbol).market


def _split_concat(text: str, venue: Venue) -> tuple[str, str]:
    for quote in QUOTE_ASSETS:
        if text.endswith(quote) and len(text) > len(quote):
            base = text[: -len(quote)]
            if _ASSET.fullmatch(base):
                return base, quote
    raise UnknownSymbol(f"cannot split {venue.display_name} symbol {text!r} into base and quote")


def _kraken_asset(code: str) -> str:
    return _KRAKEN_LEGACY.get(code, code)


def _kraken_from(text: str, venue: Venue) -> tuple[str, str]:
    if "/" in text:  # WS v2 "BTC/USD", or AssetPairs wsname / WS v1 "XBT/USD"
        base, _, quote = text.partition("/")
        if not (_ASSET.fullmatch(base) and _ASSET.fullmatch(quote)):
            raise UnknownSymbol(f"not a Kraken symbol: {text!r}")
        return _kraken_asset(base), _kraken_asset(quote)
    # REST: altname "XBTUSD" or legacy pair key "XXBTZUSD" (two 4-letter legacy codes)
    if len(text) == 8 and text[:4] in _KRAKEN_LEGACY and text[4:] in _KRAKEN_LEGACY:
        return _kraken_asset(text[:4]), _kraken_asset(text[4:])
    base, quote = _split_concat(text, venue)
    return _kraken_asset(base), quote


def kraken_rest_pair(symbol: str) -> str:
    """Kraken's REST altname for a canonical pair (BTC-USD -> XBTUSD, DOGE-USD -> XDGUSD)."""
    base, quote = split_symbol(symbol)
    return _KRAKEN_ALTNAME.get(base, base) + quote


def _no_such(symbol: str, venue: Venue, itype: str, why: str = "") -> UnknownSymbol:
    return UnknownSymbol(
        f"{symbol!r} has no {itype} form on {venue.display_name}{': ' + why if why else ''}"
    )


def to_venue(
    symbol: str, venue: int | str | Venue, instrument_type: InstrumentType | str | None = None
) -> str:
    """The venue-native symbol for a canonical symbol and instrument type (default: the venue's
    first unit's type: spot on exchanges with spot, perp on Hyperliquid, binary on Kalshi).

    Kraken gives the WS v2 form (BTC/USD; `kraken_rest_pair` gives the REST altname). Kalshi and
    Polymarket give the market (ticker / slug / token id / conditionId) without the leg.
    """
    v = resolve_venue(venue)
    try:
        itype = (
            v.primary_instrument_type
            if instrument_type is None
            else InstrumentType(instrument_type)
        )
    except ValueError:
        raise UnknownSymbol(f"unknown instrument type {instrument_type!r}") from None
    if v.venue_class is VenueClass.PREDICTION:
        p = parse_prediction(symbol)
        if p.venue_id != v.venue_id or itype is not InstrumentType.BINARY:
            raise _no_such(symbol, v, itype.value)
        return p.market
    base, quote = split_symbol(symbol)
    vid = v.venue_id
    if itype is InstrumentType.SPOT:
        if vid in (VENUE_BINANCE, VENUE_BYBIT, VENUE_BITGET):
            return base + quote
        if vid in (VENUE_OKX, VENUE_COINBASE):
            return f"{base}-{quote}"
        if vid in (VENUE_CRYPTOCOM, VENUE_BITMART):
            return f"{base}_{quote}"
        if vid == VENUE_KRAKEN:
            return f"{base}/{quote}"
        if vid == VENUE_HYPERLIQUID:
            return f"{base}/{quote}"  # Hyperliquid spot names (PURR/USDC); not an edge unit here
        if v.venue_class is VenueClass.DEX:
            return symbol  # the DEX edge resolves token symbols through its token registry
    elif itype is InstrumentType.PERP:
        if vid == VENUE_BINANCE:
            if quote not in ("USDT", "USDC"):
                raise _no_such(symbol, v, "perp", "USD-M perps are quoted in USDT or USDC")
            return base + quote
        if vid == VENUE_OKX:
            return f"{base}-{quote}-SWAP"
        if vid == VENUE_BYBIT:
            if quote == "USDT":
                return base + quote
            if quote == "USDC":
                return base + "PERP"  # Bybit linear USDC perpetuals are BTCPERP (cex.md B.5.6)
            raise _no_such(symbol, v, "perp", "linear perps are quoted in USDT or USDC")
        if vid == VENUE_CRYPTOCOM:
            if quote != "USD":
                raise _no_such(symbol, v, "perp", "perpetuals are BASEUSD-PERP")
            return f"{base}USD-PERP"
        if vid == VENUE_HYPERLIQUID:
            if quote != "USDC":
                raise _no_such(symbol, v, "perp", "Hyperliquid perps are quoted in USDC")
            return base
    raise _no_such(symbol, v, itype.value)


@dataclass(frozen=True, slots=True)
class VenueSymbol:
    """A venue-native symbol resolved to the canonical symbol and its instrument type."""

    symbol: str
    instrument_type: InstrumentType


def parse_venue_symbol(
    venue_symbol: str,
    venue: int | str | Venue,
    instrument_type: InstrumentType | str | None = None,
) -> VenueSymbol:
    """Venue-native -> canonical. Where the venue's form does not tell spot from perp
    (Binance/Bybit BTCUSDT) the given ``instrument_type`` (default spot) decides."""
    v = resolve_venue(venue)
    if not isinstance(venue_symbol, str) or not venue_symbol:
        raise UnknownSymbol(f"empty {v.display_name} symbol")
    try:
        want = InstrumentType(instrument_type) if instrument_type is not None else None
    except ValueError:
        raise UnknownSymbol(f"unknown instrument type {instrument_type!r}") from None
    text = venue_symbol.strip()
    vid = v.venue_id
    itype = want or InstrumentType.SPOT
    if v.venue_class is VenueClass.PREDICTION:
        p = parse_prediction(text)
        if p.venue_id != vid or p.leg is Leg.NO:
            raise UnknownSymbol(f"not a {v.display_name} market: {venue_symbol!r}")
        base_sym, itype = p.symbol, InstrumentType.BINARY
    elif vid == VENUE_OKX:
        parts = text.split("-")
        if len(parts) == 3 and parts[2] == "SWAP":
            itype = InstrumentType.PERP
        elif len(parts) != 2:
            raise UnknownSymbol(f"not an OKX SPOT or SWAP instId: {venue_symbol!r}")
        base_sym = f"{parts[0]}-{parts[1]}"
    elif vid == VENUE_COINBASE:
        base_sym = text
    elif vid in (VENUE_CRYPTOCOM, VENUE_BITMART):
        if text.endswith("-PERP") and vid == VENUE_CRYPTOCOM:
            body = text[: -len("-PERP")]
            if not body.endswith("USD") or len(body) <= 3:
                raise UnknownSymbol(f"not a Crypto.com perpetual: {venue_symbol!r}")
            base_sym, itype = f"{body[:-3]}-USD", InstrumentType.PERP
        else:
            base, sep, quote = text.partition("_")
            if not sep:
                raise UnknownSymbol(f"not a {v.display_name} BASE_QUOTE symbol: {venue_symbol!r}")
            base_sym = f"{base}-{quote}"
    elif vid == VENUE_KRAKEN:
        base, quote = _kraken_from(text, v)
        base_sym = f"{base}-{quote}"
    elif vid in (VENUE_BINANCE, VENUE_BITGET):
        base, quote = _split_concat(text, v)
        base_sym = f"{base}-{quote}"
    elif vid == VENUE_BYBIT:
        if text.endswith("PERP") and len(text) > 4 and _ASSET.fullmatch(text[:-4]):
            base_sym, itype = f"{text[:-4]}-USDC", InstrumentType.PERP
        else:
            base, quote = _split_concat(text, v)
            base_sym = f"{base}-{quote}"
    elif vid == VENUE_HYPERLIQUID:
        if text.startswith("@") or ":" in text:
            raise UnknownSymbol(
                f"Hyperliquid {venue_symbol!r}: spot indexes (@N) and builder-dex coins "
                "(dex:COIN) need spotMeta/perpDexs metadata and are not in the catalog"
            )
        if "/" in text:
            base, _, quote = text.partition("/")
            base_sym, itype = f"{base}-{quote}", InstrumentType.SPOT
        else:
            base_sym, itype = f"{text}-USDC", InstrumentType.PERP
    elif v.venue_class is VenueClass.DEX:
        base_sym = text.replace("/", "-")
    else:
        raise UnknownSymbol(f"no symbol rules for {v.display_name}")
    if v.venue_class is not VenueClass.PREDICTION:
        split_symbol(base_sym)  # validates the result is canonical
    if want is not None and itype is not want:
        raise UnknownSymbol(
            f"{v.display_name} symbol {venue_symbol!r} is {itype.value}, not {want.value}"
        )
    # Round trip guard: the canonical form must map back to a form this venue accepts.
    to_venue(base_sym, v, itype)
    return VenueSymbol(base_sym, itype)


def from_venue(
    venue_symbol: str,
    venue: int | str | Venue,
    instrument_type: InstrumentType | str | None = None,
) -> str:
    """Venue-native -> canonical BASE-QUOTE (or canonical prediction market)."""
    return parse_venue_symbol(venue_symbol, venue, instrument_type).symbol


# ---------------------------------------------------------------------------------------------
# Routing: an order goes only to venues that list the exact symbol; quotes are never converted.


class Listing(Protocol):
    symbol: str
    venue_id: int
    instrument_type: str


def venues_for(
    symbol: str,
    listings: Iterable[Listing],
    instrument_type: InstrumentType | str | None = None,
) -> tuple[int, ...]:
    """VenueIds (ascending) of the listings of exactly this symbol. BTC-USD never matches a
    BTC-USDT listing. A prediction leg (`:NO`) routes to the venue listing its market."""
    key = market_key(symbol)
    try:
        want = InstrumentType(instrument_type) if instrument_type is not None else None
    except ValueError:
        raise UnknownSymbol(f"unknown instrument type {instrument_type!r}") from None
    return tuple(
        sorted(
            {
                item.venue_id
                for item in listings
                if item.symbol == key and (want is None or item.instrument_type == want)
            }
        )
    )


def route_venues(
    symbol: str,
    listings: Iterable[Listing],
    instrument_type: InstrumentType | str | None = None,
) -> tuple[int, ...]:
    """Like `venues_for`, but raises NoRoutableVenue (naming same-base listings) when empty."""
    items = tuple(listings)
    found = venues_for(symbol, items, instrument_type)
    if found:
        return found
    hint = ""
    if _PAIR.fullmatch(symbol):
        base = symbol.split("-")[0]
        others = sorted({i.symbol for i in items if i.symbol.startswith(base + "-")})
        if others:
            hint = f"; listed quotes for {base}: {', '.join(others)} (quotes are never converted)"
    raise NoRoutableVenue(f"no venue lists {symbol}{hint}")


def joined_symbol(symbol: str, *, drop: str, max_len: int, what: str) -> str:
    """A canonical pair written as one word (e.g. "BTC-USDT" -> "BTCUSDT"): the ``drop`` separators
    removed, then 5 to ``max_len`` letters and digits, else UnknownSymbol("not a <what>")."""
    s = symbol.strip().upper()
    for sep in drop:
        s = s.replace(sep, "")
    if not s.isalnum() or not (5 <= len(s) <= max_len):
        raise UnknownSymbol(f"not a {what}: {symbol!r}")
    return s


def separated_symbol(symbol: str, *, sep: str, what: str) -> str:
    """A canonical pair with the venue's separator (e.g. "BTC/USDT" -> "BTC_USDT"): any of - / _
    becomes ``sep``; BASE and QUOTE must be letters and digits, else UnknownSymbol("not a <what>")."""
    s = symbol.strip().upper()
    for other in "-/_":
        s = s.replace(other, sep)
    base, found, quote = s.partition(sep)
    if not found or not base.isalnum() or not quote.isalnum():
        raise UnknownSymbol(f"not a {what}: {symbol!r}")
    return f"{base}{sep}{quote}"
