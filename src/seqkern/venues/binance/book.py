"""Binance book sync rules: spot U/u continuity and USD-M pu chaining around a REST snapshot.

Spot ("How to manage a local order book correctly"): drop buffered events with u <= lastUpdateId;
the first kept event must satisfy U <= lastUpdateId + 1 <= u; live, an event with U > last + 1 is a
gap. USD-M: drop events with u < lastUpdateId; the first kept must satisfy
U <= lastUpdateId <= u; live, each event's pu must equal the previous u. The live checks run in C
(seqkern._wire RULE_FIRST_LAST / RULE_PREV_FINAL); these functions cover snapshot bridging.
"""

from __future__ import annotations

from seqkern._wire import RULE_FIRST_LAST, RULE_PREV_FINAL

SPOT_RULE = RULE_FIRST_LAST
USDM_RULE = RULE_PREV_FINAL


def spot_event_is_stale(snapshot_id: int, final_id: int) -> bool:
    return final_id <= snapshot_id


def spot_first_event_fits(snapshot_id: int, first_id: int, final_id: int) -> bool:
    return first_id <= snapshot_id + 1 <= final_id


def usdm_event_is_stale(snapshot_id: int, final_id: int) -> bool:
    return final_id < snapshot_id


def usdm_first_event_fits(snapshot_id: int, first_id: int, final_id: int) -> bool:
    return first_id <= snapshot_id <= final_id
