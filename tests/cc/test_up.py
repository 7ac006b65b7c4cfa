"""`seqkern up` as a user runs it: a real process tree (CC, simulators, edges) on loopback, an
order through the SDK, and Ctrl-C stopping every process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from seqkern.sdk import SyncClient

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"


def test_up_serves_and_ctrl_c_stops_everything(tmp_path):
    home = str(tmp_path / "home")
    env = dict(os.environ, SEQKERN_HOME=home)
    p = subprocess.Popen([sys.executable, "-m", "seqkern.cli", "up", "--port", "0", "--wait", "60"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    out = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            assert line, f"seqkern up ended early:\n{''.join(out)}"
            out.append(line)
            if "Ctrl-C stops everything" in line:
                break
        text = "".join(out)
        url = re.search(r"CC \(region ap\) on (\S+),", text).group(1)
        key = re.search(r"export SEQ_API_KEY=(\S+)", text).group(1)
        assert key.startswith("seq_live_")
        assert f"curl -s {url}/v1/edges" in text and "from seqkern.sdk import SyncClient" in text
        with open(os.path.join(home, "up", "up.json")) as f:
            state = json.load(f)
        assert state["api_key"] == key and oct(os.stat(os.path.join(home, "up", "up.json")).st_mode & 0o777) == "0o600"
        children = state["children"]
        assert "cc" in children
        with SyncClient(url, key) as c:
            assert c.health()["status"] == "ok"
            edges = c.edges()
            creds = c.credentials()
            if any(name.startswith("edge-") for name in children):
                assert edges and all(e.connected for e in edges)
                assert {x["venue"] for x in creds} >= {"binance"}
                o = c.buy("BTC-USDT", "0.001")
                for _ in range(200):
                    o = c.get_order(o.order_id)
                    if o.terminal:
                        break
                    time.sleep(0.05)
                # a market order takes what the simulated books show; the venues expire the rest
                assert o.status in ("filled", "expired") and o.filled_qty_1e8 > 0, o
                fills = c.fills(o.order_id)
                assert sum(f.qty_1e8 for f in fills) == o.filled_qty_1e8
                assert {f.venue for f in fills} <= set(o.venues)
    finally:
        p.send_signal(signal.SIGINT)
        rest, _ = p.communicate(timeout=60)
    assert p.returncode == 0, rest
    assert "all processes stopped" in rest
    for name, pid in children.items():
        assert not _alive(pid), f"{name} ({pid}) still running"
    assert not os.path.exists(os.path.join(home, "up", "up.json"))
