"""A transport's private stream as user events: frames read as JSON objects, events handed to the
user handler one by one, and both counted (Coinbase, Kraken, Bitget, Crypto.com)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from seqkern.venues.base import UserEvent, UserEventHandler, VenueMessageError


class UserEventFeed:
    """Mixin for an OrderTransport whose ``__init__`` sets ``_on_user``, ``user_events`` (events
    handed over) and ``unparsable`` (private messages that could not be read)."""

    _on_user: UserEventHandler | None
    user_events: int
    unparsable: int

    def _json_object(self, payload: memoryview | bytes) -> dict[str, Any] | None:
        """A frame as a JSON object; unreadable JSON is counted, other JSON values are None."""
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            self.unparsable += 1
            return None
        return obj if isinstance(obj, dict) else None

    def _hand_over(self, parse: Callable[[Any, int], Sequence[UserEvent]], msg: Any, ts_recv_ns: int,
                   log: logging.Logger) -> None:
        """``parse`` one private message and hand its events to the user handler; an unreadable
        message is counted, logged on the venue's ``log`` and dropped."""
        on_user = self._on_user
        if on_user is None:
            return
        try:
            events = parse(msg, ts_recv_ns)
        except VenueMessageError as exc:
            self.unparsable += 1
            log.warning("%s", exc)
            return
        for ev in events:
            self.user_events += 1
            on_user(ev)
