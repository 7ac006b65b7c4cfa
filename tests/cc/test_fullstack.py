"""Full stack with real processes (`seqkern up --venues binance`: CC, Binance simulator, Binance
edge): an SDK order routed and filled on the simulator with its fill streamed; a resting order
amended, decreased and cancelled on the venue; credentials and auth errors."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from seqkern.sdk import ApiError, Client, SyncClient

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = str(tmp_path_factory.mktemp("home"))
    p = subprocess.Popen([sys.executable, "-m", "seqkern.cli", "up", "--port", "0", "--venues", "binance",
                          "--wait", "60"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=dict(os.environ, SEQKERN_HOME=home), text=True)
    out = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        assert line, "".join(out)
        out.append(line)
        if "Ctrl-C stops everything" in line:
            break
    text = "".join(out)
    url = re.search(r"on (http://\S+),", text).group(1)
    key = re.search(r"export SEQ_API_KEY=(\S+)", text).group(1)
    yield url, key
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    assert p.returncode == 0


def _wait(c: SyncClient, oid: str, pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        o = c.get_order(oid)
        if pred(o) or time.monotonic() > deadline:
            return o
        time.sleep(0.05)


def test_sdk_order_filled_on_the_simulator_and_streamed(stack):
    url, key = stack

    async def run():
        async with Client(url, key) as c:
            got = {}

            async def consume():
                async for ev in c.stream("fills", "orders", "prices:BTC-USDT"):
                    if not ev.snapshot:
                        got.setdefault(ev.channel, []).append(ev.data)
                    if got.get("fills") and any(o.get("terminal") and o.get("parent_id") is None
                                                for o in got.get("orders", [])):
                        return

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.3)
            q = await c.nbbo("BTC-USDT")
            assert q.bid and q.ask and "binance" in q.venues
            # a limit through the touch: marketable, fills on the simulator's book
            o = await c.buy("BTC-USDT", "0.0001", price=round(q.ask * 1.01, 2), venue="binance",
                            time_in_force="ioc")
            assert o.children[0].venue == "binance" and not o.sandbox
            await asyncio.wait_for(task, 15)
            fill = got["fills"][0]
            assert fill["venue"] == "binance" and fill["parent_id"] == o.order_id
            assert fill["price"] <= round(q.ask * 1.01, 2)
            final = await c.get_order(o.order_id)
            assert final.status == "filled" and final.filled_qty == 0.0001
            assert "prices:BTC-USDT" in got

    asyncio.run(run())


def test_resting_order_amend_decrease_cancel_on_the_venue(stack):
    url, key = stack
    with SyncClient(url, key) as c:
        q = c.nbbo("BTC-USDT")
        px = round(q.bid * 0.95, 2)
        o = c.buy("BTC-USDT", "0.001", price=px, venue="binance")
        o = _wait(c, o.order_id, lambda x: x.status == "accepted")
        assert o.status == "accepted" and o.children[0].raw["venue"] == "binance"
        a = c.amend(o.order_id, price=round(px - 1, 2))
        assert a.amend_mode in ("native_atomic", "cancel_replace")
        a = _wait(c, o.order_id, lambda x: x.price == round(px - 1, 2))
        assert a.price == round(px - 1, 2) and a.status == "accepted"
        d = c.decrease(o.order_id, "0.0004")
        d = _wait(c, o.order_id, lambda x: x.qty_1e8 == 60_000)
        assert d.qty_1e8 == 60_000
        c.cancel(o.order_id)
        x = _wait(c, o.order_id, lambda x: x.terminal)
        assert x.status == "cancelled" and x.filled_qty == 0
        assert all(ch.terminal for ch in x.children)
        assert o.order_id not in [y.order_id for y in c.open_orders()]


def test_errors_over_the_full_stack(stack):
    url, key = stack
    with SyncClient(url, key) as c:
        with pytest.raises(ApiError) as ei:
            c.buy("BTC-USD", "0.01")      # no venue here lists BTC-USD (the catalog: kraken, coinbase)
        assert ei.value.code == "NO_ROUTABLE_VENUE" and "kraken" in ei.value.message
        with pytest.raises(ApiError) as ei:
            c.set_credentials("okx", api_key="k", api_secret="s")      # passphrase missing
        assert ei.value.code == "MISSING_CREDENTIAL" and "passphrase" in ei.value.message
    with SyncClient(url, "seq_live_wrong") as c, pytest.raises(ApiError) as ei:
        c.edges()
    assert ei.value.status == 401
