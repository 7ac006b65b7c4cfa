"""What the CC needs to know about venues, taken from the venue catalog: names and wire ids,
credential validation, and the result modes each venue's order channel reports on the wire."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seqkern.venues import (
    VENUE_SLOTS,
    Settlement,
    all_venues,
    resolve_venue,
)
from seqkern.venues import validate_credentials as _catalog_validate

VENUE_IDS: dict[str, int] = {v.name: v.venue_id for v in all_venues()}
VENUE_NAMES: dict[int, str] = {v.venue_id: v.name for v in all_venues()}

__all__ = ["VENUE_IDS", "VENUE_NAMES", "VENUE_SLOTS", "amend_mode", "batch_mode", "redeem_mode",
           "validate_credentials", "venue_id", "venue_name"]


def venue_id(venue: str | int) -> int:
    """A VenueId from an id, a catalog name, a launcher or a deploy unit (UnknownVenue if none)."""
    return resolve_venue(venue.lower() if isinstance(venue, str) else venue).venue_id


def venue_name(venue: str | int) -> str:
    return VENUE_NAMES[venue_id(venue)]


def validate_credentials(venue: str | int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog checks the body field by field (errors name the field, never its value);
    the CC keeps only the class name in the clear."""
    creds = _catalog_validate(venue_id(venue), payload)
    return {"class": creds.CLASS}


def amend_mode(venue: int, sandbox: bool) -> str:
    """The amend path as the graph API reports it; sandbox amends are a CC-side cancel + replace."""
    if sandbox:
        return "cancel_replace"
    return _caps(venue).amend_graph.value


def batch_mode(venue: int | None) -> str:
    """Graph-level batching is serial today (spec), whatever the transport can do."""
    if venue is None:
        return "serial"
    return _caps(venue).batch_graph.value


def redeem_mode(venue: int) -> str | None:
    """How a prediction-market position settles, as the spec's RedeemMode names it on the wire;
    None for venues without a redemption step."""
    v = resolve_venue(venue)
    if v.venue_class.value != "prediction" or not v.units:
        return None
    s = v.units[0].capabilities.settlement
    return "auto_settled" if s is Settlement.AUTO_SETTLED else "relayer_submitted"


def _caps(venue: int) -> Any:
    v = resolve_venue(venue)
    return v.units[0].capabilities
