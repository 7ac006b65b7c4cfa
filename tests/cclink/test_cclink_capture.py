"""CC-LINK capture files and replay: capture a live session, replay it at max and recorded
speed through the same decoder, print it and re-publish it with `seqkern replay`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvloop

from seqkern import _cclink as C
from seqkern.cclink import (
    CaptureReader,
    CaptureWriter,
    CcLinkServer,
    EdgeLinkClient,
    InstrumentType,
    Kind,
    LinkConfig,
    Region,
    replay,
)
from seqkern.cclink.wire import LINK_CONTROL_KINDS
from seqkern.errors import CclinkError

CFG = LinkConfig(heartbeat_s=0.5, dead_after_s=30.0, ping_s=10.0)
SESSION = [Kind.PAIR_SPEC, Kind.BBO, Kind.L2_SNAPSHOT, Kind.TRADE, Kind.FILL, Kind.ORDER_ACK,
           Kind.BALANCE, Kind.BBO]


async def until(cond: Any, timeout: float = 10.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < end, "timed out"
        await asyncio.sleep(0.005)


async def record_session(path: Path) -> None:
    """A short edge session into a CC that captures everything it receives."""
    cap = CaptureWriter(path)
    got: list[Any] = []
    srv = CcLinkServer("cc-eu", region=Region.EU, config=CFG, capture=cap)
    srv.on(Kind.BALANCE, lambda s, f: got.append(f))
    port = await srv.listen_tcp()
    edge = EdgeLinkClient("venue-edge-kalshi", region=Region.EU, venue_slot=19,
                          instrument_type=InstrumentType.BINARY, config=CFG)
    edge.bind_symbol(1, "KXBTCZ-26DEC31-T99000", "KXBTCZ-26DEC31-T99000", 19,
                     InstrumentType.BINARY, tick_1e9=10**7, lot_1e8=10**8)
    await edge.connect_tcp("127.0.0.1", port)
    edge.send_bbo(1, 41 * 10**7, 500 * 10**8, 43 * 10**7, 200 * 10**8, ts_venue_ns=1)
    await asyncio.sleep(0.05)
    edge.send_l2(Kind.L2_SNAPSHOT, 1, 5, np.array([[41 * 10**7, 500 * 10**8]], np.int64),
                 np.array([[43 * 10**7, 200 * 10**8]], np.int64))
    edge.send_trade(1, 2, 42 * 10**7, 10**8, trade_id=9)
    await asyncio.sleep(0.1)
    edge.send_fill(symbol_id=1, side=1, px_1e9=42 * 10**7, qty_1e8=10**8, fee_1e9=7 * 10**6,
                   client_order_id="c-1", venue_order_id="7b2e0f3a-kalshi")
    edge.send_order(Kind.ORDER_ACK, symbol_id=1, side=1, client_order_id="c-2", status=2)
    edge.send_balance(asset="USD", total_1e8=10**10, available_1e8=9 * 10**9)
    edge.send_bbo(1, 42 * 10**7, 1, 44 * 10**7, 1)
    await until(lambda: got)
    await asyncio.sleep(0.05)
    await edge.close()
    await srv.close()
    cap.close()


@pytest.fixture(scope="module")
def capture_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cap") / "session.skcap"
    uvloop.run(asyncio.wait_for(record_session(path), 30))
    return path


def data_frames(path: Path) -> list[tuple[int, int, Any]]:
    return [(r, s, f) for r, s, f in CaptureReader(path).frames()
            if f.kind not in LINK_CONTROL_KINDS]


def test_capture_holds_the_session_in_order(capture_file: Path) -> None:
    reader = CaptureReader(capture_file)
    frames = list(reader.frames())
    assert frames[0][2].kind == Kind.HELLO and frames[0][2].edge_id == "venue-edge-kalshi"
    assert reader.stats.gaps == 0 and not reader.stats.truncated
    recv = [r for r, _, _ in frames]
    assert recv == sorted(recv) and recv[0] > 0
    data = [f for _, _, f in frames if f.kind not in LINK_CONTROL_KINDS]
    assert [f.kind for f in data] == SESSION
    assert data[0].symbol == "KXBTCZ-26DEC31-T99000" and data[0].instrument_type == 3
    assert data[2].bids.tolist() == [[41 * 10**7, 500 * 10**8]]
    assert data[4].venue_order_id == "7b2e0f3a-kalshi" and data[4].fee_1e9 == 7 * 10**6
    assert all(f.venue_slot == 19 for f in data)
    with open(capture_file, "rb") as f:
        assert f.read(8) == b"SKCCLCAP"


def test_replay_max_and_recorded_speed_use_the_same_decoder(capture_file: Path) -> None:
    seen: list[tuple[int, int, dict]] = []
    stats = replay(capture_file, lambda r, s, f: seen.append((r, s, f.to_dict())))
    direct = [(r, s, f.to_dict()) for r, s, f in CaptureReader(capture_file).frames()]
    assert seen == direct and stats.frames == len(direct)

    now = [100.0]
    sleeps: list[float] = []

    def fake_sleep(dt: float) -> None:
        sleeps.append(dt)
        now[0] += dt

    paced: list[int] = []
    stats = replay(capture_file, lambda r, s, f: paced.append(r), speed="recorded",
                   sleep=fake_sleep, clock=lambda: now[0])
    span = (stats.last_recv_ns - stats.first_recv_ns) / 1e9
    assert span > 0.14                        # the session slept 0.05 s and 0.1 s
    assert sum(sleeps) == pytest.approx(span, abs=1e-6)
    assert paced == [r for r, _, _ in direct]
    with pytest.raises(ValueError):
        replay(capture_file, print, speed="fast")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqkern.cli", "replay", *args],
                          capture_output=True, text=True, timeout=60)


def test_cli_prints_every_frame_as_json(capture_file: Path) -> None:
    res = cli(str(capture_file))
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    direct = list(CaptureReader(capture_file).frames())
    assert len(lines) == len(direct)
    assert lines[0]["kind_name"] == "HELLO" and lines[0]["edge_id"] == "venue-edge-kalshi"
    bbo = next(x for x in lines if x["kind_name"] == "BBO")
    assert (bbo["bid_px_1e9"], bbo["ask_qty_1e8"], bbo["venue_slot"]) == (41 * 10**7,
                                                                         200 * 10**8, 19)
    assert f"replayed {len(direct)} frames" in res.stderr
    res = cli(str(capture_file), "--speed", "recorded")
    assert res.returncode == 0 and len(res.stdout.splitlines()) == len(direct)


def test_cli_republishes_to_a_cc(capture_file: Path) -> None:
    async def main() -> None:
        got: list[Any] = []
        srv = CcLinkServer("cc-eu-2", region=Region.EU, config=CFG)
        for kind in SESSION:
            srv.on(kind, lambda s, f: got.append((s.edge_id, f)))
        port = await srv.listen_tcp()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "seqkern.cli", "replay", str(capture_file),
            "--publish", f"127.0.0.1:{port}", stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        await until(lambda: len(got) == len(SESSION))
        original = [f for _, _, f in data_frames(capture_file)]
        assert [f.kind for _, f in got] == [f.kind for f in original]
        assert {e for e, _ in got} == {"venue-edge-kalshi"}       # the captured identity
        assert all(f.flags & C.FLAG_REPLAY for _, f in got)
        assert [f.fields() for _, f in got] == [f.fields() for f in original]
        seqs = [f.seq for _, f in got]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        await srv.close()

    uvloop.run(asyncio.wait_for(main(), 90))


def test_edge_side_capture_and_a_cc_asking_one_symbol_to_resync(tmp_path: Path) -> None:
    async def main() -> None:
        path = tmp_path / "edge.skcap"
        cap = CaptureWriter(path)
        srv = CcLinkServer("cc-na", region=Region.NA, config=CFG)
        port = await srv.listen_tcp()
        asked: list[int] = []

        def on_resync(link: Any, f: Any) -> None:     # the edge answers with a fresh snapshot
            asked.append(f.symbol_id)
            link.send_l2(Kind.L2_SNAPSHOT, f.symbol_id, 77,
                         np.array([[10**9, 10**8]], np.int64), None, flags=C.FLAG_RESYNC)

        snaps: list[Any] = []
        srv.on(Kind.L2_SNAPSHOT, lambda s, f: snaps.append(f))
        edge = EdgeLinkClient("venue-edge-coinbase", region=Region.NA, venue_slot=2,
                              instrument_type=InstrumentType.SPOT, config=CFG, capture=cap,
                              on_resync=on_resync)
        edge.bind_symbol(5, "ETH-USD", "ETH-USD", 2, InstrumentType.SPOT, tick_1e9=10**7,
                         lot_1e8=10**3)
        await edge.connect_tcp("127.0.0.1", port)
        await until(lambda: "venue-edge-coinbase" in srv.sessions)
        srv.session("venue-edge-coinbase").send_resync(symbol_id=5)
        await until(lambda: bool(snaps))
        assert asked == [5] and snaps[0].flags & C.FLAG_RESYNC and snaps[0].update_id == 77
        await edge.close()
        await srv.close()
        cap.close()
        kinds = [f.kind for _, _, f in CaptureReader(path).frames()]
        assert Kind.RESYNC in kinds and kinds[0] == Kind.HELLO  # what the edge got from its CC
        hello = next(f for _, _, f in CaptureReader(path).frames())
        assert hello.edge_id == "cc-na" and hello.role == 2

    uvloop.run(asyncio.wait_for(main(), 30))


def test_truncated_appended_and_bad_captures(capture_file: Path, tmp_path: Path) -> None:
    whole = capture_file.read_bytes()
    cut = tmp_path / "cut.skcap"
    cut.write_bytes(whole[:-5])                        # the writer died mid-record
    r = CaptureReader(cut)
    n = len(list(r.frames()))
    assert r.stats.truncated and n == len(list(CaptureReader(capture_file).frames())) - 1
    res = cli(str(cut))
    assert res.returncode == 0 and "truncated" in res.stderr

    both = tmp_path / "both.skcap"
    both.write_bytes(whole)
    with CaptureWriter(both) as w:                     # append-only: a second run adds records
        e = C.Encoder()
        e.heartbeat(1)
        w.write_frame(e.take(), recv_ns=C.now_ns(), stream_id=99)
    streams = {s for _, s, _ in CaptureReader(both).frames()}
    assert 99 in streams and len(streams) == 2

    bad = tmp_path / "bad.skcap"
    bad.write_bytes(b"NOTACAPT" + whole[8:])
    with pytest.raises(CclinkError) as ei:
        CaptureReader(bad)
    assert ei.value.code == "CCLINK_BAD_CAPTURE"
    with pytest.raises(CclinkError):
        CaptureWriter(bad)
    res = cli(str(bad))
    assert res.returncode == 1 and "not a CC-LINK capture" in res.stderr

    mangled = bytearray(whole)
    mangled[24 + 16] = 0                               # first frame's magic
    (tmp_path / "m.skcap").write_bytes(bytes(mangled))
    with pytest.raises(CclinkError) as ei:
        list(CaptureReader(tmp_path / "m.skcap").frames())
    assert ei.value.code == "CCLINK_BAD_CAPTURE" and "BAD_MAGIC" in str(ei.value.__cause__.code)
    huge = bytearray(whole)
    huge[24 + 12:24 + 16] = (0x7FFFFFFF).to_bytes(4, "little")
    (tmp_path / "h.skcap").write_bytes(bytes(huge))
    with pytest.raises(CclinkError):
        list(CaptureReader(tmp_path / "h.skcap").frames())
    assert not os.path.exists(tmp_path / "nothing.skcap")
