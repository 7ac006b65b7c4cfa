"""CC-LINK framing: documented byte layouts, round trips of every kind, streams, gaps, errors."""

from __future__ import annotations

import itertools
import struct

import numpy as np
import pytest
from cclink_strategies import ALL_KINDS, KIND_ARGS, encode, expected_fields, streams
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqkern import _cclink as C
from seqkern.cclink import wire
from seqkern.errors import CclinkError, SeqkernError

HDR = struct.Struct("<HBBIBBHIQqq")  # docs/cclink.md, "Header"


def header(kind: int, payload: bytes, seq: int, slot: int = 0, flags: int = 0,
           tsv: int = 0, tsl: int = 0, version: int = 1) -> bytes:
    return HDR.pack(0x4B43, version, kind, len(payload), flags, slot, 0, 0, seq, tsv, tsl) + payload


def one(data: bytes) -> C.Frame:
    frames = C.decode_frames(data)
    assert len(frames) == 1
    return frames[0]


# ---- the documented layouts, byte for byte (a second implementation follows the same table)


def test_header_layout_is_the_documented_one() -> None:
    e = C.Encoder(venue_slot=17)
    e.bbo(42, 1, 2, 3, 4, ts_venue_ns=111, ts_local_ns=222, flags=C.FLAG_CONFLATED)
    data = e.take()
    assert HDR.size == C.HEADER_SIZE == 40
    magic, ver, kind, plen, flags, slot, r0, r1, seq, tsv, tsl = HDR.unpack_from(data)
    assert data[:2] == b"CK"
    assert (magic, ver, kind, plen, flags, slot, r0, r1, seq, tsv, tsl) == (
        0x4B43, 1, C.BBO, 40, C.FLAG_CONFLATED, 17, 0, 0, 1, 111, 222)


def test_every_kind_matches_its_struct_layout() -> None:
    e = C.Encoder(venue_slot=3)
    built: list[bytes] = []
    e.hello("edge-1", 2, 1, role=1, heartbeat_ms=250, session_id=9, ts_local_ns=5)
    built.append(header(C.HELLO, struct.pack("<HBBBBHQ", 1, 2, 1, 1, 6, 250, 9) + b"edge-1",
                        1, 3, tsl=5))
    e.pair_spec(7, "BTC-USDT", "BTCUSDT", 3, 2, 100_000_000, 100_000, 100_000, 5 * 10**9,
                -2_500, 75_000, ts_local_ns=5)
    built.append(header(C.PAIR_SPEC, struct.pack("<IBBBBqqqqii", 7, 3, 2, 8, 7, 100_000_000,
                                                 100_000, 100_000, 5 * 10**9, -2_500, 75_000)
                        + b"BTC-USDTBTCUSDT", 2, 3, tsl=5))
    e.bbo(7, 10, -20, 30, 40, ts_venue_ns=6, ts_local_ns=5)
    built.append(header(C.BBO, struct.pack("<IIqqqq", 7, 0, 10, -20, 30, 40), 3, 3, 0, 6, 5))
    bids = np.array([[100, 1], [99, 2]], dtype=np.int64)
    asks = np.array([[101, 3]], dtype=np.int64)
    e.l2_delta(7, 2**40, bids, asks, ts_local_ns=5)
    built.append(header(C.L2_DELTA, struct.pack("<IHHQ", 7, 2, 1, 2**40)
                        + struct.pack("<qqqqqq", 100, 1, 99, 2, 101, 3), 4, 3, tsl=5))
    e.trade(7, 2, 55, 66, 77, ts_local_ns=5)
    built.append(header(C.TRADE, struct.pack("<IB3xqqQ", 7, 2, 55, 66, 77), 5, 3, tsl=5))
    e.fill(7, 1, 55, 66, fee_1e9=-8, fill_id=9, request_id=10, liquidity=1,
           client_order_id="c1", venue_order_id="v22", ts_local_ns=5)
    built.append(header(C.FILL, struct.pack("<IBBBBqqqQQ", 7, 1, 1, 2, 3, 55, 66, -8, 9, 10)
                        + b"c1v22", 6, 3, tsl=5))
    order = struct.pack("<IBBBBqqQqqBBBBHBBBBHI", 7, 1, 1, 2, 3, 500, 600, 11, 12, 13, 4, 1,
                        2, 1, 99, 2, 3, 4, 0, 0, 0) + b"c1v22oops"
    e.order(C.ORDER_UPDATE, 7, 1, 1, 2, 3, 500, 600, 11, client_order_id="c1",
            venue_order_id="v22", filled_qty_1e8=12, avg_px_1e9=13, status=4, amend_mode=1,
            batch_mode=2, redeem_mode=1, reason_code=99, text="oops", ts_local_ns=5)
    built.append(header(C.ORDER_UPDATE, order, 7, 3, tsl=5))
    e.order_batch([{"op": C.ORDER_CANCEL, "symbol_id": 7, "venue_order_id": "v"}],
                  request_id=44, batch_mode=3, ts_local_ns=5)
    item = struct.pack("<IBBBBqqQqqBBBBHBBBBHI", 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                       0, 1, 0, C.ORDER_CANCEL, 0, 0) + b"v"
    built.append(header(C.ORDER_BATCH, struct.pack("<HBBIQ", 1, 3, 0, 0, 44) + item, 8, 3,
                        tsl=5))
    e.balance("USDT", 10, 7, 3, ts_local_ns=5)
    built.append(header(C.BALANCE, struct.pack("<qqqB3xI", 10, 7, 3, 4, 0) + b"USDT", 9, 3,
                        tsl=5))
    e.heartbeat(8, ts_local_ns=5)
    built.append(header(C.HEARTBEAT, struct.pack("<Q", 8), 10, 3, tsl=5))
    e.ping(3, 5)
    built.append(header(C.PING, struct.pack("<Qq", 3, 5), 11, 3, tsl=5))
    e.pong(3, 5, 6)
    built.append(header(C.PONG, struct.pack("<Qqq", 3, 5, 6), 12, 3, tsl=6))
    e.resync(12, 7, ts_local_ns=5)
    built.append(header(C.RESYNC, struct.pack("<QII", 12, 7, 0), 13, 3, tsl=5))
    e.error(2, "no", 1, 4, ts_local_ns=5)
    built.append(header(C.ERROR, struct.pack("<HBBIQ", 2, 1, 2, 0, 4) + b"no", 14, 3, tsl=5))
    assert e.take() == b"".join(built)
    kinds = {f.kind for f in C.decode_frames(b"".join(built), check_seq=True)}
    assert len(kinds) == 14


