"""CC-LINK capture files (append-only) and their replay, printed or re-published to a CC."""

from __future__ import annotations

import asyncio
import contextlib
import mmap
import os
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from seqkern import _cclink as _c
from seqkern.cclink.wire import LINK_CONTROL_KINDS, InstrumentType, Kind, Region, Role
from seqkern.errors import CclinkError

CAPTURE_MAGIC = b"SKCCLCAP"
CAPTURE_FORMAT_VERSION = 1
FILE_HEADER = struct.Struct("<8sHBBIq")      # magic, format version, CC-LINK version, 0, 0, created_ns
RECORD_HEADER = struct.Struct("<qII")        # recv_ns, stream_id, frame length
assert FILE_HEADER.size == 24 and RECORD_HEADER.size == _c.CAPTURE_RECORD_SIZE

_MAX_RECORD = _c.HEADER_SIZE + _c.MAX_PAYLOAD_HARD


def _bad(path: str, text: str) -> CclinkError:
    return CclinkError(f"CC-LINK capture {path}: {text}", code="CCLINK_BAD_CAPTURE")


class CaptureWriter:
    """Appends capture records to a file; creates the file header on first use.

    `write(records)` takes the bytes of `Decoder.take_capture()` (the links call it for you when
    given `capture=`); `write_frame` appends one frame. Appending to an existing capture checks
    its header first, so one file can hold several runs.
    """

    def __init__(self, path: str | os.PathLike[str], *, buffer_size: int = 1 << 20) -> None:
        self.path = os.fspath(path)
        self.records = 0
        self._f: BinaryIO = open(self.path, "ab", buffering=buffer_size)  # noqa: SIM115
        if self._f.tell() == 0:
            self._f.write(FILE_HEADER.pack(CAPTURE_MAGIC, CAPTURE_FORMAT_VERSION, _c.VERSION, 0,
                                           0, time.time_ns()))
        else:
            with open(self.path, "rb") as f:
                _check_header(self.path, f.read(FILE_HEADER.size))

    def write(self, records: bytes) -> None:
        if records:
            self._f.write(records)

    def write_frame(self, frame: bytes | memoryview, recv_ns: int, stream_id: int = 0) -> None:
        self._f.write(RECORD_HEADER.pack(recv_ns, stream_id, len(frame)))
        self._f.write(frame)

    def flush(self) -> None:
        if not self._f.closed:
            self._f.flush()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_header(path: str, head: bytes) -> tuple[int, int]:
    if len(head) < FILE_HEADER.size:
        raise _bad(path, "shorter than the 24-byte file header")
    magic, fmt, version, r0, r1, created = FILE_HEADER.unpack_from(head)
    if magic != CAPTURE_MAGIC:
        raise _bad(path, "not a CC-LINK capture (bad magic)")
    if r0 or r1:
        raise _bad(path, "reserved header bytes are not zero")
    if fmt != CAPTURE_FORMAT_VERSION:
        raise _bad(path, f"capture format v{fmt}, this reader knows v{CAPTURE_FORMAT_VERSION}")
    if version != _c.VERSION:
        raise _bad(path, f"holds CC-LINK v{version} frames, this kernel speaks v{_c.VERSION}")
    return version, created


@dataclass
class ReplayStats:
    records: int = 0
    frames: int = 0
    streams: set[int] = field(default_factory=set)
    gaps: int = 0
    truncated: bool = False
    first_recv_ns: int = 0
    last_recv_ns: int = 0


