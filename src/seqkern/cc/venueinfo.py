"""What the CC needs to know about venues: names and wire ids, credential validation, and the
result modes each venue's order channel reports. Delegates to the venue catalog."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seqkern.errors import CredentialError, UnknownVenue

# The spec's VenueId table (wire id = CC VenueId + 1; 0 = default/local), by catalog name.
VENUE_IDS: dict[str, int] = {
    "kraken": 1, "coinbase": 2, "binance": 3, "bitget": 4, "cryptocom": 5, "bitmart": 6,
    "dex": 7, "okx": 8, "bybit": 9, "dex-eth": 11, "dex-arb": 12, "dex-base": 13,
    "dex-op": 14, "dex-poly": 15, "dex-sol": 16, "hyperliquid": 17, "polymarket": 18,
    "kalshi": 19,
}  # fmt: skip
VENUE_NAMES: dict[int, str] = {v: k for k, v in VENUE_IDS.items()}
VENUE_SLOTS = 20

# The spec's credentials table: class -> (required fields, optional fields)
_PASSPHRASE = {"coinbase", "okx", "cryptocom", "bitget"}
_EVM_DEX = {"dex", "dex-eth", "dex-arb", "dex-base", "dex-op", "dex-poly"}


def venue_id(venue: str | int) -> int:
    if isinstance(venue, int):
        if venue in VENUE_NAMES:
            return venue
        raise UnknownVenue(f"unknown venue id {venue}")
    vid = VENUE_IDS.get(str(venue).lower())
    if vid is None:
        raise UnknownVenue(f"unknown venue {venue!r}; known: {', '.join(VENUE_IDS)}")
    return vid


def venue_name(venue: str | int) -> str:
    return VENUE_NAMES[venue_id(venue)]


def _need(payload: Mapping[str, Any], field: str) -> None:
    v = payload.get(field)
    if not isinstance(v, str) or not v.strip():
        raise CredentialError(f"field {field!r} is required and must be a non-empty string",
                              field=field, code="MISSING_CREDENTIAL")


def validate_credentials(venue: str | int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Check a credentials body field by field; returns {"class": ...}. Errors name the field,
    never its value."""
    name = venue_name(venue)
    for k, v in payload.items():
        if not isinstance(v, str | dict | type(None)):
            raise CredentialError(f"field {k!r} must be a string", field=k,
                                  code="MALFORMED_CREDENTIAL")
    if name in _PASSPHRASE:
        for f in ("api_key", "api_secret", "passphrase"):
            _need(payload, f)
        return {"class": "cex_passphrase"}
    if name in ("kraken", "binance", "bybit", "bitmart"):
        _need(payload, "api_key")
        _need(payload, "api_secret")
        return {"class": "cex"}
    extra = payload.get("extra_json") or {}
    if isinstance(extra, str):
        raise CredentialError("field 'extra_json' must be a JSON object", field="extra_json",
                              code="MALFORMED_CREDENTIAL")
    if name == "kalshi":
        _need(payload, "api_key")
        _need(payload, "api_secret")
        return {"class": "kalshi"}
    if name in ("hyperliquid", "polymarket") or name in _EVM_DEX or name == "dex-sol":
        _need(extra, "signer_private_key")
        return {"class": name if name in ("hyperliquid", "polymarket") else "dex"}
    raise CredentialError(f"venue {name} takes no credentials", code="MALFORMED_CREDENTIAL")


def is_prediction(venue: int) -> bool:
    return venue in (18, 19)


def amend_mode(venue: int, sandbox: bool) -> str:
    """The amend path as the graph API reports it (spec: Kalshi and Polymarket report
    cancel_replace); sandbox amends are a CC-side cancel + replace."""
    if sandbox or venue in (18, 19, 1, 5, 4):
        return "cancel_replace"
    return "native_atomic"


def batch_mode(venue: int | None) -> str:
    """Graph-level batching is serial today (spec), whatever the transport can do."""
    return "serial"


def redeem_mode(venue: int) -> str | None:
    """How a prediction-market position settles; None for venues without redemption."""
    if venue == 19:
        return "auto_settled"
    if venue == 18:
        return "relayer_submitted"
    return None