def test_fixed_sizes_and_enums_match_the_wire_module() -> None:
    assert C.FIXED_SIZES[C.BBO] == 40 and C.FIXED_SIZES[C.ORDER_NEW] == 64
    for kind in wire.Kind:
        assert C.KIND_NAMES[kind] == kind.name
    assert [int(f) for f in wire.Flag] == [C.FLAG_RESYNC, C.FLAG_CONFLATED, C.FLAG_REPLAY]
    assert wire.fee_bps_e4("7.5") == 75_000 and wire.fee_bps_e4("-0.0001") == -1
    assert C.BATCH_DTYPE.itemsize == 72


# ---- round trips, every kind


@pytest.mark.parametrize("kind", ALL_KINDS, ids=[C.KIND_NAMES[k] for k in ALL_KINDS])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip_every_kind(kind: int, data: st.DataObject) -> None:
    args = data.draw(KIND_ARGS[kind][1])
    slot = data.draw(st.integers(0, 255))
    enc = C.Encoder(venue_slot=slot)
    encode(enc, kind, args)
    raw = enc.take()
    f = one(raw)
    assert f.kind == kind and f.version == C.VERSION and f.seq == 1 and f.venue_slot == slot
    assert f.size == len(raw) and bytes(f.raw) == raw
    assert f.flags == args.get("flags", 0)
    if "ts_venue_ns" in args:
        assert f.ts_venue_ns == args["ts_venue_ns"]
    if "ts_local_ns" in args:
        assert f.ts_local_ns == args["ts_local_ns"]
    got = f.fields()
    for name, value in expected_fields(kind, args).items():
        if name in ("orders",):
            assert len(got["orders"]) == len(value)
            for o, want in zip(got["orders"], value, strict=True):
                assert {k: o[k] for k in want} == want
        else:
            assert got[name] == value, name
    # the batch path sees the same header and core fields
    rows, used = C.decode_batch(raw)
    assert used == len(raw) and len(rows) == 1
    assert rows[0]["kind"] == kind and rows[0]["seq"] == 1 and rows[0]["length"] == len(raw)
    # and a decoded frame re-encodes to the same bytes (replay/re-publish path)
    enc2 = C.Encoder()
    enc2.append_frame(f, renumber=False)
    assert enc2.take() == raw


