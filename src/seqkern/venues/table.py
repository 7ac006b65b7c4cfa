"""The venue catalog as the text table printed by `seqkern venues`."""

from __future__ import annotations

from seqkern.venues.catalog import Capabilities, Venue, all_venues
from seqkern.venues.credentials import CREDENTIAL_CLASSES

_COLUMNS = (
    "id", "venue", "class", "region", "deploy units", "instruments", "amend", "batch",
    "settlement", "credentials",
)  # fmt: skip


def _amend(c: Capabilities) -> str:
    if not c.native_amend:
        return "no (cancel+replace)"
    if c.amend_graph is not c.amend_transport:
        return f"transport native; graph {c.amend_graph.value}"
    return "native"


def _batch(c: Capabilities) -> str:
    if not c.native_batch:
        return "no (serial)"
    cap = "no cap" if c.batch_max_ops is None else f"{c.batch_max_ops} ops"
    kind = "atomic" if c.batch_transport.value == "native_atomic" else "best-effort"
    return f"{cap} {kind}; graph {c.batch_graph.value}"


def _rows(venue: Venue) -> list[tuple[str, ...]]:
    cred = CREDENTIAL_CLASSES[venue.credential_class].summary()
    common = (str(venue.venue_id), venue.name, venue.venue_class.value, venue.region)
    if not venue.units:
        return [(*common, "- (id only)", "-", "-", "-", "-", cred)]
    rows = []
    for i, unit in enumerate(venue.units):
        c = unit.capabilities
        head = common if i == 0 else ("", "", "", "")
        rows.append(
            (
                *head,
                unit.name,
                unit.instrument_type.value,
                _amend(c),
                _batch(c),
                c.settlement.value,
                cred if i == 0 else "",
            )
        )
    return rows


def format_catalog() -> str:
    """Every venue: id, name, class, region, deploy units, instruments, amend, batch,
    settlement and credential fields, one line per deploy unit."""
    rows = [_COLUMNS] + [r for v in all_venues() for r in _rows(v)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS) - 1)]
    lines = []
    for n, r in enumerate(rows):
        cells = [r[i].ljust(widths[i]) for i in range(len(widths))] + [r[-1]]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(_COLUMNS[-1]))
    lines.append("")
    lines.append(
        "slot 0 = default/local, 10 = VENUE_UNKNOWN; arrays have 20 slots (wire id = index)."
    )
    return "\n".join(lines)
