"""PairSpec: one (symbol, venue, instrument type) listing with tick, lot, minimums and fees."""

from __future__ import annotations

import math
from dataclasses import dataclass

from seqkern._fixed import notional, parse_px, parse_qty
from seqkern.errors import FixedPointError, SeqkernError, UnknownSymbol, UnknownVenue
from seqkern.venues.catalog import (
    VENUE_BINANCE,
    VENUE_BITGET,
    VENUE_BYBIT,
    VENUE_COINBASE,
    VENUE_CRYPTOCOM,
    VENUE_HYPERLIQUID,
    VENUE_KALSHI,
    VENUE_KRAKEN,
    VENUE_OKX,
    VENUE_POLYMARKET,
    InstrumentType,
    VenueClass,
    venue_by_id,
)
from seqkern.venues.symbols import Leg, parse_prediction, parse_venue_symbol, split_symbol, to_venue

# Fees outside this band are a units mistake (bps vs fraction vs percent), not a fee schedule.
MIN_FEE_BPS = -100.0  # rebates down to -1%
MAX_FEE_BPS = 1000.0  # 10%
_QTY_SCALE = 10**8


class PairSpecError(SeqkernError, ValueError):
    """A PairSpec field is invalid; the message names the field."""

    code = "BAD_PAIRSPEC"


@dataclass(frozen=True, slots=True)
class PairSpec:
    """A venue listing in the kernel's units: prices x 1e9, quantities x 1e8, fees in bps.

    ``symbol`` is canonical (BASE-QUOTE, or the prediction market without its leg);
    ``min_notional_1e9`` is in quote currency x 1e9 (price scale); 0 means no minimum.
    """

    symbol: str
    venue_id: int
    instrument_type: str  # "spot" | "perp" | "binary"
    venue_symbol: str
    tick_1e9: int
    lot_1e8: int
    min_qty_1e8: int
    min_notional_1e9: int
    maker_fee_bps: float
    taker_fee_bps: float

    def __post_init__(self) -> None:
        try:
            venue = venue_by_id(self.venue_id)
        except UnknownVenue as exc:
            raise PairSpecError(f"venue_id: {exc}") from None
        try:
            itype = InstrumentType(self.instrument_type)
        except ValueError:
            raise PairSpecError(
                f"instrument_type {self.instrument_type!r}: expected spot, perp or binary"
            ) from None
        if itype not in venue.instrument_types:
            offered = ", ".join(t.value for t in venue.instrument_types) or "nothing"
            raise PairSpecError(
                f"instrument_type: {venue.display_name} has no {itype.value} unit (offers {offered})"
            )
        try:
            if venue.venue_class is VenueClass.PREDICTION:
                p = parse_prediction(self.symbol)
                if p.leg is Leg.NO or p.market != self.symbol:
                    raise PairSpecError(f"symbol {self.symbol!r}: list the market, not a leg")
            else:
                split_symbol(self.symbol)
            resolved = parse_venue_symbol(self.venue_symbol, venue, itype)
        except UnknownSymbol as exc:
            raise PairSpecError(f"symbol/venue_symbol: {exc}") from None
        if resolved.symbol != self.symbol:
            raise PairSpecError(
                f"venue_symbol {self.venue_symbol!r} is {resolved.symbol} on "
                f"{venue.display_name}, not {self.symbol}"
            )
        for name in ("tick_1e9", "lot_1e8", "min_qty_1e8", "min_notional_1e9"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise PairSpecError(f"{name} must be an int, got {type(value).__name__}")
            if not 0 <= value < 1 << 63:
                raise PairSpecError(f"{name} out of int64 range or negative")
        if self.tick_1e9 <= 0:
            raise PairSpecError("tick_1e9 must be positive")
        if self.lot_1e8 <= 0:
            raise PairSpecError("lot_1e8 must be positive")
        for name in ("maker_fee_bps", "taker_fee_bps"):
            fee = getattr(self, name)
            if isinstance(fee, bool) or not isinstance(fee, int | float) or not math.isfinite(fee):
                raise PairSpecError(f"{name} must be a finite number of bps")
            if not MIN_FEE_BPS <= fee <= MAX_FEE_BPS:
                raise PairSpecError(
                    f"{name} = {fee} bps is outside [{MIN_FEE_BPS}, {MAX_FEE_BPS}] "
                    "(bps, not a fraction or a percent)"
                )

    @classmethod
    def from_decimals(
        cls,
        symbol: str,
        venue_id: int,
        instrument_type: str,
        venue_symbol: str | None = None,
        *,
        tick: str,
        lot: str,
        min_qty: str = "0",
        min_notional: str = "0",
        maker_fee_bps: float,
        taker_fee_bps: float,
    ) -> PairSpec:
        """Build from venue decimal strings (exact, never through float). ``venue_symbol``
        defaults to the venue-native form of ``symbol``."""
        values = {}
        for name, text, parse in (
            ("tick", tick, parse_px),
            ("lot", lot, parse_qty),
            ("min_qty", min_qty, parse_qty),
            ("min_notional", min_notional, parse_px),
        ):
            try:
                values[name] = parse(text)
            except FixedPointError as exc:
                raise PairSpecError(f"{name} {text!r}: {exc}") from None
        if venue_symbol is None:
            try:
                venue_symbol = to_venue(symbol, venue_id, instrument_type)
            except (UnknownSymbol, UnknownVenue) as exc:
                raise PairSpecError(f"symbol: {exc}") from None
        return cls(
            symbol,
            venue_id,
            str(instrument_type),
            venue_symbol,
            values["tick"],
            values["lot"],
            values["min_qty"],
            values["min_notional"],
            float(maker_fee_bps),
            float(taker_fee_bps),
        )

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.symbol, self.venue_id, self.instrument_type)

    def price_on_tick(self, px_1e9: int) -> bool:
        return px_1e9 % self.tick_1e9 == 0

    def qty_on_lot(self, qty_1e8: int) -> bool:
        return qty_1e8 % self.lot_1e8 == 0

    def meets_minimums(self, px_1e9: int, qty_1e8: int) -> bool:
        """Quantity >= min_qty and price x quantity >= min_notional (exact)."""
        if qty_1e8 < self.min_qty_1e8:
            return False
        # exact: px_1e9 x qty_1e8 is notional at scale 1e17 (Python int, never wraps)
        return notional(px_1e9, qty_1e8) >= self.min_notional_1e9 * _QTY_SCALE