# ---- streams: split and batched


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams(), cuts=st.lists(st.integers(0, 1 << 16), max_size=40))
def test_split_and_batched_streams_decode_identically(stream: tuple, cuts: list[int]) -> None:
    data, specs = stream
    whole = C.decode_frames(data, check_seq=True)
    assert [f.kind for f in whole] == [k for k, _ in specs]
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    dec = C.Decoder()
    got = []
    ends = np.cumsum([f.size for f in whole])
    straddling = 0
    for a, b in itertools.pairwise(points):
        chunk = data[a:b]
        frames = dec.feed(chunk)
        for f in frames:
            if f.raw.obj is chunk:
                pass  # decoded in place: a view of the chunk the transport handed us
            else:
                straddling += 1
        got += frames
    assert dec.pending == 0 and dec.gaps == 0
    assert [f.to_dict() for f in got] == [f.to_dict() for f in whole]
    # exactly the frames that crossed a cut were copied
    starts = np.concatenate([[0], ends[:-1]])
    crossing = sum(any(s < p < e for p in points) for s, e in zip(starts, ends, strict=True))
    assert straddling == crossing == dec.copied


def test_byte_at_a_time_and_many_in_one_read() -> None:
    e = C.Encoder()
    for i in range(500):
        e.bbo(i % 7, i, i + 1, i + 2, i + 3, ts_local_ns=i)
        if i % 50 == 0:
            e.l2_snapshot(1, i, np.arange(40, dtype=np.int64).reshape(20, 2), None)
    data = e.take()
    many = C.Decoder().feed(data)
    assert len(many) == 510 and all(f.raw.obj is data for f in many)
    dec = C.Decoder()
    single = []
    for i in range(len(data)):
        single += dec.feed(data[i:i + 1])
    assert [f.to_dict() for f in single] == [f.to_dict() for f in many]
    assert dec.copied == 510


def test_l2_levels_are_views_of_the_received_bytes() -> None:
    e = C.Encoder()
    bids = np.array([[5, 1], [4, 2], [3, 3]], dtype=np.int64)
    e.l2_snapshot(9, 77, bids, np.empty((0, 2), dtype=np.int64))
    data = e.take()
    (f,) = C.Decoder().feed(data)
    assert f.is_snapshot and f.update_id == 77 and f.n_bids == 3 and f.n_asks == 0
    assert np.array_equal(f.bids, bids) and f.asks.shape == (0, 2)
    assert f.bids.base is not None and not f.bids.flags.writeable


# ---- sequence numbers


def test_sequence_gaps_are_detected_and_reported() -> None:
    e = C.Encoder()
    for _ in range(3):
        e.heartbeat()
    e.seq += 4                      # frames 4..7 never sent
    e.heartbeat()                   # seq 8
    e.seq = 5                       # a replayed/duplicated older frame
    e.heartbeat()                   # seq 6
    e.heartbeat()                   # seq 7 (in sequence after 6)
    dec = C.Decoder()
    frames = dec.feed(e.take())
    assert [f.seq for f in frames] == [1, 2, 3, 8, 6, 7]
    assert [f.gap for f in frames] == [0, 0, 0, 4, -3, 0]
    assert dec.gaps == 2 and dec.missing == 4 and dec.last_gap == (9, 6)
    assert dec.expected_seq == 8


def test_first_frame_must_be_seq_one_per_connection() -> None:
    e = C.Encoder()
    e.seq = 10
    e.heartbeat()
    dec = C.Decoder()
    (f,) = dec.feed(e.take())
    assert f.gap == 10 and dec.missing == 10
    dec.reset()
    assert dec.expected_seq == 1


# ---- bad frames: typed errors, no crash, stream marked failed