class CaptureReader:
    """Reads a capture file; `frames()` decodes it through the same Decoder the links use."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        with open(self.path, "rb") as f:
            self.version, self.created_ns = _check_header(self.path, f.read(FILE_HEADER.size))
        self.stats = ReplayStats()

    def records(self) -> Iterator[tuple[int, int, bytes]]:
        """(recv_ns, stream_id, frame bytes) per record. A record cut short at the end of the
        file (the writer died mid-write) ends the iteration and sets stats.truncated."""
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size <= FILE_HEADER.size:
                return
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                pos = FILE_HEADER.size
                unpack = RECORD_HEADER.unpack_from
                while pos < size:
                    if size - pos < RECORD_HEADER.size:
                        self.stats.truncated = True
                        return
                    recv_ns, stream_id, n = unpack(mm, pos)
                    if n < _c.HEADER_SIZE or n > _MAX_RECORD:
                        raise _bad(self.path, f"record at byte {pos} claims {n} frame bytes")
                    pos += RECORD_HEADER.size
                    if size - pos < n:
                        self.stats.truncated = True
                        return
                    self.stats.records += 1
                    yield recv_ns, stream_id, mm[pos:pos + n]
                    pos += n

    def frames(self) -> Iterator[tuple[int, int, Any]]:
        """(recv_ns, stream_id, decoded frame) per record, one Decoder per stream (so sequence
        gaps of the captured connection show up as frame.gap, as they did live)."""
        decoders: dict[int, _c.Decoder] = {}
        st = self.stats
        for recv_ns, stream_id, raw in self.records():
            dec = decoders.get(stream_id)
            if dec is None:
                dec = decoders[stream_id] = _c.Decoder(max_payload=_c.MAX_PAYLOAD_HARD)
                st.streams.add(stream_id)
            try:
                frames = dec.feed(raw)
            except CclinkError as exc:
                raise _bad(self.path, f"record {st.records} of stream {stream_id}: {exc}") from exc
            if len(frames) != 1 or dec.pending:
                raise _bad(self.path, f"record {st.records} does not hold exactly one frame")
            f = frames[0]
            if f.gap:
                st.gaps += 1
            if st.frames == 0:
                st.first_recv_ns = recv_ns
            st.last_recv_ns = recv_ns
            st.frames += 1
            yield recv_ns, stream_id, f


def replay(
    path: str | os.PathLike[str],
    on_frame: Callable[[int, int, Any], Any],
    *,
    speed: str = "max",
    sleep: Callable[[float], Any] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ReplayStats:
    """Decode a capture and call on_frame(recv_ns, stream_id, frame) for each frame, either as
    fast as possible (speed="max") or spaced by the recorded receive times ("recorded")."""
    if speed not in ("max", "recorded"):
        raise ValueError("speed must be 'max' or 'recorded'")
    reader = CaptureReader(path)
    t0 = 0.0
    r0 = None
    for recv_ns, stream_id, frame in reader.frames():
        if speed == "recorded":
            if r0 is None:
                r0, t0 = recv_ns, clock()
            wait = t0 + (recv_ns - r0) / 1e9 - clock()
            if wait > 0:
                sleep(wait)
        on_frame(recv_ns, stream_id, frame)
    return reader.stats


async def publish(
    path: str | os.PathLike[str],
    host: str,
    port: int,
    *,
    speed: str = "max",
    unix_path: str | None = None,
    timeout: float = 10.0,
) -> ReplayStats:
    """Re-publish a capture to a CC: one edge connection per captured stream, introduced with
    the stream's own HELLO identity; every frame but link control is re-sent with this link's
    sequence numbers and FLAG_REPLAY set."""
    from seqkern.cclink.client import EdgeLinkClient

    if speed not in ("max", "recorded"):
        raise ValueError("speed must be 'max' or 'recorded'")
    reader = CaptureReader(path)
    clients: dict[int, EdgeLinkClient] = {}
    loop = asyncio.get_running_loop()
    t0 = 0.0
    r0 = None
    sent = 0
    try:
        for recv_ns, stream_id, frame in reader.frames():
            client = clients.get(stream_id)
            if frame.kind == Kind.HELLO and client is None and frame.role == Role.EDGE:
                client = EdgeLinkClient(
                    frame.edge_id, region=Region(frame.region), venue_slot=frame.venue_slot,
                    instrument_type=InstrumentType(frame.instrument_type),
                )
            elif client is None:
                client = EdgeLinkClient(f"replay-{stream_id}", venue_slot=frame.venue_slot)
            if stream_id not in clients:
                clients[stream_id] = client
                if unix_path is not None:
                    await client.connect_unix(unix_path, timeout=timeout)
                else:
                    await client.connect_tcp(host, port, timeout=timeout)
            if frame.kind in LINK_CONTROL_KINDS:
                continue
            if speed == "recorded":
                if r0 is None:
                    r0, t0 = recv_ns, loop.time()
                wait = t0 + (recv_ns - r0) / 1e9 - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            if not client.ready:
                await client.wait_ready(timeout)
            link = client.link
            assert link is not None
            link.send_frame(frame, add_flags=_c.FLAG_REPLAY)
            sent += 1
            if sent % 512 == 0:
                link.flush()
                while link.write_buffer_size > link.config.high_water:
                    await asyncio.sleep(0.001)
                await asyncio.sleep(0)
        for client in clients.values():
            link = client.link
            if link is not None:
                link.flush()
                deadline = loop.time() + timeout
                while link.write_buffer_size and loop.time() < deadline:
                    await asyncio.sleep(0.001)
    finally:
        for client in clients.values():
            with contextlib.suppress(Exception):
                await client.close()
    return reader.stats
