"""`seqkern up`, multi-region part: the peer-link ports of the three loopback CCs (ap, na, eu),
their processes, the book-feed venues (Hyperliquid, Kalshi, Polymarket: simulators with accounts,
credentials, edges) and the lines the launcher prints about the regions (docs/peerlink.md)."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import sys
import uuid
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


def spawn_ccs(up: Any) -> dict[str, Any]:
    """Spawn the three CCs at once (ap on the launcher's `--port` / `--cclink-port`, na and eu on
    free ports); `await_ccs` waits for their ready files."""
    pending = {}
    for region in MESH_REGIONS:
        ready = os.path.join(up.dir, f"cc-{region}.ready")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(ready)
        key_file = os.path.join(up.dir, "admin.key" if region == "ap" else f"admin-{region}.key")
        port = str(up.args.port) if region == "ap" else "0"
        link = str(up.args.cclink_port) if region == "ap" else "0"
        data = os.path.join(up.dir, "cc" if region == "ap" else f"cc-{region}")
        child = up.spawn("cc" if region == "ap" else f"cc-{region}", [
            sys.executable, "-m", "seqkern.cli", "cc", "--region", region, "--host", "127.0.0.1",
            "--port", port, "--cclink-port", link, "--data-dir", data, "--admin-key-file", key_file,
            "--ready-file", ready, *mesh_args(up, region)])
        pending[region] = (child, ready, key_file)
    return pending


def await_ccs(up: Any, pending: dict[str, Any]) -> None:
    """Fill in every region's API URL, CC-LINK port and admin key once its CC serves."""
    up.region_urls, up.region_admin, up.region_link = {}, {}, {}
    for region, (child, ready, key_file) in pending.items():
        info = up._wait_file(ready, child, 90)
        up.region_urls[region] = f"http://127.0.0.1:{info['http_port']}"
        up.region_link[region] = int(info["cclink_port"] or 0)
        with open(key_file) as f:
            up.region_admin[region] = f.read().strip()
    up.url, up.link_port, up.admin = up.region_urls["ap"], up.region_link["ap"], up.region_admin["ap"]


# ---- book-feed venues: simulator accounts, credentials, edges ---------------------------------
# (launcher, symbol). Their regions come from the venue catalog: hyperliquid na, kalshi and
# polymarket eu.
PRED_UNITS = (("hyperliquid", "BTC-USDC"), ("kalshi", "KXBTCZ-26DEC31-T99000"),
              ("polymarket", "btc-above-99000-on-december-31-2026"))
_PRED_EDGE = "import sys; from seqkern.edge.launcher import main; sys.exit(main())"   # venue-edge-cex


def pred_available() -> bool:
    try:
        import seqkern.sim.pred_cli
        import seqkern.venues.book_feed  # noqa: F401
    except ImportError:
        return False
    return True


def pred_credentials(up: Any, venue: str) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """Fresh simulator credentials for a book-feed venue: the credentials-endpoint payload, the
    simulator flags that register the account, and the edge's environment."""
    if venue == "hyperliquid":
        from seqkern.venues.hyperliquid.signing import L1Signer
        agent_key = "0x" + secrets.token_hex(32)        # the API wallet (signer)
        master = L1Signer("0x" + secrets.token_hex(32)).address   # the account it trades for
        agent = L1Signer(agent_key).address
        return ({"extra_json": {"signer_private_key": agent_key, "vault_address": master}},
                ["--user", master, "--agent", agent],
                {"HYPERLIQUID_SIGNER_PRIVATE_KEY": agent_key, "HYPERLIQUID_VAULT_ADDRESS": master})
    if venue == "kalshi":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
        k = ed25519.Ed25519PrivateKey.generate()
        pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()
        pub = k.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        key_id = str(uuid.uuid4())
        pub_file = os.path.join(up.dir, "kalshi-sim.pub")
        fd = os.open(pub_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(pub)
        return ({"api_key": key_id, "api_secret": pem},
                ["--key-id", key_id, "--public-key-file", pub_file],
                {"KALSHI_API_KEY": key_id, "KALSHI_API_SECRET": pem})
    # polymarket: the EVM signer; the edge derives its L2 API credentials from the simulator
    key = "0x" + secrets.token_hex(32)
    return ({"extra_json": {"signer_private_key": key}}, [], {"POLYMARKET_SIGNER_PRIVATE_KEY": key})


def pred_edge_argv(venue: str, symbol: str, line: str, cclink_port: int) -> list[str] | None:
    """The edge's command line from the simulator's first line (its endpoints), or None."""
    urls = re.findall(r"(?:ws|http)://[^\s,]+", line)
    need = 3 if venue == "polymarket" else 2
    if len(urls) < need:
        return None
    argv = [sys.executable, "-c", _PRED_EDGE, "--venue", venue, "--symbols", symbol,
            "--cc", f"127.0.0.1:{cclink_port}"]
    if venue == "polymarket":
        return [*argv, "--market-ws", urls[0], "--private-ws", urls[1], "--rest", urls[2],
                "--metadata-rest", urls[2], "--relayer", urls[2]]
    return [*argv, "--market-ws", urls[0], "--rest", urls[1]]


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


def mesh_summary(up: Any, units: list[Any]) -> str:
    lines = ["", "Regions (peer-link mesh on loopback; each venue's edge, simulator account and "
             "credentials live at the CC of its region):"]
    for region, url in up.region_urls.items():
        local = [u.launcher for u in units if u.region == region]
        lines.append(f"  {region}  {url}  peer-link 127.0.0.1:{up.peer_ports[region]}"
                     + (f"  venues: {', '.join(local)}" if local else ""))
    keys = getattr(up, "region_keys", {})
    for region in MESH_REGIONS[1:]:
        if keys.get(region):
            lines.append(f"  key for {region}: {keys[region]}  (each CC has its own keys)")
    na, key = up.region_urls.get("na"), keys.get("na")
    if na and key and any(u.region == "ap" for u in units):
        lines += [
            "  # an order entered in New York for the Tokyo venues, placed by the ap CC:",
            f"  curl -s {na}/v1/peers -H \"Authorization: Bearer {key}\"",
            f"  curl -s -X POST {na}/v1/orders -H \"Authorization: Bearer {key}\" "
            "-d '{\"symbol\": \"BTC-USDT\", \"side\": \"buy\", \"qty\": \"0.001\"}'",
        ]
    return "\n".join(lines)