def _good() -> bytes:
    e = C.Encoder()
    e.bbo(1, 2, 3, 4, 5)
    e.trade(1, 1, 2, 3)
    return e.take()


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda b: b"XX" + b[2:], "CCLINK_BAD_MAGIC"),
        (lambda b: b[:2] + b"\x02" + b[3:], "CCLINK_BAD_VERSION"),
        (lambda b: b[:2] + b"\x00" + b[3:], "CCLINK_BAD_VERSION"),
        (lambda b: b[:3] + b"\x63" + b[4:], "CCLINK_BAD_KIND"),
        (lambda b: b[:3] + b"\x00" + b[4:], "CCLINK_BAD_KIND"),
        (lambda b: b[:4] + struct.pack("<I", 0xFFFFFFFF) + b[8:], "CCLINK_TOO_LARGE"),
        (lambda b: b[:4] + struct.pack("<I", 39) + b[8:], "CCLINK_BAD_LENGTH"),
        (lambda b: b[:8] + b"\x80" + b[9:], "CCLINK_BAD_FLAGS"),
        (lambda b: b[:10] + b"\x01" + b[11:], "CCLINK_BAD_RESERVED"),
        (lambda b: b[:44] + b"\x01" + b[45:], "CCLINK_BAD_RESERVED"),
    ],
)
def test_bad_frames_raise_typed_errors(mutate: object, code: str) -> None:
    data = mutate(_good())  # type: ignore[operator]
    dec = C.Decoder()
    with pytest.raises(CclinkError) as ei:
        dec.feed(data)
    assert ei.value.code == code and isinstance(ei.value, SeqkernError)
    assert ei.value.offset == 0 and ei.value.frames == []
    with pytest.raises(CclinkError):  # the stream lost framing: the decoder stays failed
        dec.feed(_good())
    dec.reset()
    assert len(dec.feed(_good())) == 2
    with pytest.raises(CclinkError) as eb:
        C.decode_batch(data)
    assert eb.value.code == code


def test_error_keeps_the_good_frames_before_it() -> None:
    good = _good()                      # BBO (80 bytes) + TRADE (72 bytes)
    tail = bytearray(good[80:])         # another TRADE ...
    tail[44] = 9                        # ... whose side 9 is out of range
    with pytest.raises(CclinkError) as ei:
        C.Decoder(check_seq=False).feed(good + bytes(tail))
    assert ei.value.code == "CCLINK_BAD_ENUM"
    assert [f.kind for f in ei.value.frames] == [C.BBO, C.TRADE]
    assert ei.value.offset == len(good)


def test_hostile_length_is_refused_before_any_allocation() -> None:
    dec = C.Decoder(max_payload=1 << 16)
    prefix = struct.pack("<HBBI", 0x4B43, 1, C.L2_SNAPSHOT, (1 << 16) + 1)
    assert dec.feed(prefix[:7]) == [] and dec.pending == 7
    with pytest.raises(CclinkError) as ei:
        dec.feed(prefix[7:])
    assert ei.value.code == "CCLINK_TOO_LARGE"
    # at the cap it is accepted and buffered, never more than header + cap
    dec = C.Decoder(max_payload=1 << 16)
    hdr = HDR.pack(0x4B43, 1, C.L2_SNAPSHOT, 1 << 16, 0, 0, 0, 0, 1, 0, 0)
    assert dec.feed(hdr + b"\x00" * 100) == [] and dec.pending == 140


def test_other_versions_may_only_say_hello_or_error() -> None:
    e = C.Encoder(version=2)
    e.hello("edge", 1, 1)
    e.error(1, "old")
    frames = C.Decoder().feed(e.take())
    assert [(f.kind, f.version, f.protocol_version if f.kind == C.HELLO else None)
            for f in frames] == [(C.HELLO, 2, 2), (C.ERROR, 2, None)]
    e.bbo(1, 1, 1, 1, 1)
    with pytest.raises(CclinkError) as ei:
        C.Decoder(check_seq=False).feed(e.take())
    assert ei.value.code == "CCLINK_BAD_VERSION"


def test_bad_utf8_and_count_mismatch() -> None:
    e = C.Encoder()
    e.balance("USDT", 1, 1, 1)
    raw = bytearray(e.take())
    raw[-2:] = b"\xff\xfe"
    with pytest.raises(CclinkError) as ei:
        C.Decoder().feed(bytes(raw))
    assert ei.value.code == "CCLINK_BAD_STRING"
    e.l2_delta(1, 1, np.ones((2, 2), dtype=np.int64), None)
    raw = bytearray(e.take())
    raw[44] = 3                              # n_bids says 3, payload holds 2
    with pytest.raises(CclinkError) as ei:
        C.Decoder(check_seq=False).feed(bytes(raw))
    assert ei.value.code == "CCLINK_BAD_COUNT"