def _spec(
    venue_id: int, itype: str, symbol: str, tick: str, lot: str, min_qty: str,
    min_notional: str, maker: float, taker: float,
) -> PairSpec:  # fmt: skip
    return PairSpec.from_decimals(
        symbol, venue_id, itype, tick=tick, lot=lot, min_qty=min_qty, min_notional=min_notional,
        maker_fee_bps=maker, taker_fee_bps=taker,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Default listings for the demo symbols. Live edges replace these with the venue's instrument
# metadata at startup; the defaults drive the simulators, routing tests and the demo.
# Sources (shared/venues/): cex.md fee rows (§1, §2.5, §2.6, §3.8, B.4.6, B.5.6, §7.5, §8.5),
# pred-hl.md §1.8, §2.4, §2.6, §3.5, and the venues' own metadata responses kept in
# shared/venues/recorded/ and doc-examples/ (named per block). [UNCONFIRMED] marks values that
# no shared source states; they follow the venue's usual grid and are refreshed from metadata.
_SPOT, _PERP, _BIN = "spot", "perp", "binary"
_BN, _CB, _KR, _OKX = VENUE_BINANCE, VENUE_COINBASE, VENUE_KRAKEN, VENUE_OKX
_BY, _BG, _CDC, _HL = VENUE_BYBIT, VENUE_BITGET, VENUE_CRYPTOCOM, VENUE_HYPERLIQUID

DEFAULT_PAIRSPECS: tuple[PairSpec, ...] = (
    # Kraken spot (WS v2 BTC/USD). AssetPairs (recorded/kraken/http_asset_pairs.json, XBT/USDT):
    # tick 0.1, lot_decimals 8, ordermin 0.00005, costmin 0.5, base tier 25/40 bps (also cex.md
    # 3.8). ETH/SOL grids [UNCONFIRMED].
    _spec(_KR, _SPOT, "BTC-USD", "0.1", "0.00000001", "0.00005", "0.5", 25, 40),
    _spec(_KR, _SPOT, "ETH-USD", "0.01", "0.00000001", "0.002", "0.5", 25, 40),
    _spec(_KR, _SPOT, "SOL-USD", "0.01", "0.00000001", "0.02", "0.5", 25, 40),
    # Coinbase spot. Products (recorded/coinbase/http_products.json, BTC-USD): price_increment
    # 0.01, base_increment 0.00000001, base_min_size 0.00000001, quote_min_size 1. Fees Advanced 1
    # 60/120 bps (cex.md 6.5). ETH/SOL grids [UNCONFIRMED]. BTC-USDC is not listed: Coinbase
    # serves -USDC as -USD data (cex.md 6.1) and the spec routes BTC-USDC elsewhere.
    _spec(_CB, _SPOT, "BTC-USD", "0.01", "0.00000001", "0.00000001", "1", 60, 120),
    _spec(_CB, _SPOT, "ETH-USD", "0.01", "0.00000001", "0.00000001", "1", 60, 120),
    _spec(_CB, _SPOT, "SOL-USD", "0.01", "0.00000001", "0.00000001", "1", 60, 120),
    # Binance spot: PRICE_FILTER / LOT_SIZE / NOTIONAL of BTCUSDT, ETHUSDT, SOLUSDT
    # [3P exchangeInfo copies]; fees 10/10 bps (cex.md 2.5).
    _spec(_BN, _SPOT, "BTC-USDT", "0.01", "0.00001", "0.00001", "5", 10, 10),
    _spec(_BN, _SPOT, "ETH-USDT", "0.01", "0.0001", "0.0001", "5", 10, 10),
    _spec(_BN, _SPOT, "SOL-USDT", "0.01", "0.001", "0.001", "5", 10, 10),
    # Binance USD-M perps [3P exchangeInfo copies; SOL step/min notional UNCONFIRMED];
    # fees 2/5 bps (cex.md 2.6).
    _spec(_BN, _PERP, "BTC-USDT", "0.1", "0.001", "0.001", "100", 2, 5),
    _spec(_BN, _PERP, "ETH-USDT", "0.01", "0.001", "0.001", "20", 2, 5),
    _spec(_BN, _PERP, "SOL-USDT", "0.01", "1", "1", "5", 2, 5),
    # Bitget spot [UNCONFIRMED grids: tick = 10^-pricePrecision, lot = 10^-quantityPrecision,
    # cex.md B.6.6]; fees 10/10 bps (cex.md 7.5, UNCONFIRMED there too).
    _spec(_BG, _SPOT, "BTC-USDT", "0.01", "0.000001", "0.000001", "1", 10, 10),
    _spec(_BG, _SPOT, "BTC-USDC", "0.01", "0.000001", "0.000001", "1", 10, 10),
    _spec(_BG, _SPOT, "ETH-USDT", "0.01", "0.0001", "0.0001", "1", 10, 10),
    # Crypto.com spot. public/get-instruments (doc-examples/cryptocom/get_instruments_response
    # .json, BTC_USDT): price_tick_size 0.01, qty_tick_size 0.00001; no min notional field.
    # Fees 25/50 bps (cex.md 8.5). BTC_USDC and ETH grids [UNCONFIRMED].
    _spec(_CDC, _SPOT, "BTC-USDT", "0.01", "0.00001", "0.00001", "0", 25, 50),
    _spec(_CDC, _SPOT, "BTC-USDC", "0.01", "0.00001", "0.00001", "0", 25, 50),
    _spec(_CDC, _SPOT, "ETH-USDT", "0.01", "0.0001", "0.0001", "0", 25, 50),
    # OKX spot. Instruments (recorded/okx/http_get_instruments_spot.json): BTC tickSz 0.1,
    # lotSz 0.00000001, minSz 0.00001; ETH 0.01/0.000001/0.0001; SOL 0.01/0.000001/0.001 (those
    # rows are -USD; the -USDT/-USDC grids match [UNCONFIRMED]). Lv1 fees 8/10 bps
    # (recorded/okx/http_get_trade_fee_response.json: maker -0.0008, taker -0.001).
    _spec(_OKX, _SPOT, "BTC-USDT", "0.1", "0.00000001", "0.00001", "0", 8, 10),
    _spec(_OKX, _SPOT, "BTC-USDC", "0.1", "0.00000001", "0.00001", "0", 8, 10),
    _spec(_OKX, _SPOT, "ETH-USDT", "0.01", "0.000001", "0.0001", "0", 8, 10),
    _spec(_OKX, _SPOT, "SOL-USDT", "0.01", "0.000001", "0.001", "0", 8, 10),
    # OKX SWAP (recorded/okx/http_get_instruments_swap.json). Sizes are in contracts; the lot and
    # minimum here are in base units = contracts x ctVal: BTC-USDT-SWAP lotSz 0.01 x ctVal 0.01 =
    # 0.0001 BTC; ETH-USDT-SWAP 0.01 x 0.1 = 0.001 ETH. Fees 2/5 bps (cex.md 4.6).
    _spec(_OKX, _PERP, "BTC-USDT", "0.1", "0.0001", "0.0001", "0", 2, 5),
    _spec(_OKX, _PERP, "ETH-USDT", "0.01", "0.001", "0.001", "0", 2, 5),
    # Bybit spot (recorded/bybit/http_get_instruments_spot.json): BTCUSDT tickSize 0.1,
    # basePrecision 0.0001, minOrderQty 0.001, minOrderAmt 10; ETHUSDT 0.01/0.00001/0.001/10.
    # BTCUSDC grid [UNCONFIRMED]. Fees spot 10/10 bps (cex.md B.5.6).
    _spec(_BY, _SPOT, "BTC-USDT", "0.1", "0.0001", "0.001", "10", 10, 10),
    _spec(_BY, _SPOT, "BTC-USDC", "0.1", "0.0001", "0.001", "10", 10, 10),
    _spec(_BY, _SPOT, "ETH-USDT", "0.01", "0.00001", "0.001", "10", 10, 10),
    # Bybit linear (recorded/bybit/http_get_instruments_linear.json): BTCUSDT tickSize 0.5,
    # qtyStep 0.001, minOrderQty 0.001, minNotionalValue 5; ETHUSDT 0.05/0.01/0.01/5. BTCPERP
    # (USDC linear) grid [UNCONFIRMED]. Fees 2/5.5 bps (cex.md 5.6, taker from the docs' feeRate).
    _spec(_BY, _PERP, "BTC-USDT", "0.5", "0.001", "0.001", "5", 2, 5.5),
    _spec(_BY, _PERP, "ETH-USDT", "0.05", "0.01", "0.01", "5", 2, 5.5),
    _spec(_BY, _PERP, "BTC-USDC", "0.5", "0.001", "0.001", "5", 2, 5.5),
    # Hyperliquid perps (USDC). meta (recorded/hyperliquid/http_meta_perp_sample.json): BTC
    # szDecimals 5, ETH 4; SOL 2 [UNCONFIRMED]. Lot = 10^-szDecimals; tick = the decimal limit
    # 10^-(6 - szDecimals); prices must also have <= 5 significant figures, a price-dependent
    # rule the Hyperliquid adapter enforces (pred-hl.md 3.5). Min order value $10; base-tier
    # fees 1.5/4.5 bps (pred-hl.md 3.5).
    _spec(_HL, _PERP, "BTC-USDC", "0.1", "0.00001", "0.00001", "10", 1.5, 4.5),
    _spec(_HL, _PERP, "ETH-USDC", "0.01", "0.0001", "0.0001", "10", 1.5, 4.5),
    _spec(_HL, _PERP, "SOL-USDC", "0.0001", "0.01", "0.01", "10", 1.5, 4.5),
    # Kalshi (pred-hl.md 1.4, 1.8; doc-examples/kalshi/ws_market_lifecycle_created.json gives this
    # market tapered_deci_cent: step 0.001 below 0.10 and above 0.90, 0.01 between). The tick is
    # the coarsest step (0.01), valid across every range; the adapter may use the finer steps at
    # the edges. Whole contracts (fractional counts exist only on some markets). Fees are
    # quadratic per contract (taker 0.07 x P(1-P), maker 0.0175 x P(1-P)): shown as bps of
    # notional at P = 0.5, i.e. 350 and 87.5; the Kalshi adapter computes the exact fee.
    _spec(VENUE_KALSHI, _BIN, "KXBTCZ-26DEC31-T99000", "0.01", "1", "1", "0", 87.5, 350),
    # Polymarket (pred-hl.md 2.4, 2.6; doc-examples/polymarket/rest_clob_market_info.json: mts
    # 0.01, mos 5, fd r 0.02 e 1). Sizes have 2 decimals. Makers pay nothing; taker fee
    # C x 0.02 x p(1-p) = 100 bps of notional at p = 0.5.
    _spec(VENUE_POLYMARKET, _BIN, "btc-updown-5m-1776537600", "0.01", "0.01", "5", "0", 0, 100),
)


def pairspec_table(
    specs: tuple[PairSpec, ...] = DEFAULT_PAIRSPECS,
) -> dict[tuple[str, int, str], PairSpec]:
    """Index PairSpecs by (symbol, venue_id, instrument_type); duplicates are an error."""
    out: dict[tuple[str, int, str], PairSpec] = {}
    for spec in specs:
        if spec.key in out:
            raise PairSpecError(f"duplicate PairSpec for {spec.key}")
        out[spec.key] = spec
    return out
