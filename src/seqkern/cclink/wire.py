"""CC-LINK names: the frame kinds, flags and field enums of docs/cclink.md as IntEnums."""

from __future__ import annotations

from enum import IntEnum

from seqkern import _cclink as _c

VERSION: int = _c.VERSION
HEADER_SIZE: int = _c.HEADER_SIZE


class Kind(IntEnum):
    HELLO = _c.HELLO
    PAIR_SPEC = _c.PAIR_SPEC
    BBO = _c.BBO
    L2_SNAPSHOT = _c.L2_SNAPSHOT
    L2_DELTA = _c.L2_DELTA
    TRADE = _c.TRADE
    FILL = _c.FILL
    ORDER_NEW = _c.ORDER_NEW
    ORDER_CANCEL = _c.ORDER_CANCEL
    ORDER_AMEND = _c.ORDER_AMEND
    ORDER_DECREASE = _c.ORDER_DECREASE
    ORDER_BATCH = _c.ORDER_BATCH
    ORDER_ACK = _c.ORDER_ACK
    ORDER_REJECT = _c.ORDER_REJECT
    ORDER_UPDATE = _c.ORDER_UPDATE
    BALANCE = _c.BALANCE
    HEARTBEAT = _c.HEARTBEAT
    PING = _c.PING
    PONG = _c.PONG
    RESYNC = _c.RESYNC
    ERROR = _c.ERROR


MARKET_DATA_KINDS = frozenset({Kind.BBO, Kind.L2_SNAPSHOT, Kind.L2_DELTA, Kind.TRADE})
LINK_CONTROL_KINDS = frozenset(
    {Kind.HELLO, Kind.HEARTBEAT, Kind.PING, Kind.PONG, Kind.RESYNC, Kind.ERROR}
)


class Flag(IntEnum):
    RESYNC = _c.FLAG_RESYNC
    CONFLATED = _c.FLAG_CONFLATED
    REPLAY = _c.FLAG_REPLAY


class Side(IntEnum):
    UNSET = 0
    BUY = 1
    SELL = 2


class OrderType(IntEnum):
    UNSET = 0
    LIMIT = 1
    MARKET = 2


class TimeInForce(IntEnum):
    DEFAULT = 0
    GTC = 1
    IOC = 2
    FOK = 3


class OrderFlag(IntEnum):
    REDUCE_ONLY = 1
    POST_ONLY = 2


class OrderStatus(IntEnum):
    UNSET = 0
    PENDING = 1
    ACCEPTED = 2
    PARTIALLY_FILLED = 3
    FILLED = 4
    CANCELED = 5
    REJECTED = 6
    EXPIRED = 7
    REPLACED = 8


class AmendMode(IntEnum):
    UNSET = 0
    NATIVE_ATOMIC = 1
    CANCEL_REPLACE = 2


class BatchMode(IntEnum):
    UNSET = 0
    SERIAL = 1
    NATIVE_ATOMIC = 2
    NATIVE_BEST_EFFORT = 3


class RedeemMode(IntEnum):
    UNSET = 0
    AUTO_SETTLED = 1
    RELAYER_SUBMITTED = 2


class Liquidity(IntEnum):
    UNKNOWN = 0
    MAKER = 1
    TAKER = 2


class Region(IntEnum):
    NONE = 0
    AP = 1
    NA = 2
    EU = 3

    @classmethod
    def parse(cls, text: str) -> Region:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown region {text!r}; expected ap, na or eu") from None


class InstrumentType(IntEnum):
    ANY = 0
    SPOT = 1
    PERP = 2
    BINARY = 3


class Role(IntEnum):
    EDGE = 1
    CC = 2
    PEER_CC = 3


class LinkErrorCode(IntEnum):
    """The `code` of an ERROR frame."""

    VERSION_MISMATCH = 1
    HELLO_REFUSED = 2
    BAD_FRAME = 3
    NOT_READY = 4
    REGION_MISMATCH = 5
    UNKNOWN_SYMBOL = 6
    REPLACED = 7
    SHUTDOWN = 8


def fee_bps_e4(bps: str | int) -> int:
    """A fee in basis points as PAIR_SPEC carries it: an exact integer in 1e-4 bps
    ("7.5" -> 75_000, "-0.25" -> -2_500). Parsed exactly, never through float."""
    from seqkern._fixed import parse_fixed

    return int(parse_fixed(str(bps), 4))
