"""`seqkern up`, multi-region part: the peer-link ports of the three loopback CCs (ap, na, eu),
the na and eu CC processes, and the lines the launcher prints about them (docs/peerlink.md)."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
from typing import Any

MESH_REGIONS = ("ap", "na", "eu")


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mesh_ports(up: Any) -> dict[str, int]:
    """One peer-link port per region (loopback: they cannot all be 6001), chosen once."""
    ports = getattr(up, "peer_ports", None)
    if not ports:
        ports = up.peer_ports = {r: _free_port() for r in MESH_REGIONS}
    return ports


def mesh_args(up: Any, region: str) -> list[str]:
    """`seqkern cc` flags that put a region's CC in the loopback mesh."""
    ports = mesh_ports(up)
    argv = ["--peer-port", str(ports[region])]
    for r, p in ports.items():
        if r != region:
            argv += ["--peer", f"{r}=127.0.0.1:{p}"]
    return argv


# Book-feed venues of the other regions that have a simulator in this build, run market-data only
# (no credentials: their books, BBOs and edges are mirrored to every CC; orders need credentials
# posted to their region's CC). (region, venue, symbol)
REGION_VENUES = (("na", "hyperliquid", "BTC-USDC"),
                 ("eu", "polymarket", "btc-above-99000-on-december-31-2026"))
_PRED_EDGE = "import sys; from seqkern.edge.pred_launcher import main; sys.exit(main())"


def _start_region_venue(up: Any, region: str, venue: str, symbol: str, cclink_port: int) -> None:
    try:
        import seqkern.edge.pred_launcher
        import seqkern.sim.pred_cli  # noqa: F401
    except ImportError:
        return
    from seqkern.cc.up import UpError

    sim = up.spawn(f"sim-{venue}", [sys.executable, "-m", "seqkern.sim", venue, "--port", "0"],
                   stdout_pipe=True)
    line = sim.proc.stdout.readline().decode()
    urls = re.findall(r"(?:ws|http)://[^\s,]+", line)
    if not urls:
        raise UpError(f"simulator {venue} did not report its endpoints; see {sim.log_path}")
    argv = [sys.executable, "-c", _PRED_EDGE, "--venue", venue, "--symbols", symbol,
            "--cc", f"127.0.0.1:{cclink_port}"]
    if venue == "hyperliquid":
        argv += ["--market-ws", urls[0], "--rest", urls[1]]
    else:
        argv += ["--market-ws", urls[0], "--user-ws", urls[1], "--rest", urls[2], "--gamma", urls[2]]
    up.spawn(f"edge-{venue}", argv)
    up.region_venues.append((region, venue, symbol))


def start_regions(up: Any) -> dict[str, str]:
    """Start the na and eu CCs (the ap CC is the launcher's own) and the simulated venues of
    their regions; returns region -> API URL. The Tokyo venues stay with the ap CC: the na and
    eu CCs see them mirrored over the peer links and forward their orders for them to ap."""
    urls = {"ap": up.url}
    up.region_admin = {"ap": up.admin}
    up.region_venues = []
    for region in MESH_REGIONS[1:]:
        ready = os.path.join(up.dir, f"cc-{region}.ready")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(ready)
        key_file = os.path.join(up.dir, f"admin-{region}.key")
        child = up.spawn(f"cc-{region}", [
            sys.executable, "-m", "seqkern.cli", "cc", "--region", region, "--host", "127.0.0.1",
            "--port", "0", "--cclink-port", "0", "--data-dir", os.path.join(up.dir, f"cc-{region}"),
            "--admin-key-file", key_file, "--ready-file", ready, *mesh_args(up, region)])
        info = up._wait_file(ready, child, 60)
        urls[region] = f"http://127.0.0.1:{info['http_port']}"
        with open(key_file) as f:
            up.region_admin[region] = f.read().strip()
        for r, venue, symbol in REGION_VENUES:
            if r == region:
                _start_region_venue(up, region, venue, symbol, int(info["cclink_port"]))
    up.region_urls = urls
    return urls


def region_keys(up: Any, http: Any) -> dict[str, str]:
    """A read/trade key on the na and eu CCs (the ap key is the launcher's own)."""
    keys = {}
    for region in MESH_REGIONS[1:]:
        st, doc = http("POST", f"{up.region_urls[region]}/v1/keys", up.region_admin[region],
                       {"scopes": ["read", "trade"], "label": "seqkern up"})
        if st == 201:
            keys[region] = doc["key"]
    up.region_keys = keys
    return keys


def mesh_summary(up: Any) -> str:
    sym = "BTC-USDT"
    lines = ["", "Regions (peer-link mesh on loopback; a venue's orders go to its region's CC):"]
    for region, url in up.region_urls.items():
        local = [v for r, v, _s in getattr(up, "region_venues", []) if r == region]
        lines.append(f"  {region}  {url}  peer-link 127.0.0.1:{up.peer_ports[region]}"
                     + (f"  venues: {', '.join(local)} (market data)" if local else ""))
    na = up.region_urls.get("na")
    key = getattr(up, "region_keys", {}).get("na")
    if na and key:
        lines += [
            "  # an order entered in New York, routed to the Tokyo venues through the ap CC:",
            f"  curl -s {na}/v1/peers -H \"Authorization: Bearer {key}\"",
            f"  curl -s -X POST {na}/v1/orders -H \"Authorization: Bearer {key}\" "
            f"-d '{{\"symbol\": \"{sym}\", \"side\": \"buy\", \"qty\": \"0.001\"}}'",
        ]
    return "\n".join(lines)
