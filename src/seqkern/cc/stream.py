"""The /v1/stream fan-out: topic subscriptions per client, snapshots first, then updates.

Market topics (``prices:*``, ``book:*``) are conflated per client: a client that cannot keep up
gets the latest value of each topic, never a backlog. Event topics (``orders``, ``fills``,
``routing``) are queued; a client whose queue passes ``max_queue`` gets a SLOW_CONSUMER notice and
is disconnected. The CC never waits on a client: publishing only appends and wakes a writer task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

log = logging.getLogger("seqkern.cc.stream")

EVENT_TOPICS = ("orders", "fills", "routing")
MARKET_PREFIXES = ("prices:", "book:")


class StreamClient:
    def __init__(self, ws: web.WebSocketResponse, key_id: str, is_admin: bool, max_queue: int) -> None:
        self.ws = ws
        self.key_id = key_id
        self.is_admin = is_admin
        self.max_queue = max_queue
        self.topics: set[str] = set()
        self.latest: dict[str, bytes] = {}         # conflated market topics
        self.events: deque[bytes] = deque()
        self.wake = asyncio.Event()
        self.closed = False
        self.sent = 0
        self.conflated = 0

    def push_market(self, topic: str, msg: bytes) -> None:
        if topic in self.latest:
            self.conflated += 1
        self.latest[topic] = msg
        self.wake.set()

    def push_event(self, msg: bytes) -> bool:
        if len(self.events) >= self.max_queue:
            return False
        self.events.append(msg)
        self.wake.set()
        return True


class StreamHub:
    def __init__(self, *, max_queue: int = 10_000) -> None:
        self.max_queue = max_queue
        self.clients: set[StreamClient] = set()
        self.by_topic: dict[str, set[StreamClient]] = {}
        self.dropped = 0
        # topic -> snapshot producer (returns the data of the first message, or None if unknown)
        self.snapshot: Callable[[str, StreamClient], Any] = lambda topic, client: None
        self.valid_topic: Callable[[str], bool] = lambda topic: True

    # --- publishing (called from the CC's code paths; never blocks) --------------------------
    def wants(self, topic: str) -> bool:
        return bool(self.by_topic.get(topic))

    def publish(self, topic: str, data: dict, key_id: str | None = None) -> None:
        subs = self.by_topic.get(topic)
        if not subs:
            return
        msg = orjson.dumps({"channel": topic, "data": data})
        if topic.startswith(MARKET_PREFIXES):
            for c in subs:
                c.push_market(topic, msg)
            return
        for c in list(subs):
            if key_id is not None and c.key_id != key_id and not c.is_admin:
                continue
            if not c.push_event(msg):
                self._drop(c)

    def _drop(self, c: StreamClient) -> None:
        self.dropped += 1
        c.events.clear()
        c.latest.clear()
        c.events.append(orjson.dumps({"channel": "notice", "data": {
            "code": "SLOW_CONSUMER",
            "message": f"more than {c.max_queue} undelivered events: disconnecting; "
                       "reconnect and resubscribe (a snapshot comes first)"}}))
        c.closed = True
        c.wake.set()
        self._unsubscribe_all(c)

    def _unsubscribe_all(self, c: StreamClient) -> None:
        for t in c.topics:
            s = self.by_topic.get(t)
            if s:
                s.discard(c)
        c.topics.clear()

    # --- one websocket -----------------------------------------------------------------------
    async def serve(self, request: web.Request, key_id: str, is_admin: bool) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=1 << 20)
        await ws.prepare(request)
        c = StreamClient(ws, key_id, is_admin, self.max_queue)
        self.clients.add(c)
        writer = asyncio.create_task(self._writer(c))
        try:
            async for msg in ws:
                if msg.type != web.WSMsgType.TEXT:
                    if msg.type == web.WSMsgType.BINARY:
                        await self._reply(c, {"error": {"code": "BAD_REQUEST",
                                                        "message": "send JSON text frames"}})
                    continue
                try:
                    req = orjson.loads(msg.data)
                except orjson.JSONDecodeError:
                    await self._reply(c, {"error": {"code": "BAD_JSON", "message": "malformed JSON"}})
                    continue
                if not isinstance(req, dict):
                    await self._reply(c, {"error": {"code": "BAD_REQUEST",
                                                    "message": "send {\"subscribe\": [...]}"}})
                    continue
                if "subscribe" in req:
                    self._subscribe(c, req["subscribe"])
                elif "unsubscribe" in req:
                    self._unsubscribe(c, req["unsubscribe"])
                elif "ping" in req:
                    c.push_event(orjson.dumps({"pong": req["ping"]}))
                else:
                    await self._reply(c, {"error": {"code": "BAD_REQUEST",
                                                    "message": "expected subscribe or unsubscribe"}})
                if c.closed:
                    break
        finally:
            self._unsubscribe_all(c)
            self.clients.discard(c)
            c.closed = True
            c.wake.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, 2.0)
            writer.cancel()
            await ws.close()
        return ws

    async def _reply(self, c: StreamClient, obj: dict) -> None:
        c.push_event(orjson.dumps(obj))

    def _subscribe(self, c: StreamClient, topics: Any) -> None:
        if not isinstance(topics, list):
            c.push_event(orjson.dumps({"subscribed": [], "rejected": [
                {"topic": str(topics)[:64], "reason": "subscribe takes a list of topics"}]}))
            return
        ok, rejected = [], []
        for t in topics:
            if not isinstance(t, str) or not self.valid_topic(t):
                rejected.append(t if isinstance(t, str) else str(t)[:64])
                continue
            ok.append(t)
        # the ack first, then one snapshot per accepted topic, then live updates
        c.push_event(orjson.dumps({"subscribed": ok, "rejected": rejected}))
        for t in ok:
            snap = self.snapshot(t, c)
            if snap is not None:
                c.push_event(orjson.dumps({"channel": t, "data": snap, "snapshot": True}))
            c.topics.add(t)
            self.by_topic.setdefault(t, set()).add(c)

    def _unsubscribe(self, c: StreamClient, topics: Any) -> None:
        done = []
        for t in topics if isinstance(topics, list) else []:
            if t in c.topics:
                c.topics.discard(t)
                self.by_topic.get(t, set()).discard(c)
                c.latest.pop(t, None)
                done.append(t)
        c.push_event(orjson.dumps({"unsubscribed": done}))

    async def _writer(self, c: StreamClient) -> None:
        ws = c.ws
        try:
            while True:
                await c.wake.wait()
                c.wake.clear()
                while c.events or c.latest:
                    if c.events:
                        msg = c.events.popleft()
                    else:
                        _t, msg = c.latest.popitem()
                    await ws.send_str(msg.decode())
                    c.sent += 1
                if c.closed:
                    await ws.close()
                    return
        except (ConnectionResetError, asyncio.CancelledError, RuntimeError):
            return