def test_encoder_validates_at_the_boundary() -> None:
    e = C.Encoder()
    cases = [
        (lambda: e.order(C.ORDER_NEW, client_order_id="x" * 65), "CCLINK_BAD_STRING"),
        (lambda: e.order(C.ORDER_NEW, side=3), "CCLINK_BAD_ENUM"),
        (lambda: e.order(C.ORDER_BATCH), "CCLINK_BAD_KIND"),
        (lambda: e.order_batch([{"op": C.ORDER_ACK}]), "CCLINK_BAD_ENUM"),
        (lambda: e.order_batch([{"op": C.ORDER_NEW, "prize": 1}]), "CCLINK_BAD_VALUE"),
        (lambda: e.order_batch([{"op": C.ORDER_NEW}] * 257), "CCLINK_BAD_COUNT"),
        (lambda: e.hello("", 1, 1), "CCLINK_BAD_STRING"),
        (lambda: e.hello("e", 4, 1), "CCLINK_BAD_ENUM"),
        (lambda: e.pair_spec(1, "A-B", "AB", 3, 1, 0, 1), "CCLINK_BAD_VALUE"),
        (lambda: e.pair_spec(1, "A-B", "AB", 3, 0, 1, 1), "CCLINK_BAD_ENUM"),
        (lambda: e.balance("X" * 33, 1, 1), "CCLINK_BAD_STRING"),
        (lambda: e.bbo(1, 1, 1, 1, 1, flags=0x10), "CCLINK_BAD_FLAGS"),
        (lambda: e.l2_delta(1, 1, np.ones((2, 3), dtype=np.int64), None), "CCLINK_BAD_VALUE"),
        (lambda: e.append_frame(b"CK\x01"), "CCLINK_BAD_LENGTH"),
        (lambda: e.append_frame(_good()), "CCLINK_BAD_LENGTH"),
    ]
    for call, code in cases:
        with pytest.raises(CclinkError) as ei:
            call()
        assert ei.value.code == code
    assert len(e) == 0 and e.seq == 0  # nothing half-written


def test_encoder_buffer_grows_then_caps() -> None:
    e = C.Encoder(capacity=256, max_buffer=4096)
    for _ in range(51):
        e.bbo(1, 1, 1, 1, 1)
    assert len(e) == 4080 and e.capacity == 4096
    with pytest.raises(CclinkError) as ei:
        e.bbo(1, 1, 1, 1, 1)
    assert ei.value.code == "CCLINK_BUFFER_FULL"
    assert len(C.decode_frames(e.take())) == 51


def test_batch_decode_rows_and_partial_tail() -> None:
    e = C.Encoder(venue_slot=4)
    bids = np.array([[10, 1]], dtype=np.int64)
    e.bbo(1, 10, 11, 12, 13, ts_venue_ns=1, ts_local_ns=2)
    e.l2_delta(2, 99, bids, bids, ts_local_ns=2)
    e.trade(3, 2, 50, 60, 70, ts_local_ns=2)
    e.order(C.ORDER_ACK, 4, px_1e9=5, qty_1e8=6, status=2, request_id=8, ts_local_ns=2)
    data = e.take()
    rows, used = C.decode_batch(data + data[:30])
    assert used == len(data) and len(rows) == 4
    assert rows["kind"].tolist() == [C.BBO, C.L2_DELTA, C.TRADE, C.ORDER_ACK]
    assert rows["symbol_id"].tolist() == [1, 2, 3, 4]
    assert rows["venue_slot"].tolist() == [4] * 4 and rows["seq"].tolist() == [1, 2, 3, 4]
    assert rows[0][["a0", "a1", "a2", "a3"]].tolist() == (10, 11, 12, 13)
    lv = rows[1]
    assert (lv["a0"], lv["a1"], lv["a2"]) == (1, 1, 99)
    levels = np.frombuffer(data, dtype=np.int64, count=4, offset=int(lv["a3"]))
    assert levels.tolist() == [10, 1, 10, 1]
    assert rows[2][["a0", "a1", "a2", "a3"]].tolist() == (50, 60, 2, 70)
    assert rows[3][["a0", "a1", "a2", "a3"]].tolist() == (5, 6, 2, 8)
    out = np.empty(2, dtype=C.BATCH_DTYPE)
    rows, used = C.decode_batch(data, out=out)
    assert len(rows) == 2 and used == rows["length"].sum()
    with pytest.raises(ValueError):
        C.decode_batch(data, out=np.empty(2, dtype=np.int64))
