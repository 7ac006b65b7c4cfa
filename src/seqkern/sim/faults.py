"""Fault injection switches shared by the simulators; each test arms the faults it wants."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FaultPlan:
    """One-shot and standing faults. One-shot counters are consumed as the simulator hits them."""

    drop_sockets: int = 0          # close every market-data socket this many times (next ticks)
    drop_user_sockets: int = 0     # close every order-entry / private-stream socket (next ticks)
    skip_sequence: int = 0         # withhold this many depth events (ids advance, clients see a gap)
    corrupt_checksum: int = 0      # send this many depth events with a wrong checksum (venues that have one)
    malformed_json: int = 0        # send this many truncated JSON frames on market-data sockets
    rest_errors: list[tuple[int, float]] = field(default_factory=list)  # (HTTP status, Retry-After s) for next REST calls
    rest_delay_s: float = 0.0      # delay every REST response
    ws_api_delay_s: float = 0.0    # delay every WS API response

    def take(self, name: str) -> bool:
        """Consume one occurrence of a counted fault; True when it fired."""
        n = getattr(self, name)
        if n > 0:
            setattr(self, name, n - 1)
            return True
        return False

    def next_rest_error(self) -> tuple[int, float] | None:
        return self.rest_errors.pop(0) if self.rest_errors else None
