"""CC-LINK decoder fuzzing: random and mutated bytes give frames or typed errors, never a crash."""

from __future__ import annotations

import ctypes
import mmap

import numpy as np
import pytest
from cclink_strategies import streams
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqkern import _cclink as C
from seqkern.errors import CclinkError

PAGE = mmap.PAGESIZE


class GuardedBuffer:
    """Bytes placed flush against an unreadable page: one byte of over-read is a SIGSEGV."""

    def __init__(self, size: int) -> None:
        self.pages = (size + PAGE - 1) // PAGE + 1
        self.mm = mmap.mmap(-1, self.pages * PAGE)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(self.mm))
        self._addr = addr
        libc = ctypes.CDLL(None, use_errno=True)
        guard = addr + (self.pages - 1) * PAGE
        if libc.mprotect(ctypes.c_void_p(guard), ctypes.c_size_t(PAGE), 0) != 0:
            pytest.skip("mprotect is not available")
        self.end = (self.pages - 1) * PAGE

    def view(self, data: bytes) -> memoryview:
        start = self.end - len(data)
        self.mm[start:self.end] = data
        return memoryview(self.mm)[start:self.end]


_GUARD: GuardedBuffer | None = None


def guarded(data: bytes) -> memoryview:
    global _GUARD
    if _GUARD is None or len(data) > _GUARD.end:
        _GUARD = GuardedBuffer(max(len(data), 1 << 20))
    return _GUARD.view(data)


def check_everything(data: bytes) -> None:
    """Every decoder entry point on `data`: frames or CclinkError, nothing else."""
    try:
        C.Decoder(check_seq=False).feed(data)
    except CclinkError as exc:
        assert exc.code.startswith("CCLINK_") and exc.offset >= 0
    dec = C.Decoder(max_payload=4096)
    try:
        for i in range(0, len(data), 7):
            dec.feed(data[i:i + 7])
        assert dec.pending <= C.HEADER_SIZE + 4096
    except CclinkError as exc:
        assert exc.code.startswith("CCLINK_")
    v = guarded(data)
    try:
        rows, used = C.decode_batch(v)
        assert 0 <= used <= len(data)
        assert int(rows["length"].sum()) == used
    except CclinkError as exc:
        assert exc.code.startswith("CCLINK_") and 0 <= exc.offset < len(data)
    try:
        C.frame_length(v)
    except CclinkError as exc:
        assert exc.code.startswith("CCLINK_")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data, _ = draw(streams(max_frames=8))
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "dup", "len"]))
        if not b:
            break
        i = draw(st.integers(0, len(b) - 1))
        if op == "flip":
            b[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            b[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del b[i:i + draw(st.integers(1, 64))]
        elif op == "insert":
            b[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "dup":
            b[i:i] = b[i:i + draw(st.integers(1, 80))]
        else:  # rewrite a length field with something hostile
            j = (i // 4) * 4
            b[j:j + 4] = draw(st.sampled_from(
                [b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x28\x00\x00\x00", b"\xff\xff\x00\x00"]))
    return bytes(b)


def test_guard_page_catches_an_over_read() -> None:
    v = guarded(b"abc")
    assert bytes(v) == b"abc"  # reading up to the end is fine; the next byte is protected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    check_everything(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_streams(data: bytes) -> None:
    check_everything(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=120), st.integers(1, 21), st.integers(0, 1 << 20))
def test_valid_header_random_payload(payload: bytes, kind: int, plen_noise: int) -> None:
    """A well-formed header in front of random payload bytes: the payload checks decide."""
    hdr = bytearray(40)
    hdr[0:2] = b"CK"
    hdr[2] = 1
    hdr[3] = kind
    plen = len(payload) if plen_noise % 3 else plen_noise
    hdr[4:8] = plen.to_bytes(4, "little")
    check_everything(bytes(hdr) + payload)


def test_truncations_of_a_valid_stream_are_never_frames_too_many() -> None:
    e = C.Encoder()
    rng = np.random.default_rng(7)
    for i in range(40):
        if i % 3 == 0:
            e.l2_delta(i, i, rng.integers(0, 100, (5, 2)).astype(np.int64), None)
        else:
            e.fill(i, 1, i, i, client_order_id="c" * (i % 60), venue_order_id="v")
    data = e.take()
    whole = C.decode_frames(data)
    for cut in range(len(data) + 1):
        v = guarded(data[:cut])
        rows, used = C.decode_batch(v)
        assert used <= cut and len(rows) <= len(whole)
        assert rows["seq"].tolist() == list(range(1, len(rows) + 1))


@pytest.mark.slow
@settings(max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2000), mutated()))
def test_long_fuzz(data: bytes) -> None:
    check_everything(data)
