"""The seqkern exception hierarchy: every error a user can see has a type and a stable code."""

from __future__ import annotations


class SeqkernError(Exception):
    """Base of every seqkern error. ``code`` is the stable, machine-readable name (API error code)."""

    code = "INTERNAL"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class FixedPointError(SeqkernError, ValueError):
    """A decimal number that cannot be represented exactly in the kernel's fixed-point units."""

    code = "BAD_NUMBER"


class MalformedNumber(FixedPointError):
    code = "MALFORMED_NUMBER"


class PrecisionError(FixedPointError):
    """More decimal digits than the scale (or the requested venue precision) can hold exactly."""

    code = "PRECISION"


class NumberOverflow(FixedPointError, OverflowError):
    code = "NUMBER_OVERFLOW"


class BookError(SeqkernError, ValueError):
    """Bad input to an order book: unaligned price, negative size, malformed arrays."""

    code = "BAD_BOOK_UPDATE"


class UnknownVenue(SeqkernError, KeyError):
    code = "UNKNOWN_VENUE"

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class UnknownSymbol(SeqkernError, KeyError):
    code = "UNKNOWN_SYMBOL"

    def __str__(self) -> str:
        return self.message


class CredentialError(SeqkernError, ValueError):
    """Credentials missing or malformed; the message names the field, never its value."""

    code = "BAD_CREDENTIALS"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field


class NoRoutableVenue(SeqkernError):
    code = "NO_ROUTABLE_VENUE"


# --- command center and API errors (each maps to one HTTP status in seqkern.cc.api) ---


class Unauthorized(SeqkernError):
    """No API key, or a key the CC does not know (HTTP 401)."""

    code = "UNAUTHORIZED"


class Forbidden(SeqkernError):
    """The API key lacks the scope the endpoint needs (HTTP 403)."""

    code = "FORBIDDEN"


class BadRequest(SeqkernError, ValueError):
    """A request body or parameter that cannot be understood (HTTP 400)."""

    code = "BAD_REQUEST"


class NotSupported(SeqkernError):
    """A request shape seqkern recognises but does not run yet (HTTP 501)."""

    code = "NOT_SUPPORTED"


class OrderNotFound(SeqkernError, KeyError):
    code = "ORDER_NOT_FOUND"

    def __str__(self) -> str:
        return self.message


class OrderNotOpen(SeqkernError):
    """Cancel / amend / decrease on an order that is already terminal (HTTP 409)."""

    code = "ORDER_NOT_OPEN"


class InvalidTransition(SeqkernError):
    """An order state change the state machine forbids (a bug or a stale venue message)."""

    code = "INVALID_TRANSITION"


class InsufficientBalance(SeqkernError):
    code = "INSUFFICIENT_BALANCE"


class KillSwitchActive(SeqkernError):
    """Routing is stopped by the kill switch (HTTP 423)."""

    code = "KILL_SWITCH_ACTIVE"


class VenueUnavailable(SeqkernError):
    """The venue's edge is not connected (HTTP 503)."""

    code = "VENUE_UNAVAILABLE"


class MasterKeyError(SeqkernError):
    """The credentials master key is missing, malformed or stored unsafely."""

    code = "MASTER_KEY"


class JournalError(SeqkernError):
    code = "JOURNAL"


class RouteError(SeqkernError, ValueError):
    """A routing request the SOR cannot take: bad parent, bad venue inputs, malformed arrays."""

    code = "BAD_ROUTE_REQUEST"


class CclinkError(SeqkernError, ValueError):
    """A CC-LINK frame or stream that breaks the wire format (docs/cclink.md).

    ``code`` names the rule broken (``CCLINK_BAD_MAGIC``, ``CCLINK_TOO_LARGE``, ...). When raised by
    a stream decoder, ``frames`` holds the good frames decoded before the bad one and ``offset`` the
    bad frame's position in the chunk that was fed.
    """

    code = "CCLINK_BAD_FRAME"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        frames: list | None = None,
        offset: int = -1,
    ) -> None:
        super().__init__(message, code=code)
        self.frames = frames if frames is not None else []
        self.offset = offset


class LinkRefused(CclinkError):
    """The peer refused the HELLO handshake (protocol version, role or identity mismatch)."""

    code = "CCLINK_REFUSED"


class LinkClosed(CclinkError):
    """The CC-LINK connection is closed (peer gone, dead-peer timeout, or closed locally)."""

    code = "CCLINK_CLOSED"
