"""`seqkern edges|book|quote|buy|sell|orders|cancel` over the API (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def sk(cc, key, *args, home=None):
    env = dict(os.environ, SEQKERN_URL=cc.url, SEQKERN_API_KEY=key)
    if home:
        env["SEQKERN_HOME"] = home
    return subprocess.run([sys.executable, "-m", "seqkern.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_verbs(cc, tmp_path):
    key = cc.key(["read", "trade"], sandbox=True)
    r = sk(cc, key, "book", "BTC-USDT", "--depth", "2")
    assert r.returncode == 0 and "== binance" in r.stdout and "100001.0" in r.stdout
    r = sk(cc, key, "quote", "BTC-USDT", "buy", "0.5")
    assert r.returncode == 0 and json.loads(r.stdout)["plan"]["legs"][0]["venue"] == "binance"
    r = sk(cc, key, "buy", "ETH-USDT", "1", "--price", "2990", "--client-request-id", "cli-1")
    assert r.returncode == 0, r.stderr
    o = json.loads(r.stdout)
    assert o["status"] == "accepted"
    r = sk(cc, key, "orders")
    assert r.returncode == 0 and o["order_id"] in r.stdout
    r = sk(cc, key, "orders", o["order_id"])
    assert json.loads(r.stdout)["order_id"] == o["order_id"]
    r = sk(cc, key, "cancel", o["order_id"])
    assert json.loads(r.stdout)["status"] == "cancelled"
    r = sk(cc, key, "sell", "ETH-USDT", "0.5")
    assert json.loads(r.stdout)["status"] == "filled"
    r = sk(cc, key, "edges")
    assert r.returncode == 0 and "edge_id" in r.stdout
    # errors: the API code on stderr, exit status 1
    r = sk(cc, key, "buy", "NOPE-USD", "1")
    assert r.returncode == 1 and "NO_ROUTABLE_VENUE" in r.stderr
    r = sk(cc, "", "edges", home=str(tmp_path))
    assert r.returncode == 1 and "UNAUTHORIZED" in r.stderr
