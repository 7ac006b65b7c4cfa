"""The command-center end of CC-LINK: accepts edges over TCP or a Unix socket, one session each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Callable
from typing import Any

from seqkern import _cclink as _c
from seqkern.cclink.link import Handler, LinkConfig, LinkProtocol
from seqkern.cclink.wire import InstrumentType, Kind, LinkErrorCode, Region, Role
from seqkern.errors import LinkClosed, LinkRefused

log = logging.getLogger("seqkern.cclink")

_SYMBOL_KINDS = (Kind.BBO, Kind.L2_SNAPSHOT, Kind.L2_DELTA, Kind.TRADE, Kind.FILL)


class EdgeSession(LinkProtocol):
    """One connected edge (or peer CC) as the CC sees it.

    Per-connection state: `edge_id`, `region`, `venue_slot`, `instrument_type`, `session_id` from
    the edge's HELLO, and `symbols` (edge-local symbol id -> its PAIR_SPEC frame). The send_*
    methods of LinkProtocol send to this edge.
    """

    def __init__(self, server: CcLinkServer, stream_id: int) -> None:
        super().__init__(
            server.config,
            server.handlers,
            version=server.version,
            capture=server.capture,
            stream_id=stream_id,
        )
        self.server = server
        self.edge_id: str | None = None
        self.region = Region.NONE
        self.venue_slot = 0
        self.instrument_type = InstrumentType.ANY
        self.role = Role.EDGE
        self.session_id = 0
        self.symbols: dict[int, Any] = {}
        self._unknown_reported: set[int] = set()

    def _on_open(self) -> None:
        self.server._pending.add(self)

    def _on_hello(self, frame: Any) -> None:
        srv = self.server
        if self.ready:
            self._refuse(LinkErrorCode.HELLO_REFUSED, "second HELLO on one connection", frame)
            return
        if frame.protocol_version != srv.version or frame.version != srv.version:
            self._refuse(
                LinkErrorCode.VERSION_MISMATCH,
                f"version mismatch: this CC speaks CC-LINK v{srv.version}, "
                f"edge {frame.edge_id!r} speaks v{frame.protocol_version}",
                frame,
            )
            return
        if frame.role not in (Role.EDGE, Role.PEER_CC):
            self._refuse(LinkErrorCode.HELLO_REFUSED,
                         f"role {frame.role} cannot connect to a CC", frame)
            return
        if srv.region != Region.NONE and frame.role == Role.EDGE and frame.region != srv.region:
            self._refuse(
                LinkErrorCode.REGION_MISMATCH,
                f"edge {frame.edge_id!r} is in region {Region(frame.region).name.lower()}, "
                f"this CC serves {srv.region.name.lower()}",
                frame,
            )
            return
        if srv.accept_hello is not None:
            try:
                srv.accept_hello(frame)
            except LinkRefused as exc:
                self._refuse(LinkErrorCode.HELLO_REFUSED, exc.message, frame)
                return
        self.peer = frame
        self.edge_id = frame.edge_id
        self.region = Region(frame.region)
        self.venue_slot = frame.venue_slot
        self.instrument_type = InstrumentType(frame.instrument_type)
        self.role = Role(frame.role)
        self.session_id = frame.session_id
        self.encoder.venue_slot = frame.venue_slot
        self.encoder.hello(
            srv.server_id, int(srv.region), 0, int(Role.CC),
            int(self.config.heartbeat_s * 1000), srv.session_id,
        )
        self.flush()
        self._handshake_done()
        srv._register(self)

    def _refuse(self, code: LinkErrorCode, text: str, frame: Any = None) -> None:
        who = frame.edge_id if frame is not None and hasattr(frame, "edge_id") else "?"
        self.server.refusals.append((who, code.name, text))
        log.warning("CC-LINK refused %s: %s", who, text)
        super()._refuse(code, text, frame)

    def _on_refusal(self, frame: Any) -> None:
        self.close(f"edge sent ERROR {frame.code} before HELLO: {frame.text}")

    def _on_closed(self) -> None:
        self.server._unregister(self)

    def _bind_symbol(self, frame: Any) -> None:
        self.symbols[frame.symbol_id] = frame
        self._unknown_reported.discard(frame.symbol_id)

    def _build_table(self, *, ready: bool) -> None:
        super()._build_table(ready=ready)
        if not ready or not self.server.strict_symbols:
            return
        # market data and fills must name a symbol bound by PAIR_SPEC on this connection
        symbols = self.symbols
        for kind in _SYMBOL_KINDS:
            inner = self._table[kind]

            def checked(f: Any, inner: Any = inner) -> None:
                if f.symbol_id in symbols:
                    inner(f)
                else:
                    self._unknown_symbol(f)

            self._table[kind] = checked

    def _unknown_symbol(self, frame: Any) -> None:
        self.stats.unknown_symbol += 1
        if frame.symbol_id not in self._unknown_reported:  # one ERROR per symbol, not a flood
            self._unknown_reported.add(frame.symbol_id)
            log.warning("CC-LINK %s sent %s for unbound symbol id %d", self.edge_id,
                        frame.kind_name, frame.symbol_id)
            self.send_error(LinkErrorCode.UNKNOWN_SYMBOL,
                            f"symbol id {frame.symbol_id} is not bound by a PAIR_SPEC",
                            frame.kind, frame.seq)

    def describe(self) -> str:
        return self.edge_id or "unidentified edge"

    def __repr__(self) -> str:
        return (f"<EdgeSession {self.edge_id!r} slot={self.venue_slot} "
                f"{self.instrument_type.name.lower()} symbols={len(self.symbols)} "
                f"rtt_ns={self.rtt_ns}>")


class CcLinkServer:
    """Accepts CC-LINK connections from edges (and peer CCs).

    Handlers: `on(kind, handler)` registers `handler(session, frame)` for a frame kind; RESYNC
    goes to `on_resync(session, frame)`, which re-sends state (use `flags=FLAG_RESYNC`).
    `on_connect(session)` / `on_disconnect(session, reason)` follow the session lifecycle.
    `accept_hello(hello)` may raise LinkRefused to turn an edge away. `sessions` maps edge id
    to the live session; a new connection with the same edge id replaces the old one. With
    `strict_symbols` (default) BBO, L2, TRADE and FILL frames naming a symbol id the edge has
    not bound by PAIR_SPEC are dropped, counted (`stats.unknown_symbol`) and answered with one
    ERROR UNKNOWN_SYMBOL per symbol id.
    """

    def __init__(
        self,
        server_id: str = "cc",
        *,
        region: Region = Region.NONE,
        config: LinkConfig | None = None,
        accept_hello: Callable[[Any], None] | None = None,
        on_connect: Callable[[EdgeSession], Any] | None = None,
        on_disconnect: Callable[[EdgeSession, str], Any] | None = None,
        on_resync: Callable[[EdgeSession, Any], Any] | None = None,
        capture: Any = None,
        strict_symbols: bool = True,
        version: int = _c.VERSION,
    ) -> None:
        _c.Encoder(capacity=256).hello(server_id, int(region), 0, int(Role.CC))  # checks the id
        self.server_id = server_id
        self.region = Region(region)
        self.config = config or LinkConfig()
        self.accept_hello = accept_hello
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.on_resync = on_resync
        self.capture = capture
        self.strict_symbols = strict_symbols
        self.version = version
        self.session_id = int.from_bytes(secrets.token_bytes(8), "little")
        self.handlers: dict[int, Handler] = {
            Kind.PAIR_SPEC: self._pair_spec,
            Kind.RESYNC: self._resync,
        }
        self._user_pair_spec: Handler | None = None
        self.sessions: dict[str, EdgeSession] = {}
        self.refusals: list[tuple[str, str, str]] = []
        self._pending: set[EdgeSession] = set()
        self._servers: list[asyncio.AbstractServer] = []
        self._streams = 0
        self._unix_paths: list[str] = []

    # ---- handlers

    def on(self, kind: int, handler: Handler) -> None:
        kind = Kind(kind)
        if kind in (Kind.HELLO, Kind.PING, Kind.PONG):
            raise ValueError(f"{kind.name} is handled by the link itself")
        if kind == Kind.PAIR_SPEC:
            self._user_pair_spec = handler
        elif kind == Kind.RESYNC:
            self.on_resync = handler  # type: ignore[assignment]
        else:
            self.handlers[kind] = handler

    def _pair_spec(self, session: LinkProtocol, frame: Any) -> None:
        assert isinstance(session, EdgeSession)
        session._bind_symbol(frame)
        if self._user_pair_spec is not None:
            self._user_pair_spec(session, frame)

    def _resync(self, session: LinkProtocol, frame: Any) -> None:
        if self.on_resync is not None:
            self.on_resync(session, frame)  # type: ignore[arg-type]

    # ---- listening

    def _factory(self) -> EdgeSession:
        self._streams += 1
        return EdgeSession(self, self._streams)

    async def listen_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on host:port (0 = any free port); returns the bound port."""
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(self._factory, host, port, reuse_address=True)
        self._servers.append(srv)
        return int(srv.sockets[0].getsockname()[1])

    async def listen_unix(self, path: str) -> None:
        """Listen on a Unix socket path (a stale socket file from a dead CC is removed)."""
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(os.stat(path).st_mode):
                os.unlink(path)
        loop = asyncio.get_running_loop()
        srv = await loop.create_unix_server(self._factory, path)
        self._servers.append(srv)
        self._unix_paths.append(path)

    async def close(self) -> None:
        for srv in self._servers:
            srv.close()
        for s in list(self.sessions.values()) + list(self._pending):
            s.close("CC shutting down")
        for srv in self._servers:
            await srv.wait_closed()
        self._servers.clear()
        for path in self._unix_paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        if self.capture is not None:
            self.capture.flush()

    # ---- sessions

    def _register(self, session: EdgeSession) -> None:
        self._pending.discard(session)
        assert session.edge_id is not None
        old = self.sessions.get(session.edge_id)
        self.sessions[session.edge_id] = session
        if old is not None and old is not session:
            old.send_error(LinkErrorCode.REPLACED, "a new connection of this edge replaced it")
            old.close("replaced by a new connection of the same edge")
        log.info("CC-LINK edge %s connected (slot %d)", session.edge_id, session.venue_slot)
        if self.on_connect is not None:
            self.on_connect(session)

    def _unregister(self, session: EdgeSession) -> None:
        self._pending.discard(session)
        if session.edge_id is not None and self.sessions.get(session.edge_id) is session:
            del self.sessions[session.edge_id]
            log.info("CC-LINK edge %s gone: %s", session.edge_id, session.closed_reason)
            if self.on_disconnect is not None:
                self.on_disconnect(session, session.closed_reason or "closed")

    def session(self, edge_id: str) -> EdgeSession:
        """The live session of an edge, to send to it; LinkClosed if it is not connected."""
        s = self.sessions.get(edge_id)
        if s is None or not s.connected:
            raise LinkClosed(f"CC-LINK: edge {edge_id!r} is not connected")
        return s

    send_to = session
