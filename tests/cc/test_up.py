"""`seqkern up` as a user runs it: a real process tree (three regional CCs in a peer-link mesh,
every simulator of this build, their edges) on loopback, orders through the SDK (one placed in
another region through the mesh), and Ctrl-C stopping every process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from seqkern.cc.up import up_units
from seqkern.sdk import SyncClient
from seqkern.venues.catalog import venue_by_name

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    """One `seqkern up` for the module; the last test stops it with Ctrl-C."""
    home = str(tmp_path_factory.mktemp("up") / "home")
    env = dict(os.environ, SEQKERN_HOME=home)
    p = subprocess.Popen([sys.executable, "-m", "seqkern.cli", "up", "--port", "0", "--wait", "90"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    out: list[str] = []
    deadline = time.monotonic() + 150
    try:
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            assert line, f"seqkern up ended early:\n{''.join(out)}"
            out.append(line)
            if "Ctrl-C stops everything" in line:
                break
        with open(os.path.join(home, "up", "up.json")) as f:
            state = json.load(f)
    except BaseException:
        p.kill()
        p.communicate(timeout=30)
        raise
    info = {"proc": p, "home": home, "text": "".join(out), "state": state}
    yield info
    if p.poll() is None:   # the Ctrl-C test did not run (selection, failure): stop it anyway
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=60)


def _wait_terminal(c: SyncClient, order_id: str):
    o = c.get_order(order_id)
    for _ in range(300):
        if o.terminal:
            break
        time.sleep(0.05)
        o = c.get_order(order_id)
    return o


def test_up_serves_an_order(up):
    text, state, home = up["text"], up["state"], up["home"]
    url = re.search(r"CC \(region ap\) on (\S+),", text).group(1)
    key = re.search(r"export SEQ_API_KEY=(\S+)", text).group(1)
    assert key.startswith("seq_live_")
    assert f"curl -s {url}/v1/edges" in text and "from seqkern.sdk import SyncClient" in text
    assert state["api_key"] == key and oct(os.stat(os.path.join(home, "up", "up.json")).st_mode & 0o777) == "0o600"
    assert "cc" in state["children"]
    with SyncClient(url, key) as c:
        assert c.health()["status"] == "ok"
        edges = c.edges()
        creds = c.credentials()
        if any(name.startswith("edge-") for name in state["children"]):
            assert edges and all(e.connected for e in edges)
            assert {x["venue"] for x in creds} >= {"binance"}
            o = _wait_terminal(c, c.buy("BTC-USDT", "0.001").order_id)
            # a market order takes what the simulated books show; the venues expire the rest
            assert o.status in ("filled", "expired") and o.filled_qty_1e8 > 0, o
            fills = c.fills(o.order_id)
            assert sum(f.qty_1e8 for f in fills) == o.filled_qty_1e8
            assert {f.venue for f in fills} <= set(o.venues)


def test_edges_live_under_their_spec_regions(up):
    """Every unit's edge is connected to the CC of its venue's spec region (the catalog), holds its
    credentials there, and the ap CC sees the other regions' edges through the peer links."""
    state, children = up["state"], up["state"]["children"]
    units = {n[5:] for n in children if n.startswith("edge-")}
    if not units:
        pytest.skip("no venue simulator in this build")
    regions = state["regions"]
    assert set(regions) == {"ap", "na", "eu"}
    seen_at_ap = set()
    for region, r in regions.items():
        with SyncClient(r["url"], r["api_key"]) as c:
            local = {e.edge_id[len("venue-edge-"):]: e for e in c.edges() if not e.remote}
            want = {u for u in units if venue_by_name(u).region == region}
            assert set(local) == want, (region, sorted(local))
            assert all(e.connected for e in local.values())
            if region == "ap":
                seen_at_ap = {e.edge_id[len("venue-edge-"):]: e.region for e in c.edges()}
    assert {u: venue_by_name(u).region for u in units} == seen_at_ap
    # the default starts every unit that has an edge adapter and a simulator in this build
    assert units == {u.launcher for u in up_units()}


def test_cross_region_order_fills(up):
    """BTC-USD is listed only on Coinbase (na) and Kraken (eu): entered at ap, it is forwarded
    over the peer link, placed by the owning CC's edge on its simulator, and filled back at ap."""
    children = up["state"]["children"]
    if not {"edge-coinbase", "edge-kraken"} & set(children):
        pytest.skip("no Coinbase or Kraken simulator in this build")
    ap = up["state"]["regions"]["ap"]
    with SyncClient(ap["url"], ap["api_key"]) as c:
        o = _wait_terminal(c, c.buy("BTC-USD", "0.001").order_id)
        assert o.status in ("filled", "expired") and o.filled_qty_1e8 > 0, o
        assert set(o.venues) <= {"coinbase", "kraken"}
        fills = c.fills(o.order_id)
        assert sum(f.qty_1e8 for f in fills) == o.filled_qty_1e8
        assert {f.venue for f in fills} <= {"coinbase", "kraken"}


@pytest.mark.parametrize(("edge", "symbol", "qty"), [
    ("hyperliquid", "BTC-USDC-PERP", "0.001"),
    ("polymarket", "btc-above-99000-on-december-31-2026", "5"),
    ("kalshi", "KXBTCZ-26DEC31-T99000", "1"),
])
def test_book_feed_venues_trade_from_ap(up, edge, symbol, qty):
    """The book-feed venues trade with the simulator credentials loaded at their region's CC: a
    limit IOC at the touch entered at ap is placed by the na / eu edge and its fills come back
    (Hyperliquid and Polymarket name fills by the venue's order id, not the client id)."""
    if f"edge-{edge}" not in up["state"]["children"]:
        pytest.skip(f"no {edge} simulator in this build")
    ap = up["state"]["regions"]["ap"]
    with SyncClient(ap["url"], ap["api_key"]) as c:
        o = None
        for _ in range(5):   # the simulated book moves: a touch that left before the order expires it
            ask = c.nbbo(symbol).raw["nbbo"]["ask"]
            o = _wait_terminal(c, c.buy(symbol, qty, price=str(ask), time_in_force="ioc").order_id)
            if o.filled_qty_1e8 > 0:
                break
        assert o is not None and o.filled_qty_1e8 > 0 and o.terminal, o
        assert set(o.venues) == {edge}
        fills = c.fills(o.order_id)
        assert sum(f.qty_1e8 for f in fills) == o.filled_qty_1e8


def test_ctrl_c_stops_everything(up):
    p, home, children = up["proc"], up["home"], up["state"]["children"]
    p.send_signal(signal.SIGINT)
    rest, _ = p.communicate(timeout=60)
    assert p.returncode == 0, rest
    assert "all processes stopped" in rest
    for name, pid in children.items():
        assert not _alive(pid), f"{name} ({pid}) still running"
    assert not os.path.exists(os.path.join(home, "up", "up.json"))
